/* client_raftnode — the workload client for raftnode's RESP2 protocol (README: "Client
 * protocol"; node/server.c says what it answers).
 *
 *   read (register)       GET k          nil -> null, "123" -> 123, other text -> the string
 *   read (set, list)      LRANGE k 0 -1  array of elements, each an int or a string
 *   write                 SET k v        +OK
 *   cas                   CAS k old new  :1 ok, :0 fail "mismatch"
 *   add, append           RPUSH k v      :length
 *
 * Outcomes (client.h):
 *   fail  nothing was sent: connection refused, unreachable, connect timed out, or a
 *         connection found closed before the request went out; -NOTLEADER (the node did not
 *         execute it; a redirect is followed first, and "?" is retried after a pause, until
 *         the deadline); the -ERR replies raftnode gives before executing anything (max
 *         clients, unknown command, wrong number of arguments, protocol error: request too
 *         large, request incomplete after the node's time limit); cas :0 ("mismatch")
 *   info  the request went out and then: no reply by the deadline, the connection broke,
 *         -TIMEOUT (leadership changed, or no reply within the node's own limit), any other
 *         error reply, or a reply that makes no sense for the command
 *   and a read that would be info is fail (it changed nothing).
 *
 * Where an operation goes. The client is bound to one node and starts there; after a
 * redirect it remembers the leader it was sent to (the hint) and starts the next operations
 * there, as a client library caching the leader would. That halves the round trips of a
 * worker bound to a follower (and the controller's CPU per operation with them: bench/
 * bench_client.c). The hint is dropped, and the bound node asked again at once within the same
 * operation, whenever it fails before the request is sent (refused: a killed leader) or
 * answers -NOTLEADER ? (a deposed leader that knows no successor); it is dropped after an
 * operation on it ends with an unknown outcome (a paused or cut-off leader), so the next
 * operation starts at the bound node again.
 *
 * Lean on purpose: the controller's CPU per operation bounds the rate a run can drive. Each
 * client keeps its connections (one per address it was sent to), its request buffer and the
 * connection's reply buffer; the common path allocates nothing, parses the reply in place
 * and costs four system calls (a peek that the idle connection is still open, send, poll,
 * recv). */
#include <stdlib.h>
#include <string.h>

#include "harness/client/client.h"
#include "harness/client/resp.h"
#include "lib/clock.h"
#include "lib/err.h"

#define CONN_MAX 8                       /* addresses kept open per client */
#define ADDR_MAX (CONTROL_ADDR_MAX + 16) /* "host:port", "[v6]:port" */
#define REDIRECT_MAX 8                   /* -NOTLEADER hops followed by one operation */
#define NOTLEADER_PAUSE_NS (20 * CLOCK_NS_PER_MS) /* before asking again after NOTLEADER ? */
#define KEY_MAX 256
#define REQ_MAX (KEY_MAX + 128)

struct conn {
	char addr[ADDR_MAX];
	struct resp_client *rc;
	uint64_t last_use; /* for replacing the least recently used */
};

struct client {
	struct db *db;
	char addr[ADDR_MAX];               /* the node this client is bound to */
	char name[CONTROL_NAME_MAX];
	char hint[ADDR_MAX];               /* the leader last redirected to, or "" */
	char hint_name[CONTROL_NAME_MAX];
	struct conn conns[CONN_MAX];
	size_t nconns;
	uint64_t uses;
	char req[REQ_MAX];
	size_t reqlen;
};

/* ---- encoding ---------------------------------------------------------------------------- */

static size_t put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static size_t put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p = '-';
	return 1 + put_u64(p + 1, (uint64_t)0 - (uint64_t)v);
}

static size_t put_bulk(char *p, const char *s, size_t n)
{
	size_t k = 0;
	p[k++] = '$';
	k += put_u64(p + k, n);
	p[k++] = '\r';
	p[k++] = '\n';
	memcpy(p + k, s, n);
	k += n;
	p[k++] = '\r';
	p[k++] = '\n';
	return k;
}

static size_t put_int_bulk(char *p, int64_t v)
{
	char num[24];
	return put_bulk(p, num, put_i64(num, v));
}

