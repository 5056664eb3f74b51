/* client — how a worker talks to the system under test: one adapter per target system
 * behind a small vtable (Jepsen's Client protocol), one file each, one row in client_kinds.
 *
 * A worker opens one client bound to one node (worker w -> node w mod n) and invokes
 * operations on it one at a time. invoke() never "fails" as a C function: every operation ends
 * as one of the history's outcomes (docs/history.md), and the adapter must choose honestly:
 *
 *   ok    the system said the operation took effect (a read: the value it returned)
 *   fail  it certainly did not take effect: refused before anything was sent (connection
 *         refused), a redirect or "not the leader" answer, a cas whose expected value differed
 *         (error "mismatch"), an error the system documents as "not executed"
 *   info  unknown: a time-out or a connection that broke after the request was sent, an
 *         answer that says the outcome is unknown
 * A read has no effect, so a read whose outcome is unknown is reported `fail` (Jepsen's rule):
 * it constrains nothing and its process may go on.
 *
 * Each operation has a deadline (the spec's op_timeout): the adapter follows redirects and
 * reconnects within it, and gives up at it. Connections are reused between operations.
 *
 * Thread rules: a struct client belongs to one worker thread. Adapters keep no global state.
 */
#ifndef SB_CLIENT_H
#define SB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/db/db.h"
#include "harness/workload/workload.h"
#include "lib/history.h"

#define CLIENT_ERROR_MAX 160

/* One operation as the client performs it. */
struct client_req {
	enum op_f f;
	const char *key;       /* the key's name ("k3"); the single register's key for `register` */
	int64_t value;         /* write/add/append: the value; cas: the new value */
	int64_t expect;        /* cas: the expected value */
	bool collection;       /* read: the key holds a set or a list (workload_kind.collection):
				  read all of its elements, not one value */
	int64_t deadline;      /* lib/clock monotonic ns: give up (info, or fail for reads) then */
};

/* The outcome. `value` (ok reads) is built in the result's own storage and stays valid until
 * the next invoke on the same client or client_res_free. */
struct client_res {
	int type;              /* HTYPE_OK, HTYPE_FAIL or HTYPE_INFO (lib/history.h) */
	bool has_value;        /* an ok read: value holds what it returned */
	struct hval value;     /* HVAL_NULL (absent), HVAL_INT, HVAL_STR (not a number),
				  HVAL_ARRAY of those (sets, lists) */
	char error[CLIENT_ERROR_MAX]; /* fail/info: why ("mismatch" for a cas that did not
				  match, "timeout", "not leader", ...) */
	char node[CONTROL_NAME_MAX];  /* the node it talked to last (after redirects): the one that
				  answered, or the one that did not */
	/* storage behind value (owned) */
	struct hval *items;
	size_t cap;
	char *text;
	size_t textcap;
};

/* Reset res to an empty outcome, keeping its storage; and free the storage. */
void client_res_clear(struct client_res *res);
void client_res_free(struct client_res *res);

/* Build an ok read's value in res's own storage, for adapters whose replies are text:
 *   client_res_scalar   res->value = s[0..n): HVAL_INT when it is a canonical decimal
 *                       int64 ("12", "-3"; not "012", "+1", " 1"), else HVAL_STR
 *   client_res_array    res->value = an HVAL_ARRAY of n elements, then
 *   client_res_item     sets element i the same way as client_res_scalar
 * Strings are copied; has_value is set. 0, or SB_ENOMEM (res is then left without a
 * value). Elements of one array must all be added before the next call of another kind. */
int client_res_scalar(struct client_res *res, const char *s, size_t n);
int client_res_array(struct client_res *res, size_t n, size_t text_bytes);
int client_res_item(struct client_res *res, size_t i, const char *s, size_t n);

/* The adapters' outcomes other than ok:
 *   client_res_error    res->type = type (HTYPE_FAIL or HTYPE_INFO), res->error = msg[0..n)
 *                       cut to fit, control characters turned into spaces (a node's error
 *                       text is quoted in the history and the log)
 *   client_res_fail     a fail with the NUL-terminated msg
 *   client_res_unknown  the outcome is unknown: info, but fail for a read (it changed
 *                       nothing) */
void client_res_error(struct client_res *res, int type, const char *msg, size_t n);
void client_res_fail(struct client_res *res, const char *msg);
void client_res_unknown(struct client_res *res, const struct client_req *req, const char *msg,
			size_t n);

/* Make res->text hold at least `need` bytes (its content is kept). 0 or SB_ENOMEM. */
int client_res_text_reserve(struct client_res *res, size_t need);

/* A canonical decimal int64 (as client_res_scalar reads it). Pure. */
bool client_parse_int(const char *s, size_t n, int64_t *out);

struct client;

struct client_kind {
	const char *name;      /* the db kind this adapter speaks to ("raftnode", "etcd", ...) */
	/* Open a client bound to node `node` of `db` (borrowed: it outlives the client). Does
	 * not have to connect yet (a node that is down must not make open fail: its operations
	 * fail instead). Caller frees with close. */
	int (*open)(struct client **out, struct db *db, size_t node, char *err, size_t errlen);
	/* Perform req and fill res (cleared first). */
	void (*invoke)(struct client *c, const struct client_req *req, struct client_res *res);
	void (*close)(struct client *c);
};

/* The adapters, one per db kind; NULL-terminated. */
extern const struct client_kind *const client_kinds[];

/* The adapter for db kind `name`, or NULL. */
const struct client_kind *client_find(const char *name);

extern const struct client_kind client_raftnode;
extern const struct client_kind client_etcd;
extern const struct client_kind client_redis_sentinel;

#endif
