/* checker — pairing events into operations (the rules of docs/history.md), and running the
 * per-key checks on a pool of threads. See checker.h for the contract. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checker/internal.h"
#include "lib/clock.h"
#include "lib/array.h"
#include "lib/bigmem.h"
#include "lib/err.h"

static const char *const model_names[] = {
	[CHK_MODEL_REGISTER] = "register", [CHK_MODEL_CAS_REGISTER] = "cas-register",
	[CHK_MODEL_KV] = "kv",             [CHK_MODEL_LIST] = "list",
	[CHK_MODEL_SET] = "set",           [CHK_MODEL_MUTEX] = "mutex",
	[CHK_MODEL_MULTI_REGISTER] = "multi-register",
};
#define NMODELS (sizeof model_names / sizeof model_names[0])

int chk_model_parse(const char *name, enum chk_model *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < NMODELS; i++)
		if (!strcmp(name, model_names[i])) {
			*out = (enum chk_model)i;
			return 0;
		}
	return err_set(err, errlen, SB_EINVAL,
		       "unknown model '%s' (models: register, cas-register, kv, list, set, "
		       "mutex, multi-register)",
		       name);
}

const char *chk_model_name(enum chk_model m)
{
	return (size_t)m < NMODELS ? model_names[m] : "?";
}

const char *chk_verdict_name(enum chk_verdict v)
{
	return v == CHK_VALID ? "valid" : v == CHK_INVALID ? "invalid" : "unknown";
}

static int severity(enum chk_verdict v)
{
	return v == CHK_INVALID ? 2 : v == CHK_UNKNOWN ? 1 : 0;
}

enum chk_verdict chk_verdict_worst(enum chk_verdict a, enum chk_verdict b)
{
	return severity(a) >= severity(b) ? a : b;
}

const char *chk_set_anomaly_name(enum chk_set_anomaly a)
{
	static const char *const n[] = {"lost", "stale", "never-read", "unexpected", "recovered"};
	return (size_t)a < CHK_SET_NANOMALY ? n[a] : "?";
}

int64_t chk_now_ns(void)
{
	return clock_mono_ns();
}

int chk_budget_expired(struct budget *b, int64_t key_deadline)
{
	if (atomic_load(&b->stop))
		return 1;
	if (!b->deadline_ns && !key_deadline)
		return 0;
	int64_t now = chk_now_ns();
	if (b->deadline_ns && now > b->deadline_ns) {
		atomic_store(&b->stop, 1);
		return 1;
	}
	return key_deadline && now > key_deadline ? 2 : 0;
}

const char *chk_budget_why(int r)
{
	return r == 2 ? "the per-key time limit was reached before this key was decided"
		      : "the time limit was reached before this key was decided";
}

const char *chk_kind_name(int kind)
{
	switch (kind) {
	case K_READ:
	case K_LREAD:
	case K_SREAD:
		return "read";
	case K_WRITE:
	case K_LWRITE:
		return "write";
	case K_CAS:
	case K_MISMATCH:
		return "cas";
	case K_ACQUIRE:
		return "acquire";
	case K_RELEASE:
		return "release";
	case K_APPEND:
		return "append";
	case K_ADD:
		return "add";
	case K_TXN:
		return "txn";
	default:
		return "?";
	}
}

/* ---- --initial ------------------------------------------------------------------------------ */

