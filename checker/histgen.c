/* histgen — a discrete-event simulation of clients against a linearizable register or list
 * store.
 *
 * Each client slot cycles through three scheduled steps: invoke (emit the invocation), take
 * effect (apply the operation to the store at that instant: its linearization point; no
 * event), complete (emit ok/fail/info). A min-heap ordered by (time, sequence) decides which
 * step runs next, so the store sees operations in a real-time-consistent order and the
 * history is linearizable by construction. Emitted times are forced strictly increasing, which
 * keeps the file order and the time order the same.
 */
#include "checker/histgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/rng.h"
#include "lib/fileutil.h"

enum { OP_READ = 0, OP_WRITE, OP_CAS };
enum { OUT_OK = 0, OUT_FAIL, OUT_INFO };
enum { PH_INVOKE = 0, PH_EFFECT, PH_COMPLETE, PH_NEMESIS };

#define RING 16 /* recent ok writes remembered per key, for the stale-read injection */
#define US 1000ll

struct wrec {
	int64_t v, tinv, tcomp;
};

struct kstate {
	int has;     /* the register holds a value (else absent: reads return null) */
	int64_t val;
	struct wrec ring[RING]; /* ok writes by completion time */
	uint32_t rn;            /* entries used, up to RING */
	uint32_t rh;            /* next slot to overwrite */
	int cand;               /* a stale value exists: */
	int64_t cand_v;         /* a value some ok write overwrote after it completed */
	/* list workload */
	int64_t *list;          /* the elements, in order */
	size_t len, cap;
	size_t done_len;        /* the longest prefix an ok append that completed ends */
	size_t read_len;        /* the longest list an ok read that completed returned */
	int has_reserved;       /* the next append of this key appends `reserved` */
	int64_t reserved;
};

struct op {
	int kind, outcome;
	uint32_t key;
	int64_t v, exp, nw;     /* write value; cas expected and new */
	int res_has;            /* read result */
	int64_t res;
	int refused;            /* cas mismatch */
	int target;             /* the injected operation */
	int64_t inj_v;
	int64_t tinv;
	size_t rlen;            /* list read: the prefix it saw; append: its position (1-based) */
	size_t stale_len;       /* list stale read: the length it returns */
};

struct slot {
	int64_t proc;
	int used; /* proc has invoked something */
	struct op op;
};

struct hent {
	int64_t t;
	uint64_t seq;
	uint32_t slot;
	uint32_t phase;
};

struct histgen {
	struct histgen_opts o;
	struct rng rng;
	struct slot *slots;
	struct kstate *keys;
	struct hent *heap;
	size_t hn, hcap;
	uint64_t seq;
	uint64_t started;     /* operations invoked */
	int64_t next_proc;
	int64_t next_value;   /* unique mode */
	int64_t last_t;       /* last emitted time */
	int64_t index;
	uint64_t inject_from; /* first op number eligible for injection */
	int nemesis_up;       /* alternate kill / start */
	uint32_t wr, ww, wc;  /* mix weights out of 1<<20 */
	uint32_t p_crash, p_fail; /* out of 1<<20 */
	int inj_reserved;         /* an operation was chosen for the injection */
	int lost_state;           /* lost append: 1 chosen, 2 completed, 3 a later read saw it missing */
	uint32_t lost_key;
	int64_t lost_tcomp, lost_elem, lost_index;
	struct hval *litems;      /* a list read's elements */
	size_t litcap;
	struct hval items[2];
	char keybuf[16];
	struct histgen_report rep;
};

/* ---- randomness: lib/rng (xoshiro256** seeded by splitmix64) ---------------------------- */

static uint64_t rnd(struct histgen *g)
{
	return rng_next(&g->rng);
}

/* Uniform in [0, n), n > 0 (multiply-shift; the tiny bias does not matter here). */
static uint64_t below(struct histgen *g, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd(g) * n) >> 64);
}

static int64_t between(struct histgen *g, int64_t lo, int64_t hi)
{
	return lo + (int64_t)below(g, (uint64_t)(hi - lo + 1));
}

