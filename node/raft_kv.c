/* raft_kv — the replicated key-value state machine. See raft_kv.h for the contract.
 *
 * Two open-addressing hash tables (linear probing, power-of-two capacity, tombstones on
 * delete): keys -> values, and client ids -> last applied (seq, result). Snapshots sort keys
 * and clients so that equal states serialise to equal bytes, whatever the insertion order.
 */
#include "node/raft_kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/hash.h"

struct bytes {
	unsigned char *p;
	size_t len;
};

struct value {
	int is_list;
	struct bytes str;
	struct bytes *items;
	size_t n, cap;
};

#define SLOT_EMPTY 0
#define SLOT_USED 1
#define SLOT_DEAD 2

struct kslot {
	int state;
	uint64_t hash;
	struct bytes key;
	struct value val;
};

struct cslot {
	int state;
	uint64_t client;
	uint64_t seq;
	struct raft_kv_result res;
};

struct raft_kv {
	struct kslot *keys;
	size_t kcap, kused, klive; /* kused counts live + dead */
	struct cslot *clients;
	size_t ccap, cused;
};

static int bytes_dup(struct bytes *b, const unsigned char *p, size_t n)
{
	b->p = malloc(n ? n : 1);
	if (!b->p)
		return SB_ENOMEM;
	if (n)
		memcpy(b->p, p, n);
	b->len = n;
	return 0;
}

static void value_clear(struct value *v)
{
	free(v->str.p);
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i].p);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

void raft_kv_result_free(struct raft_kv_result *res)
{
	if (!res)
		return;
	free(res->bulk);
	for (size_t i = 0; i < res->n_items; i++)
		free(res->items[i]);
	free(res->items);
	free(res->item_lens);
	memset(res, 0, sizeof(*res));
}

int raft_kv_result_copy(struct raft_kv_result *dst, const struct raft_kv_result *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	dst->integer = src->integer;
	if (src->bulk) {
		dst->bulk = malloc(src->bulk_len + 1);
		if (!dst->bulk)
			goto nomem;
		memcpy(dst->bulk, src->bulk, src->bulk_len);
		dst->bulk[src->bulk_len] = 0;
		dst->bulk_len = src->bulk_len;
	}
	if (src->n_items) {
		dst->items = calloc(src->n_items, sizeof(*dst->items));
		dst->item_lens = calloc(src->n_items, sizeof(*dst->item_lens));
		if (!dst->items || !dst->item_lens)
			goto nomem;
		for (size_t i = 0; i < src->n_items; i++) {
			dst->items[i] = malloc(src->item_lens[i] ? src->item_lens[i] : 1);
			if (!dst->items[i])
				goto nomem;
			memcpy(dst->items[i], src->items[i], src->item_lens[i]);
			dst->item_lens[i] = src->item_lens[i];
			dst->n_items = i + 1;
		}
	}
	return 0;
nomem:
	raft_kv_result_free(dst);
	return SB_ENOMEM;
}

static int res_err(struct raft_kv_result *res, const char *msg)
{
	memset(res, 0, sizeof(*res));
	res->kind = RAFT_KV_RES_ERR;
	size_t n = strlen(msg);
	res->bulk = malloc(n + 1);
	if (!res->bulk)
		return SB_ENOMEM;
	memcpy(res->bulk, msg, n + 1);
	res->bulk_len = n;
	return 0;
}

static int res_bulk(struct raft_kv_result *res, const struct bytes *b)
{
	memset(res, 0, sizeof(*res));
	res->kind = RAFT_KV_RES_BULK;
	res->bulk = malloc(b->len + 1);
	if (!res->bulk)
		return SB_ENOMEM;
	memcpy(res->bulk, b->p, b->len);
	res->bulk[b->len] = 0;
	res->bulk_len = b->len;
	return 0;
}

static void res_simple(struct raft_kv_result *res, enum raft_kv_res_kind kind, long long i)
{
	memset(res, 0, sizeof(*res));
	res->kind = kind;
	res->integer = i;
}

struct raft_kv *raft_kv_new(void)
{
	struct raft_kv *kv = calloc(1, sizeof(*kv));
	return kv;
}