void chk_value_free(struct hval *v)
{
	hval_free(v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The first key that map m holds twice, or NULL (or NULL when out of memory: then nothing is
 * reported, as before this check existed). Keys are hashed and sorted so that a large map
 * costs n log n. */
static const struct hval *map_twice(const struct hval *m)
{
	uint32_t n = m->len;
	if (n < 2)
		return NULL;
	/* (hash, index) pairs, sorted by hash: equal keys have equal hashes */
	uint64_t *hs = malloc(2 * (size_t)n * sizeof *hs);
	if (!hs)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		hs[2 * i] = hval_hash(&m->u.items[2 * i]);
		hs[2 * i + 1] = i;
	}
	qsort(hs, n, 2 * sizeof *hs, cmp_u64);
	const struct hval *dup = NULL;
	for (uint32_t a = 0; a < n && !dup; a++)
		for (uint32_t b = a + 1; b < n && hs[2 * b] == hs[2 * a] && !dup; b++)
			if (hval_equal(&m->u.items[2 * hs[2 * a + 1]], &m->u.items[2 * hs[2 * b + 1]]))
				dup = &m->u.items[2 * hs[2 * a + 1]];
	free(hs);
	return dup;
}

/* The first key that some map inside v holds twice, or NULL. */
static const struct hval *value_twice(const struct hval *v, int depth)
{
	if (depth > 300 || (v->kind != HVAL_ARRAY && v->kind != HVAL_MAP))
		return NULL;
	const struct hval *dup = v->kind == HVAL_MAP ? map_twice(v) : NULL;
	uint32_t n = v->kind == HVAL_MAP ? 2 * v->len : v->len;
	for (uint32_t i = 0; i < n && !dup; i++)
		dup = value_twice(&v->u.items[i], depth + 1);
	return dup;
}

static int dup_key_error(const struct hval *k, const char *where, char *err, size_t errlen)
{
	char kt[64];
	hval_format(kt, sizeof kt, k);
	return err_set(err, errlen, SB_EINVAL, "%s: key %s appears twice in a map", where, kt);
}

int chk_value_parse(const char *json, struct hval **out, char *err, size_t errlen)
{
	char e2[400];
	*out = NULL;
	int rc = hval_parse_json(json, strlen(json), out, e2, sizeof e2);
	if (rc == SB_ENOMEM)
		return err_set(err, errlen, rc, "out of memory");
	/* a long value is not echoed whole */
	char echo[48];
	snprintf(echo, sizeof echo, "'%.40s%s'", json, strlen(json) > 40 ? "..." : "");
	if (rc)
		return err_set(err, errlen, rc, "%s: %s", echo, e2);
	const struct hval *dup = value_twice(*out, 0);
	if (dup) {
		rc = dup_key_error(dup, echo, err, errlen);
		hval_free(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- history building ------------------------------------------------------------------------ */

static int pool_add(struct chk_history *h, vref v)
{
	if (h->npool == h->cappool) {
		size_t cap = h->cappool ? h->cappool * 2 : 1024;
		if (cap > (size_t)INT32_MAX)
			return -1;
		vref *p = realloc(h->pool, cap * sizeof *p);
		if (!p)
			return -1;
		h->pool = p;
		h->cappool = cap;
	}
	h->pool[h->npool++] = v;
	return 0;
}

static int32_t reg_index(struct chk_history *h, vref name, vref init)
{
	for (size_t i = 0; i < h->nregs; i++)
		if (h->regs[i] == name)
			return (int32_t)i;
	if (h->nregs == h->capregs) {
		size_t cap = h->capregs ? h->capregs * 2 : 8;
		vref *r = realloc(h->regs, cap * sizeof *r);
		if (!r)
			return -1;
		h->regs = r;
		vref *ri = realloc(h->reg_init, cap * sizeof *ri);
		if (!ri)
			return -1;
		h->reg_init = ri;
		h->capregs = cap;
	}
	h->regs[h->nregs] = name;
	h->reg_init[h->nregs] = init;
	return (int32_t)h->nregs++;
}

/* A time limit as the checker uses it: none (0) unless in (0, CHK_MAX_TIMEOUT_S], so that
 * seconds * 1e9 fits the nanosecond clock. -1 for NaN. */
static double limit_s(double s)
{
	if (isnan(s))
		return -1;
	return s > 0 && s <= CHK_MAX_TIMEOUT_S ? s : 0;
}

int chk_history_new(struct chk_history **out, const struct chk_options *opt, const char *name,
		    char *err, size_t errlen)
{
	*out = NULL;
	double t = limit_s(opt->timeout_s), kt = limit_s(opt->key_timeout_s);
	if (t < 0 || kt < 0)
		return err_set(err, errlen, SB_EINVAL, "%s: %s is not a number",
			       name ? name : "history", t < 0 ? "timeout_s" : "key_timeout_s");
	if (opt->initial && opt->model == CHK_MODEL_MULTI_REGISTER && opt->initial->kind == HVAL_MAP) {
		const struct hval *dup = map_twice(opt->initial);
		if (dup)
			return dup_key_error(dup, "initial value", err, errlen);
	}
	struct chk_history *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	h->start_ns = chk_now_ns();
	h->opt = *opt;
	h->opt.initial = NULL;
	h->opt.timeout_s = t;
	h->opt.key_timeout_s = kt;
	if (h->opt.threads > CHK_MAX_THREADS)
		h->opt.threads = CHK_MAX_THREADS;
	h->name = strdup(name ? name : "history");
	vtab_init(&h->vals);
	h->init_seq = -1;
	struct hval null = {.kind = HVAL_NULL};
	int rc = SB_ENOMEM;
	if (!h->name || vtab_ref(&h->vals, &null, &h->null_ref))
		goto fail;
	h->initial = h->null_ref;
	const struct hval *ini = opt->initial;
	if (ini && ini->kind != HVAL_NULL) {
		if (opt->model == CHK_MODEL_MULTI_REGISTER && ini->kind == HVAL_MAP) {
			for (uint32_t i = 0; i < ini->len; i++) {
				vref k, v;
				if (vtab_ref(&h->vals, &ini->u.items[2 * i], &k) ||
				    vtab_ref(&h->vals, &ini->u.items[2 * i + 1], &v) ||
				    reg_index(h, k, v) < 0)
					goto fail;
			}
		} else if (opt->model == CHK_MODEL_LIST) {
			if (ini->kind != HVAL_ARRAY) {
				rc = err_set(err, errlen, SB_EINVAL,
					     "--initial for the list model must be a JSON array");
				goto fail_msg;
			}
			h->init_seq = 0;
			h->init_seq_len = (int32_t)ini->len;
			for (uint32_t i = 0; i < ini->len; i++) {
				vref v;
				if (vtab_ref(&h->vals, &ini->u.items[i], &v) || pool_add(h, v))
					goto fail;
			}
		} else {
			if (vtab_ref(&h->vals, ini, &h->initial))
				goto fail;
		}
	}
	h->reg_default = h->initial; /* null unless a non-map initial value was given */
	*out = h;
	return 0;
fail:
	rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
fail_msg:
	chk_history_free(h);
	return rc;
}

void chk_history_set_edn(struct chk_history *h, int edn)
{
	h->edn = edn;
}

void chk_history_free(struct chk_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nkeys; i++) {
		free(h->keys[i].idx);
		free(h->keys[i].order);
		free(h->keys[i].onode);
	}
	bigmem_free(h->cops, h->capcops * sizeof *h->cops);
	free(h->keys);
	free(h->kslots);
	free(h->pdir);
	free(h->phash);
	free(h->pool);
	free(h->seqs.parent);
	free(h->seqs.elem);
	free(h->seqs.depth);
	free(h->seqs.slots);
	free(h->seqs.hot);
	free(h->regs);
	free(h->reg_init);
	vtab_free(&h->vals);
	free(h->name);
	free(h);
}

/* The hashed slot of process p, made if new; NULL when out of memory. */
static struct pslot *phash_slot(struct chk_history *h, int64_t p)
{
	if ((h->nphashed + 1) * 2 > h->nphash) {
		size_t cap = h->nphash ? h->nphash * 2 : 64;
		struct phslot *t = calloc(cap, sizeof *t);
		if (!t)
			return NULL;
		for (size_t j = 0; j < h->nphash; j++) {
			if (!h->phash[j].s.seen)
				continue;
			size_t i = mix64((uint64_t)h->phash[j].process) & (cap - 1);
			while (t[i].s.seen)
				i = (i + 1) & (cap - 1);
			t[i] = h->phash[j];
		}
		free(h->phash);
		h->phash = t;
		h->nphash = cap;
	}
	size_t i = mix64((uint64_t)p) & (h->nphash - 1);
	while (h->phash[i].s.seen) {
		if (h->phash[i].process == p)
			return &h->phash[i].s;
		i = (i + 1) & (h->nphash - 1);
	}
	h->phash[i].process = p;
	h->phash[i].s.seen = 1;
	h->nphashed++;
	h->nprocs++;
	return &h->phash[i].s;
}

/* Numbers below this may be slots of pdir; above, always hashed. */
#define PDIR_MAX ((size_t)1 << 24)

/* Grow pdir to hold processes 0 .. need - 1; hashed processes now in its range move in.
 * Returns 0 or -1 (out of memory). */
static int pdir_grow(struct chk_history *h, size_t need)
{
	size_t cap = h->npdir ? h->npdir : 256;
	while (cap < need)
		cap *= 2;
	if (cap > PDIR_MAX)
		cap = PDIR_MAX;
	struct pslot *d = realloc(h->pdir, cap * sizeof *d);
	if (!d)
		return -1;
	memset(d + h->npdir, 0, (cap - h->npdir) * sizeof *d);
	h->pdir = d;
	h->npdir = cap;
	if (!h->nphashed)
		return 0;
	/* move the hashed ones now in range, rehash the rest */
	struct phslot *old = h->phash;
	size_t nold = h->nphash;
	h->phash = NULL;
	h->nphash = h->nphashed = 0;
	int rc = 0;
	for (size_t j = 0; j < nold; j++) {
		if (!old[j].s.seen)
			continue;
		int64_t p = old[j].process;
		if (p >= 0 && (uint64_t)p < cap) {
			d[p] = old[j].s;
			continue;
		}
		h->nprocs--; /* counted again by phash_slot */
		struct pslot *s = phash_slot(h, p);
		if (!s) {
			rc = -1; /* the history is rejected: out of memory */
			break;
		}
		*s = old[j].s;
	}
	free(old);
	return rc;
}

/* The slot of process p (made if new: seen 0 until the caller's first event); NULL when out
 * of memory. Numbers up to four times the processes so far (and 1,024) are kept by number,
 * any other hashed: histories number processes densely, but nothing requires it. */
static struct pslot *proc_slot(struct chk_history *h, int64_t p)
{
	struct pslot *s;
	if (p >= 0 && (uint64_t)p < h->npdir) {
		s = &h->pdir[p];
	} else if (p >= 0 && (uint64_t)p < PDIR_MAX && (uint64_t)p < 4 * (h->nprocs + 256)) {
		if (pdir_grow(h, (size_t)p + 1))
			return NULL;
		s = &h->pdir[p];
	} else {
		return phash_slot(h, p);
	}
	if (!s->seen) {
		s->seen = 1;
		h->nprocs++;
	}
	return s;
}

/* Key index for value id `key` (-1: the single key). Returns -1 when out of memory. */
static int32_t key_index(struct chk_history *h, vref key)
{
	uint64_t kk = key;
	if (h->nkslots) {
		size_t i = mix64(kk) & (h->nkslots - 1);
		while (h->kslots[i]) {
			struct ckey *k = &h->keys[h->kslots[i] - 1];
			if (k->key == key)
				return (int32_t)(h->kslots[i] - 1);
			i = (i + 1) & (h->nkslots - 1);
		}
	}
	if ((h->nkeys + 1) * 2 > h->nkslots) {
		size_t cap = h->nkslots ? h->nkslots * 2 : 64;
		uint32_t *s = calloc(cap, sizeof *s);
		if (!s)
			return -1;
		for (size_t j = 0; j < h->nkeys; j++) {
			size_t i = mix64(h->keys[j].key) & (cap - 1);
			while (s[i])
				i = (i + 1) & (cap - 1);
			s[i] = (uint32_t)j + 1;
		}
		free(h->kslots);
		h->kslots = s;
		h->nkslots = cap;
	}
	if (array_grow((void **)&h->keys, &h->capkeys, h->nkeys + 1, sizeof *h->keys, 16))
		return -1;
	struct ckey *k = &h->keys[h->nkeys];
	memset(k, 0, sizeof *k);
	k->key = key;
	size_t i = mix64(kk) & (h->nkslots - 1);
	while (h->kslots[i])
		i = (i + 1) & (h->nkslots - 1);
	h->kslots[i] = (uint32_t)h->nkeys + 1;
	return (int32_t)h->nkeys++;
}

/* Append a zeroed operation for key k. NULL when out of memory or past 2^32 operations. */
static struct cop *key_push(struct chk_history *h, struct ckey *k)
{
	if (h->ncops == h->capcops) {
		size_t cap = h->capcops ? h->capcops * 2 : h->cops_hint > 1024 ? h->cops_hint : 1024;
		if (cap > (size_t)UINT32_MAX + 1)
			cap = (size_t)UINT32_MAX + 1;
		if (h->ncops == cap)
			return NULL;
		struct cop *o = bigmem_grow(h->cops, h->capcops * sizeof *o, cap * sizeof *o);
		if (!o)
			return NULL;
		h->cops = o;
		h->capcops = cap;
	}
	if (array_grow((void **)&k->idx, &k->cap, k->n + 1, sizeof *k->idx, 16))
		return NULL;
	k->idx[k->n++] = (uint32_t)h->ncops;
	struct cop *o = &h->cops[h->ncops++];
	memset(o, 0, sizeof *o);
	return o;
}

static int is_str(const struct hval *v, const char *s)
{
	return v->kind == HVAL_STR && v->len == strlen(s) && !memcmp(v->u.s, s, v->len);
}

/* The operation kind that f names in the model, or -1 (the message lists what is known). */
static int classify(const struct chk_history *h, const char *f, char *err, size_t errlen,
		    uint64_t line)
{
	enum chk_model m = h->opt.model;
	const char *known;
	switch (m) {
	case CHK_MODEL_REGISTER:
		known = "read, write";
		if (!strcmp(f, "read"))
			return K_READ;
		if (!strcmp(f, "write"))
			return K_WRITE;
		if (!strcmp(f, "cas")) {
			err_set(err, errlen, SB_EINVAL,
				"line %llu: the register model has no cas; use --model cas-register",
				(unsigned long long)line);
			return -1;
		}
		break;
	case CHK_MODEL_CAS_REGISTER:
	case CHK_MODEL_KV:
		known = "read, write, cas";
		if (!strcmp(f, "read"))
			return K_READ;
		if (!strcmp(f, "write"))
			return K_WRITE;
		if (!strcmp(f, "cas"))
			return K_CAS;
		break;
	case CHK_MODEL_LIST:
		known = "append, read, write";
		if (!strcmp(f, "append"))
			return K_APPEND;
		if (!strcmp(f, "read"))
			return K_LREAD;
		if (!strcmp(f, "write"))
			return K_LWRITE;
		break;
	case CHK_MODEL_SET:
		known = "add, read";
		if (!strcmp(f, "add"))
			return K_ADD;
		if (!strcmp(f, "read"))
			return K_SREAD;
		break;
	case CHK_MODEL_MUTEX:
		known = "acquire, release";
		if (!strcmp(f, "acquire"))
			return K_ACQUIRE;
		if (!strcmp(f, "release"))
			return K_RELEASE;
		break;
	case CHK_MODEL_MULTI_REGISTER:
		known = "txn";
		if (!strcmp(f, "txn"))
			return K_TXN;
		break;
	default:
		known = "";
	}
	err_set(err, errlen, SB_EINVAL, "line %llu: the %s model has no operation '%s' (it has: %s)",
		(unsigned long long)line, chk_model_name(m), f, known);
	return -1;
}

/* ---- interned sequences (list reads and writes) ---- */

static int32_t seq_child(struct seqtab *t, int32_t parent, vref elem)
{
	if (parent >= 0) {
		int32_t hot = t->hot[parent];
		if (hot >= 0 && t->elem[hot] == elem)
			return hot;
	}
	uint64_t hv = mix64(elem ^ mix64((uint64_t)(uint32_t)parent + 0x9e37));
	if (t->nslots) {
		size_t i = hv & (t->nslots - 1);
		while (t->slots[i]) {
			uint32_t id = t->slots[i] - 1;
			if (t->parent[id] == parent && t->elem[id] == elem) {
				t->hot[parent] = (int32_t)id;
				return (int32_t)id;
			}
			i = (i + 1) & (t->nslots - 1);
		}
	}
	if (t->n >= INT32_MAX - 1)
		return -1;
	if ((t->n + 1) * 2 > t->nslots) {
		size_t cap = t->nslots ? t->nslots * 2 : 1024;
		uint32_t *sl = calloc(cap, sizeof *sl);
		if (!sl)
			return -1;
		for (size_t id = 1; id < t->n; id++) {
			uint64_t h2 = mix64(t->elem[id] ^ mix64((uint64_t)(uint32_t)t->parent[id] + 0x9e37));
			size_t i = h2 & (cap - 1);
			while (sl[i])
				i = (i + 1) & (cap - 1);
			sl[i] = (uint32_t)id + 1;
		}
		free(t->slots);
		t->slots = sl;
		t->nslots = cap;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		int32_t *p = realloc(t->parent, cap * sizeof *p);
		if (!p)
			return -1;
		t->parent = p;
		vref *e = realloc(t->elem, cap * sizeof *e);
		if (!e)
			return -1;
		t->elem = e;
		uint32_t *d = realloc(t->depth, cap * sizeof *d);
		if (!d)
			return -1;
		t->depth = d;
		int32_t *ht = realloc(t->hot, cap * sizeof *ht);
		if (!ht)
			return -1;
		t->hot = ht;
		t->cap = cap;
	}
	int32_t id = (int32_t)t->n++;
	t->parent[id] = parent;
	t->elem[id] = elem;
	t->depth[id] = parent < 0 ? 0 : t->depth[parent] + 1;
	t->hot[id] = -1;
	if (parent >= 0)
		t->hot[parent] = id;
	if (parent >= 0) { /* the root (node 0) is found by index, not hashed */
		size_t i = hv & (t->nslots - 1);
		while (t->slots[i])
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = (uint32_t)id + 1;
	}
	return id;
}

size_t chk_seq_get(const struct chk_history *h, int32_t node, vref *out)
{
	const struct seqtab *t = &h->seqs;
	size_t d = t->depth[node];
	for (size_t i = d; i-- > 0; node = t->parent[node])
		out[i] = t->elem[node];
	return d;
}

/* Remember element r at depth d (0-based; node s) of key k's longest list. */
static int order_push(struct ckey *k, vref r, int32_t s)
{
	size_t cap = k->caporder;
	if (array_grow((void **)&k->order, &cap, k->norder + 1, sizeof *k->order, 64))
		return -1;
	if (array_grow((void **)&k->onode, &k->caporder, k->norder + 1, sizeof *k->onode, 64))
		return -1;
	k->order[k->norder] = r;
	k->onode[k->norder++] = s;
	return 0;
}

/* Intern a JSON array (or null = empty) as a sequence node: *node, *len. With a key k (list
 * model), the part that repeats the key's longest list is matched against it in sequence. */
static int seq_intern(struct chk_history *h, struct ckey *k, const struct hval *v, vref *node,
		      vref *len)
{
	if (h->seqs.n == 0 && seq_child(&h->seqs, -1, 0) != 0) /* the root */
		return SB_ENOMEM;
	int32_t s = 0;
	uint32_t n = v->kind == HVAL_NULL ? 0 : v->len, i = 0;
	vref r;
	if (k) {
		for (; i < n && i < k->norder; i++) {
			if (vtab_ref(&h->vals, &v->u.items[i], &r))
				return SB_ENOMEM;
			if (r != k->order[i])
				break;
			s = k->onode[i];
		}
	}
	int extend = k && i == k->norder; /* this list goes on where the longest one ends */
	for (; i < n; i++) {
		if (vtab_ref(&h->vals, &v->u.items[i], &r))
			return SB_ENOMEM;
		s = seq_child(&h->seqs, s, r);
		if (s < 0 || (extend && order_push(k, r, s)))
			return SB_ENOMEM;
	}
	*node = (vref)s;
	*len = n;
	return 0;
}

/* Store a JSON array (or null = empty) of values in the pool: *off, *cnt. */
static int pool_seq(struct chk_history *h, const struct hval *v, vref *off, vref *cnt)
{
	*off = h->npool;
	*cnt = 0;
	if (v->kind == HVAL_NULL)
		return 0;
	for (uint32_t i = 0; i < v->len; i++) {
		vref id;
		if (vtab_ref(&h->vals, &v->u.items[i], &id) || pool_add(h, id))
			return SB_ENOMEM;
	}
	*cnt = v->len;
	return 0;
}

/* Micro-ops of a txn: [[f k v] ...]. Returns 0, SB_EINVAL (message) or SB_ENOMEM. */
static int pool_txn(struct chk_history *h, const struct hval *v, uint64_t line, vref *off,
		    vref *cnt, char *err, size_t errlen)
{
	if (v->kind != HVAL_ARRAY)
		return err_set(err, errlen, SB_EINVAL,
			       "line %llu: a txn's value must be a list of [f k v] micro-ops",
			       (unsigned long long)line);
	*off = h->npool;
	*cnt = v->len;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct hval *m = &v->u.items[i];
		if (m->kind != HVAL_ARRAY || m->len != 3 ||
		    !(is_str(&m->u.items[0], "read") || is_str(&m->u.items[0], "write")))
			return err_set(err, errlen, SB_EINVAL,
				       "line %llu: micro-op %u of the txn is not [read k v] or "
				       "[write k v]",
				       (unsigned long long)line, i + 1);
		int w = is_str(&m->u.items[0], "write");
		vref name;
		if (vtab_ref(&h->vals, &m->u.items[1], &name))
			return SB_ENOMEM;
		int32_t r = reg_index(h, name, h->reg_default);
		vref val = VREF_UNKNOWN;
		if (r < 0)
			return SB_ENOMEM;
		if ((w || m->u.items[2].kind != HVAL_NULL || !h->edn) &&
		    vtab_ref(&h->vals, &m->u.items[2], &val))
			return SB_ENOMEM;
		if (pool_add(h, w ? MICRO_WRITE : MICRO_READ) || pool_add(h, (vref)r) ||
		    pool_add(h, val))
			return SB_ENOMEM;
	}
	return 0;
}

static const char *status_name(int st)
{
	return st == S_OK ? "ok" : st == S_INFO ? "info" : st == S_FAIL ? "fail" : "open";
}

int chk_history_add(struct chk_history *h, const struct hevent *ev, char *err, size_t errlen)
{
	int64_t pos = h->pos++;
	unsigned long long line = (unsigned long long)ev->line;
	if (h->failed)
		return err_set(err, errlen, SB_EINVAL, "history already rejected");
	if (ev->process == HPROC_NEMESIS)
		return 0;
	int rc = SB_ENOMEM;
	/* Key and value, unwrapping EDN independent tuples [k v] for kv. */
	const struct hval *value = ev->has_value ? &ev->value : NULL;
	int has_key = ev->has_key;
	const struct hval *keyv = ev->has_key ? &ev->key : NULL;
	if (h->opt.model == CHK_MODEL_KV && h->edn && !has_key && value &&
	    value->kind == HVAL_ARRAY) {
		/* Jepsen's independent tuples; any other array shape is a mistake that would
		 * otherwise pass as the value of one unkeyed register */
		if (value->len != 2) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "line %llu: under the kv model an EDN value without :key must be "
				     "a [key value] tuple, not an array of %u element%s",
				     line, value->len, value->len == 1 ? "" : "s");
			goto bad;
		}
		has_key = 1;
		keyv = &value->u.items[0];
		value = &value->u.items[1];
	}
	vref key = VREF_UNKNOWN;
	if (has_key && h->opt.model != CHK_MODEL_MULTI_REGISTER && vtab_ref(&h->vals, keyv, &key))
		goto oom;
	struct pslot *ps = proc_slot(h, ev->process);
	if (!ps)
		goto oom;
	int kind = classify(h, ev->f, err, errlen, ev->line);
	if (kind < 0) {
		rc = SB_EINVAL;
		goto bad;
	}
	if (ev->type == HTYPE_INVOKE) {
		if (ps->state == 1) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "line %llu: process %lld invokes while its operation from line "
				     "%llu is still in flight (one operation per process)",
				     line, (long long)ev->process,
				     (unsigned long long)h->cops[ps->op].line);
			goto bad;
		}
		if (ps->state == 2) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "line %llu: process %lld invokes again after its operation "
				     "completed info at line %llu (a crashed process must take a "
				     "new process number)",
				     line, (long long)ev->process,
				     (unsigned long long)h->cops[ps->op].ret_line);
			goto bad;
		}
		int32_t ki = key_index(h, key);
		if (ki < 0)
			goto oom;
		struct ckey *k = &h->keys[ki];
		struct cop *o = key_push(h, k);
		if (!o)
			goto oom;
		o->call = pos;
		o->ret = CHK_INF;
		o->process = ev->process;
		o->t_call = ev->time;
		o->t_ret = -1;
		o->line = ev->line;
		o->kind = (uint8_t)kind;
		o->status = S_OPEN;
		switch (kind) {
		case K_WRITE:
		case K_APPEND:
		case K_ADD:
			if (!value) {
				rc = err_set(err, errlen, SB_EINVAL, "line %llu: %s without a value",
					     line, ev->f);
				goto bad;
			}
			if (vtab_ref(&h->vals, value, &o->a))
				goto oom;
			break;
		case K_CAS:
			if (!value || value->kind != HVAL_ARRAY || value->len != 2) {
				rc = err_set(err, errlen, SB_EINVAL,
					     "line %llu: a cas's value must be [expected, new]", line);
				goto bad;
			}
			if (vtab_ref(&h->vals, &value->u.items[0], &o->a) ||
			    vtab_ref(&h->vals, &value->u.items[1], &o->b))
				goto oom;
			break;
		case K_LWRITE:
			if (!value || (value->kind != HVAL_ARRAY && value->kind != HVAL_NULL)) {
				rc = err_set(err, errlen, SB_EINVAL,
					     "line %llu: a list write's value must be an array", line);
				goto bad;
			}
			if (seq_intern(h, k, value, &o->a, &o->b))
				goto oom;
			break;
		case K_TXN:
			if (!value) {
				rc = err_set(err, errlen, SB_EINVAL, "line %llu: txn without a value",
					     line);
				goto bad;
			}
			rc = pool_txn(h, value, ev->line, &o->a, &o->b, err, errlen);
			if (rc == SB_ENOMEM)
				goto oom;
			if (rc)
				goto bad;
			break;
		default:
			break;
		}
		ps->state = 1;
		ps->key = ki;
		ps->op = (uint32_t)(h->ncops - 1);
		h->ops++;
		return 0;
	}
	/* A completion. */
	if (ps->state != 1) {
		rc = err_set(err, errlen, SB_EINVAL,
			     "line %llu: process %lld completes (%s) an operation it never invoked%s",
			     line, (long long)ev->process, htype_name(ev->type),
			     ps->state == 2 ? " (its last operation already ended info)" : "");
		goto bad;
	}
	struct ckey *k = &h->keys[ps->key];
	struct cop *o = &h->cops[ps->op];
	if (o->kind != kind) {
		rc = err_set(err, errlen, SB_EINVAL,
			     "line %llu: process %lld completes %s but invoked %s at line %llu", line,
			     (long long)ev->process, ev->f, chk_kind_name(o->kind),
			     (unsigned long long)o->line);
		goto bad;
	}
	if (has_key && h->opt.model != CHK_MODEL_MULTI_REGISTER && key != k->key) {
		rc = err_set(err, errlen, SB_EINVAL,
			     "line %llu: process %lld completes on another key than it invoked at "
			     "line %llu",
			     line, (long long)ev->process, (unsigned long long)o->line);
		goto bad;
	}
	o->ret = pos;
	o->t_ret = ev->time;
	o->ret_line = ev->line;
	ps->state = 0;
	switch (ev->type) {
	case HTYPE_OK:
		o->status = S_OK;
		if (kind == K_READ) {
			if (!value || (h->edn && value->kind == HVAL_NULL)) {
				o->kind = K_DEAD; /* an unknown read constrains nothing */
				o->a = h->null_ref;
				break;
			}
			if (vtab_ref(&h->vals, value, &o->a))
				goto oom;
		} else if (kind == K_LREAD || kind == K_SREAD) {
			if (!value || (h->edn && value->kind == HVAL_NULL)) {
				o->kind = K_DEAD;
				break;
			}
			if (value->kind != HVAL_ARRAY && value->kind != HVAL_NULL) {
				rc = err_set(err, errlen, SB_EINVAL,
					     "line %llu: a %s read must return an array", line,
					     chk_model_name(h->opt.model));
				goto bad;
			}
			if (kind == K_LREAD ? seq_intern(h, k, value, &o->a, &o->b)
					    : pool_seq(h, value, &o->a, &o->b))
				goto oom;
		} else if (kind == K_TXN && value) {
			/* The completion carries the values the reads returned. */
			vref off, cnt;
			rc = pool_txn(h, value, ev->line, &off, &cnt, err, errlen);
			if (rc == SB_ENOMEM)
				goto oom;
			if (rc)
				goto bad;
			o->a = off;
			o->b = cnt;
		}
		break;
	case HTYPE_FAIL:
		o->status = S_FAIL;
		if (kind == K_CAS && ev->error && !strcmp(ev->error, "mismatch"))
			o->kind = K_MISMATCH;
		else if (kind != K_ADD)
			o->kind = K_DEAD;
		break;
	default: /* info: may or may not have happened; the process is done */
		o->status = S_INFO;
		ps->state = 2;
		if (kind == K_READ || kind == K_LREAD || kind == K_SREAD)
			o->kind = K_DEAD;
		break;
	}
	return 0;