static uint32_t prob(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return 1u << 20;
	return (uint32_t)(p * (double)(1u << 20) + 0.5);
}

static int chance(struct histgen *g, uint32_t p)
{
	return (uint32_t)(rnd(g) >> 44) < p;
}

/* ---- heap ---------------------------------------------------------------------------------- */

static int hless(const struct hent *a, const struct hent *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int hpush(struct histgen *g, int64_t t, uint32_t slot, uint32_t phase)
{
	if (array_grow((void **)&g->heap, &g->hcap, g->hn + 1, sizeof *g->heap, 64))
		return -1;
	struct hent e = {t, g->seq++, slot, phase};
	size_t i = g->hn++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!hless(&e, &g->heap[p]))
			break;
		g->heap[i] = g->heap[p];
		i = p;
	}
	g->heap[i] = e;
	return 0;
}

static struct hent hpop(struct histgen *g)
{
	struct hent top = g->heap[0];
	struct hent last = g->heap[--g->hn];
	size_t i = 0, n = g->hn;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hless(&g->heap[c + 1], &g->heap[c]))
			c++;
		if (!hless(&g->heap[c], &last))
			break;
		g->heap[i] = g->heap[c];
		i = c;
	}
	if (n)
		g->heap[i] = last;
	return top;
}

/* ---- options ------------------------------------------------------------------------------- */

static const char *const inject_names[] = {
	[HISTGEN_INJECT_NONE] = "none",
	[HISTGEN_INJECT_STALE_READ] = "stale-read",
	[HISTGEN_INJECT_LOST_APPEND] = "lost-append",
	[HISTGEN_INJECT_DUPLICATE] = "duplicate",
	[HISTGEN_INJECT_ORDER] = "order",
	[HISTGEN_INJECT_FUTURE_READ] = "future-read",
	[HISTGEN_INJECT_NEVER_APPENDED] = "never-appended",
};

const char *histgen_inject_name(enum histgen_inject i)
{
	return (size_t)i < sizeof inject_names / sizeof inject_names[0] ? inject_names[i] : NULL;
}

int histgen_inject_parse(const char *name)
{
	for (size_t i = 0; i < sizeof inject_names / sizeof inject_names[0]; i++)
		if (!strcmp(name, inject_names[i]))
			return (int)i;
	return -1;
}

void histgen_opts_default(struct histgen_opts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = 1;
	o->keys = 1;
	o->concurrency = 5;
	o->ops = 1000;
	o->crash_rate = 0.05;
	o->fail_rate = 0.05;
	o->values = 5;
	o->mix_read = 0.5;
	o->mix_write = 0.3;
	o->mix_cas = 0.2;
}

void histgen_opts_etcd(struct histgen_opts *o, uint64_t seed)
{
	histgen_opts_default(o);
	o->seed = seed;
	o->keys = 1;
	o->concurrency = 10;
	o->ops = 80;
	o->crash_rate = 0.2;
	o->fail_rate = 0.05;
	o->values = 5;
}

