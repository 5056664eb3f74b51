/* availability — success shares per fault window and recovery period, time to the next
 * acknowledged write (availability.h). */
#include "harness/check/availability.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/err.h"
#include "lib/history.h"

/* Process numbers above this are refused when pairing a history (the runner's are small). */
#define MAX_PROCESS (1u << 24)

const char *avail_verdict_name(enum avail_verdict v)
{
	switch (v) {
	case AVAIL_MET:
		return "met";
	case AVAIL_FAILED:
		return "failed";
	case AVAIL_SKIPPED:
		return "skipped";
	default:
		return "not-checked";
	}
}

double avail_share(const struct avail_span *s)
{
	return s->ops ? (double)s->ok / (double)s->ops : -1;
}

/* The first op invoked at or after t. */
static size_t lower_bound(const struct avail_op *ops, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ops[mid].invoke_ns < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct avail_span span(const struct avail_op *ops, size_t n, int64_t s, int64_t e)
{
	struct avail_span sp = {.start_ns = s, .end_ns = e};
	for (size_t k = lower_bound(ops, n, s); k < n && ops[k].invoke_ns < e; k++) {
		sp.ops++;
		sp.ok += ops[k].ok;
	}
	return sp;
}

/* Time from start to the earliest completion of a successful write invoked in [from, end). */
static int64_t recover(const struct avail_op *ops, size_t n, int64_t start, int64_t from,
		       int64_t end, bool by_writes)
{
	int64_t best = -1;
	for (size_t k = lower_bound(ops, n, from); k < n && ops[k].invoke_ns < end; k++) {
		/* Nothing invoked after the best completion can complete before it. */
		if (best >= 0 && ops[k].invoke_ns >= best)
			break;
		const struct avail_op *o = &ops[k];
		if (o->ok && (o->write || !by_writes) && o->complete_ns >= 0 &&
		    (best < 0 || o->complete_ns < best))
			best = o->complete_ns;
	}
	return best < 0 ? -1 : best - start;
}

/* The start of the first fault that begins at or after t, else end. */
static int64_t next_start(const struct avail_fault *f, size_t nf, int64_t t, int64_t end)
{
	int64_t next = end;
	for (size_t j = 0; j < nf; j++)
		if (f[j].start_ns >= t && f[j].start_ns < next)
			next = f[j].start_ns;
	return next;
}

static unsigned judge(const struct avail_window *w, const struct avail_limits *lim)
{
	unsigned failed = 0;
	if (lim->recover_within_ns > 0 && (w->recover_ns < 0 || w->recover_ns > lim->recover_within_ns))
		failed |= AVAIL_FAIL_RECOVER;
	if (lim->min_ok_share > 0 && w->during.ops && avail_share(&w->during) < lim->min_ok_share)
		failed |= AVAIL_FAIL_DURING;
	if (lim->min_recovery_ok_share > 0 && w->after.ops &&
	    avail_share(&w->after) < lim->min_recovery_ok_share)
		failed |= AVAIL_FAIL_AFTER;
	return failed;
}

int avail_compute(const struct avail_op *ops, size_t nops, const struct avail_fault *faults,
		  size_t nf, int64_t end_ns, const struct avail_limits *lim,
		  struct avail_result *out)
{
	memset(out, 0, sizeof *out);
	if (lim)
		out->limits = *lim;
	for (size_t k = 0; k < nops && !out->by_writes; k++)
		out->by_writes = ops[k].write;
	out->all = span(ops, nops, INT64_MIN, end_ns);
	out->all.start_ns = 0;
	if (nf && !(out->w = calloc(nf, sizeof *out->w)))
		return SB_ENOMEM;
	out->n = nf;
	for (size_t i = 0; i < nf; i++) {
		struct avail_window *w = &out->w[i];
		const struct avail_fault *f = &faults[i];
		int64_t until = f->end_ns < 0 || f->end_ns > end_ns ? end_ns : f->end_ns;
		w->fault = i;
		w->during = span(ops, nops, f->start_ns, until);
		if (f->end_ns >= 0)
			w->after = span(ops, nops, f->end_ns, next_start(faults, nf, f->end_ns, end_ns));
		else
			w->after = (struct avail_span){.start_ns = -1, .end_ns = -1};
		int64_t from = f->in_force_ns > f->start_ns ? f->in_force_ns : f->start_ns;
		w->in_force_ns = from;
		w->recover_ns = recover(ops, nops, f->start_ns, from, end_ns, out->by_writes);
		w->failed = judge(w, &out->limits);
		out->nfailed += w->failed != 0;
		if (out->max_recover_ns >= 0 &&
		    (w->recover_ns < 0 || w->recover_ns > out->max_recover_ns))
			out->max_recover_ns = w->recover_ns;
	}
	bool checked = out->limits.recover_within_ns > 0 || out->limits.min_ok_share > 0 ||
		       out->limits.min_recovery_ok_share > 0;
	out->verdict = !checked ? AVAIL_NOT_CHECKED : out->nfailed ? AVAIL_FAILED : AVAIL_MET;
	return 0;
}

void avail_result_free(struct avail_result *r)
{
	free(r->w);
	r->w = NULL;
	r->n = 0;
}

void avail_match_starts(const struct avail_nemesis *ev, size_t nev,
			const char *const *start_f, struct avail_fault *faults, size_t nf)
{
	size_t e = 0;
	for (size_t k = 0; k < nf; k++) {
		struct avail_fault *f = &faults[k];
		f->in_force_ns = f->start_ns;
		size_t j = e;
		while (j < nev && (ev[j].time_ns < f->start_ns || !start_f[k] ||
				   strcmp(ev[j].f, start_f[k])))
			j++;
		if (j < nev) {
			f->in_force_ns = ev[j].time_ns;
			e = j + 1;
		}
	}
}

/* ---- reading a history ------------------------------------------------------------------- */

static int op_cmp(const void *pa, const void *pb)
{
	const struct avail_op *a = pa, *b = pb;
	return a->invoke_ns < b->invoke_ns ? -1 : a->invoke_ns > b->invoke_ns;
}

struct pairing {
	struct avail_op *ops;
	size_t n, cap;
	struct avail_nemesis *nem; /* NULL: not wanted (want_nem false) */
	size_t nnem, capnem;
	bool want_nem;
	size_t *pending; /* per process: 1 + index of its operation in flight, 0: none */
	size_t npending;
};

static int pair_event(struct pairing *p, const struct hevent *ev, const char *path, char *err,
		      size_t errlen)
{
	if (ev->process == HPROC_NEMESIS) {
		if (!p->want_nem || ev->type != HTYPE_INFO)
			return 0;
		if (array_grow((void **)&p->nem, &p->capnem, p->nnem + 1, sizeof *p->nem, 64))
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		struct avail_nemesis *n = &p->nem[p->nnem++];
		n->time_ns = ev->time < 0 ? 0 : ev->time;
		snprintf(n->f, sizeof n->f, "%s", ev->f);
		return 0;
	}
	if (ev->process < 0 || ev->process >= (int64_t)MAX_PROCESS)
		return err_set(err, errlen, SB_EINVAL, "%s:%llu: process %lld is out of range", path,
			       (unsigned long long)ev->line, (long long)ev->process);
	size_t proc = (size_t)ev->process;
	if (proc >= p->npending &&
	    array_grow_zero((void **)&p->pending, &p->npending, proc + 1, sizeof *p->pending, 64))
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int64_t t = ev->time < 0 ? 0 : ev->time;
	if (ev->type == HTYPE_INVOKE) {
		if (array_grow((void **)&p->ops, &p->cap, p->n + 1, sizeof *p->ops, 1024))
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		p->ops[p->n] = (struct avail_op){.invoke_ns = t, .complete_ns = -1,
						 .write = strcmp(ev->f, "read") != 0};
		p->pending[proc] = ++p->n;
		return 0;
	}
	if (!p->pending[proc])
		return 0; /* a completion without its invoke: the checker reports such histories */
	struct avail_op *o = &p->ops[p->pending[proc] - 1];
	p->pending[proc] = 0;
	o->complete_ns = t;
	o->ok = ev->type == HTYPE_OK ||
		(ev->type == HTYPE_FAIL && ev->error && !strcmp(ev->error, "mismatch"));
	return 0;
}

int avail_read_history(const char *path, struct avail_op **ops, size_t *nops,
		       struct avail_nemesis **nem, size_t *nnem, char *err, size_t errlen)
{
	struct hreader *hr = NULL;
	struct pairing p = {.want_nem = nem != NULL};
	struct hevent ev;
	int rc = hreader_open(&hr, path, HFMT_JSONL, err, errlen);
	while (!rc && (rc = hreader_next(hr, &ev, err, errlen)) == 1)
		rc = pair_event(&p, &ev, path, err, errlen);
	hreader_close(hr);
	free(p.pending);
	if (rc < 0) {
		free(p.ops);
		free(p.nem);
		return rc;
	}
	/* Events are stamped before they are appended, so two threads' invokes may be a little
	 * out of order in the file. */
	if (p.n)
		qsort(p.ops, p.n, sizeof *p.ops, op_cmp);
	*ops = p.ops;
	*nops = p.n;
	if (nem) {
		*nem = p.nem;
		*nnem = p.nnem;
	}
	return 0;
}