oom:
	rc = err_set(err, errlen, SB_ENOMEM, "line %llu: out of memory", line);
bad:
	h->failed = 1;
	return rc;
}

/* ---- describing operations ------------------------------------------------------------------- */

void chk_when_phrase(int64_t t, uint64_t line, struct sbuf *b)
{
	if (t >= 0)
		sbuf_addf(b, "%.3f s", (double)t / 1e9);
	else
		sbuf_addf(b, "line %llu", (unsigned long long)line);
}

void chk_key_phrase(const struct chk_history *h, const struct ckey *k, struct sbuf *b)
{
	if (k->key == VREF_UNKNOWN) {
		static const char *const what[] = {
			[CHK_MODEL_REGISTER] = "the register", [CHK_MODEL_CAS_REGISTER] = "the register",
			[CHK_MODEL_KV] = "the register", [CHK_MODEL_LIST] = "the list",
			[CHK_MODEL_SET] = "the set", [CHK_MODEL_MUTEX] = "the mutex",
			[CHK_MODEL_MULTI_REGISTER] = "the registers",
		};
		sbuf_addf(b, "%s", (size_t)h->opt.model < NMODELS ? what[h->opt.model] : "the key");
		return;
	}
	sbuf_lit(b, "key ");
	vtab_format_ref(&h->vals, k->key, b);
}