int histgen_new(struct histgen **out, const struct histgen_opts *o, char *err, size_t errlen)
{
	*out = NULL;
	if (o->keys < 1)
		return err_set(err, errlen, SB_EINVAL, "histgen: keys must be >= 1");
	if (o->concurrency < 1 || o->concurrency > 1000000)
		return err_set(err, errlen, SB_EINVAL, "histgen: concurrency must be 1..1000000");
	if (!(o->crash_rate >= 0 && o->crash_rate <= 1) ||
	    !(o->fail_rate >= 0 && o->fail_rate <= 1) || o->crash_rate + o->fail_rate > 1)
		return err_set(err, errlen, SB_EINVAL,
			       "histgen: crash and fail rates must be in 0..1 and sum to <= 1");
	if (!(o->mix_read >= 0 && o->mix_write >= 0 && o->mix_cas >= 0))
		return err_set(err, errlen, SB_EINVAL, "histgen: mix weights must be >= 0");
	if (o->has_initial && (o->initial < -(INT64_MAX / 4) || o->initial > INT64_MAX / 4))
		return err_set(err, errlen, SB_EINVAL, "histgen: initial value out of range");
	if (o->workload != HISTGEN_REGISTER && o->workload != HISTGEN_LIST)
		return err_set(err, errlen, SB_EINVAL, "histgen: unknown workload %d",
			       (int)o->workload);
	if (!histgen_inject_name(o->inject))
		return err_set(err, errlen, SB_EINVAL, "histgen: unknown injection %d",
			       (int)o->inject);
	if (o->workload == HISTGEN_REGISTER && o->inject > HISTGEN_INJECT_STALE_READ)
		return err_set(err, errlen, SB_EINVAL,
			       "histgen: injection %s needs the list workload",
			       histgen_inject_name(o->inject));
	if (o->workload == HISTGEN_LIST && o->has_initial)
		return err_set(err, errlen, SB_EINVAL,
			       "histgen: the list workload starts from empty lists (no initial)");
	struct histgen *g = calloc(1, sizeof *g);
	if (!g)
		return err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
	g->o = *o;
	rng_seed(&g->rng, o->seed);
	double mr = o->mix_read, mw = o->mix_write, mc = o->mix_cas;
	if (o->workload == HISTGEN_LIST)
		mc = 0;
	if (mr + mw + mc <= 0) {
		mr = 0.5, mw = 0.3, mc = 0.2;
		if (o->workload == HISTGEN_LIST)
			mw = 0.5, mc = 0;
	}
	double sum = mr + mw + mc;
	g->wr = prob(mr / sum);
	g->ww = prob(mw / sum);
	g->wc = (1u << 20) - g->wr - g->ww;
	if (o->workload == HISTGEN_LIST)
		g->ww += g->wc, g->wc = 0; /* rounding */
	g->p_crash = prob(o->crash_rate);
	g->p_fail = prob(o->fail_rate);
	g->slots = calloc(o->concurrency, sizeof *g->slots);
	g->keys = calloc(o->keys, sizeof *g->keys);
	if (!g->slots || !g->keys)
		goto nomem;
	for (uint32_t k = 0; k < o->keys; k++) {
		g->keys[k].has = o->has_initial;
		g->keys[k].val = o->initial;
	}
	g->next_value = (o->has_initial && o->initial >= 0) ? o->initial + 1 : 0;
	g->next_proc = o->concurrency;
	g->last_t = -1;
	if (o->inject) {
		/* From its own stream, so that the injected history is the valid one with one
		 * read changed. */
		uint64_t y = o->seed ^ 0x5bd1e9955bd1e995ull;
		g->inject_from = o->ops / 4 + rng_splitmix(&y) % (o->ops / 2 + 1);
	}
	for (uint32_t i = 0; i < o->concurrency; i++) {
		g->slots[i].proc = i;
		if (hpush(g, between(g, 0, 1000 * US), i, PH_INVOKE))
			goto nomem;
	}
	*out = g;
	return 0;
nomem:
	histgen_free(g);
	return err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
}

void histgen_free(struct histgen *g)
{
	if (!g)
		return;
	free(g->slots);
	if (g->keys)
		for (uint32_t k = 0; k < g->o.keys; k++)
			free(g->keys[k].list);
	free(g->keys);
	free(g->litems);
	free(g->heap);
	free(g);
}

const struct histgen_report *histgen_report(const struct histgen *g)
{
	return &g->rep;
}

/* ---- simulation ------------------------------------------------------------------------ */

static int64_t stamp(struct histgen *g, int64_t t)
{
	if (t <= g->last_t)
		t = g->last_t + 1;
	g->last_t = t;
	return t;
}

static int64_t fresh_value(struct histgen *g)
{
	if (g->o.values)
		return (int64_t)below(g, g->o.values);
	return g->next_value++;
}

