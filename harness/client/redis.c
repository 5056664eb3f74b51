/* client_redis_sentinel — the workload client for Redis behind Sentinel (db kind
 * redis-sentinel), over RESP2 (resp.h).
 *
 * Where an operation goes: to the master as the worker's own Sentinel reports it. The
 * client is bound to one node (worker w -> node w mod n) and asks that node's Sentinel
 * `SENTINEL get-master-addr-by-name splitbrain`, as Sentinel-aware client libraries do; it
 * asks again when its answer is older than 1 s, and at once after a connection to the master
 * failed or the server said it is not the master (READONLY): so it follows failovers, and a
 * worker whose Sentinel is cut off with an old master keeps writing to that master, as a
 * real client on that side of a partition would.
 *
 *   read (register)   GET k                      nil -> null, "12" -> 12
 *   read (set)        SMEMBERS k                 array of elements
 *   write             SET k v                    +OK
 *   cas               EVAL <script> 1 k old new  :1 ok, :0 fail "mismatch" (atomic in
 *                     Redis: GET, compare, SET)
 *   add               SADD k v                   :n
 *
 * Outcomes (client.h):
 *   fail  nothing was sent: no master known (the Sentinel does not answer or knows none),
 *         the master refused the connection or did not accept it in time, a kept connection
 *         found closed before sending; error replies Redis gives without executing the
 *         command: READONLY (a replica), LOADING, MASTERDOWN, NOREPLICAS, BUSY, NOSCRIPT,
 *         unknown command, wrong number of arguments; a cas :0 ("mismatch"). READONLY and a
 *         refused connection are retried at the Sentinel's newer master within the
 *         deadline (at most 3 tries)
 *   info  the command went out and then: no reply by the deadline, the connection broke,
 *         any other error reply, a reply that makes no sense for the command
 *   and a read that would be info is fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/client/client.h"
#include "harness/client/resp.h"
#include "lib/clock.h"
#include "lib/err.h"

#define MASTER_NAME "splitbrain"
#define ADDR_MAX (CONTROL_ADDR_MAX + 16)
#define KEY_MAX 256
#define TRIES 3
#define SENTINEL_TTL_NS (1000 * CLOCK_NS_PER_MS) /* ask the Sentinel again after this */
#define SENTINEL_TIMEOUT_MS 1000

