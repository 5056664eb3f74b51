/* wglref — the classic Wing–Gong–Lowe search, plain; see wglref.h. */
#include "tests/support/wglref.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"

#define INF INT64_MAX

typedef uint64_t vref;          /* an interned value */
#define VREF_UNKNOWN UINT64_MAX /* no value */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

enum { R_READ, R_WRITE, R_CAS, R_MISMATCH, R_ACQ, R_REL, R_APPEND, R_LREAD, R_LWRITE };
enum { M_REGISTER, M_CAS, M_LIST, M_MUTEX };

struct rop {
	int64_t call, ret; /* event positions; ret = INF: indeterminate */
	uint64_t a, b;     /* values; lists: pool offset and count (a = trie node once placed) */
	int32_t key;
	uint8_t kind, ok, live;
};

/* ---- a plain u64 -> u32 map (keys, processes) and a pair map (the list trie) ---- */

struct umap {
	uint64_t *k;
	uint32_t *v; /* value + 1; 0 = empty */
	size_t cap, n;
};

static int umap_slot(const struct umap *m, uint64_t k)
{
	size_t i = mix64(k) & (m->cap - 1);
	while (m->v[i] && m->k[i] != k)
		i = (i + 1) & (m->cap - 1);
	return (int)i;
}

static int umap_grow(struct umap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct umap nm = {calloc(cap, sizeof *nm.k), calloc(cap, sizeof *nm.v), cap, m->n};
	if (!nm.k || !nm.v) {
		free(nm.k);
		free(nm.v);
		return -1;
	}
	for (size_t j = 0; j < m->cap; j++)
		if (m->v[j]) {
			int i = umap_slot(&nm, m->k[j]);
			nm.k[i] = m->k[j];
			nm.v[i] = m->v[j];
		}
	free(m->k);
	free(m->v);
	*m = nm;
	return 0;
}

/* The value of k, or -1. */
static int64_t umap_get(const struct umap *m, uint64_t k)
{
	if (!m->cap)
		return -1;
	int i = umap_slot(m, k);
	return m->v[i] ? (int64_t)m->v[i] - 1 : -1;
}

static int umap_put(struct umap *m, uint64_t k, uint32_t v)
{
	if ((m->n + 1) * 2 > m->cap && umap_grow(m))
		return -1;
	int i = umap_slot(m, k);
	if (!m->v[i])
		m->n++;
	m->k[i] = k;
	m->v[i] = v + 1;
	return 0;
}

