/* gen_dry_run — the schedule a spec and a seed give, printed without touching a host.
 *
 * A simulated interpreter drives the generator: operations complete `ok` at the instant they
 * are invoked, every fault is healed at its `until`, and the heal phase takes no time. The
 * worker that is free earliest asks next (the lowest number on a tie), so the output depends
 * on the spec and the seed only. */
#include "harness/gen/gen.h"

#include <inttypes.h>
#include <stdlib.h>

#include "lib/err.h"
#include "lib/units.h"

/* Seconds with six decimals, from integers: the same text on every machine. */
static void fmt_time(char *buf, size_t n, int64_t ns)
{
	const char *sign = ns < 0 ? "-" : "";
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	snprintf(buf, n, "%s%" PRIu64 ".%06" PRIu64, sign, a / 1000000000u, a % 1000000000u / 1000u);
}

static void fmt_op(char *buf, size_t n, const struct workload_kind *wk, const struct gen_op *op)
{
	char key[32] = "";
	if (wk->keyed) {
		key[0] = ' ';
		workload_key_name(op->key, key + 1, sizeof key - 1);
	}
	const char *f = op_f_name(op->f);
	switch (op->f) {
	case OP_READ:
		snprintf(buf, n, "%s%s%s", f, key, op->final ? " (final)" : "");
		break;
	case OP_CAS:
		snprintf(buf, n, "%s%s [%" PRId64 " %" PRId64 "]", f, key, op->expect, op->value);
		break;
	default:
		snprintf(buf, n, "%s%s %" PRId64, f, key, op->value);
		break;
	}
}

static int print_header(const struct spec *spec, uint32_t workers, size_t max_ops, FILE *out)
{
	const struct spec_workload *w = &spec->workload;
	char tl[32];
	units_format_duration(spec->time_limit_ns, tl, sizeof tl);
	fprintf(out, "# dry run%s%s%s: workload %s, %" PRIu32 " workers, rate %g/s (jitter %g), "
		     "time limit %s, seed %" PRIu64 "\n",
		spec->name[0] ? " of \"" : "", spec->name, spec->name[0] ? "\"" : "", w->kind,
		workers, w->rate, w->jitter, tl, spec->seed);
	fprintf(out, "# the first %zu operations, each completing ok at once\n", max_ops);
	return fprintf(out, "%12s %6s %6s %7s  %s\n", "time", "seq", "worker", "process", "op") < 0
		       ? SB_EIO
		       : 0;
}

static void print_phase(FILE *out, int64_t now, enum gen_phase ph)
{
	char t[32];
	fmt_time(t, sizeof t, now);
	fprintf(out, "%12s  -- phase %s\n", t, gen_phase_name(ph));
}

/* The operations: each worker asks when its last one completed (at once, ok). */
static int dry_ops(struct gen *g, const struct spec *spec, uint32_t workers, size_t max_ops,
		   FILE *out, char *err, size_t errlen)
{
	const struct workload_kind *wk = workload_find(spec->workload.kind);
	int64_t *free_at = calloc(workers, sizeof *free_at);
	if (!free_at)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	enum gen_phase shown = GEN_MAIN;
	size_t printed = 0;
	while (printed < max_ops) {
		uint32_t w = workers;
		for (uint32_t i = 0; i < workers; i++)
			if (free_at[i] != INT64_MAX && (w == workers || free_at[i] < free_at[w]))
				w = i;
		if (w == workers)
			break; /* every worker is done */
		int64_t now = free_at[w];
		enum gen_phase ph = gen_phase(g, now);
		if (ph != shown)
			print_phase(out, now, ph);
		shown = ph;
		if (ph == GEN_HEAL) { /* healing takes no time here */
			gen_healed(g, now);
			continue;
		}
		struct gen_op op;
		int64_t wake = 0;
		enum gen_status s = gen_next(g, w, now, &op, &wake);
		if (s == GEN_DONE) {
			free_at[w] = INT64_MAX;
			continue;
		}
		if (s == GEN_WAIT) {
			/* a generator that says "wait until now" would loop forever */
			free_at[w] = wake > now ? wake : now + 1;
			continue;
		}
		char t[32], text[96];
		fmt_time(t, sizeof t, op.at);
		fmt_op(text, sizeof text, wk, &op);
		fprintf(out, "%12s %6" PRIu64 " %6" PRIu32 " %7" PRId64 "  %s\n", t, op.seq, op.worker,
			op.process, text);
		gen_complete(g, &op, GEN_OK, op.at);
		free_at[w] = op.at;
		printed++;
	}
	free(free_at);
	return 0;
}

/* Every fault of the schedule, each healed at its `until`. */
static int dry_faults(struct gen *g, const struct spec *spec, FILE *out)
{
	const struct spec_nemesis *n = &spec->nemesis;
	if (!n->enabled || n->nfaults == 0) {
		fprintf(out, "# no random faults\n");
		return 0;
	}
	char iv[32], sa[32];
	units_format_duration(n->interval_ns, iv, sizeof iv);
	units_format_duration(n->start_after_ns < 0 ? n->interval_ns : n->start_after_ns, sa,
			      sizeof sa);
	fprintf(out, "# faults: every %s (jitter %g) from %s, at most %" PRIu32 " at once\n", iv,
		spec->workload.jitter, sa, n->max_concurrent ? n->max_concurrent : 1);
	fprintf(out, "%12s %6s  %-24s %12s  %s\n", "time", "id", "fault", "until", "rnd");
	int64_t now = 0;
	struct gen_fault f;
	int64_t wake = 0;
	for (;;) {
		enum gen_status s = gen_next_fault(g, now, &f, &wake);
		if (s == GEN_DONE)
			break;
		if (s == GEN_WAIT) { /* cannot happen: each fault is healed before the next ask */
			now = wake > now && wake != INT64_MAX ? wake : now + 1;
			continue;
		}
		const struct spec_fault *sf = &n->faults[f.fault];
		char at[32], until[32], what[SPEC_WORD_MAX + SPEC_NAME_MAX + 16];
		fmt_time(at, sizeof at, f.at);
		fmt_time(until, sizeof until, f.until);
		snprintf(what, sizeof what, "%s%s%s #%" PRIu32, sf->kind, sf->target[0] ? " " : "",
			 sf->target, f.fault);
		fprintf(out, "%12s %6" PRIu64 "  %-24s %12s  %016" PRIx64 "\n", at, f.id, what, until,
			f.rnd);
		gen_fault_healed(g, f.id);
		now = f.at;
	}
	return 0;
}

int gen_dry_run(const struct spec *spec, uint32_t workers, size_t max_ops, FILE *out, char *err,
		size_t errlen)
{
	struct gen *g = NULL;
	int rc = gen_new(&g, spec, workers, err, errlen);
	if (rc)
		return rc;
	if ((rc = print_header(spec, workers, max_ops, out)) ||
	    (rc = dry_ops(g, spec, workers, max_ops, out, err, errlen)) ||
	    (rc = dry_faults(g, spec, out)))
		goto out;
	if (fflush(out) || ferror(out))
		rc = err_set(err, errlen, SB_EIO, "dry run: write failed");
out:
	if (rc == SB_EIO && err && !err[0])
		err_set(err, errlen, SB_EIO, "dry run: write failed");
	gen_free(g);
	return rc;
}