static void format_seq(const struct chk_history *h, vref off, vref cnt, struct sbuf *b)
{
	sbuf_addc(b, '[');
	for (vref i = 0; i < cnt; i++) {
		if (i)
			sbuf_addc(b, ',');
		vtab_format_ref(&h->vals, h->pool[off + i], b);
	}
	sbuf_addc(b, ']');
}

void chk_op_describe(const struct chk_history *h, const struct cop *o, struct chk_op_info *out)
{
	memset(out, 0, sizeof *out);
	out->line = o->line;
	out->ret_line = o->ret == CHK_INF ? 0 : o->ret_line;
	out->process = o->process;
	out->time = o->t_call;
	out->ret_time = o->ret == CHK_INF ? -1 : o->t_ret;
	out->type = status_name(o->status);
	out->f = strdup(chk_kind_name(o->kind));
	struct sbuf b = {0};
	switch (o->kind) {
	case K_READ:
	case K_WRITE:
	case K_APPEND:
	case K_ADD:
		vtab_format_ref(&h->vals, o->a, &b);
		break;
	case K_CAS:
	case K_MISMATCH:
		sbuf_addc(&b, '[');
		vtab_format_ref(&h->vals, o->a, &b);
		sbuf_addc(&b, ',');
		vtab_format_ref(&h->vals, o->b, &b);
		sbuf_addc(&b, ']');
		break;
	case K_LREAD:
	case K_LWRITE: {
		vref *el = malloc((o->b + 1) * sizeof *el);
		if (el) {
			size_t d = chk_seq_get(h, (int32_t)o->a, el);
			sbuf_addc(&b, '[');
			for (size_t i = 0; i < d; i++) {
				if (i)
					sbuf_addc(&b, ',');
				vtab_format_ref(&h->vals, el[i], &b);
			}
			sbuf_addc(&b, ']');
			free(el);
		}
		break;
	}
	case K_SREAD:
		format_seq(h, o->a, o->b, &b);
		break;
	case K_TXN:
		sbuf_addc(&b, '[');
		for (vref i = 0; i < o->b; i++) {
			const vref *m = h->pool + o->a + 3 * i;
			if (i)
				sbuf_addc(&b, ',');
			sbuf_addc(&b, '[');
			if (m[0] == MICRO_READ)
				sbuf_lit(&b, "\"read\",");
			else
				sbuf_lit(&b, "\"write\",");
			vtab_format_ref(&h->vals, h->regs[m[1]], &b);
			sbuf_addc(&b, ',');
			vtab_format_ref(&h->vals, m[2], &b);
			sbuf_addc(&b, ']');
		}
		sbuf_addc(&b, ']');
		break;
	default:
		sbuf_lit(&b, "null");
		break;
	}
	out->value = sbuf_take(&b);
}