static void umap_free(struct umap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* ---- values: interned by lib/history's equality (deep copies) ---- */

struct vals {
	struct hval **v;
	uint64_t *hash;
	size_t n, cap;
	uint32_t *slots; /* id + 1 */
	size_t nslots;
};

static void hval_drop(struct hval *v)
{
	if (v->kind == HVAL_STR)
		free((char *)v->u.s);
	if (v->kind == HVAL_ARRAY || v->kind == HVAL_MAP) {
		size_t n = v->kind == HVAL_MAP ? 2 * (size_t)v->len : v->len;
		for (size_t i = 0; i < n; i++)
			hval_drop(&v->u.items[i]);
		free(v->u.items);
	}
}

/* A deep copy of v into *c. Returns 0 or -1 (c is then safe to drop). */
static int hval_clone(struct hval *c, const struct hval *v)
{
	*c = *v;
	if (v->kind == HVAL_STR) {
		char *p = malloc((size_t)v->len + 1);
		c->u.s = p;
		if (!p)
			return c->kind = HVAL_NULL, -1;
		memcpy(p, v->u.s, v->len);
		p[v->len] = '\0';
	} else if (v->kind == HVAL_ARRAY || v->kind == HVAL_MAP) {
		size_t n = v->kind == HVAL_MAP ? 2 * (size_t)v->len : v->len;
		c->u.items = calloc(n ? n : 1, sizeof *c->u.items);
		if (!c->u.items)
			return c->kind = HVAL_NULL, -1;
		for (size_t i = 0; i < n; i++)
			if (hval_clone(&c->u.items[i], &v->u.items[i]))
				return -1;
	}
	return 0;
}

static int val_ref(struct vals *t, const struct hval *v, vref *out)
{
	uint64_t h = hval_hash(v);
	if ((t->n + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256;
		uint32_t *sl = calloc(ns, sizeof *sl);
		if (!sl)
			return -1;
		for (size_t id = 0; id < t->n; id++) {
			size_t i = mix64(t->hash[id]) & (ns - 1);
			while (sl[i])
				i = (i + 1) & (ns - 1);
			sl[i] = (uint32_t)id + 1;
		}
		free(t->slots);
		t->slots = sl;
		t->nslots = ns;
	}
	size_t i = mix64(h) & (t->nslots - 1);
	for (; t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		size_t id = t->slots[i] - 1;
		if (t->hash[id] == h && hval_equal(t->v[id], v)) {
			*out = id;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct hval **nv = realloc(t->v, cap * sizeof *nv);
		if (!nv)
			return -1;
		t->v = nv;
		uint64_t *nh = realloc(t->hash, cap * sizeof *nh);
		if (!nh)
			return -1;
		t->hash = nh;
		t->cap = cap;
	}
	struct hval *c = malloc(sizeof *c);
	if (!c)
		return -1;
	if (hval_clone(c, v)) {
		hval_drop(c);
		free(c);
		return -1;
	}
	t->v[t->n] = c;
	t->hash[t->n] = h;
	t->slots[i] = (uint32_t)t->n + 1;
	*out = t->n++;
	return 0;
}

static void vals_free(struct vals *t)
{
	for (size_t i = 0; i < t->n; i++) {
		hval_drop(t->v[i]);
		free(t->v[i]);
	}
	free(t->v);
	free(t->hash);
	free(t->slots);
}

/* ---- the whole history ---- */

struct ref {
	const struct wglref_opts *o;
	int model;
	struct vals vals;
	vref init;      /* registers: the initial value */
	vref *pool;     /* list elements */
	size_t npool, cappool;
	size_t ninit;   /* the initial list: pool[0..ninit) */
	struct rop *ops;
	size_t nops, capops;
	struct umap keys, procs;
	size_t nkeys;
	int64_t pos;
	int edn;
	int64_t deadline; /* ns, 0 = none */
	size_t mem;
	/* list trie: node 0 is the empty list */
	int32_t *tslots;    /* open addressing over (parent, element): node + 1 */
	size_t ntslots;
	int32_t *tparent;
	vref *telem;
	size_t ntrie, captrie;
	int out_of_time, out_of_memory;
	unsigned long long configs;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static int pool_list(struct ref *r, const struct hval *v, uint64_t *off, uint64_t *cnt)
{
	*off = r->npool;
	*cnt = 0;
	if (v->kind == HVAL_NULL)
		return 0;
	if (v->kind != HVAL_ARRAY)
		return SB_EINVAL;
	if (grow((void **)&r->pool, &r->cappool, r->npool + v->len, sizeof *r->pool))
		return SB_ENOMEM;
	for (uint32_t i = 0; i < v->len; i++)
		if (val_ref(&r->vals, &v->u.items[i], &r->pool[r->npool++]))
			return SB_ENOMEM;
	*cnt = v->len;
	return 0;
}

static int kind_of(const struct ref *r, const char *f)
{
	int list = r->model == M_LIST, mutex = r->model == M_MUTEX;
	if (!strcmp(f, "read") && !mutex)
		return list ? R_LREAD : R_READ;
	if (!strcmp(f, "write") && !mutex)
		return list ? R_LWRITE : R_WRITE;
	if (!strcmp(f, "cas") && r->model == M_CAS)
		return R_CAS;
	if (!strcmp(f, "append") && list)
		return R_APPEND;
	if (!strcmp(f, "acquire") && mutex)
		return R_ACQ;
	if (!strcmp(f, "release") && mutex)
		return R_REL;
	return -1;
}

static int add_event(struct ref *r, const struct hevent *ev, char *err, size_t errlen)
{
	int64_t pos = r->pos++;
	if (ev->process == HPROC_NEMESIS)
		return 0;
	int kind = kind_of(r, ev->f);
	if (kind < 0)
		return err_set(err, errlen, SB_EINVAL, "line %llu: no operation '%s' in this model",
			       (unsigned long long)ev->line, ev->f);
	const struct hval *v = ev->has_value ? &ev->value : NULL;
	if (ev->type == HTYPE_INVOKE) {
		vref key = VREF_UNKNOWN;
		if (ev->has_key && val_ref(&r->vals, &ev->key, &key))
			return SB_ENOMEM;
		int64_t ki = umap_get(&r->keys, key);
		if (ki < 0) {
			ki = (int64_t)r->nkeys++;
			if (umap_put(&r->keys, key, (uint32_t)ki))
				return SB_ENOMEM;
		}
		if (grow((void **)&r->ops, &r->capops, r->nops + 1, sizeof *r->ops))
			return SB_ENOMEM;
		struct rop *o = &r->ops[r->nops];
		memset(o, 0, sizeof *o);
		o->call = pos;
		o->ret = INF;
		o->kind = (uint8_t)kind;
		o->key = (int32_t)ki;
		o->live = 1;
		int rc = 0;
		if (kind == R_WRITE || kind == R_APPEND) {
			rc = v ? (val_ref(&r->vals, v, &o->a) ? SB_ENOMEM : 0) : SB_EINVAL;
		} else if (kind == R_CAS) {
			if (!v || v->kind != HVAL_ARRAY || v->len != 2)
				rc = SB_EINVAL;
			else if (val_ref(&r->vals, &v->u.items[0], &o->a) ||
				 val_ref(&r->vals, &v->u.items[1], &o->b))
				rc = SB_ENOMEM;
		} else if (kind == R_LWRITE) {
			rc = v ? pool_list(r, v, &o->a, &o->b) : SB_EINVAL;
		}
		if (rc)
			return rc == SB_ENOMEM ? rc
					       : err_set(err, errlen, rc, "line %llu: bad value",
							 (unsigned long long)ev->line);
		if (umap_put(&r->procs, (uint64_t)ev->process, (uint32_t)r->nops))
			return SB_ENOMEM;
		r->nops++;
		return 0;
	}
	int64_t oi = umap_get(&r->procs, (uint64_t)ev->process);
	if (oi < 0 || (size_t)oi >= r->nops)
		return err_set(err, errlen, SB_EINVAL, "line %llu: completion without invocation",
			       (unsigned long long)ev->line);
	/* the process has nothing in flight any more */
	if (umap_put(&r->procs, (uint64_t)ev->process, UINT32_MAX - 1))
		return SB_ENOMEM;
	struct rop *o = &r->ops[oi];
	int read = o->kind == R_READ || o->kind == R_LREAD;
	if (ev->type == HTYPE_OK) {
		o->ok = 1;
		o->ret = pos;
		if (read && (!v || (r->edn && v->kind == HVAL_NULL)))
			o->live = 0; /* unknown */
		else if (o->kind == R_READ && val_ref(&r->vals, v, &o->a))
			return SB_ENOMEM;
		else if (o->kind == R_LREAD) {
			int rc = pool_list(r, v, &o->a, &o->b);
			if (rc)
				return rc;
		}
	} else if (ev->type == HTYPE_FAIL) {
		o->ret = pos;
		if (o->kind == R_CAS && ev->error && !strcmp(ev->error, "mismatch")) {
			o->kind = R_MISMATCH;
			o->ok = 1;
		} else {
			o->live = 0; /* did not happen */
		}
	} else {
		o->live = !read; /* info: may have happened, at any time after its invocation */
	}
	return 0;
}

/* ---- list states ---- */

static uint64_t pair_hash(int64_t parent, vref e)
{
	return mix64((uint64_t)parent * 0x9e3779b97f4a7c15ULL ^ mix64(e));
}

/* The node of list `parent` + [e], made if new; -1 out of memory. */
static int64_t trie_child(struct ref *r, int64_t parent, vref e)
{
	size_t i = 0;
	if (r->ntslots) {
		i = pair_hash(parent, e) & (r->ntslots - 1);
		for (; r->tslots[i]; i = (i + 1) & (r->ntslots - 1)) {
			int32_t id = r->tslots[i] - 1;
			if (r->tparent[id] == parent && r->telem[id] == e)
				return id;
		}
	}
	if ((r->ntrie + 1) * 2 > r->ntslots) {
		size_t cap = r->ntslots ? r->ntslots * 2 : 1024;
		int32_t *sl = calloc(cap, sizeof *sl);
		if (!sl)
			return -1;
		for (size_t id = 1; id < r->ntrie; id++) {
			size_t j = pair_hash(r->tparent[id], r->telem[id]) & (cap - 1);
			while (sl[j])
				j = (j + 1) & (cap - 1);
			sl[j] = (int32_t)id + 1;
		}
		r->mem += (cap - r->ntslots) * sizeof *sl;
		free(r->tslots);
		r->tslots = sl;
		r->ntslots = cap;
		i = pair_hash(parent, e) & (cap - 1);
		while (r->tslots[i])
			i = (i + 1) & (cap - 1);
	}
	if (r->ntrie == r->captrie) {
		size_t cap = r->captrie * 2;
		int32_t *tp = realloc(r->tparent, cap * sizeof *tp);
		if (!tp)
			return -1;
		r->tparent = tp;
		vref *te = realloc(r->telem, cap * sizeof *te);
		if (!te)
			return -1;
		r->telem = te;
		r->captrie = cap;
	}
	int64_t id = (int64_t)r->ntrie++;
	r->tparent[id] = (int32_t)parent;
	r->telem[id] = e;
	r->tslots[i] = (int32_t)id + 1;
	r->mem += 12;
	return id;
}

static int64_t list_node(struct ref *r, uint64_t off, uint64_t cnt)
{
	int64_t s = 0;
	for (uint64_t i = 0; i < cnt && s >= 0; i++)
		s = trie_child(r, s, r->pool[off + i]);
	return s;
}

/* ---- the model ---- */

/* 1 and *ns when op may take effect in state s (with its effect). */
static int step(struct ref *r, uint64_t s, const struct rop *o, uint64_t *ns)
{
	*ns = s;
	switch (o->kind) {
	case R_READ:
	case R_LREAD:
		return s == o->a;
	case R_MISMATCH:
		return s != o->a;
	case R_WRITE:
	case R_LWRITE:
		*ns = o->a;
		return 1;
	case R_CAS:
		*ns = o->b;
		return s == o->a;
	case R_ACQ:
		*ns = 1;
		return s == 0;
	case R_REL:
		*ns = 0;
		return s == 1;
	case R_APPEND: {
		int64_t c = trie_child(r, (int64_t)s, o->a);
		if (c < 0) {
			r->out_of_memory = 1;
			return 0;
		}
		*ns = (uint64_t)c;
		return 1;
	}
	default:
		return 0;
	}
}

/* ---- the memo: (bitset of linearized operations, state), exact ---- */

struct memo {
	uint64_t *bits; /* nw words per entry */
	uint64_t *state;
	uint64_t *hash;
	size_t n, cap, nw;
	uint32_t *slots; /* entry + 1 */
	size_t nslots;
};

static uint64_t bits_hash(const uint64_t *b, size_t nw, uint64_t s)
{
	uint64_t h = mix64(s + 0x51ed27);
	for (size_t i = 0; i < nw; i++)
		h = mix64(h ^ b[i]) + i;
	return h;
}

/* 1 if new (recorded), 0 if seen, -1 out of memory or over the limit. */
static int memo_add(struct ref *r, struct memo *m, const uint64_t *b, uint64_t s)
{
	uint64_t h = bits_hash(b, m->nw, s);
	if ((m->n + 1) * 2 > m->nslots) {
		size_t ns = m->nslots ? m->nslots * 2 : 1024;
		uint32_t *sl = calloc(ns, sizeof *sl);
		if (!sl)
			return -1;
		for (size_t e = 0; e < m->n; e++) {
			size_t i = m->hash[e] & (ns - 1);
			while (sl[i])
				i = (i + 1) & (ns - 1);
			sl[i] = (uint32_t)e + 1;
		}
		r->mem += (ns - m->nslots) * sizeof *sl;
		free(m->slots);
		m->slots = sl;
		m->nslots = ns;
	}
	size_t i = h & (m->nslots - 1);
	while (m->slots[i]) {
		size_t e = m->slots[i] - 1;
		if (m->hash[e] == h && m->state[e] == s &&
		    !memcmp(m->bits + e * m->nw, b, m->nw * sizeof *b))
			return 0;
		i = (i + 1) & (m->nslots - 1);
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		uint64_t *nb = realloc(m->bits, cap * m->nw * sizeof *nb);
		if (!nb)
			return -1;
		m->bits = nb;
		uint64_t *st = realloc(m->state, cap * sizeof *st);
		if (!st)
			return -1;
		m->state = st;
		uint64_t *hs = realloc(m->hash, cap * sizeof *hs);
		if (!hs)
			return -1;
		m->hash = hs;
		r->mem += (cap - m->cap) * (m->nw + 2) * 8;
		m->cap = cap;
	}
	if (r->o->memory_limit && r->mem > r->o->memory_limit) {
		r->out_of_memory = 1;
		return -1;
	}
	memcpy(m->bits + m->n * m->nw, b, m->nw * sizeof *b);
	m->state[m->n] = s;
	m->hash[m->n] = h;
	m->slots[i] = (uint32_t)m->n + 1;
	m->n++;
	r->configs++;
	return 1;
}

static void memo_free(struct memo *m)
{
	free(m->bits);
	free(m->state);
	free(m->hash);
	free(m->slots);
}

/* ---- the search, one key ---- */

struct entry {
	int64_t t;
	int32_t op;
	int32_t call; /* 1: invocation */
};

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (a->op > b->op) - (a->op < b->op); /* completions at INF: by operation */
}

struct frame {
	int32_t op, choice;
	uint64_t state;
};

/* 0 valid, 1 invalid, 2 unknown, -1 out of memory. */
static int check_key(struct ref *r, struct rop *ops, size_t n, uint64_t init)
{
	size_t ne = 2 * n, nw = (n + 63) / 64;
	struct entry *es = malloc((ne + 1) * sizeof *es);
	int32_t *next = malloc((ne + 2) * sizeof *next), *prev = malloc((ne + 2) * sizeof *prev);
	int32_t *callpos = malloc((n + 1) * sizeof *callpos);
	int32_t *retpos = malloc((n + 1) * sizeof *retpos);
	uint64_t *bits = calloc(nw + 1, sizeof *bits);
	struct frame *stack = malloc((n + 1) * sizeof *stack);
	struct memo m = {.nw = nw ? nw : 1};
	int rc = -1;
	if (!es || !next || !prev || !callpos || !retpos || !bits || !stack)
		goto out;
	for (size_t i = 0; i < n; i++) {
		es[2 * i] = (struct entry){ops[i].call, (int32_t)i, 1};
		es[2 * i + 1] = (struct entry){ops[i].ret, (int32_t)i, 0};
	}
	qsort(es, ne, sizeof *es, cmp_entry);
	int32_t H = (int32_t)ne; /* head sentinel */
	for (size_t e = 0; e < ne; e++) {
		next[e] = (int32_t)e + 1 < (int32_t)ne ? (int32_t)e + 1 : H;
		prev[e] = e ? (int32_t)e - 1 : H;
		if (es[e].call)
			callpos[es[e].op] = (int32_t)e;
		else
			retpos[es[e].op] = (int32_t)e;
	}
	next[H] = ne ? 0 : H;
	prev[H] = ne ? (int32_t)ne - 1 : H;
	uint64_t state = init;
	size_t sp = 0;
	int32_t e = next[H];
	unsigned long iter = 0;
#define LIFT(x) (next[prev[x]] = next[x], prev[next[x]] = prev[x])
#define UNLIFT(x) (next[prev[x]] = (x), prev[next[x]] = (x))
	for (;;) {
		if ((++iter & 0x3ff) == 0 && r->deadline && now_ns() > r->deadline) {
			r->out_of_time = 1;
			rc = 2;
			goto out;
		}
		if (next[H] == H) {
			rc = 0; /* every operation linearized */
			goto out;
		}
		int32_t op, choice = 0;
		if (e != H && es[e].call) {
			op = es[e].op;
		} else {
			/* a completion of an operation not linearized: backtrack */
			if (sp == 0) {
				rc = 1;
				goto out;
			}
			struct frame *f = &stack[--sp];
			op = f->op;
			state = f->state;
			bits[op / 64] &= ~(1ULL << (op % 64));
			UNLIFT(retpos[op]);
			UNLIFT(callpos[op]);
			if (f->choice == 1 || ops[op].ok) {
				e = next[callpos[op]];
				continue;
			}
			choice = 1; /* indeterminate: now without its effect */
		}
		/* choice 0: with the op's effect; choice 1 (indeterminate ops): without */
		int pushed = 0;
		for (; choice < 2 && !pushed; choice++) {
			uint64_t ns = state;
			if (choice == 1 && ops[op].ok)
				break;
			if (choice == 0 && !step(r, state, &ops[op], &ns)) {
				if (r->out_of_memory)
					goto oom;
				continue;
			}
			bits[op / 64] |= 1ULL << (op % 64);
			int fresh = memo_add(r, &m, bits, ns);
			if (fresh < 0)
				goto oom;
			if (!fresh) {
				bits[op / 64] &= ~(1ULL << (op % 64));
				continue;
			}
			stack[sp++] = (struct frame){op, choice, state};
			state = ns;
			LIFT(callpos[op]);
			LIFT(retpos[op]);
			pushed = 1;
		}
		e = pushed ? next[H] : next[callpos[op]];
	}
oom:
	rc = r->out_of_memory ? 2 : -1;
out:
#undef LIFT
#undef UNLIFT
	r->mem -= m.cap * (m.nw + 2) * 8 + m.nslots * 4;
	memo_free(&m);
	free(es);
	free(next);
	free(prev);
	free(callpos);
	free(retpos);
	free(bits);
	free(stack);
	return rc;
}

static int check_all(struct ref *r, struct wglref_result *res)
{
	/* Group live operations by key (counting sort), in invocation order. */
	size_t *start = calloc(r->nkeys + 1, sizeof *start);
	struct rop *by = malloc((r->nops + 1) * sizeof *by);
	int rc = SB_ENOMEM;
	if (!start || !by)
		goto out;
	for (size_t i = 0; i < r->nops; i++)
		if (r->ops[i].live)
			start[r->ops[i].key + 1]++;
	for (size_t k = 0; k < r->nkeys; k++)
		start[k + 1] += start[k];
	size_t *cur = malloc((r->nkeys + 1) * sizeof *cur);
	if (!cur)
		goto out;
	memcpy(cur, start, (r->nkeys + 1) * sizeof *cur);
	for (size_t i = 0; i < r->nops; i++)
		if (r->ops[i].live)
			by[cur[r->ops[i].key]++] = r->ops[i];
	free(cur);
	res->ops = start[r->nkeys];
	res->keys = r->nkeys;
	uint64_t init = r->model == M_MUTEX ? 0 : r->init;
	if (r->model == M_LIST) {
		int64_t s = list_node(r, 0, r->ninit);
		if (s < 0)
			goto out;
		init = (uint64_t)s;
		for (size_t i = 0; i < res->ops; i++)
			if (by[i].kind == R_LREAD || by[i].kind == R_LWRITE) {
				int64_t node = list_node(r, by[i].a, by[i].b);
				if (node < 0)
					goto out;
				by[i].a = (uint64_t)node;
			}
	}
	int verdict = 0;
	for (size_t k = 0; k < r->nkeys; k++) {
		int v = check_key(r, by + start[k], start[k + 1] - start[k], init);
		if (v < 0)
			goto out;
		if (v == 1)
			verdict = 1;
		else if (v == 2 && verdict == 0)
			verdict = 2;
		if (r->out_of_time)
			break;
	}
	res->verdict = verdict;
	rc = 0;
out:
	free(start);
	free(by);
	return rc;
}

static int run(struct hreader *rd, const struct wglref_opts *o, struct wglref_result *res,
	       char *err, size_t errlen)
{
	struct ref r = {.o = o};
	int64_t t0 = now_ns();
	int rc = SB_EINVAL;
	memset(res, 0, sizeof *res);
	if (!strcmp(o->model, "register"))
		r.model = M_REGISTER;
	else if (!strcmp(o->model, "cas-register") || !strcmp(o->model, "kv"))
		r.model = M_CAS;
	else if (!strcmp(o->model, "list"))
		r.model = M_LIST;
	else if (!strcmp(o->model, "mutex"))
		r.model = M_MUTEX;
	else
		return err_set(err, errlen, SB_EINVAL, "wglref: model '%s' is not supported",
			       o->model);
	if (o->timeout_s > 0)
		r.deadline = t0 + (int64_t)(o->timeout_s * 1e9);
	struct hval null = {.kind = HVAL_NULL};
	rc = SB_ENOMEM;
	if (val_ref(&r.vals, o->initial && r.model != M_LIST ? o->initial : &null, &r.init))
		goto out;
	if (r.model == M_LIST && o->initial) {
		uint64_t off, cnt;
		rc = pool_list(&r, o->initial, &off, &cnt);
		if (rc)
			goto out;
		r.ninit = cnt;
		rc = SB_ENOMEM;
	}
	r.captrie = 64;
	r.tparent = malloc(r.captrie * sizeof *r.tparent);
	r.telem = malloc(r.captrie * sizeof *r.telem);
	if (!r.tparent || !r.telem)
		goto out;
	r.tparent[0] = -1;
	r.telem[0] = VREF_UNKNOWN;
	r.ntrie = 1;
	struct hevent ev;
	int first = 1;
	for (;;) {
		rc = hreader_next(rd, &ev, err, errlen);
		if (rc <= 0)
			break;
		if (first) {
			r.edn = hreader_format(rd) == HFMT_EDN;
			first = 0;
		}
		rc = add_event(&r, &ev, err, errlen);
		if (rc)
			goto out;
	}
	if (rc < 0)
		goto out;
	/* open at the end: indeterminate (reads: dropped) */
	for (size_t i = 0; i < r.nops; i++)
		if (r.ops[i].ret == INF && (r.ops[i].kind == R_READ || r.ops[i].kind == R_LREAD))
			r.ops[i].live = 0;
	int64_t t_read = now_ns();
	rc = check_all(&r, res);
	if (rc == SB_ENOMEM)
		err_set(err, errlen, rc, "wglref: out of memory");
	res->seconds = (double)(now_ns() - t0) / 1e9;
	res->read_seconds = (double)(t_read - t0) / 1e9;
	res->configs = r.configs;
out:
	vals_free(&r.vals);
	free(r.pool);
	free(r.ops);
	umap_free(&r.keys);
	umap_free(&r.procs);
	free(r.tslots);
	free(r.tparent);
	free(r.telem);
	return rc;
}

int wglref_check_file(const char *path, const struct wglref_opts *o, struct wglref_result *res,
		      char *err, size_t errlen)
{
	struct hreader *rd = NULL;
	int rc = hreader_open(&rd, path, HFMT_AUTO, err, errlen);
	if (rc)
		return rc;
	rc = run(rd, o, res, err, errlen);
	hreader_close(rd);
	return rc;
}

int wglref_check_mem(const char *buf, size_t len, const struct wglref_opts *o,
		     struct wglref_result *res, char *err, size_t errlen)
{
	struct hreader *rd = NULL;
	int rc = hreader_open_mem(&rd, buf, len, "history", HFMT_AUTO, err, errlen);
	if (rc)
		return rc;
	rc = run(rd, o, res, err, errlen);
	hreader_close(rd);
	return rc;
}