/* Atomic compare-and-set: KEYS[1] is set to ARGV[2] iff it holds ARGV[1]. */
static const char cas_script[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then "
	"redis.call('set', KEYS[1], ARGV[2]) return 1 else return 0 end";

struct client {
	struct db *db;
	char name[CONTROL_NAME_MAX];      /* the bound node */
	char sentinel[ADDR_MAX];          /* its Sentinel, "host:port" */
	struct resp_client *sc;           /* kept connection to the Sentinel */
	char master[ADDR_MAX];            /* the master last reported, "" when unknown */
	char master_name[CONTROL_NAME_MAX];
	int64_t asked;                    /* when the Sentinel last answered (monotonic ns) */
	struct resp_client *mc;           /* kept connection to `master` */
	char *req;                        /* the encoded command (resp_encode) */
	size_t reqlen;
};

/* ---- the Sentinel ------------------------------------------------------------------------ */

/* The node whose client address is addr, for res->node ("" when none). */
static void node_of(const struct client *c, const char *addr, char *out, size_t outlen)
{
	out[0] = '\0';
	for (size_t j = 0; j < c->db->n; j++) {
		char a[ADDR_MAX];
		db_client_addr(c->db, j, a, sizeof a);
		if (!strcmp(a, addr))
			snprintf(out, outlen, "%s", c->db->nodes[j].name);
	}
}

/* Ask the Sentinel where the master is; fills c->master. 0, or an error (nothing sent to the
 * master yet, so the operation fails). */
static int ask_sentinel(struct client *c, int64_t deadline, char *err, size_t errlen)
{
	int64_t left = deadline - clock_mono_ns();
	int ms = left <= 0 ? 0 : (int)(left / CLOCK_NS_PER_MS);
	if (ms > SENTINEL_TIMEOUT_MS)
		ms = SENTINEL_TIMEOUT_MS;
	if (ms <= 0)
		return err_set(err, errlen, SB_ETIMEOUT, "timeout before the request was sent");
	if (c->sc && resp_client_check(c->sc, err, errlen)) {
		resp_client_close(c->sc);
		c->sc = NULL;
	}
	int rc = 0;
	if (!c->sc && (rc = resp_client_connect_addr(&c->sc, c->sentinel, ms, err, errlen)))
		return rc;
	resp_client_set_timeout(c->sc, ms);
	const char *argv[] = {"SENTINEL", "get-master-addr-by-name", MASTER_NAME};
	struct resp_value *v = NULL;
	if ((rc = resp_client_command(c->sc, 3, argv, NULL, &v, err, errlen))) {
		resp_client_close(c->sc);
		c->sc = NULL;
		return rc;
	}
	if (v->type != RESP_ARRAY || v->nelems != 2 || v->elems[0].type != RESP_BULK ||
	    v->elems[1].type != RESP_BULK) {
		rc = err_set(err, errlen, SB_EIO, "sentinel %s knows no master (%s)", c->sentinel,
			     resp_type_name(v->type));
	} else {
		const char *ip = v->elems[0].str, *port = v->elems[1].str;
		snprintf(c->master, sizeof c->master, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip,
			 port);
		node_of(c, c->master, c->master_name, sizeof c->master_name);
		c->asked = clock_mono_ns();
	}
	resp_value_free(v);
	return rc;
}

static void forget_master(struct client *c)
{
	c->master[0] = '\0';
	resp_client_close(c->mc);
	c->mc = NULL;
}

/* The connection to the current master (asking the Sentinel when its answer is stale).
 * NULL: nothing was sent; err says why. */
static struct resp_client *master_conn(struct client *c, int64_t deadline, char *err,
				       size_t errlen)
{
	char before[ADDR_MAX];
	snprintf(before, sizeof before, "%s", c->master);
	if (!c->master[0] || clock_mono_ns() - c->asked > SENTINEL_TTL_NS) {
		if (ask_sentinel(c, deadline, err, errlen)) {
			err_prefix(err, errlen, "no master known");
			forget_master(c);
			return NULL;
		}
	}
	if (strcmp(before, c->master) && c->mc) { /* a failover: leave the old master */
		resp_client_close(c->mc);
		c->mc = NULL;
	}
	if (c->mc && resp_client_check(c->mc, err, errlen)) {
		resp_client_close(c->mc); /* closed while idle: connect again */
		c->mc = NULL;
	}
	if (!c->mc) {
		int64_t left = deadline - clock_mono_ns();
		if (left <= 0) {
			snprintf(err, errlen, "timeout before the request was sent");
			return NULL;
		}
		int ms = (int)((left + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS);
		if (resp_client_connect_addr(&c->mc, c->master, ms, err, errlen)) {
			c->mc = NULL;
			return NULL;
		}
	}
	return c->mc;
}

/* ---- requests and replies ---------------------------------------------------------------- */

/* Encode req into c->req. 0, or SB_EINVAL (an operation or key this adapter does not make). */
static int encode(struct client *c, const struct client_req *req)
{
	char v[24], old[24];
	const char *argv[6];
	int argc = 0;
	if (!req->key || strlen(req->key) > KEY_MAX)
		return SB_EINVAL;
	snprintf(v, sizeof v, "%lld", (long long)req->value);
	snprintf(old, sizeof old, "%lld", (long long)req->expect);
	switch (req->f) {
	case OP_READ:
		argv[argc++] = req->collection ? "SMEMBERS" : "GET";
		argv[argc++] = req->key;
		break;
	case OP_WRITE:
		argv[argc++] = "SET";
		argv[argc++] = req->key;
		argv[argc++] = v;
		break;
	case OP_CAS:
		argv[argc++] = "EVAL";
		argv[argc++] = cas_script;
		argv[argc++] = "1";
		argv[argc++] = req->key;
		argv[argc++] = old;
		argv[argc++] = v;
		break;
	case OP_ADD:
		argv[argc++] = "SADD";
		argv[argc++] = req->key;
		argv[argc++] = v;
		break;
	default:
		return SB_EINVAL;
	}
	free(c->req);
	c->req = NULL;
	char err[64];
	return resp_encode(argc, argv, NULL, &c->req, &c->reqlen, err, sizeof err) ? SB_EINVAL : 0;
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && !memcmp(s, p, k);
}

/* Error replies Redis gives before it executes a command: nothing happened. */
static bool not_executed(const char *s, size_t n)
{
	static const char *const p[] = {"READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS",
					"BUSY",     "NOSCRIPT", "ERR unknown command",
					"ERR wrong number of arguments", "ERR max number of clients",
					"ERR Protocol error"};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		if (has_prefix(s, n, p[i]))
			return true;
	return false;
}

/* A reply that is not an error, for the operation it answers. */
static void outcome(struct client_res *res, const struct client_req *req, const char *r,
		    size_t rlen, size_t pos, const struct resp_item *it)
{
	switch (req->f) {
	case OP_READ:
		if (!req->collection && it->type == RESP_NIL) {
			res->has_value = true; /* absent: null */
			return;
		}
		if (!req->collection && it->type == RESP_BULK) {
			if (client_res_scalar(res, it->str, it->len))
				client_res_fail(res, "out of memory");
			return;
		}
		if (req->collection && it->type == RESP_ARRAY) {
			/* Every element's bytes are inside the reply: rlen bounds their text. */
			if (client_res_array(res, it->nelems, rlen)) {
				client_res_fail(res, "out of memory");
				return;
			}
			struct resp_item e;
			for (size_t i = 0; i < it->nelems; i++) {
				if (resp_next(r, rlen, &pos, &e) || e.type != RESP_BULK ||
				    client_res_item(res, i, e.str, e.len)) {
					res->has_value = false;
					client_res_unknown(res, req, "unexpected reply",
							   strlen("unexpected reply"));
					return;
				}
			}
			return;
		}
		break;
	case OP_WRITE:
		if (it->type == RESP_SIMPLE && it->len == 2 && !memcmp(it->str, "OK", 2))
			return;
		break;
	case OP_CAS:
		if (it->type == RESP_INTEGER && it->integer == 1)
			return;
		if (it->type == RESP_INTEGER && it->integer == 0) {
			client_res_fail(res, "mismatch");
			return;
		}
		break;
	default: /* add */
		if (it->type == RESP_INTEGER)
			return;
		break;
	}
	client_res_unknown(res, req, "unexpected reply", strlen("unexpected reply"));
}

/* ---- the operation ----------------------------------------------------------------------- */

static void redis_invoke(struct client *c, const struct client_req *req, struct client_res *res)
{
	client_res_clear(res);
	snprintf(res->node, sizeof res->node, "%s", c->name);
	if (encode(c, req)) {
		client_res_fail(res, "bad request (operation or key)");
		return;
	}
	char err[256];
	for (int attempt = 1;; attempt++) {
		struct resp_client *mc = master_conn(c, req->deadline, err, sizeof err);
		if (c->master_name[0])
			snprintf(res->node, sizeof res->node, "%s", c->master_name);
		if (!mc) {
			forget_master(c); /* a killed master: the Sentinel may know better soon */
			if (attempt < TRIES && clock_mono_ns() < req->deadline)
				continue;
			client_res_fail(res, err);
			return;
		}
		const char *r = NULL;
		size_t rlen = 0, pos = 0;
		bool sent = false;
		int rc = resp_client_exchange(mc, c->req, c->reqlen, req->deadline, &r, &rlen,
					      &sent, err, sizeof err);
		if (rc) {
			forget_master(c);
			if (!sent && attempt < TRIES && clock_mono_ns() < req->deadline)
				continue;
			if (!sent)
				client_res_fail(res, err);
			else if (rc == SB_ETIMEOUT)
				client_res_unknown(res, req, "timeout", strlen("timeout"));
			else
				client_res_unknown(res, req, err, strlen(err));
			return;
		}
		struct resp_item it;
		if (resp_next(r, rlen, &pos, &it)) {
			client_res_unknown(res, req, "unreadable reply",
					   strlen("unreadable reply"));
			return;
		}
		if (it.type != RESP_ERROR) {
			outcome(res, req, r, rlen, pos, &it);
			return;
		}
		if (!not_executed(it.str, it.len)) {
			client_res_unknown(res, req, it.str, it.len);
			return;
		}
		client_res_error(res, HTYPE_FAIL, it.str, it.len);
		/* Not the master (any more): ask the Sentinel and try its master. */
		if (!has_prefix(it.str, it.len, "READONLY") || attempt >= TRIES ||
		    clock_mono_ns() >= req->deadline)
			return;
		forget_master(c);
		client_res_clear(res);
	}
}

static int redis_open(struct client **out, struct db *db, size_t node, char *err, size_t errlen)
{
	if (!db || node >= db->n)
		return err_set(err, errlen, SB_EINVAL, "client: node %zu of %zu", node,
			       db ? db->n : 0);
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	const struct db_node *d = &db->nodes[node];
	snprintf(c->sentinel, sizeof c->sentinel,
		 strchr(d->listen_host, ':') ? "[%s]:%d" : "%s:%d", d->listen_host, d->peer_port);
	snprintf(c->name, sizeof c->name, "%s", d->name);
	c->db = db;
	*out = c;
	return 0;
}

static void redis_close(struct client *c)
{
	if (!c)
		return;
	resp_client_close(c->sc);
	resp_client_close(c->mc);
	free(c->req);
	free(c);
}

const struct client_kind client_redis_sentinel = {
	.name = "redis-sentinel",
	.open = redis_open,
	.invoke = redis_invoke,
	.close = redis_close,
};