static void roll_op(struct histgen *g, struct op *op)
{
	memset(op, 0, sizeof *op);
	uint32_t r = (uint32_t)(rnd(g) >> 44);
	op->kind = r < g->wr ? OP_READ : r < g->wr + g->ww ? OP_WRITE : OP_CAS;
	op->key = g->o.keys > 1 ? (uint32_t)below(g, g->o.keys) : 0;
	struct kstate *k = &g->keys[op->key];
	uint32_t o = (uint32_t)(rnd(g) >> 44);
	if (op->kind == OP_READ)
		op->outcome = o < g->p_fail ? OUT_FAIL : OUT_OK;
	else
		op->outcome = o < g->p_crash                ? OUT_INFO
			      : o < g->p_crash + g->p_fail ? OUT_FAIL
							   : OUT_OK;
	if (op->kind == OP_WRITE) {
		op->v = fresh_value(g);
	} else if (op->kind == OP_CAS) {
		/* Expect the current value often enough that many cas succeed. */
		if (k->has && chance(g, 1u << 19))
			op->exp = k->val;
		else if (g->o.values)
			op->exp = (int64_t)below(g, g->o.values);
		else if (k->rn)
			op->exp = k->ring[below(g, k->rn)].v;
		else
			op->exp = g->next_value; /* not written yet: refused */
		op->nw = fresh_value(g);
	}
}

/* List workload: a read or an append of a unique element (or the one a future-read
 * injection reserved for this key). */
static void roll_list_op(struct histgen *g, struct op *op)
{
	memset(op, 0, sizeof *op);
	uint32_t r = (uint32_t)(rnd(g) >> 44);
	op->kind = r < g->wr ? OP_READ : OP_WRITE;
	op->key = g->o.keys > 1 ? (uint32_t)below(g, g->o.keys) : 0;
	struct kstate *k = &g->keys[op->key];
	uint32_t o = (uint32_t)(rnd(g) >> 44);
	if (op->kind == OP_READ)
		op->outcome = o < g->p_fail ? OUT_FAIL : OUT_OK;
	else
		op->outcome = o < g->p_crash                ? OUT_INFO
			      : o < g->p_crash + g->p_fail ? OUT_FAIL
							   : OUT_OK;
	if (op->kind == OP_WRITE) {
		if (k->has_reserved) {
			op->v = k->reserved;
			k->has_reserved = 0;
		} else {
			op->v = g->next_value++;
		}
	}
}

/* Choose the list operation being invoked as the injection's target when it qualifies. */
static void list_choose_target(struct histgen *g, struct op *op, uint64_t n)
{
	if (!g->o.inject || g->inj_reserved || n < g->inject_from || op->outcome != OUT_OK)
		return;
	const struct kstate *k = &g->keys[op->key];
	int read = op->kind == OP_READ, ok = 0;
	switch (g->o.inject) {
	case HISTGEN_INJECT_LOST_APPEND:
		ok = !read;
		break;
	case HISTGEN_INJECT_STALE_READ:
	case HISTGEN_INJECT_DUPLICATE:
		ok = read && k->done_len >= 1;
		op->stale_len = k->done_len - 1;
		break;
	case HISTGEN_INJECT_ORDER:
		ok = read && k->read_len >= 2;
		break;
	default:
		ok = read;
		break;
	}
	if (ok)
		op->target = g->inj_reserved = 1;
}

/* Apply a list operation at its linearization point. Returns 0, or -1 out of memory. */
static int list_effect(struct histgen *g, struct op *op)
{
	struct kstate *k = &g->keys[op->key];
	if (op->kind == OP_READ) {
		op->rlen = k->len;
		return 0;
	}
	int happens = op->outcome == OUT_OK || (op->outcome == OUT_INFO && chance(g, 1u << 19));
	if (!happens || (op->target && g->o.inject == HISTGEN_INJECT_LOST_APPEND))
		return 0;
	if (array_grow((void **)&k->list, &k->cap, k->len + 1, sizeof *k->list, 64))
		return -1;
	k->list[k->len++] = op->v;
	op->rlen = k->len;
	return 0;
}

static void take_effect(struct histgen *g, struct op *op)
{
	struct kstate *k = &g->keys[op->key];
	/* An `info` operation may or may not have reached the store. */
	int happens = op->outcome == OUT_OK || (op->outcome == OUT_INFO && chance(g, 1u << 19));
	if (!happens)
		return;
	switch (op->kind) {
	case OP_READ:
		op->res_has = k->has;
		op->res = k->val;
		break;
	case OP_WRITE:
		k->has = 1;
		k->val = op->v;
		break;
	case OP_CAS:
		if (k->has && k->val == op->exp) {
			k->val = op->nw;
		} else {
			op->refused = 1;
		}
		break;
	}
}

