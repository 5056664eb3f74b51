/* histgen — a discrete-event simulation of clients against a linearizable register store.
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
};

struct op {
	int kind, outcome;
	uint32_t key;
	int64_t v, exp, nw;     /* write value; cas expected and new */
	int res_has;            /* read result */
	int64_t res;
	int refused;            /* cas mismatch */
	int target;             /* the injected read */
	int64_t inj_v;
	int64_t tinv;
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
	if (o->inject != HISTGEN_INJECT_NONE && o->inject != HISTGEN_INJECT_STALE_READ)
		return err_set(err, errlen, SB_EINVAL, "histgen: unknown injection %d",
			       (int)o->inject);
	struct histgen *g = calloc(1, sizeof *g);
	if (!g)
		return err_set(err, errlen, SB_ENOMEM, "histgen: out of memory");
	g->o = *o;
	rng_seed(&g->rng, o->seed);
	double mr = o->mix_read, mw = o->mix_write, mc = o->mix_cas;
	if (mr + mw + mc <= 0)
		mr = 0.5, mw = 0.3, mc = 0.2;
	double sum = mr + mw + mc;
	g->wr = prob(mr / sum);
	g->ww = prob(mw / sum);
	g->wc = (1u << 20) - g->wr - g->ww;
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
	free(g->keys);
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
	ev->f = names[s->op.kind];
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

int histgen_next(struct histgen *g, struct hevent *ev)
{
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
			roll_op(g, op);
			int64_t t = stamp(g, e.t);
			op->tinv = t;
			struct kstate *k = &g->keys[op->key];
			if (g->o.inject && !g->rep.injected && n >= g->inject_from &&
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
			take_effect(g, op);
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
				if (op->kind != OP_READ)
					record_ok_write(g, op, t);
			}
			if (op->target) {
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