/* The command for req as a RESP array, into c->req. */
static int encode(struct client *c, const struct client_req *req)
{
	size_t klen = req->key ? strlen(req->key) : 0;
	if (!req->key || klen > KEY_MAX)
		return SB_EINVAL;
	char *p = c->req;
	size_t n = 0;
	switch (req->f) {
	case OP_READ:
		if (req->collection) {
			memcpy(p, "*4\r\n$6\r\nLRANGE\r\n", 16);
			n = 16;
			n += put_bulk(p + n, req->key, klen);
			memcpy(p + n, "$1\r\n0\r\n$2\r\n-1\r\n", 15);
			n += 15;
		} else {
			memcpy(p, "*2\r\n$3\r\nGET\r\n", 13);
			n = 13;
			n += put_bulk(p + n, req->key, klen);
		}
		break;
	case OP_WRITE:
		memcpy(p, "*3\r\n$3\r\nSET\r\n", 13);
		n = 13;
		n += put_bulk(p + n, req->key, klen);
		n += put_int_bulk(p + n, req->value);
		break;
	case OP_CAS:
		memcpy(p, "*4\r\n$3\r\nCAS\r\n", 13);
		n = 13;
		n += put_bulk(p + n, req->key, klen);
		n += put_int_bulk(p + n, req->expect);
		n += put_int_bulk(p + n, req->value);
		break;
	case OP_ADD:
	case OP_APPEND:
		memcpy(p, "*3\r\n$5\r\nRPUSH\r\n", 15);
		n = 15;
		n += put_bulk(p + n, req->key, klen);
		n += put_int_bulk(p + n, req->value);
		break;
	default:
		return SB_EINVAL;
	}
	c->reqlen = n;
	return 0;
}

/* ---- outcomes ---------------------------------------------------------------------------- */

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(s, prefix, k) == 0;
}

/* Error replies raftnode gives before it executes anything (node/server.c). */
static bool not_executed(const char *s, size_t n)
{
	static const char *const prefixes[] = {
		"ERR max number of clients", "ERR unknown command",
		"ERR wrong number of arguments", "ERR Protocol error",
		"ERR request incomplete",
	};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (has_prefix(s, n, prefixes[i]))
			return true;
	return false;
}

/* ---- values ------------------------------------------------------------------------------ */

/* One element: an int when it reads as one, else a string copied into res->text at *off
 * (its pointer is set once the text no longer moves). */
static void scalar(struct client_res *res, const struct resp_item *it, struct hval *v,
		   size_t *off)
{
	memset(v, 0, sizeof *v);
	if (it->type == RESP_NIL)
		return;
	if (it->type == RESP_INTEGER) {
		v->kind = HVAL_INT;
		v->u.i = it->integer;
		return;
	}
	if (client_parse_int(it->str, it->len, &v->u.i)) {
		v->kind = HVAL_INT;
		return;
	}
	v->kind = HVAL_STR;
	v->len = (uint32_t)it->len;
	memcpy(res->text + *off, it->str, it->len);
	res->text[*off + it->len] = '\0';
	v->u.s = (const char *)(uintptr_t)*off; /* an offset until fixed up */
	*off += it->len + 1;
}

static void fix_strings(struct client_res *res, struct hval *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == HVAL_STR)
			v[i].u.s = res->text + (uintptr_t)v[i].u.s;
}

/* GET's reply: nil, or a bulk string. */
static int value_one(struct client_res *res, const struct resp_item *it)
{
	if (it->type != RESP_NIL && it->type != RESP_BULK && it->type != RESP_INTEGER)
		return SB_EINVAL;
	if (it->type == RESP_BULK && client_res_text_reserve(res, it->len + 1))
		return SB_ENOMEM;
	size_t off = 0;
	scalar(res, it, &res->value, &off);
	fix_strings(res, &res->value, 1);
	return 0;
}

/* LRANGE's reply: an array of bulk strings (nil: empty). */
static int value_all(struct client_res *res, const char *r, size_t rlen, size_t pos,
		     const struct resp_item *arr)
{
	res->value.kind = HVAL_ARRAY;
	res->value.len = 0;
	res->value.u.items = res->items;
	if (arr->type == RESP_NIL)
		return 0;
	if (arr->type != RESP_ARRAY || arr->nelems > UINT32_MAX)
		return SB_EINVAL;
	size_t n = arr->nelems;
	if (n > res->cap) {
		struct hval *items = realloc(res->items, n * sizeof *items);
		if (!items)
			return SB_ENOMEM;
		res->items = items;
		res->cap = n;
	}
	/* Every byte of text is inside the reply, so rlen bounds what the strings need. */
	if (client_res_text_reserve(res, rlen + 1))
		return SB_ENOMEM;
	size_t off = 0;
	struct resp_item it;
	for (size_t i = 0; i < n; i++) {
		if (resp_next(r, rlen, &pos, &it) ||
		    (it.type != RESP_BULK && it.type != RESP_INTEGER && it.type != RESP_NIL))
			return SB_EINVAL;
		scalar(res, &it, &res->items[i], &off);
	}
	fix_strings(res, res->items, n);
	res->value.len = (uint32_t)n;
	res->value.u.items = res->items;
	return 0;
}