/* An ok write or cas completed at tcomp: remember it, and find a value it overwrote after that
 * value's own write had completed (W1 completed before this write W2 was invoked). */
static void record_ok_write(struct histgen *g, const struct op *op, int64_t tcomp)
{
	struct kstate *k = &g->keys[op->key];
	int64_t v = op->kind == OP_WRITE ? op->v : op->nw;
	const struct wrec *w1 = NULL;
	for (uint32_t i = 0; i < k->rn; i++) {
		const struct wrec *w = &k->ring[i];
		if (w->tcomp < op->tinv && (!w1 || w->tcomp > w1->tcomp))
			w1 = w;
	}
	if (w1 && w1->v != v) {
		k->cand = 1;
		k->cand_v = w1->v;
	}
	k->ring[k->rh] = (struct wrec){v, op->tinv, tcomp};
	k->rh = (k->rh + 1) % RING;
	if (k->rn < RING)
		k->rn++;
}

static void fill_common(struct histgen *g, struct hevent *ev, const struct slot *s, int64_t t)
{
	memset(ev, 0, sizeof *ev);
	ev->index = g->index++;
	ev->line = (uint64_t)ev->index + 1;
	ev->time = t;
	ev->process = s->proc;
	static const char *const names[] = {"read", "write", "cas"};
	ev->f = g->o.workload == HISTGEN_LIST && s->op.kind == OP_WRITE ? "append"
									 : names[s->op.kind];
	if (g->o.keys > 1) {
		ev->has_key = 1;
		if (g->o.string_keys) {
			int n = snprintf(g->keybuf, sizeof g->keybuf, "k%u", s->op.key);
			ev->key.kind = HVAL_STR;
			ev->key.len = (uint32_t)n;
			ev->key.u.s = g->keybuf;
		} else {
			ev->key.kind = HVAL_INT;
			ev->key.u.i = s->op.key;
		}
	}
	ev->has_value = 1;
}

static void set_int(struct hval *v, int64_t i)
{
	v->kind = HVAL_INT;
	v->u.i = i;
}

static void set_op_value(struct histgen *g, struct hevent *ev, const struct op *op, int done)
{
	switch (op->kind) {
	case OP_READ:
		if (done && op->outcome == OUT_OK && op->res_has)
			set_int(&ev->value, op->res);
		else
			ev->value.kind = HVAL_NULL;
		break;
	case OP_WRITE:
		set_int(&ev->value, op->v);
		break;
	case OP_CAS:
		set_int(&g->items[0], op->exp);
		set_int(&g->items[1], op->nw);
		ev->value.kind = HVAL_ARRAY;
		ev->value.len = 2;
		ev->value.u.items = g->items;
		break;
	}
}

/* The value of a list read's completion: the prefix it saw, changed when it is the
 * injection's target. Returns 0, or -1 out of memory. */