static void free_tables(struct kslot *keys, size_t kcap, struct cslot *clients, size_t ccap)
{
	for (size_t i = 0; i < kcap; i++) {
		if (keys[i].state == SLOT_USED) {
			free(keys[i].key.p);
			value_clear(&keys[i].val);
		}
	}
	free(keys);
	for (size_t i = 0; i < ccap; i++)
		if (clients[i].state == SLOT_USED)
			raft_kv_result_free(&clients[i].res);
	free(clients);
}

void raft_kv_free(struct raft_kv *kv)
{
	if (!kv)
		return;
	free_tables(kv->keys, kv->kcap, kv->clients, kv->ccap);
	free(kv);
}

/* ---- key table ---- */

static struct kslot *key_find(const struct raft_kv *kv, const unsigned char *k, size_t n)
{
	if (!kv->kcap)
		return NULL;
	uint64_t h = hash_fnv64(HASH_FNV64_INIT, k, n);
	size_t mask = kv->kcap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct kslot *s = &kv->keys[i];
		if (s->state == SLOT_EMPTY)
			return NULL;
		if (s->state == SLOT_USED && s->hash == h && s->key.len == n &&
		    (n == 0 || memcmp(s->key.p, k, n) == 0))
			return s;
	}
}

static int key_grow(struct raft_kv *kv)
{
	size_t ncap = kv->kcap ? kv->kcap * 2 : 16;
	if (kv->klive * 4 < kv->kcap)
		ncap = kv->kcap; /* mostly tombstones: rehash in place size */
	struct kslot *n = calloc(ncap, sizeof(*n));
	if (!n)
		return SB_ENOMEM;
	for (size_t i = 0; i < kv->kcap; i++) {
		struct kslot *s = &kv->keys[i];
		if (s->state != SLOT_USED)
			continue;
		size_t j = s->hash & (ncap - 1);
		while (n[j].state != SLOT_EMPTY)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(kv->keys);
	kv->keys = n;
	kv->kcap = ncap;
	kv->kused = kv->klive;
	return 0;
}

/* Find or insert key; new slots hold an empty string value. */
static int key_get(struct raft_kv *kv, const unsigned char *k, size_t n, struct kslot **out)
{
	struct kslot *s = key_find(kv, k, n);
	if (s) {
		*out = s;
		return 0;
	}
	if ((kv->kused + 1) * 4 >= kv->kcap * 3) {
		int rc = key_grow(kv);
		if (rc)
			return rc;
	}
	uint64_t h = hash_fnv64(HASH_FNV64_INIT, k, n);
	size_t mask = kv->kcap - 1;
	size_t i = h & mask;
	while (kv->keys[i].state == SLOT_USED)
		i = (i + 1) & mask;
	s = &kv->keys[i];
	struct bytes key;
	if (bytes_dup(&key, k, n))
		return SB_ENOMEM;
	if (s->state == SLOT_EMPTY)
		kv->kused++;
	memset(s, 0, sizeof(*s));
	s->state = SLOT_USED;
	s->hash = h;
	s->key = key;
	kv->klive++;
	*out = s;
	return 0;
}

static void key_del(struct raft_kv *kv, struct kslot *s)
{
	free(s->key.p);
	value_clear(&s->val);
	memset(s, 0, sizeof(*s));
	s->state = SLOT_DEAD;
	kv->klive--;
}

/* ---- client table ---- */

static struct cslot *client_find(const struct raft_kv *kv, uint64_t c)
{
	if (!kv->ccap)
		return NULL;
	size_t mask = kv->ccap - 1;
	for (size_t i = hash_mix64(c) & mask;; i = (i + 1) & mask) {
		struct cslot *s = &kv->clients[i];
		if (s->state == SLOT_EMPTY)
			return NULL;
		if (s->client == c)
			return s;
	}
}

static int client_get(struct raft_kv *kv, uint64_t c, struct cslot **out)
{
	struct cslot *s = client_find(kv, c);
	if (s) {
		*out = s;
		return 0;
	}
	if ((kv->cused + 1) * 4 >= kv->ccap * 3) {
		size_t ncap = kv->ccap ? kv->ccap * 2 : 16;
		struct cslot *n = calloc(ncap, sizeof(*n));
		if (!n)
			return SB_ENOMEM;
		for (size_t i = 0; i < kv->ccap; i++) {
			if (kv->clients[i].state != SLOT_USED)
				continue;
			size_t j = hash_mix64(kv->clients[i].client) & (ncap - 1);
			while (n[j].state != SLOT_EMPTY)
				j = (j + 1) & (ncap - 1);
			n[j] = kv->clients[i];
		}
		free(kv->clients);
		kv->clients = n;
		kv->ccap = ncap;
	}
	size_t mask = kv->ccap - 1;
	size_t i = hash_mix64(c) & mask;
	while (kv->clients[i].state != SLOT_EMPTY)
		i = (i + 1) & mask;
	s = &kv->clients[i];
	memset(s, 0, sizeof(*s));
	s->state = SLOT_USED;
	s->client = c;
	kv->cused++;
	*out = s;
	return 0;
}

/* ---- encoding ---- */

static const size_t op_nargs[] = {0, 1, 2, 3, 1, 2, 3};
static const char *const op_names[] = {"?", "GET", "SET", "CAS", "DEL", "RPUSH", "LRANGE"};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int parse_ll(const unsigned char *p, size_t n, long long *out)
{
	if (n == 0 || n > 20)
		return -1;
	char buf[24];
	memcpy(buf, p, n);
	buf[n] = 0;
	char *end;
	long long v = strtoll(buf, &end, 10);
	if (*end != 0)
		return -1;
	*out = v;
	return 0;
}

static int encode_raw(enum raft_kv_op op, const struct raft_kv_str *args, size_t nargs,
		      unsigned char **out, size_t *outlen)
{
	size_t total = 5;
	for (size_t i = 0; i < nargs; i++)
		total += 4 + args[i].len;
	unsigned char *b = malloc(total);
	if (!b)
		return SB_ENOMEM;
	b[0] = (unsigned char)op;
	put32(b + 1, (uint32_t)nargs);
	size_t off = 5;
	for (size_t i = 0; i < nargs; i++) {
		put32(b + off, (uint32_t)args[i].len);
		off += 4;
		if (args[i].len)
			memcpy(b + off, args[i].p, args[i].len);
		off += args[i].len;
	}
	*out = b;
	*outlen = total;
	return 0;
}

static int check_args(enum raft_kv_op op, const struct raft_kv_str *args, size_t nargs, char *err,
		      size_t errlen)
{
	if (op < RAFT_KV_GET || op > RAFT_KV_LRANGE)
		return err_set(err, errlen, SB_EINVAL, "unknown command op %d", (int)op);
	if (nargs != op_nargs[op])
		return err_set(err, errlen, SB_EINVAL, "%s takes %zu args, got %zu", op_names[op],
			       op_nargs[op], nargs);
	if (args[0].len > RAFT_KV_MAX_KEY)
		return err_set(err, errlen, SB_EINVAL, "%s: key of %zu bytes exceeds %u",
			       op_names[op], args[0].len, RAFT_KV_MAX_KEY);
	for (size_t i = 1; i < nargs; i++)
		if (args[i].len > RAFT_KV_MAX_VALUE)
			return err_set(err, errlen, SB_EINVAL, "%s: argument %zu of %zu bytes exceeds %u",
				       op_names[op], i + 1, args[i].len, RAFT_KV_MAX_VALUE);
	if (op == RAFT_KV_LRANGE) {
		long long v;
		for (size_t i = 1; i < 3; i++)
			if (parse_ll(args[i].p, args[i].len, &v))
				return err_set(err, errlen, SB_EINVAL,
					       "LRANGE: argument %zu is not an integer", i + 1);
	}
	return 0;
}

int raft_kv_encode_args(enum raft_kv_op op, const struct raft_kv_str *args, size_t nargs,
			unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	int rc = check_args(op, args, nargs, err, errlen);
	if (rc)
		return rc;
	rc = encode_raw(op, args, nargs, out, outlen);
	if (rc)
		err_set(err, errlen, rc, "out of memory encoding %s", op_names[op]);
	return rc;
}

int raft_kv_encode(const struct raft_kv_cmd *cmd, unsigned char **out, size_t *outlen, char *err,
		   size_t errlen)
{
	struct raft_kv_str args[3];
	char s1[24], s2[24];
	size_t n = 0;
	if (cmd->op < RAFT_KV_GET || cmd->op > RAFT_KV_LRANGE)
		return err_set(err, errlen, SB_EINVAL, "unknown command op %d", (int)cmd->op);
	args[n++] = cmd->key;
	if (cmd->op == RAFT_KV_LRANGE) {
		int l1 = snprintf(s1, sizeof(s1), "%lld", cmd->start);
		int l2 = snprintf(s2, sizeof(s2), "%lld", cmd->stop);
		args[n++] = (struct raft_kv_str){(const unsigned char *)s1, (size_t)l1};
		args[n++] = (struct raft_kv_str){(const unsigned char *)s2, (size_t)l2};
	} else {
		for (size_t i = 1; i < op_nargs[cmd->op]; i++)
			args[n++] = cmd->arg[i - 1];
	}
	return raft_kv_encode_args(cmd->op, args, n, out, outlen, err, errlen);
}

int raft_kv_decode(const unsigned char *buf, size_t len, struct raft_kv_cmd *cmd, char *err,
		   size_t errlen)
{
	struct raft_kv_str args[3];
	memset(cmd, 0, sizeof(*cmd));
	if (!buf || len < 5)
		return err_set(err, errlen, SB_EINVAL, "command of %zu bytes is too short", len);
	unsigned op = buf[0];
	if (op < RAFT_KV_GET || op > RAFT_KV_LRANGE)
		return err_set(err, errlen, SB_EINVAL, "unknown command op %u", op);
	uint32_t nargs = get32(buf + 1);
	if (nargs != op_nargs[op])
		return err_set(err, errlen, SB_EINVAL, "%s with %u args (want %zu)", op_names[op],
			       nargs, op_nargs[op]);
	size_t off = 5;
	for (uint32_t i = 0; i < nargs; i++) {
		if (len - off < 4)
			return err_set(err, errlen, SB_EINVAL, "%s: truncated at byte %zu",
				       op_names[op], off);
		uint32_t l = get32(buf + off);
		off += 4;
		if (l > len - off)
			return err_set(err, errlen, SB_EINVAL,
				       "%s: argument %u length %u overruns the command at byte %zu",
				       op_names[op], i + 1, l, off);
		args[i] = (struct raft_kv_str){buf + off, l};
		off += l;
	}
	if (off != len)
		return err_set(err, errlen, SB_EINVAL, "%s: %zu trailing bytes", op_names[op],
			       len - off);
	int rc = check_args((enum raft_kv_op)op, args, nargs, err, errlen);
	if (rc)
		return rc;
	cmd->op = (enum raft_kv_op)op;
	cmd->key = args[0];
	if (op == RAFT_KV_LRANGE) {
		parse_ll(args[1].p, args[1].len, &cmd->start);
		parse_ll(args[2].p, args[2].len, &cmd->stop);
	} else {
		for (uint32_t i = 1; i < nargs; i++)
			cmd->arg[i - 1] = args[i];
	}
	return 0;
}

int raft_kv_is_read(const unsigned char *buf, size_t len)
{
	struct raft_kv_cmd cmd;
	if (raft_kv_decode(buf, len, &cmd, NULL, 0))
		return SB_EINVAL;
	return cmd.op == RAFT_KV_GET || cmd.op == RAFT_KV_LRANGE;
}

/* ---- evaluation ---- */

static const char wrongtype[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

static int eval_read(const struct raft_kv *kv, const struct raft_kv_cmd *cmd,
		     struct raft_kv_result *res)
{
	struct kslot *s = key_find(kv, cmd->key.p, cmd->key.len);
	if (cmd->op == RAFT_KV_GET) {
		if (!s) {
			res_simple(res, RAFT_KV_RES_NIL, 0);
			return 0;
		}
		if (s->val.is_list)
			return res_err(res, wrongtype);
		return res_bulk(res, &s->val.str);
	}
	/* LRANGE with Redis index rules. */
	memset(res, 0, sizeof(*res));
	res->kind = RAFT_KV_RES_ARRAY;
	if (!s)
		return 0;
	if (!s->val.is_list)
		return res_err(res, wrongtype);
	long long n = (long long)s->val.n;
	long long a = cmd->start, b = cmd->stop;
	if (a < 0)
		a += n;
	if (b < 0)
		b += n;
	if (a < 0)
		a = 0;
	if (b >= n)
		b = n - 1;
	if (a > b || a >= n)
		return 0;
	size_t cnt = (size_t)(b - a + 1);
	res->items = calloc(cnt, sizeof(*res->items));
	res->item_lens = calloc(cnt, sizeof(*res->item_lens));
	if (!res->items || !res->item_lens)
		goto nomem;
	for (size_t i = 0; i < cnt; i++) {
		const struct bytes *it = &s->val.items[(size_t)a + i];
		res->items[i] = malloc(it->len ? it->len : 1);
		if (!res->items[i])
			goto nomem;
		memcpy(res->items[i], it->p, it->len);
		res->item_lens[i] = it->len;
		res->n_items = i + 1;
	}
	return 0;
nomem:
	raft_kv_result_free(res);
	return SB_ENOMEM;
}

static int eval_write(struct raft_kv *kv, const struct raft_kv_cmd *cmd, struct raft_kv_result *res)
{
	struct kslot *s;
	int rc;
	switch (cmd->op) {
	case RAFT_KV_SET: {
		struct bytes v;
		if (bytes_dup(&v, cmd->arg[0].p, cmd->arg[0].len))
			return SB_ENOMEM;
		if ((rc = key_get(kv, cmd->key.p, cmd->key.len, &s))) {
			free(v.p);
			return rc;
		}
		value_clear(&s->val);
		s->val.str = v;
		res_simple(res, RAFT_KV_RES_OK, 0);
		return 0;
	}
	case RAFT_KV_CAS: {
		s = key_find(kv, cmd->key.p, cmd->key.len);
		if (!s || s->val.is_list || s->val.str.len != cmd->arg[0].len ||
		    (cmd->arg[0].len && memcmp(s->val.str.p, cmd->arg[0].p, cmd->arg[0].len))) {
			res_simple(res, RAFT_KV_RES_INT, 0);
			return 0;
		}
		struct bytes v;
		if (bytes_dup(&v, cmd->arg[1].p, cmd->arg[1].len))
			return SB_ENOMEM;
		free(s->val.str.p);
		s->val.str = v;
		res_simple(res, RAFT_KV_RES_INT, 1);
		return 0;
	}
	case RAFT_KV_DEL:
		s = key_find(kv, cmd->key.p, cmd->key.len);
		if (s)
			key_del(kv, s);
		res_simple(res, RAFT_KV_RES_INT, s ? 1 : 0);
		return 0;
	case RAFT_KV_RPUSH: {
		s = key_find(kv, cmd->key.p, cmd->key.len);
		if (s && !s->val.is_list)
			return res_err(res, wrongtype);
		struct bytes v;
		if (bytes_dup(&v, cmd->arg[0].p, cmd->arg[0].len))
			return SB_ENOMEM;
		if (!s) {
			if ((rc = key_get(kv, cmd->key.p, cmd->key.len, &s))) {
				free(v.p);
				return rc;
			}
			s->val.is_list = 1;
		}
		if (array_grow((void **)&s->val.items, &s->val.cap, s->val.n + 1,
			       sizeof(*s->val.items), 4)) {
			free(v.p);
			return SB_ENOMEM;
		}
		s->val.items[s->val.n++] = v;
		res_simple(res, RAFT_KV_RES_INT, (long long)s->val.n);
		return 0;
	}
	default:
		return res_err(res, "ERR not a write command");
	}
}

int raft_kv_apply(struct raft_kv *kv, uint64_t client_id, uint64_t seq, const unsigned char *buf,
		  size_t len, struct raft_kv_result *res)
{
	struct raft_kv_cmd cmd;
	char msg[160];
	memset(res, 0, sizeof(*res));
	if (raft_kv_decode(buf, len, &cmd, msg, sizeof(msg))) {
		char full[200];
		snprintf(full, sizeof(full), "ERR bad command: %s", msg);
		return res_err(res, full);
	}
	if (cmd.op == RAFT_KV_GET || cmd.op == RAFT_KV_LRANGE)
		return eval_read(kv, &cmd, res);
	struct cslot *c = NULL;
	if (client_id) {
		int rc = client_get(kv, client_id, &c);
		if (rc)
			return rc;
		if (c->seq && seq == c->seq)
			return raft_kv_result_copy(res, &c->res);
		if (c->seq && seq < c->seq)
			return res_err(res, "STALE sequence");
	}
	int rc = eval_write(kv, &cmd, res);
	if (rc)
		return rc;
	if (c) {
		struct raft_kv_result copy;
		rc = raft_kv_result_copy(&copy, res);
		if (rc)
			return rc;
		raft_kv_result_free(&c->res);
		c->res = copy;
		c->seq = seq;
	}
	return 0;
}

int raft_kv_query(const struct raft_kv *kv, const unsigned char *buf, size_t len,
		  struct raft_kv_result *res)
{
	struct raft_kv_cmd cmd;
	char msg[160];
	memset(res, 0, sizeof(*res));
	if (raft_kv_decode(buf, len, &cmd, msg, sizeof(msg))) {
		char full[200];
		snprintf(full, sizeof(full), "ERR bad command: %s", msg);
		return res_err(res, full);
	}
	if (cmd.op != RAFT_KV_GET && cmd.op != RAFT_KV_LRANGE)
		return res_err(res, "ERR not a read command");
	return eval_read(kv, &cmd, res);
}

/* ---- snapshots ----
 * Format: "RKV1" | u64 nkeys | per key (sorted by bytes): u32 klen, key, u8 is_list,
 *   string: u32 len, bytes | list: u32 n, n x (u32 len, bytes)
 * | u64 nclients | per client (sorted by id): u64 id, u64 seq, result
 * result: u8 kind, u64 integer, u32 bulk_len, bulk, u32 n_items, n x (u32 len, bytes). */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void wput(struct wbuf *w, const void *src, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n > w->cap) {
		size_t nc = w->cap ? w->cap : 256;
		while (nc < w->len + n)
			nc *= 2;
		unsigned char *np = realloc(w->p, nc);
		if (!np) {
			w->oom = 1;
			return;
		}
		w->p = np;
		w->cap = nc;
	}
	if (n)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void wu8(struct wbuf *w, unsigned v)
{
	unsigned char b = (unsigned char)v;
	wput(w, &b, 1);
}

static void wu32(struct wbuf *w, uint32_t v)
{
	unsigned char b[4];
	put32(b, v);
	wput(w, b, 4);
}

static void wu64(struct wbuf *w, uint64_t v)
{
	unsigned char b[8];
	put64(b, v);
	wput(w, b, 8);
}

static void wbytes(struct wbuf *w, const void *p, size_t n)
{
	wu32(w, (uint32_t)n);
	wput(w, p, n);
}

static int cmp_kslot(const void *a, const void *b)
{
	const struct kslot *x = *(const struct kslot *const *)a, *y = *(const struct kslot *const *)b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = n ? memcmp(x->key.p, y->key.p, n) : 0;
	if (c)
		return c;
	return (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

static int cmp_cslot(const void *a, const void *b)
{
	const struct cslot *x = *(const struct cslot *const *)a, *y = *(const struct cslot *const *)b;
	return (x->client > y->client) - (x->client < y->client);
}

static void write_result(struct wbuf *w, const struct raft_kv_result *r)
{
	wu8(w, (unsigned)r->kind);
	wu64(w, (uint64_t)r->integer);
	wbytes(w, r->bulk, r->bulk ? r->bulk_len : 0);
	wu32(w, (uint32_t)r->n_items);
	for (size_t i = 0; i < r->n_items; i++)
		wbytes(w, r->items[i], r->item_lens[i]);
}

int raft_kv_snapshot(const struct raft_kv *kv, unsigned char **out, size_t *outlen)
{
	struct wbuf w = {0};
	const struct kslot **ks = NULL;
	const struct cslot **cs = NULL;
	size_t nk = 0, nc = 0;
	int rc = SB_ENOMEM;
	ks = malloc((kv->klive ? kv->klive : 1) * sizeof(*ks));
	cs = malloc((kv->cused ? kv->cused : 1) * sizeof(*cs));
	if (!ks || !cs)
		goto out;
	for (size_t i = 0; i < kv->kcap; i++)
		if (kv->keys[i].state == SLOT_USED)
			ks[nk++] = &kv->keys[i];
	for (size_t i = 0; i < kv->ccap; i++)
		if (kv->clients[i].state == SLOT_USED)
			cs[nc++] = &kv->clients[i];
	qsort(ks, nk, sizeof(*ks), cmp_kslot);
	qsort(cs, nc, sizeof(*cs), cmp_cslot);
	wput(&w, "RKV1", 4);
	wu64(&w, nk);
	for (size_t i = 0; i < nk; i++) {
		wbytes(&w, ks[i]->key.p, ks[i]->key.len);
		wu8(&w, (unsigned)ks[i]->val.is_list);
		if (ks[i]->val.is_list) {
			wu32(&w, (uint32_t)ks[i]->val.n);
			for (size_t j = 0; j < ks[i]->val.n; j++)
				wbytes(&w, ks[i]->val.items[j].p, ks[i]->val.items[j].len);
		} else {
			wbytes(&w, ks[i]->val.str.p, ks[i]->val.str.len);
		}
	}
	wu64(&w, nc);
	for (size_t i = 0; i < nc; i++) {
		wu64(&w, cs[i]->client);
		wu64(&w, cs[i]->seq);
		write_result(&w, &cs[i]->res);
	}
	if (w.oom)
		goto out;
	*out = w.p;
	*outlen = w.len;
	w.p = NULL;
	rc = 0;
out:
	free(w.p);
	free(ks);
	free(cs);
	return rc;
}

struct rbuf {
	const unsigned char *p;
	size_t len, off;
	const char *what; /* first failure */
};

static int rneed(struct rbuf *r, size_t n, const char *what)
{
	if (r->what)
		return -1;
	if (r->len - r->off < n) {
		r->what = what;
		return -1;
	}
	return 0;
}

static uint64_t ru64(struct rbuf *r, const char *what)
{
	if (rneed(r, 8, what))
		return 0;
	uint64_t v = get64(r->p + r->off);
	r->off += 8;
	return v;
}

static uint32_t ru32(struct rbuf *r, const char *what)
{
	if (rneed(r, 4, what))
		return 0;
	uint32_t v = get32(r->p + r->off);
	r->off += 4;
	return v;
}

static unsigned ru8(struct rbuf *r, const char *what)
{
	if (rneed(r, 1, what))
		return 0;
	return r->p[r->off++];
}

/* A borrowed byte string of at most max bytes. */
static const unsigned char *rbytes(struct rbuf *r, size_t *n, size_t max, const char *what)
{
	uint32_t l = ru32(r, what);
	if (r->what)
		return NULL;
	if (l > max) {
		r->what = what;
		return NULL;
	}
	if (rneed(r, l, what))
		return NULL;
	const unsigned char *p = r->p + r->off;
	r->off += l;
	*n = l;
	return p;
}

static int read_result(struct rbuf *r, struct raft_kv_result *res)
{
	memset(res, 0, sizeof(*res));
	unsigned kind = ru8(r, "result kind");
	long long integer = (long long)ru64(r, "result integer");
	size_t bl = 0;
	const unsigned char *b = rbytes(r, &bl, RAFT_KV_MAX_VALUE + 256, "result bulk");
	uint32_t n = ru32(r, "result item count");
	if (r->what)
		return SB_EINVAL;
	if (kind < RAFT_KV_RES_OK || kind > RAFT_KV_RES_ERR || n > r->len - r->off) {
		r->what = "result kind or item count";
		return SB_EINVAL;
	}
	res->kind = (enum raft_kv_res_kind)kind;
	res->integer = integer;
	if (kind == RAFT_KV_RES_BULK || kind == RAFT_KV_RES_ERR) {
		res->bulk = malloc(bl + 1);
		if (!res->bulk)
			return SB_ENOMEM;
		memcpy(res->bulk, b, bl);
		res->bulk[bl] = 0;
		res->bulk_len = bl;
	}
	if (n) {
		res->items = calloc(n, sizeof(*res->items));
		res->item_lens = calloc(n, sizeof(*res->item_lens));
		if (!res->items || !res->item_lens)
			goto nomem;
		for (uint32_t i = 0; i < n; i++) {
			size_t il = 0;
			const unsigned char *ip = rbytes(r, &il, RAFT_KV_MAX_VALUE, "result item");
			if (r->what)
				return SB_EINVAL;
			res->items[i] = malloc(il ? il : 1);
			if (!res->items[i])
				goto nomem;
			memcpy(res->items[i], ip, il);
			res->item_lens[i] = il;
			res->n_items = i + 1;
		}
	}
	return 0;
nomem:
	return SB_ENOMEM;
}

int raft_kv_restore(struct raft_kv *kv, const unsigned char *buf, size_t len, char *err,
		    size_t errlen)
{
	struct raft_kv *n = raft_kv_new();
	struct rbuf r = {buf, len, 0, NULL};
	int rc = SB_ENOMEM;
	if (!n)
		goto out;
	if (len < 4 || memcmp(buf, "RKV1", 4) != 0) {
		rc = err_set(err, errlen, SB_EINVAL, "state snapshot: bad magic");
		goto out;
	}
	r.off = 4;
	uint64_t nk = ru64(&r, "key count");
	for (uint64_t i = 0; i < nk && !r.what; i++) {
		size_t kl = 0;
		const unsigned char *k = rbytes(&r, &kl, RAFT_KV_MAX_KEY, "key");
		unsigned is_list = ru8(&r, "value type");
		if (r.what)
			break;
		if (is_list > 1 || key_find(n, k, kl)) {
			r.what = is_list > 1 ? "value type" : "duplicate key";
			break;
		}
		struct kslot *s;
		if ((rc = key_get(n, k, kl, &s)))
			goto out;
		if (!is_list) {
			size_t vl = 0;
			const unsigned char *v = rbytes(&r, &vl, RAFT_KV_MAX_VALUE, "string value");
			if (r.what)
				break;
			if (bytes_dup(&s->val.str, v, vl)) {
				rc = SB_ENOMEM;
				goto out;
			}
			continue;
		}
		s->val.is_list = 1;
		uint32_t cnt = ru32(&r, "list length");
		if (r.what)
			break;
		if (cnt > (len - r.off) / 4) {
			r.what = "list length";
			break;
		}
		s->val.items = calloc(cnt ? cnt : 1, sizeof(*s->val.items));
		if (!s->val.items) {
			rc = SB_ENOMEM;
			goto out;
		}
		s->val.cap = cnt ? cnt : 1;
		for (uint32_t j = 0; j < cnt; j++) {
			size_t vl = 0;
			const unsigned char *v = rbytes(&r, &vl, RAFT_KV_MAX_VALUE, "list item");
			if (r.what)
				break;
			if (bytes_dup(&s->val.items[j], v, vl)) {
				rc = SB_ENOMEM;
				goto out;
			}
			s->val.n = j + 1;
		}
	}
	uint64_t nc = ru64(&r, "client count");
	for (uint64_t i = 0; i < nc && !r.what; i++) {
		uint64_t id = ru64(&r, "client id");
		uint64_t seq = ru64(&r, "client seq");
		if (r.what)
			break;
		struct cslot *c;
		if (client_find(n, id)) {
			r.what = "duplicate client";
			break;
		}
		if ((rc = client_get(n, id, &c)))
			goto out;
		c->seq = seq;
		rc = read_result(&r, &c->res);
		if (rc == SB_ENOMEM)
			goto out;
	}
	if (!r.what && r.off != len)
		r.what = "trailing bytes";
	if (r.what) {
		rc = err_set(err, errlen, SB_EINVAL, "state snapshot: bad %s at byte %zu", r.what,
			     r.off);
		goto out;
	}
	/* Swap in the new tables. */
	free_tables(kv->keys, kv->kcap, kv->clients, kv->ccap);
	*kv = *n;
	free(n);
	n = NULL;
	rc = 0;
out:
	if (rc == SB_ENOMEM)
		err_set(err, errlen, rc, "state snapshot: out of memory");
	raft_kv_free(n);
	return rc;
}

uint64_t raft_kv_digest(const struct raft_kv *kv)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (raft_kv_snapshot(kv, &buf, &len))
		return 0;
	uint64_t h = hash_fnv64(HASH_FNV64_INIT, buf, len);
	free(buf);
	return h;
}
