/* gen — the pure generator (gen.h): operations for the workers, phases, final reads and the
 * random fault schedule, all from the seed and the `now` the interpreter passes in.
 *
 * Three independent random streams are derived from the seed: one for the operations'
 * content (f, key, value), one for the gaps between invocations and one for the fault
 * schedule. Keeping them apart means the k-th operation does not depend on timing, and the
 * fault schedule does not depend on how many operations were asked for. */
#include "harness/gen/gen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/rng.h"

/* Final-read key states. */
enum { FIN_PENDING = 0, FIN_INFLIGHT, FIN_DONE };

struct keystate {
	int64_t counter;   /* the last value handed out for this key (values count from 1) */
	int64_t last;      /* the last value issued by a write or a cas (what a cas expects) */
	bool has_last;
	uint8_t fin;       /* FIN_* */
};

struct gen {
	/* configuration, copied from the spec */
	const struct workload_kind *wk;
	uint32_t workers;
	uint32_t nslots;          /* keys in use at once */
	uint32_t ops_per_key;     /* 0: keys are never retired */
	double rate, jitter;
	double mix_cum[OP_NF];    /* cumulative weights */
	double *zipf_cdf;         /* nslots entries; NULL: uniform */
	int64_t time_limit, recovery, final_timeout;
	bool final_reads;
	uint32_t nfaults;
	double fault_cum[SPEC_MAX_FAULTS];
	int64_t fault_dur[SPEC_MAX_FAULTS];
	int64_t interval, start_after;
	uint32_t max_concurrent;

	struct rng op_rng, gap_rng, fault_rng;

	/* operations */
	uint64_t seq;
	int64_t next_at;          /* the earliest time of the next rate-limited invocation */
	int64_t *proc;            /* per worker: its current process number */
	uint32_t *slot_key;       /* per slot: the key index it currently stands for */
	uint32_t *slot_ops;       /* per slot: operations on that key so far */
	struct keystate *keys;
	size_t nkeys, keycap, rkcap, racap;

	/* phases */
	bool stopped, skip_final, healed;
	int64_t stop_at, healed_at;

	/* final reads: first reads in key order (next_unread), then retries in FIFO order */
	uint32_t next_unread;
	uint32_t *retry_key;      /* ring of nkeys entries: a key is in it at most once */
	int64_t *retry_at;
	size_t rhead, rlen;
	size_t final_done, final_inflight;

	/* fault schedule */
	int64_t next_tick;
	uint64_t next_fault_id;
	bool have_pending;
	struct gen_fault pending; /* drawn, not handed out yet */
	int64_t sched_until[GEN_MAX_ACTIVE]; /* scheduled faults that may still be active */
	uint32_t nsched;
	uint64_t unhealed[GEN_MAX_ACTIVE];   /* handed out, not healed yet */
	uint32_t nunhealed;

	struct gen_stats st;
};

const char *gen_phase_name(enum gen_phase p)
{
	switch (p) {
	case GEN_MAIN:
		return "main";
	case GEN_HEAL:
		return "heal";
	case GEN_RECOVERY:
		return "recovery";
	case GEN_FINAL:
		return "final";
	case GEN_DONE_PHASE:
		return "done";
	}
	return "?";
}

/* ---- set-up ------------------------------------------------------------------------------ */

static int mix_set(struct gen *g, const struct spec *spec, char *err, size_t errlen)
{
	const struct workload_kind *wk = g->wk;
	double w[OP_NF];
	if (spec->workload.mix_given) {
		const struct spec_mix *m = &spec->workload.mix;
		w[OP_READ] = m->read;
		w[OP_WRITE] = m->write;
		w[OP_CAS] = m->cas;
		w[OP_ADD] = m->add;
		w[OP_APPEND] = m->append;
	} else {
		memcpy(w, wk->mix, sizeof w);
	}
	double total = 0;
	for (int f = 0; f < OP_NF; f++) {
		if (!(w[f] >= 0) || !isfinite(w[f]))
			return err_set(err, errlen, SB_EINVAL, "mix: %s weight %g is not a number >= 0",
				       op_f_name((enum op_f)f), w[f]);
		if (w[f] > 0 && !(wk->ops & (1u << f)))
			return err_set(err, errlen, SB_EINVAL,
				       "mix: workload %s does not make %s operations", wk->name,
				       op_f_name((enum op_f)f));
		total += w[f];
		g->mix_cum[f] = total;
	}
	if (!(total > 0))
		return err_set(err, errlen, SB_EINVAL, "mix: every weight is 0");
	return 0;
}

