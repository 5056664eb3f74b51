/* client_etcd — the etcd adapter over the v3 HTTP/JSON gateway (etcd.h). */
#include "harness/client/etcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/client/http.h"
#include "lib/clock.h"
#include "lib/err.h"

#define KEY_MAX 256
#define B64_MAX (4 * ((KEY_MAX + 2) / 3) + 1)
#define URL_MAX (CONTROL_ADDR_MAX + 64)

struct client {
	struct db *db;
	char name[CONTROL_NAME_MAX];
	char base[URL_MAX]; /* "http://host:port" of the bound member */
	struct http *http;  /* one handle, one kept connection, for every operation */
	char url[URL_MAX + 32];
	char body[ETCD_BODY_MAX];
};

/* ---- requests ---------------------------------------------------------------------------- */

static int b64_str(const char *s, size_t n, char *out, size_t outlen)
{
	return http_base64_encode(s, n, out, outlen) < 0 ? SB_ELIMIT : 0;
}

static int b64_int(int64_t v, char *out, size_t outlen)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", (long long)v);
	return b64_str(num, (size_t)n, out, outlen);
}

int etcd_request(const struct client_req *req, const char **path, char *body, size_t bodylen)
{
	char k[B64_MAX], v[48], old[48];
	size_t klen = req->key ? strlen(req->key) : 0;
	if (!req->key || klen > KEY_MAX || b64_str(req->key, klen, k, sizeof k))
		return SB_EINVAL;
	int w;
	switch (req->f) {
	case OP_READ:
		if (req->collection)
			return SB_EINVAL;
		*path = "/v3/kv/range";
		w = snprintf(body, bodylen, "{\"key\":\"%s\"}", k);
		break;
	case OP_WRITE:
		if (b64_int(req->value, v, sizeof v))
			return SB_EINVAL;
		*path = "/v3/kv/put";
		w = snprintf(body, bodylen, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
		break;
	case OP_CAS:
		if (b64_int(req->value, v, sizeof v) || b64_int(req->expect, old, sizeof old))
			return SB_EINVAL;
		*path = "/v3/kv/txn";
		w = snprintf(body, bodylen,
			     "{\"compare\":[{\"key\":\"%s\",\"result\":\"EQUAL\",\"target\":\"VALUE\","
			     "\"value\":\"%s\"}],\"success\":[{\"request_put\":{\"key\":\"%s\","
			     "\"value\":\"%s\"}}]}",
			     k, old, k, v);
		break;
	default:
		return SB_EINVAL;
	}
	if (w < 0 || (size_t)w >= bodylen)
		return SB_ELIMIT;
	return 0;
}

/* ---- outcomes ---------------------------------------------------------------------------- */

const struct hval *etcd_json_field(const struct hval *map, const char *name)
{
	if (!map || map->kind != HVAL_MAP)
		return NULL;
	size_t n = strlen(name);
	for (uint32_t i = 0; i < map->len; i++) {
		const struct hval *k = &map->u.items[2 * i];
		if (k->kind == HVAL_STR && k->len == n && memcmp(k->u.s, name, n) == 0)
			return &map->u.items[2 * i + 1];
	}
	return NULL;
}

int etcd_json_u64(const struct hval *v, unsigned long long *out)
{
	if (!v)
		return SB_EINVAL;
	if (v->kind == HVAL_INT && v->u.i >= 0) {
		*out = (unsigned long long)v->u.i;
		return 0;
	}
	const char *s = v->kind == HVAL_STR || v->kind == HVAL_BIGINT ? v->u.s : NULL;
	if (!s || !v->len || v->len > 20)
		return SB_EINVAL;
	unsigned long long x = 0;
	for (uint32_t i = 0; i < v->len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SB_EINVAL;
		unsigned long long d = (unsigned long long)(s[i] - '0');
		if (x > (~0ULL - d) / 10)
			return SB_EINVAL;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* Statuses the gateway gives for a request that was refused before etcd did anything with it
 * (grpc-gateway's mapping of InvalidArgument, Unauthenticated, PermissionDenied, NotFound,
 * FailedPrecondition, ResourceExhausted, Unimplemented; and plain HTTP refusals). */
static bool refused_status(long status)
{
	static const long s[] = {400, 401, 403, 404, 405, 411, 412, 413, 429, 501};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (status == s[i])
			return true;
	return false;
}

/* Errors etcd raises before a proposal enters Raft (etcdserver/api/v3rpc/rpctypes): whatever
 * status carries them, nothing was applied. */
static bool not_proposed(const char *msg)
{
	static const char *const m[] = {
		"etcdserver: no leader",          /* the require-leader check */
		"etcdserver: too many requests",  /* apply is too far behind commit */
		"etcdserver: not capable",        /* cluster version too old */
		"raft proposal dropped",          /* a follower without a leader drops it */
		"etcdserver: request is too large",
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (strstr(msg, m[i]))
			return true;
	return false;
}

/* The error text of a non-200 answer: "message", else "error", else the body's start. */
static void error_text(const struct hval *doc, long status, const char *body, size_t len,
		       char *out, size_t outlen)
{
	const struct hval *m = etcd_json_field(doc, "message");
	if (!m || m->kind != HVAL_STR || !m->len)
		m = etcd_json_field(doc, "error");
	if (m && m->kind == HVAL_STR && m->len)
		snprintf(out, outlen, "%ld %.*s", status, (int)(m->len > 120 ? 120 : m->len), m->u.s);
	else
		snprintf(out, outlen, "%ld %.*s", status, (int)(len > 80 ? 80 : len), body);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

/* kvs[0].value of a range answer; none: null. */
static void read_value(const struct client_req *req, const struct hval *doc,
		       struct client_res *res)
{
	const struct hval *kvs = etcd_json_field(doc, "kvs");
	if (!kvs || (kvs->kind == HVAL_ARRAY && kvs->len == 0)) {
		res->has_value = true; /* absent: HVAL_NULL */
		return;
	}
	const struct hval *v = kvs->kind == HVAL_ARRAY ? etcd_json_field(&kvs->u.items[0], "value")
						       : NULL;
	char raw[256];
	long n = 0;
	if (kvs->kind != HVAL_ARRAY || (v && v->kind != HVAL_STR) ||
	    (v && (n = http_base64_decode(v->u.s, v->len, raw, sizeof raw)) < 0)) {
		client_res_unknown(res, req, "unreadable range response",
				   strlen("unreadable range response"));
		return;
	}
	/* A key whose value is empty has no "value" field (the gateway omits empty bytes). */
	if (client_res_scalar(res, raw, (size_t)n))
		client_res_fail(res, "out of memory");
}

void etcd_outcome(const struct client_req *req, long status, const char *body, size_t len,
		  struct client_res *res)
{
	struct hval *doc = NULL;
	char err[160];
	bool parsed = hval_parse_json(body, len, &doc, err, sizeof err) == 0 &&
		      doc->kind == HVAL_MAP;
	res->type = HTYPE_OK;
	if (status != 200) {
		char msg[CLIENT_ERROR_MAX];
		error_text(parsed ? doc : NULL, status, body, len, msg, sizeof msg);
		if (refused_status(status) || not_proposed(msg))
			client_res_fail(res, msg);
		else
			client_res_unknown(res, req, msg, strlen(msg));
		goto out;
	}
	if (!parsed && req->f != OP_WRITE) {
		client_res_unknown(res, req, "unreadable response", strlen("unreadable response"));
		goto out;
	}
	switch (req->f) {
	case OP_READ:
		read_value(req, doc, res);
		break;
	case OP_CAS: {
		const struct hval *ok = etcd_json_field(doc, "succeeded");
		if (ok && ok->kind == HVAL_BOOL && ok->u.b)
			break;
		if (ok && ok->kind != HVAL_BOOL)
			client_res_unknown(res, req, "unreadable txn response",
					   strlen("unreadable txn response"));
		else /* false is omitted by the gateway */
			client_res_fail(res, "mismatch");
		break;
	}
	default: /* put: a 200 is the put's success */
		break;
	}
out:
	hval_free(doc);
}

void etcd_no_response(const struct client_req *req, bool sent, bool timed_out,
		      const char *why, struct client_res *res)
{
	char msg[CLIENT_ERROR_MAX];
	snprintf(msg, sizeof msg, "%s%s", timed_out && sent ? "timeout: " : "", why);
	if (!sent)
		client_res_fail(res, msg);
	else
		client_res_unknown(res, req, msg, strlen(msg));
}

/* ---- the adapter ------------------------------------------------------------------------- */

static void etcd_invoke(struct client *c, const struct client_req *req, struct client_res *res)
{
	client_res_clear(res);
	snprintf(res->node, sizeof res->node, "%s", c->name);
	const char *path = NULL;
	if (etcd_request(req, &path, c->body, sizeof c->body)) {
		client_res_fail(res, "bad request (operation or key)");
		return;
	}
	snprintf(c->url, sizeof c->url, "%s%s", c->base, path);
	struct http_res hr;
	int rc = http_post(c->http, c->url, c->body, strlen(c->body), req->deadline, &hr);
	if (rc == 0)
		etcd_outcome(req, hr.status, hr.body, hr.len, res);
	else
		etcd_no_response(req, hr.sent, hr.timed_out, hr.error, res);
}

static int etcd_open(struct client **out, struct db *db, size_t node, char *err, size_t errlen)
{
	if (!db || node >= db->n)
		return err_set(err, errlen, SB_EINVAL, "client: node %zu of %zu", node,
			       db ? db->n : 0);
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = http_new(&c->http, err, errlen);
	if (rc) {
		free(c);
		return rc;
	}
	char addr[CONTROL_ADDR_MAX + 16];
	db_client_addr(db, node, addr, sizeof addr);
	snprintf(c->base, sizeof c->base, "http://%s", addr);
	snprintf(c->name, sizeof c->name, "%s", db->nodes[node].name);
	c->db = db;
	*out = c;
	return 0;
}

static void etcd_close(struct client *c)
{
	if (!c)
		return;
	http_free(c->http);
	free(c);
}

const struct client_kind client_etcd = {
	.name = "etcd",
	.open = etcd_open,
	.invoke = etcd_invoke,
	.close = etcd_close,
};