/* ---- running the checks ------------------------------------------------------------------------ */

struct pool_job {
	const struct chk_history *h;
	struct budget *b;
	uint32_t *order; /* key indexes, largest first */
	size_t n;
	atomic_size_t next;
	struct chk_key_result *res; /* by key index */
	atomic_int err;
};

static void *worker(void *arg)
{
	struct pool_job *j = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		uint32_t ki = j->order[i];
		const struct ckey *k = &j->h->keys[ki];
		struct chk_key_result *r = &j->res[ki];
		if (j->h->cut || chk_budget_expired(j->b, 0)) {
			r->verdict = CHK_UNKNOWN;
			r->why = strdup(j->h->cut ? "the time limit was reached while the history "
						    "was being read"
						  : "the time limit was reached before this key was "
						    "checked");
			continue;
		}
		int rc = j->h->opt.model == CHK_MODEL_SET ? chk_set_key(j->h, k, r)
							  : chk_search_key(j->h, k, j->b, r);
		if (rc)
			atomic_store(&j->err, rc);
	}
	return NULL;
}

static int cmp_size_desc(const void *pa, const void *pb, void *arg)
{
	const struct chk_history *h = arg;
	size_t a = h->keys[*(const uint32_t *)pa].n, b = h->keys[*(const uint32_t *)pb].n;
	return (a < b) - (a > b);
}