static int list_read_value(struct histgen *g, struct hevent *ev, const struct op *op)
{
	struct kstate *k = &g->keys[op->key];
	size_t n = op->rlen, out = n;
	enum histgen_inject inj = op->target ? g->o.inject : HISTGEN_INJECT_NONE;
	if (inj == HISTGEN_INJECT_STALE_READ)
		out = op->stale_len;
	else if (inj == HISTGEN_INJECT_DUPLICATE || inj == HISTGEN_INJECT_FUTURE_READ ||
		 inj == HISTGEN_INJECT_NEVER_APPENDED)
		out = n + 1;
	if (array_grow((void **)&g->litems, &g->litcap, out + 1, sizeof *g->litems, 64))
		return -1;
	for (size_t i = 0; i < out && i < n; i++)
		set_int(&g->litems[i], k->list[i]);
	char *w = g->rep.inj_what;
	size_t wn = sizeof g->rep.inj_what;
	long long line = (long long)ev->index + 1;
	switch (inj) {
	case HISTGEN_INJECT_STALE_READ:
		snprintf(w, wn,
			 "read at line %lld of key %u returns %zu of its %zu elements, missing "
			 "%lld, whose ok append completed before the read was invoked",
			 line, op->key, out, n, (long long)k->list[out]);
		break;
	case HISTGEN_INJECT_DUPLICATE:
		set_int(&g->litems[n], k->list[0]);
		snprintf(w, wn, "read at line %lld of key %u returns element %lld twice", line,
			 op->key, (long long)k->list[0]);
		break;
	case HISTGEN_INJECT_ORDER:
		set_int(&g->litems[0], k->list[1]);
		set_int(&g->litems[1], k->list[0]);
		snprintf(w, wn,
			 "read at line %lld of key %u returns %lld before %lld, an earlier read "
			 "returned them the other way",
			 line, op->key, (long long)k->list[1], (long long)k->list[0]);
		break;
	case HISTGEN_INJECT_FUTURE_READ:
		k->reserved = g->next_value++;
		k->has_reserved = 1;
		set_int(&g->litems[n], k->reserved);
		snprintf(w, wn,
			 "read at line %lld of key %u returns %lld, which only an append invoked "
			 "after the read completed adds",
			 line, op->key, (long long)k->reserved);
		break;
	case HISTGEN_INJECT_NEVER_APPENDED:
		set_int(&g->litems[n], -1);
		snprintf(w, wn, "read at line %lld of key %u returns -1, which nothing appends",
			 line, op->key);
		break;
	default:
		break;
	}
	if (inj) {
		g->rep.injected = 1;
		g->rep.inj_index = ev->index;
		g->rep.inj_key = op->key;
	} else if (n > k->read_len) {
		k->read_len = n;
	}
	ev->value.kind = HVAL_ARRAY;
	ev->value.len = (uint32_t)out;
	ev->value.u.items = g->litems;
	return 0;
}

/* Bookkeeping at a list operation's ok completion (time t): what later injections rely on,
 * and whether a lost append was seen missing. */
static void list_completed(struct histgen *g, const struct hevent *ev, const struct op *op,
			   int64_t t)
{
	struct kstate *k = &g->keys[op->key];
	if (op->kind == OP_WRITE && op->target) {
		g->lost_state = 2;
		g->lost_key = op->key;
		g->lost_tcomp = t;
		g->lost_elem = op->v;
		g->lost_index = ev->index;
	} else if (op->kind == OP_WRITE) {
		if (op->rlen > k->done_len)
			k->done_len = op->rlen;
	} else if (g->lost_state == 2 && op->key == g->lost_key && op->tinv > g->lost_tcomp) {
		g->lost_state = 3;
		g->rep.injected = 1;
		g->rep.inj_index = g->lost_index;
		g->rep.inj_key = op->key;
		snprintf(g->rep.inj_what, sizeof g->rep.inj_what,
			 "append of %lld to key %u completed ok at line %lld but never reached "
			 "the store; the read at line %lld began after it",
			 (long long)g->lost_elem, op->key, (long long)g->lost_index + 1,
			 (long long)ev->index + 1);
	}
}