/* The zipfian distribution over slots: P(i) proportional to 1 / (i + 1)^s. */
static int zipf_set(struct gen *g, double s, char *err, size_t errlen)
{
	if (!(s >= 0) || !isfinite(s))
		return err_set(err, errlen, SB_EINVAL, "zipf exponent %g is not a number >= 0", s);
	g->zipf_cdf = malloc(g->nslots * sizeof *g->zipf_cdf);
	if (!g->zipf_cdf)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	double sum = 0;
	for (uint32_t i = 0; i < g->nslots; i++) {
		sum += 1.0 / pow((double)i + 1, s);
		g->zipf_cdf[i] = sum;
	}
	for (uint32_t i = 0; i < g->nslots; i++)
		g->zipf_cdf[i] /= sum;
	return 0;
}

/* Make room for one more key: its state and its place in the retry ring (which holds each
 * key at most once, so nkeys entries suffice; keys are only added before the final phase). */
static int key_add(struct gen *g)
{
	size_t need = g->nkeys + 1;
	if (array_grow((void **)&g->keys, &g->keycap, need, sizeof *g->keys, 16) ||
	    array_grow((void **)&g->retry_key, &g->rkcap, need, sizeof *g->retry_key, 16) ||
	    array_grow((void **)&g->retry_at, &g->racap, need, sizeof *g->retry_at, 16))
		return SB_ENOMEM;
	memset(&g->keys[g->nkeys], 0, sizeof g->keys[0]);
	g->nkeys++;
	return 0;
}

static int faults_set(struct gen *g, const struct spec *spec, char *err, size_t errlen)
{
	const struct spec_nemesis *n = &spec->nemesis;
	if (!n->enabled || n->nfaults == 0)
		return 0;
	if (n->nfaults > SPEC_MAX_FAULTS)
		return err_set(err, errlen, SB_EINVAL, "nemesis: more than %d faults",
			       SPEC_MAX_FAULTS);
	if (n->interval_ns <= 0)
		return err_set(err, errlen, SB_EINVAL, "nemesis: interval must be > 0");
	double total = 0;
	for (size_t i = 0; i < n->nfaults; i++) {
		const struct spec_fault *f = &n->faults[i];
		if (!(f->weight >= 0) || !isfinite(f->weight))
			return err_set(err, errlen, SB_EINVAL,
				       "nemesis: fault %zu (%s): weight %g is not a number >= 0", i,
				       f->kind, f->weight);
		total += f->weight;
		g->fault_cum[i] = total;
		g->fault_dur[i] = f->restart_after_ns > 0 ? f->restart_after_ns
				  : f->duration_ns > 0    ? f->duration_ns
							  : 0;
	}
	if (!(total > 0))
		return 0; /* every weight 0: no random faults */
	g->nfaults = (uint32_t)n->nfaults;
	g->interval = n->interval_ns;
	g->start_after = n->start_after_ns < 0 ? n->interval_ns : n->start_after_ns;
	g->max_concurrent = n->max_concurrent == 0 ? 1 : n->max_concurrent;
	if (g->max_concurrent > GEN_MAX_ACTIVE)
		g->max_concurrent = GEN_MAX_ACTIVE;
	g->next_tick = g->start_after;
	return 0;
}

static int check_spec(const struct spec *spec, uint32_t workers, char *err, size_t errlen)
{
	const struct spec_workload *w = &spec->workload;
	if (workers == 0)
		return err_set(err, errlen, SB_EINVAL, "concurrency must be at least 1");
	if (!(w->rate >= 0) || !isfinite(w->rate))
		return err_set(err, errlen, SB_EINVAL, "rate %g is not a number >= 0", w->rate);
	if (!(w->jitter >= 0 && w->jitter <= 1))
		return err_set(err, errlen, SB_EINVAL, "jitter %g is not in 0..1", w->jitter);
	if (spec->time_limit_ns < 0 || spec->recovery_ns < 0 || spec->final_timeout_ns < 0)
		return err_set(err, errlen, SB_EINVAL, "time limits must be >= 0");
	return 0;
}