static int cmp_result(const void *pa, const void *pb)
{
	const struct chk_key_result *a = pa, *b = pb;
	return severity(b->verdict) - severity(a->verdict);
}

/* What is said about the history as a whole: a pass on nothing is no pass. Returns 0 or
 * SB_ENOMEM. */
static int history_warning(const struct chk_history *h, struct chk_result *r)
{
	struct sbuf w = {0};
	if (r->ops == 0)
		sbuf_addf(&w, "no operations: nothing was checked");
	if (h->opt.min_ops && r->ops < h->opt.min_ops) {
		if (r->ops)
			sbuf_addf(&w, "only %zu operation%s", r->ops, r->ops == 1 ? "" : "s");
		sbuf_addf(&w, ", fewer than the required minimum of %zu", h->opt.min_ops);
		r->verdict = chk_verdict_worst(r->verdict, CHK_UNKNOWN);
	}
	if (!w.len)
		return 0;
	r->warning = sbuf_take(&w);
	return r->warning ? 0 : SB_ENOMEM;
}

int chk_history_check(struct chk_history *h, struct chk_result **out, char *err, size_t errlen)
{
	*out = NULL;
	int64_t read_ns = chk_now_ns() - h->start_ns; /* all before this was ingest */
	struct chk_result *r = calloc(1, sizeof *r);
	struct budget b = {0};
	struct pool_job j = {.h = h, .b = &b};
	pthread_t *tids = NULL;
	int rc = SB_ENOMEM;
	if (!r)
		goto out;
	r->name = strdup(h->name);
	r->model = h->opt.model;
	r->events = (size_t)h->pos;
	r->ops = h->ops;
	if (!r->name)
		goto out;
	if (h->opt.timeout_s > 0)
		b.deadline_ns = h->start_ns + (int64_t)(h->opt.timeout_s * 1e9);
	b.limit = h->opt.memory_limit;
	j.res = calloc(h->nkeys ? h->nkeys : 1, sizeof *j.res);
	j.order = malloc((h->nkeys ? h->nkeys : 1) * sizeof *j.order);
	if (!j.res || !j.order)
		goto out;
	for (size_t i = 0; i < h->nkeys; i++) {
		j.order[i] = (uint32_t)i;
		if (h->keys[i].key != VREF_UNKNOWN) {
			struct sbuf kb = {0};
			vtab_format_ref(&h->vals, h->keys[i].key, &kb);
			j.res[i].key = sbuf_take(&kb);
		}
	}
	j.n = h->nkeys;
	qsort_r(j.order, j.n, sizeof *j.order, cmp_size_desc, h);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = h->opt.threads > 0 ? (size_t)h->opt.threads : (size_t)(ncpu > 0 ? ncpu : 1);
	if (nt > j.n)
		nt = j.n;
	if (nt <= 1) {
		worker(&j);
	} else {
		tids = calloc(nt, sizeof *tids);
		if (!tids)
			goto out;
		size_t started = 0;
		for (; started < nt; started++)
			if (pthread_create(&tids[started], NULL, worker, &j))
				break;
		if (!started)
			worker(&j);
		for (size_t i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
	}
	if (atomic_load(&j.err)) {
		rc = atomic_load(&j.err);
		goto out;
	}
	qsort(j.res, h->nkeys, sizeof *j.res, cmp_result);
	r->keys = j.res;
	r->nkeys = h->nkeys;
	j.res = NULL;
	r->verdict = h->cut ? CHK_UNKNOWN : CHK_VALID; /* unknown even with no key yet */
	for (size_t i = 0; i < r->nkeys; i++) {
		enum chk_verdict v = r->keys[i].verdict;
		r->verdict = chk_verdict_worst(r->verdict, v);
		r->nvalid += v == CHK_VALID;
		r->ninvalid += v == CHK_INVALID;
		r->nunknown += v == CHK_UNKNOWN;
	}
	if (history_warning(h, r))
		goto out;
	r->seconds = (double)(chk_now_ns() - h->start_ns) / 1e9;
	r->read_seconds = (double)read_ns / 1e9;
	*out = r;
	r = NULL;
	rc = 0;
out:
	if (rc)
		err_set(err, errlen, rc, "%s: %s", h->name,
			rc == SB_ENOMEM ? "out of memory" : "check failed");
	if (j.res) {
		struct chk_result tmp = {.keys = j.res, .nkeys = h->nkeys};
		chk_result_free_keys(&tmp);
	}
	free(j.order);
	free(tids);
	chk_result_free(r);
	return rc;
}

int chk_check_reader(struct hreader *rd, const struct chk_options *opt, const char *name,
		     struct chk_result **out, char *err, size_t errlen)
{
	struct chk_history *h = NULL;
	*out = NULL;
	int rc = chk_history_new(&h, opt, name, err, errlen);
	if (rc)
		return rc;
	struct hevent ev;
	int first = 1;
	/* h->opt's limit, which chk_history_new made safe to multiply (not the caller's) */
	int64_t deadline = h->opt.timeout_s > 0 ? h->start_ns + (int64_t)(h->opt.timeout_s * 1e9)
						 : 0;
	/* A writer that stalls (a pipe from a run still going, a terminal) must not hold the
	 * time limit up either. */
	hreader_set_deadline(rd, deadline);
	/* Room for the operations a file of this size holds (two events of some 80 bytes
	 * each), at most a million: one block from the start, where growing it by doubling from
	 * a small one faulted in its first 4 KiB pages one at a time and then copied them (55
	 * page faults in a check of 10,000 ops, bench/RESULTS.md). Only what is used is
	 * touched; a wrong guess costs address space, or the usual doubling. */
	uint64_t fsize = hreader_size(rd);
	h->cops_hint = (size_t)(fsize / 160 < (1u << 20) ? fsize / 160 : (1u << 20));
	for (uint64_t n = 1;; n++) {
		/* A history too long to read within the time limit is not decided: stop reading
		 * (a look at the clock every few thousand events costs nothing). */
		if (deadline && n % 4096 == 0 && chk_now_ns() > deadline) {
			h->cut = 1;
			break;
		}
		rc = hreader_next(rd, &ev, err, errlen);
		if (rc == SB_ETIMEOUT) {
			h->cut = 1;
			rc = 0;
			break;
		}
		if (rc <= 0)
			break;
		if (first) {
			chk_history_set_edn(h, hreader_format(rd) == HFMT_EDN);
			first = 0;
		}
		rc = chk_history_add(h, &ev, err, errlen);
		if (rc) {
			err_prefix(err, errlen, "%s", name);
			break;
		}
	}
	if (rc == 0)
		rc = chk_history_check(h, out, err, errlen);
	chk_history_free(h);
	return rc;
}

int chk_check_file(const char *path, const struct chk_options *opt, struct chk_result **out,
		   char *err, size_t errlen)
{
	struct hreader *rd = NULL;
	*out = NULL;
	int rc = hreader_open(&rd, path, HFMT_AUTO, err, errlen);
	if (rc)
		return rc;
	rc = chk_check_reader(rd, opt, path, out, err, errlen);
	hreader_close(rd);
	return rc;
}