int histgen_next(struct histgen *g, struct hevent *ev)
{
	int list = g->o.workload == HISTGEN_LIST;
	while (g->hn) {
		struct hent e = hpop(g);
		if (e.phase == PH_NEMESIS) {
			memset(ev, 0, sizeof *ev);
			ev->index = g->index++;
			ev->line = (uint64_t)ev->index + 1;
			ev->time = stamp(g, e.t);
			ev->process = HPROC_NEMESIS;
			ev->type = HTYPE_INFO;
			ev->f = g->nemesis_up ? "start" : "kill";
			ev->has_value = 1;
			ev->value.kind = HVAL_NULL;
			g->nemesis_up = !g->nemesis_up;
			g->rep.events++;
			return 1;
		}
		struct slot *s = &g->slots[e.slot];
		struct op *op = &s->op;
		switch (e.phase) {
		case PH_INVOKE: {
			if (g->started >= g->o.ops) {
				if (g->o.leave_open)
					g->hn = 0; /* cut: nothing in flight completes */
				continue;  /* this slot is done */
			}
			uint64_t n = g->started++;
			if (!s->used) {
				s->used = 1;
				g->rep.processes++;
			}
			if (list)
				roll_list_op(g, op);
			else
				roll_op(g, op);
			int64_t t = stamp(g, e.t);
			op->tinv = t;
			struct kstate *k = &g->keys[op->key];
			if (list)
				list_choose_target(g, op, n);
			else if (g->o.inject && !g->inj_reserved && n >= g->inject_from &&
			    op->kind == OP_READ && op->outcome == OUT_OK &&
			    (g->o.values || k->cand)) {
				op->target = 1;
				if (g->o.values)
					op->inj_v = (g->o.has_initial &&
						     g->o.initial == (int64_t)g->o.values)
							    ? (int64_t)g->o.values + 1
							    : (int64_t)g->o.values;
				else
					op->inj_v = k->cand_v;
				g->rep.injected = 1; /* reserved; the index is set at completion */
				g->inj_reserved = 1;
			}
			if (g->o.nemesis_every && n && n % g->o.nemesis_every == 0 &&
			    hpush(g, t + 1, UINT32_MAX, PH_NEMESIS))
				return -1;
			if (hpush(g, t + between(g, 20 * US, 1000 * US), e.slot, PH_EFFECT))
				return -1;
			fill_common(g, ev, s, t);
			ev->type = HTYPE_INVOKE;
			set_op_value(g, ev, op, 0);
			g->rep.ops++;
			g->rep.events++;
			return 1;
		}
		case PH_EFFECT: {
			if (!list)
				take_effect(g, op);
			else if (list_effect(g, op))
				return -1;
			int64_t d = between(g, 20 * US, 1000 * US);
			if (op->outcome == OUT_INFO)
				d += between(g, 1000 * US, 5000 * US); /* a timeout */
			if (hpush(g, e.t + d, e.slot, PH_COMPLETE))
				return -1;
			continue;
		}
		case PH_COMPLETE: {
			int64_t t = stamp(g, e.t);
			fill_common(g, ev, s, t);
			set_op_value(g, ev, op, 1);
			if (list && op->kind == OP_READ && op->outcome == OUT_OK &&
			    list_read_value(g, ev, op))
				return -1;
			if (op->outcome == OUT_INFO) {
				ev->type = HTYPE_INFO;
				ev->error = "timeout";
				g->rep.info++;
			} else if (op->outcome == OUT_FAIL) {
				ev->type = HTYPE_FAIL;
				ev->error = "unavailable";
				g->rep.fail++;
			} else if (op->refused) {
				ev->type = HTYPE_FAIL;
				ev->error = "mismatch";
				g->rep.fail++;
				g->rep.mismatch++;
			} else {
				ev->type = HTYPE_OK;
				g->rep.ok++;
				if (list)
					list_completed(g, ev, op, t);
				else if (op->kind != OP_READ)
					record_ok_write(g, op, t);
			}
			if (op->target && !list) {
				char was[32] = "null";
				if (op->res_has)
					snprintf(was, sizeof was, "%lld", (long long)op->res);
				set_int(&ev->value, op->inj_v);
				g->rep.inj_index = ev->index;
				g->rep.inj_key = op->key;
				if (g->o.values)
					snprintf(g->rep.inj_what, sizeof g->rep.inj_what,
						 "read at index %lld (line %lld) of key %u now returns "
						 "%lld (was %s), a value no operation writes",
						 (long long)ev->index, (long long)ev->index + 1, op->key,
						 (long long)op->inj_v, was);
				else
					snprintf(g->rep.inj_what, sizeof g->rep.inj_what,
						 "read at index %lld (line %lld) of key %u now returns "
						 "%lld (was %s), a value overwritten by an ok write that "
						 "completed before the read was invoked",
						 (long long)ev->index, (long long)ev->index + 1, op->key,
						 (long long)op->inj_v, was);
			}
			if (op->outcome == OUT_INFO) {
				/* Jepsen's rule: the process is retired; the slot goes on as a
				 * fresh process. */
				s->proc = g->next_proc++;
				s->used = 0;
			}
			if (hpush(g, t + between(g, 10 * US, 1000 * US), e.slot, PH_INVOKE))
				return -1;
			g->rep.events++;
			return 1;
		}
		}
	}
	return 0;
}