int gen_new(struct gen **out, const struct spec *spec, uint32_t workers, char *err,
	    size_t errlen)
{
	const struct workload_kind *wk = workload_find(spec->workload.kind);
	if (!wk)
		return err_set(err, errlen, SB_EINVAL, "unknown workload kind '%s' (known: %s)",
			       spec->workload.kind, workload_names());
	int rc = check_spec(spec, workers, err, errlen);
	if (rc)
		return rc;
	struct gen *g = calloc(1, sizeof *g);
	if (!g)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	const struct spec_workload *w = &spec->workload;
	g->wk = wk;
	g->workers = workers;
	g->nslots = !wk->keyed ? 1 : w->keys ? w->keys : wk->default_keys;
	g->ops_per_key = wk->keyed ? w->ops_per_key : 0;
	g->rate = w->rate;
	g->jitter = w->jitter;
	g->time_limit = spec->time_limit_ns;
	g->recovery = spec->recovery_ns;
	g->final_timeout = spec->final_timeout_ns;
	g->final_reads = spec->final_reads && wk->final_read;
	uint64_t x = spec->seed;
	rng_seed(&g->op_rng, rng_splitmix(&x));
	rng_seed(&g->gap_rng, rng_splitmix(&x));
	rng_seed(&g->fault_rng, rng_splitmix(&x));
	if ((rc = mix_set(g, spec, err, errlen)) || (rc = faults_set(g, spec, err, errlen)))
		goto out;
	if (w->key_dist == SPEC_KEYS_ZIPF && g->nslots > 1 &&
	    (rc = zipf_set(g, w->zipf_s, err, errlen)))
		goto out;
	g->proc = malloc(workers * sizeof *g->proc);
	g->slot_key = calloc(g->nslots, sizeof *g->slot_key);
	g->slot_ops = calloc(g->nslots, sizeof *g->slot_ops);
	if (!g->proc || !g->slot_key || !g->slot_ops) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < workers; i++)
		g->proc[i] = i;
	for (uint32_t i = 0; i < g->nslots; i++) {
		if (key_add(g)) {
			rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
			goto out;
		}
		g->slot_key[i] = i;
	}
out:
	if (rc) {
		gen_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	free(g->zipf_cdf);
	free(g->proc);
	free(g->slot_key);
	free(g->slot_ops);
	free(g->keys);
	free(g->retry_key);
	free(g->retry_at);
	free(g);
}

/* ---- phases ------------------------------------------------------------------------------ */

static int64_t main_end(const struct gen *g)
{
	if (g->stopped && g->stop_at < g->time_limit)
		return g->stop_at > 0 ? g->stop_at : 0;
	return g->time_limit;
}

/* The end of the recovery phase (valid once healed). After gen_stop there is no recovery:
 * the user wants the run over. */
static int64_t recovery_end(const struct gen *g)
{
	int64_t end = g->healed_at + g->recovery;
	if (g->stopped && g->stop_at < end)
		end = g->stop_at > g->healed_at ? g->stop_at : g->healed_at;
	return end;
}

static bool final_on(const struct gen *g)
{
	return g->final_reads && !g->skip_final;
}

static bool final_over(const struct gen *g, int64_t now)
{
	if (g->final_done == g->nkeys)
		return true;
	return now >= recovery_end(g) + g->final_timeout && g->final_inflight == 0;
}

enum gen_phase gen_phase(const struct gen *g, int64_t now)
{
	if (now < main_end(g))
		return GEN_MAIN;
	if (!g->healed)
		return GEN_HEAL;
	if (now < recovery_end(g))
		return GEN_RECOVERY;
	if (final_on(g) && !final_over(g, now))
		return GEN_FINAL;
	return GEN_DONE_PHASE;
}

void gen_healed(struct gen *g, int64_t now)
{
	if (g->healed)
		return;
	g->healed = true;
	int64_t end = main_end(g);
	g->healed_at = now > end ? now : end;
}

void gen_stop(struct gen *g, int64_t now, bool skip_final)
{
	if (!g->stopped) {
		g->stopped = true;
		g->stop_at = now;
	}
	if (skip_final)
		g->skip_final = true;
}

/* ---- operations -------------------------------------------------------------------------- */

/* A gap of base_ns * (1 +- jitter), uniform. */
static int64_t jittered(struct rng *r, double jitter, double base_ns)
{
	double u = rng_double(r) * 2 - 1; /* [-1, 1) */
	double gap = base_ns * (1 + jitter * u);
	if (!(gap > 0))
		return 0;
	if (gap > 1e18) /* a rate so low it never comes: far beyond any run, without overflow */
		return (int64_t)1e18;
	return (int64_t)llround(gap);
}

