/* client_etcd — the workload client for etcd, over its v3 HTTP/JSON gateway (served on the
 * client port; etcd 3.4: /v3/...). Pure pieces are exposed for the unit tests and for the etcd
 * db kind (db/etcd.c), which reads the same JSON.
 *
 *   read   POST /v3/kv/range {"key":K}                 linearizable (etcd's default)
 *   write  POST /v3/kv/put   {"key":K,"value":V}
 *   cas    POST /v3/kv/txn   {"compare":[{"key":K,"result":"EQUAL","target":"VALUE",
 *                             "value":OLD}],"success":[{"request_put":{"key":K,"value":NEW}}]}
 * Keys and values are base64 (the gateway's bytes fields); a value is the decimal text of the
 * workload's integer. Sets and lists are not made against etcd (fail "unsupported").
 *
 * Outcomes (client.h):
 *   ok    200, and for a cas "succeeded": true
 *   fail  a cas whose compare failed (200 without "succeeded": "mismatch"); nothing sent
 *         (refused, connect timed out); a 4xx the gateway gives for a request it refused
 *         (bad request, auth, too many requests: 400 401 403 404 405 411 412 413 429) or
 *         501; an answer naming an error etcd raises before proposing anything ("etcdserver:
 *         no leader", "etcdserver: too many requests", "etcdserver: not capable", "raft
 *         proposal dropped")
 *   info  the request went out and then: no response by the deadline, the connection broke,
 *         any other error status (503 "etcdserver: request timed out", "leader changed",
 *         504, 500, ...): the proposal may have been committed
 *   and a read that would be info is fail.
 *
 * The client is bound to one member (worker w -> node w mod n) and stays there: a member
 * forwards writes to the leader and serves linearizable reads through ReadIndex itself.
 */
#ifndef SB_CLIENT_ETCD_H
#define SB_CLIENT_ETCD_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/client/client.h"
#include "lib/history.h"

#define ETCD_BODY_MAX 1024 /* a request body (keys up to 256 bytes) */

/* The gateway path ("/v3/kv/put") and JSON body of req into body[0..bodylen). Returns 0, or
 * SB_EINVAL for an operation this adapter does not make or a key over 256 bytes. Pure. */
int etcd_request(const struct client_req *req, const char **path, char *body, size_t bodylen);

/* The outcome of a response that arrived (status, body): fills res (type, error, value).
 * Pure apart from res's own storage. */
void etcd_outcome(const struct client_req *req, long status, const char *body, size_t len,
		  struct client_res *res);

/* The outcome when no response arrived: `sent` whether the request went out, `timed_out`
 * whether the deadline passed, `why` the transport's reason. Pure. */
void etcd_no_response(const struct client_req *req, bool sent, bool timed_out,
		      const char *why, struct client_res *res);

/* The value of field `name` in a JSON object (HVAL_MAP), or NULL. Pure. */
const struct hval *etcd_json_field(const struct hval *map, const char *name);

/* A gateway uint64 (JSON string of decimal digits, or a number) into *out: 0, or SB_EINVAL. */
int etcd_json_u64(const struct hval *v, unsigned long long *out);

#endif