/* A reply that is not an error, for the operation it answers. */
static void outcome(struct client_res *res, const struct client_req *req, const char *r,
		    size_t rlen, size_t pos, const struct resp_item *it)
{
	int rc = 0;
	switch (req->f) {
	case OP_READ:
		rc = req->collection ? value_all(res, r, rlen, pos, it) : value_one(res, it);
		if (rc == SB_ENOMEM) {
			client_res_fail(res, "out of memory");
			return;
		}
		if (rc == 0) {
			res->has_value = true;
			return;
		}
		break;
	case OP_WRITE:
		if (it->type == RESP_SIMPLE && it->len == 2 && memcmp(it->str, "OK", 2) == 0)
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
	default: /* add, append */
		if (it->type == RESP_INTEGER)
			return;
		break;
	}
	client_res_unknown(res, req, "unexpected reply", strlen("unexpected reply"));
}

/* ---- connections ------------------------------------------------------------------------- */

static void conn_drop(struct client *c, struct conn *k)
{
	resp_client_close(k->rc);
	*k = c->conns[--c->nconns];
}

/* The open connection to addr, connecting within the deadline if there is none (or the one
 * kept was closed by the server meanwhile). NULL: nothing was sent, and err says why. */
static struct conn *conn_get(struct client *c, const char *addr, int64_t deadline, char *err,
			     size_t errlen)
{
	for (size_t i = 0; i < c->nconns; i++) {
		struct conn *k = &c->conns[i];
		if (strcmp(k->addr, addr) != 0)
			continue;
		k->last_use = ++c->uses;
		if (resp_client_check(k->rc, err, errlen) == 0)
			return k;
		conn_drop(c, k); /* closed while idle (a restarted node): connect again */
		break;
	}
	int64_t left = deadline - clock_mono_ns();
	if (left <= 0) {
		snprintf(err, errlen, "timeout before the request was sent");
		return NULL;
	}
	int ms = (int)((left + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS);
	struct resp_client *rc = NULL;
	if (resp_client_connect_addr(&rc, addr, ms, err, errlen))
		return NULL;
	if (c->nconns == CONN_MAX) {
		size_t lru = 0;
		for (size_t i = 1; i < c->nconns; i++)
			if (c->conns[i].last_use < c->conns[lru].last_use)
				lru = i;
		conn_drop(c, &c->conns[lru]);
	}
	struct conn *k = &c->conns[c->nconns++];
	snprintf(k->addr, sizeof k->addr, "%s", addr);
	k->rc = rc;
	k->last_use = ++c->uses;
	return k;
}

/* ---- the operation ----------------------------------------------------------------------- */

/* "-NOTLEADER n2 127.0.0.1:7011" (or "?" for either): copy the id and address. */
static void parse_notleader(const char *s, size_t n, char *id, size_t idlen, char *addr,
			    size_t addrlen)
{
	size_t i = strlen("NOTLEADER");
	while (i < n && s[i] == ' ')
		i++;
	size_t a = i;
	while (i < n && s[i] != ' ')
		i++;
	snprintf(id, idlen, "%.*s", (int)(i - a), s + a);
	while (i < n && s[i] == ' ')
		i++;
	a = i;
	while (i < n && s[i] != ' ')
		i++;
	snprintf(addr, addrlen, "%.*s", (int)(i - a), s + a);
}

/* Where the current attempt of an operation goes. */
struct route {
	char target[ADDR_MAX];
	char name[CONTROL_NAME_MAX];
	bool on_hint; /* target is the client's hint, not a node that redirected us there */
	int hops;
};

static void route_to_bound(struct client *c, struct route *rt)
{
	c->hint[0] = '\0';
	memcpy(rt->target, c->addr, sizeof rt->target);
	memcpy(rt->name, c->name, sizeof rt->name);
	rt->on_hint = false;
}

enum step { STEP_DONE, STEP_RETRY };

/* An error reply: the outcome, or where to ask next. */
static enum step on_error(struct client *c, const struct client_req *req,
			  struct client_res *res, const struct resp_item *it, struct route *rt)
{
	if (!has_prefix(it->str, it->len, "NOTLEADER")) {
		if (not_executed(it->str, it->len))
			client_res_error(res, HTYPE_FAIL, it->str, it->len);
		else /* -TIMEOUT and anything else: it may have happened */
			client_res_unknown(res, req, it->str, it->len);
		return STEP_DONE;
	}
	char id[CONTROL_NAME_MAX], addr[ADDR_MAX];
	parse_notleader(it->str, it->len, id, sizeof id, addr, sizeof addr);
	if (strcmp(id, "?") == 0 || strcmp(addr, "?") == 0 || !addr[0]) {
		if (rt->on_hint) { /* a deposed leader: ask the bound node at once */
			route_to_bound(c, rt);
			return STEP_RETRY;
		}
		/* No leader known (an election): ask the same node again shortly. */
		if (clock_mono_ns() + NOTLEADER_PAUSE_NS >= req->deadline) {
			client_res_fail(res, "not leader");
			return STEP_DONE;
		}
		clock_sleep_ns(NOTLEADER_PAUSE_NS, NULL);
		return STEP_RETRY;
	}
	if (++rt->hops > REDIRECT_MAX) {
		client_res_fail(res, "not leader (too many redirects)");
		return STEP_DONE;
	}
	memcpy(rt->target, addr, sizeof addr);
	snprintf(rt->name, sizeof rt->name, "%s", id);
	rt->on_hint = false;
	if (strcmp(addr, c->addr) == 0) {
		c->hint[0] = '\0';
	} else {
		memcpy(c->hint, addr, sizeof addr);
		memcpy(c->hint_name, rt->name, sizeof c->hint_name);
	}
	return STEP_RETRY;
}

static void raftnode_invoke(struct client *c, const struct client_req *req,
			    struct client_res *res)
{
	client_res_clear(res);
	if (encode(c, req)) {
		client_res_fail(res, "bad request (operation or key)");
		return;
	}
	struct route rt = {.hops = 0};
	if (c->hint[0]) {
		memcpy(rt.target, c->hint, sizeof rt.target);
		memcpy(rt.name, c->hint_name, sizeof rt.name);
		rt.on_hint = true;
	} else {
		route_to_bound(c, &rt);
	}
	char err[256];
	for (;;) {
		memcpy(res->node, rt.name, sizeof res->node);
		struct conn *k = conn_get(c, rt.target, req->deadline, err, sizeof err);
		if (!k && rt.on_hint) { /* nothing was sent: the bound node may know better */
			route_to_bound(c, &rt);
			continue;
		}
		if (!k) {
			client_res_fail(res, err);
			return;
		}
		const char *r = NULL;
		size_t rlen = 0, pos = 0;
		bool sent = false;
		int rc = resp_client_exchange(k->rc, c->req, c->reqlen, req->deadline, &r, &rlen,
					      &sent, err, sizeof err);
		if (rc) {
			conn_drop(c, k);
			if (!sent && rt.on_hint) {
				route_to_bound(c, &rt);
				continue;
			}
			c->hint[0] = '\0'; /* it may be paused or cut off: start at home next time */
			if (!sent)
				client_res_fail(res, err);
			else if (rc == SB_ETIMEOUT)
				client_res_unknown(res, req, "timeout", strlen("timeout"));
			else
				client_res_unknown(res, req, err, strlen(err));
			return;
		}
		struct resp_item it;
		if (resp_next(r, rlen, &pos, &it)) { /* cannot happen: exchange checked it */
			client_res_unknown(res, req, "unreadable reply",
					   strlen("unreadable reply"));
			return;
		}
		if (it.type != RESP_ERROR) {
			outcome(res, req, r, rlen, pos, &it);
			return;
		}
		if (on_error(c, req, res, &it, &rt) == STEP_DONE) {
			if (res->type == HTYPE_INFO || has_prefix(it.str, it.len, "TIMEOUT"))
				c->hint[0] = '\0';
			return;
		}
	}
}

static int raftnode_open(struct client **out, struct db *db, size_t node, char *err,
			 size_t errlen)
{
	if (!db || node >= db->n)
		return err_set(err, errlen, SB_EINVAL, "client: node %zu of %zu", node,
			       db ? db->n : 0);
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	c->db = db;
	db_client_addr(db, node, c->addr, sizeof c->addr);
	snprintf(c->name, sizeof c->name, "%s", db->nodes[node].name);
	*out = c;
	return 0;
}

static void raftnode_close(struct client *c)
{
	if (!c)
		return;
	while (c->nconns)
		conn_drop(c, &c->conns[c->nconns - 1]);
	free(c);
}

const struct client_kind client_raftnode = {
	.name = "raftnode",
	.open = raftnode_open,
	.invoke = raftnode_invoke,
	.close = raftnode_close,
};