/* ---- whole histories ----------------------------------------------------------------------- */

struct sink {
	int fd;           /* >= 0: flush to it; -1: grow in memory */
	char *buf;
	size_t len, cap;
};

static int sink_flush(struct sink *s)
{
	int e = fd_write_all(s->fd, s->buf, s->len, NULL);
	if (!e)
		s->len = 0;
	return e;
}

static int generate(const struct histgen_opts *o, struct sink *s, struct histgen_report *rep,
		    const char *name, char *err, size_t errlen)
{
	struct histgen *g;
	struct hevent ev;
	int rc = histgen_new(&g, o, err, errlen);
	if (rc)
		return rc;
	for (;;) {
		int r = histgen_next(g, &ev);
		if (r < 0) {
			rc = err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
			goto out;
		}
		if (r == 0)
			break;
		for (;;) {
			size_t need = hevent_format(s->buf + s->len, s->cap - s->len, &ev);
			if (need <= s->cap - s->len) {
				s->len += need;
				break;
			}
			if (s->fd >= 0 && s->len) {
				int e = sink_flush(s);
				if (e) {
					rc = err_set(err, errlen, SB_EIO, "write %s: %s%s", name,
						     strerror(e), e == ENOSPC ? " (disk full)" : "");
					goto out;
				}
				continue;
			}
			size_t nc = s->cap * 2 > s->len + need ? s->cap * 2 : s->len + need + 4096;
			char *nb = realloc(s->buf, nc);
			if (!nb) {
				rc = err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
				goto out;
			}
			s->buf = nb;
			s->cap = nc;
		}
	}
	if (s->fd >= 0) {
		int e = sink_flush(s);
		if (e) {
			rc = err_set(err, errlen, SB_EIO, "write %s: %s%s", name, strerror(e),
				     e == ENOSPC ? " (disk full)" : "");
			goto out;
		}
	}
	if (o->inject && !histgen_report(g)->injected)
		rc = err_set(err, errlen, SB_EINVAL,
			     "histgen: no read qualified for the injection (too few operations, "
			     "or no reads or writes in the mix)");
out:
	if (rep)
		*rep = *histgen_report(g);
	histgen_free(g);
	return rc;
}

int histgen_write_file(const struct histgen_opts *o, const char *path,
		       struct histgen_report *rep, char *err, size_t errlen)
{
	struct sink s = {.fd = 1};
	int rc;
	if (strcmp(path, "-")) {
		s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s.fd < 0)
			return err_set(err, errlen, SB_EIO, "create %s: %s", path, strerror(errno));
	}
	s.cap = 4u << 20;
	if (!(s.buf = malloc(s.cap))) {
		rc = err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
		goto out;
	}
	rc = generate(o, &s, rep, path, err, errlen);
out:
	free(s.buf);
	if (s.fd != 1 && close(s.fd) != 0 && !rc)
		rc = err_set(err, errlen, SB_EIO, "close %s: %s", path, strerror(errno));
	return rc;
}

int histgen_to_mem(const struct histgen_opts *o, char **buf, size_t *len,
		   struct histgen_report *rep, char *err, size_t errlen)
{
	struct sink s = {.fd = -1};
	*buf = NULL;
	*len = 0;
	s.cap = 1u << 16;
	if (!(s.buf = malloc(s.cap)))
		return err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
	int rc = generate(o, &s, rep, "<memory>", err, errlen);
	if (rc && rc != SB_EINVAL) {
		free(s.buf);
		return rc;
	}
	if (s.len == s.cap) {
		char *nb = realloc(s.buf, s.cap + 1);
		if (!nb) {
			free(s.buf);
			return err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
		}
		s.buf = nb;
	}
	s.buf[s.len] = '\0';
	*buf = s.buf;
	*len = s.len;
	return rc;
}