static uint32_t pick_slot(struct gen *g)
{
	if (g->nslots == 1)
		return 0;
	if (!g->zipf_cdf)
		return (uint32_t)rng_below(&g->op_rng, g->nslots);
	double u = rng_double(&g->op_rng);
	uint32_t lo = 0, hi = g->nslots - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (g->zipf_cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static enum op_f pick_f(struct gen *g)
{
	double u = rng_double(&g->op_rng) * g->mix_cum[OP_NF - 1];
	for (int f = 0; f < OP_NF; f++)
		if (u < g->mix_cum[f])
			return (enum op_f)f;
	/* rounding at the top end: the last operation with a weight */
	for (int f = OP_NF - 1; f > 0; f--)
		if (g->mix_cum[f] > g->mix_cum[f - 1])
			return (enum op_f)f;
	return OP_READ;
}

/* Draw the content of the next operation: f, key, value. */
static void op_content(struct gen *g, struct gen_op *op)
{
	enum op_f f = pick_f(g);
	uint32_t s = pick_slot(g);
	uint32_t key = g->slot_key[s];
	if (g->ops_per_key && ++g->slot_ops[s] >= g->ops_per_key) {
		/* Retire the key: the slot stands for a fresh one from now on. Without memory for
		 * it the slot keeps its key (values stay unique; the key just grows longer). */
		if (key_add(g) == 0)
			g->slot_key[s] = (uint32_t)(g->nkeys - 1);
		g->slot_ops[s] = 0;
	}
	struct keystate *k = &g->keys[key];
	if (f == OP_CAS && !k->has_last)
		f = OP_WRITE;
	op->f = f;
	op->key = key;
	op->value = 0;
	op->expect = 0;
	switch (f) {
	case OP_WRITE:
		op->value = ++k->counter;
		k->last = op->value;
		k->has_last = true;
		break;
	case OP_CAS:
		op->expect = k->last;
		op->value = ++k->counter;
		k->last = op->value;
		break;
	case OP_ADD:
	case OP_APPEND:
		op->value = ++k->counter;
		break;
	default:
		break;
	}
}

static void op_fill(struct gen *g, uint32_t worker, int64_t at, struct gen_op *op)
{
	op->seq = g->seq++;
	op->at = at;
	op->worker = worker;
	op->process = g->proc[worker];
	op->final = false;
	g->st.invoked++;
}

/* A rate-limited operation invoked before `end`. A worker that asks before the next
 * invocation is due reserves it (op->at in the future), so workers sleep until their own
 * time rather than all waking for one slot; one that asks late gets its operation at once,
 * and the next is due a gap after that (no catching up). */
static enum gen_status next_rated(struct gen *g, uint32_t worker, int64_t now, int64_t end,
				  struct gen_op *op, int64_t *wake)
{
	int64_t at = now;
	if (g->rate > 0 && g->next_at > now)
		at = g->next_at;
	if (at >= end) {
		*wake = end;
		return GEN_WAIT;
	}
	if (g->rate > 0)
		g->next_at = at + jittered(&g->gap_rng, g->jitter, 1e9 / g->rate);
	op_fill(g, worker, at, op);
	op_content(g, op);
	return GEN_NEXT;
}

static enum gen_status next_final(struct gen *g, uint32_t worker, int64_t now, struct gen_op *op,
				  int64_t *wake)
{
	int64_t deadline = recovery_end(g) + g->final_timeout;
	if (now >= deadline)
		return GEN_DONE;
	uint32_t key;
	if (g->next_unread < g->nkeys) {
		key = g->next_unread++;
	} else if (g->rlen > 0 && g->retry_at[g->rhead] <= now) {
		key = g->retry_key[g->rhead];
		g->rhead = (g->rhead + 1) % g->nkeys;
		g->rlen--;
	} else {
		/* Nothing to read now: a retry comes due later, or one in flight may fail. */
		*wake = g->rlen > 0 && g->retry_at[g->rhead] < deadline ? g->retry_at[g->rhead]
									 : deadline;
		return GEN_WAIT;
	}
	g->keys[key].fin = FIN_INFLIGHT;
	g->final_inflight++;
	op_fill(g, worker, now, op);
	op->f = OP_READ;
	op->key = key;
	op->value = 0;
	op->expect = 0;
	op->final = true;
	return GEN_NEXT;
}

enum gen_status gen_next(struct gen *g, uint32_t worker, int64_t now, struct gen_op *op,
			 int64_t *wake)
{
	if (worker >= g->workers)
		return GEN_DONE;
	switch (gen_phase(g, now)) {
	case GEN_MAIN:
		return next_rated(g, worker, now, main_end(g), op, wake);
	case GEN_HEAL:
		*wake = INT64_MAX; /* nothing until gen_healed */
		return GEN_WAIT;
	case GEN_RECOVERY:
		if (g->next_at < g->healed_at)
			g->next_at = g->healed_at;
		return next_rated(g, worker, now, recovery_end(g), op, wake);
	case GEN_FINAL:
		return next_final(g, worker, now, op, wake);
	case GEN_DONE_PHASE:
		break;
	}
	return GEN_DONE;
}

void gen_complete(struct gen *g, const struct gen_op *op, enum gen_outcome outcome, int64_t now)
{
	switch (outcome) {
	case GEN_OK:
		g->st.ok++;
		break;
	case GEN_FAIL:
		g->st.fail++;
		break;
	case GEN_INFO:
		g->st.info++;
		/* Jepsen's rule: a process with an operation of unknown outcome never invokes
		 * again; the worker goes on as a fresh process. */
		if (op->worker < g->workers && g->proc[op->worker] == op->process)
			g->proc[op->worker] = op->process + g->workers;
		break;
	}
	if (!op->final || op->key >= g->nkeys || g->keys[op->key].fin != FIN_INFLIGHT)
		return;
	g->final_inflight--;
	if (outcome == GEN_OK) {
		g->keys[op->key].fin = FIN_DONE;
		g->final_done++;
		return;
	}
	g->keys[op->key].fin = FIN_PENDING;
	size_t tail = (g->rhead + g->rlen) % g->nkeys;
	g->retry_key[tail] = op->key;
	g->retry_at[tail] = now + GEN_FINAL_RETRY_NS;
	g->rlen++;
}

void gen_stats(const struct gen *g, struct gen_stats *st)
{
	*st = g->st;
	st->final_pending = final_on(g) ? g->nkeys - g->final_done : 0;
}

/* ---- faults ------------------------------------------------------------------------------ */

static uint32_t pick_fault(struct gen *g)
{
	double u = rng_double(&g->fault_rng) * g->fault_cum[g->nfaults - 1];
	for (uint32_t i = 0; i < g->nfaults; i++)
		if (u < g->fault_cum[i])
			return i;
	return g->nfaults - 1;
}

/* Draw the next fault of the schedule before `end`, into g->pending. Whether a tick brings
 * a fault depends on the schedule alone (the scheduled faults still active then), so the
 * schedule replays from the seed whatever the interpreter's timing. */
static bool draw_fault(struct gen *g, int64_t end)
{
	while (g->next_tick < end) {
		int64_t t = g->next_tick;
		g->next_tick = t + jittered(&g->fault_rng, g->jitter, (double)g->interval);
		uint32_t k = 0;
		for (uint32_t i = 0; i < g->nsched; i++)
			if (g->sched_until[i] > t)
				g->sched_until[k++] = g->sched_until[i];
		g->nsched = k;
		if (g->nsched >= g->max_concurrent)
			continue;
		uint32_t fi = pick_fault(g);
		g->pending = (struct gen_fault){
			.id = g->next_fault_id++,
			.at = t,
			.until = t + g->fault_dur[fi],
			.fault = fi,
			.rnd = rng_next(&g->fault_rng),
		};
		g->sched_until[g->nsched++] = g->pending.until;
		g->have_pending = true;
		return true;
	}
	return false;
}

enum gen_status gen_next_fault(struct gen *g, int64_t now, struct gen_fault *f, int64_t *wake)
{
	if (g->nfaults == 0)
		return GEN_DONE;
	int64_t end = main_end(g);
	if (!g->have_pending && !draw_fault(g, end))
		return GEN_DONE;
	if ((g->pending.at > now ? g->pending.at : now) >= end)
		return GEN_DONE;
	if (g->nunhealed >= g->max_concurrent) {
		/* Healing lags behind the schedule: the next fault waits for a slot. */
		*wake = g->pending.at > now ? g->pending.at : INT64_MAX;
		return GEN_WAIT;
	}
	*f = g->pending;
	if (f->at < now) { /* handed out late (a heal took long): keep its duration */
		f->until = now + (f->until - f->at);
		f->at = now;
	}
	g->have_pending = false;
	g->unhealed[g->nunhealed++] = f->id;
	return GEN_NEXT;
}

void gen_fault_healed(struct gen *g, uint64_t id)
{
	for (uint32_t i = 0; i < g->nunhealed; i++) {
		if (g->unhealed[i] == id) {
			g->unhealed[i] = g->unhealed[--g->nunhealed];
			return;
		}
	}
}
