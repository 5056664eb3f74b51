/* report/html_svg — inline SVG charts (see html_svg.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/report/html_svg.h"

/* Append a string literal. */
#define ADD(b, lit) sbuf_lit(b, lit)

#define W 1000.0   /* viewBox width of every chart */
#define ML 64.0    /* left margin: the y axis labels */
#define MR 16.0
#define NBUCKETS 300
#define MAX_POINTS 6000 /* latency points drawn, whatever the history's length */

void rep_esc(struct sbuf *b, const char *s)
{
	if (!s)
		return;
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\n': rep = "&#10;"; break;
		default: continue;
		}
		sbuf_add(b, run, (size_t)(s - run));
		sbuf_add(b, rep, strlen(rep));
		run = s + 1;
	}
	sbuf_add(b, run, (size_t)(s - run));
}

/* ---- scales ---- */

struct xscale {
	double t0, t1; /* seconds */
};

static double xpos(const struct xscale *x, double t)
{
	double span = x->t1 > x->t0 ? x->t1 - x->t0 : 1;
	return ML + (t - x->t0) / span * (W - ML - MR);
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about n ticks over span. */
static double nice_step(double span, int n)
{
	if (!(span > 0))
		return 1;
	double raw = span / n, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void x_axis(struct sbuf *b, const struct xscale *x, double y, const char *unit)
{
	double step = nice_step(x->t1 - x->t0, 10);
	sbuf_addf(b, "<g class=\"axis\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
		  ML, W - MR, y, y);
	for (double t = ceil(x->t0 / step) * step; t <= x->t1 + step * 1e-9; t += step) {
		double px = xpos(x, t);
		sbuf_addf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
			     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>",
			  px, px, y, y + 4, px, y + 15, fabs(t) < step * 1e-6 ? 0 : t);
	}
	sbuf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text></g>", W - MR,
		  y + 28, unit);
}

static const char *fault_class(const char *label)
{
	if (!strncmp(label, "kill", 4) || !strncmp(label, "crash", 5))
		return "f-kill";
	if (!strncmp(label, "partition", 9))
		return "f-part";
	if (!strncmp(label, "pause", 5))
		return "f-pause";
	return "f-other";
}

static void fault_bands(struct sbuf *b, const struct rep_hist *h, const struct xscale *x,
			double top, double height, int labels)
{
	ADD(b, "<g class=\"faults\">");
	for (size_t i = 0; i < h->nfaults; i++) {
		const struct rep_fault *f = &h->faults[i];
		double end = f->end >= 0 ? f->end : x->t1;
		double x0 = xpos(x, f->start), x1 = xpos(x, end);
		if (x1 - x0 < 1.5)
			x1 = x0 + 1.5; /* an instant fault stays visible */
		sbuf_addf(b, "<rect class=\"fault %s\" data-fault=\"%zu\" x=\"%.1f\" y=\"%.1f\" "
			     "width=\"%.1f\" height=\"%.1f\"><title>",
			  fault_class(f->label), i, x0, top, x1 - x0, height);
		rep_esc(b, f->label);
		if (f->end >= 0)
			sbuf_addf(b, " (%.3f\u2013%.3f s)</title></rect>", f->start, f->end);
		else
			sbuf_addf(b, " (from %.3f s, not healed)</title></rect>", f->start);
		if (!labels)
			continue;
		/* Label inside the band when it fits (about 6 px a character), else its number;
		 * three staggered rows keep neighbours apart. */
		double room = (x1 - x0) + 40;
		size_t len = strlen(f->label);
		sbuf_addf(b, "<text class=\"flabel\" x=\"%.1f\" y=\"%.1f\">", x0 + 2,
			  top + 11 + (double)(i % 3) * 11);
		if ((double)len * 6 < room) {
			rep_esc(b, f->label);
		} else {
			sbuf_addf(b, "#%zu", i + 1);
		}
		ADD(b, "</text>");
	}
	ADD(b, "</g>");
}

/* ---- throughput and latency ---- */

struct series {
	size_t nb;
	double t0, width;            /* seconds */
	uint32_t *count[3];          /* completions per bucket: ok, fail, info */
	double *p50, *p95, *p99;     /* ms; < 0: no completion in the bucket */
};

static int bucket_of(const struct series *s, double t)
{
	long k = (long)((t - s->t0) / s->width);
	if (k < 0)
		k = 0;
	if (k >= (long)s->nb)
		k = (long)s->nb - 1;
	return (int)k;
}

static int type_slot(uint8_t type)
{
	return type == HTYPE_OK ? 0 : type == HTYPE_FAIL ? 1 : 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(const double *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return v[i ? i - 1 : 0];
}

static int series_build(struct series *s, const struct rep_hist *h, const struct xscale *x)
{
	/* about 20 completions a bucket for short runs, NBUCKETS at most */
	s->nb = h->nops / 20 < 20 ? 20 : h->nops / 20 > NBUCKETS ? NBUCKETS : h->nops / 20;
	s->t0 = x->t0;
	s->width = (x->t1 - x->t0) / (double)s->nb;
	if (!(s->width > 0))
		s->width = 1e-3;
	for (int k = 0; k < 3; k++)
		s->count[k] = calloc(s->nb, sizeof *s->count[k]);
	s->p50 = malloc(s->nb * sizeof *s->p50);
	s->p95 = malloc(s->nb * sizeof *s->p95);
	s->p99 = malloc(s->nb * sizeof *s->p99);
	size_t *start = calloc(s->nb + 1, sizeof *start);
	double *lat = malloc((h->nops + 1) * sizeof *lat);
	int rc = -1;
	if (!s->count[0] || !s->count[1] || !s->count[2] || !s->p50 || !s->p95 || !s->p99 ||
	    !start || !lat)
		goto out;
	/* counting sort of the latencies by the bucket of their completion */
	for (size_t i = 0; i < h->nops; i++) {
		const struct rep_op *o = &h->ops[i];
		if (o->t1 < 0)
			continue;
		int k = bucket_of(s, (double)o->t1 / 1e9);
		s->count[type_slot(o->type)][k]++;
		start[k + 1]++;
	}
	for (size_t k = 0; k < s->nb; k++)
		start[k + 1] += start[k];
	size_t *fill = calloc(s->nb, sizeof *fill);
	if (!fill)
		goto out;
	for (size_t i = 0; i < h->nops; i++) {
		const struct rep_op *o = &h->ops[i];
		if (o->t1 < 0)
			continue;
		int k = bucket_of(s, (double)o->t1 / 1e9);
		lat[start[k] + fill[k]++] = (double)(o->t1 - o->t0) / 1e6;
	}
	free(fill);
	for (size_t k = 0; k < s->nb; k++) {
		size_t n = start[k + 1] - start[k];
		double *v = lat + start[k];
		if (!n) {
			s->p50[k] = s->p95[k] = s->p99[k] = -1;
			continue;
		}
		qsort(v, n, sizeof *v, cmp_double);
		s->p50[k] = quantile(v, n, 0.50);
		s->p95[k] = quantile(v, n, 0.95);
		s->p99[k] = quantile(v, n, 0.99);
	}
	rc = 0;
out:
	free(start);
	free(lat);
	return rc;
}

static void series_free(struct series *s)
{
	for (int k = 0; k < 3; k++)
		free(s->count[k]);
	free(s->p50);
	free(s->p95);
	free(s->p99);
}

static void y_ticks(struct sbuf *b, double top, double height, double vmax, int logscale,
		    double vmin, const char *unit)
{
	ADD(b, "<g class=\"axis\">");
	if (logscale) {
		for (double v = pow(10, floor(log10(vmin))); v <= vmax * 1.0001; v *= 10) {
			double y = top + height - (log10(v) - log10(vmin)) /
						  (log10(vmax) - log10(vmin)) * height;
			if (y < top - 0.5 || y > top + height + 0.5)
				continue;
			sbuf_addf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
				     "y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>",
				  ML, W - MR, y, y, ML - 4, y + 4, v);
		}
	} else {
		double step = nice_step(vmax, 4);
		for (double v = 0; v <= vmax * 1.0001; v += step) {
			double y = top + height - v / vmax * height;
			sbuf_addf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
				     "y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>",
				  ML, W - MR, y, y, ML - 4, y + 4, v);
		}
	}
	sbuf_addf(b, "<text x=\"4\" y=\"%.1f\">%s</text></g>", top - 6, unit);
}

static void throughput_chart(struct sbuf *b, const struct rep_hist *h, const struct xscale *x,
			     const struct series *s)
{
	const double top = 24, height = 150, H = top + height + 34;
	double vmax = 1;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < s->nb; i++)
			if (s->count[k][i] / s->width > vmax)
				vmax = s->count[k][i] / s->width;
	vmax = nice_step(vmax, 4) * ceil(vmax / nice_step(vmax, 4));
	sbuf_addf(b, "<h3>Throughput by outcome</h3><svg class=\"chart\" id=\"throughput\" "
		     "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"throughput\">", W, H);
	fault_bands(b, h, x, top, height, 1);
	y_ticks(b, top, height, vmax, 0, 0, "ops/s");
	static const char *cls[3] = {"ok", "fail", "info"};
	for (int k = 0; k < 3; k++) {
		sbuf_addf(b, "<polyline class=\"line %s\" points=\"", cls[k]);
		for (size_t i = 0; i < s->nb; i++)
			sbuf_addf(b, "%.1f,%.1f ", xpos(x, s->t0 + ((double)i + 0.5) * s->width),
				  top + height - s->count[k][i] / s->width / vmax * height);
		ADD(b, "\"/>");
	}
	x_axis(b, x, top + height, "time (s)");
	ADD(b, "</svg>");
}

static void pline(struct sbuf *b, const char *cls, const double *v, const struct series *s,
		  const struct xscale *x, double top, double height, double lmin, double lmax)
{
	sbuf_addf(b, "<path class=\"line %s\" d=\"", cls);
	int pen = 0;
	for (size_t i = 0; i < s->nb; i++) {
		if (v[i] < 0) {
			pen = 0;
			continue;
		}
		double y = top + height - (log10(fmax(v[i], lmin)) - log10(lmin)) /
					  (log10(lmax) - log10(lmin)) * height;
		sbuf_addf(b, "%c%.1f,%.1f", pen ? 'L' : 'M',
			  xpos(x, s->t0 + ((double)i + 0.5) * s->width), y);
		pen = 1;
	}
	ADD(b, "\"/>");
}

static void latency_chart(struct sbuf *b, const struct rep_hist *h, const struct xscale *x,
			  const struct series *s)
{
	const double top = 24, height = 200, H = top + height + 34;
	double lmax = 1e-3, lmin = INFINITY;
	for (size_t i = 0; i < h->nops; i++) {
		const struct rep_op *o = &h->ops[i];
		if (o->t1 < 0)
			continue;
		double l = (double)(o->t1 - o->t0) / 1e6;
		if (l > lmax)
			lmax = l;
		if (l > 0 && l < lmin)
			lmin = l;
	}
	if (!isfinite(lmin) || lmin >= lmax)
		lmin = lmax / 10;
	lmin = pow(10, floor(log10(lmin)));
	lmax = pow(10, ceil(log10(lmax)));
	sbuf_addf(b, "<h3>Latency</h3><svg class=\"chart\" id=\"latency\" viewBox=\"0 0 %.0f %.0f\" "
		     "role=\"img\" aria-label=\"latency\">", W, H);
	fault_bands(b, h, x, top, height, 0);
	y_ticks(b, top, height, lmax, 1, lmin, "ms (log)");
	/* Points: every k-th operation, so at most MAX_POINTS whatever the length; one path
	 * per outcome of 2x2 squares. */
	size_t stride = h->nops / MAX_POINTS + 1;
	static const char *cls[3] = {"ok", "fail", "info"};
	for (int k = 0; k < 3; k++) {
		sbuf_addf(b, "<path class=\"pts %s\" d=\"", cls[k]);
		for (size_t i = 0; i < h->nops; i += stride) {
			const struct rep_op *o = &h->ops[i];
			if (o->t1 < 0 || type_slot(o->type) != k)
				continue;
			double l = fmax((double)(o->t1 - o->t0) / 1e6, lmin);
			double y = top + height - (log10(l) - log10(lmin)) /
						  (log10(lmax) - log10(lmin)) * height;
			sbuf_addf(b, "M%.1f,%.1fh2v2h-2z", xpos(x, (double)o->t1 / 1e9) - 1, y - 1);
		}
		ADD(b, "\"/>");
	}
	pline(b, "p50", s->p50, s, x, top, height, lmin, lmax);
	pline(b, "p95", s->p95, s, x, top, height, lmin, lmax);
	pline(b, "p99", s->p99, s, x, top, height, lmin, lmax);
	x_axis(b, x, top + height, "time (s)");
	ADD(b, "</svg>");
	if (stride > 1)
		sbuf_addf(b, "<p class=\"note\">Points: one operation in %zu (%zu in all); the "
			     "percentile lines use every operation.</p>", stride, h->nops);
}

static const char *role_name(uint8_t r)
{
	return r == ROLE_LEADER ? "leader" : r == ROLE_CANDIDATE ? "candidate" :
	       r == ROLE_FOLLOWER ? "follower" : "down";
}

static void nodes_chart(struct sbuf *b, const struct rep_hist *h, const struct xscale *x,
			const struct rep_node *nodes, size_t n)
{
	const double top = 8, row = 22, height = row * (double)n, H = top + height + 34;
	sbuf_addf(b, "<h3>Leader and term of each node</h3><svg class=\"chart\" id=\"nodes\" "
		     "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"nodes\">", W, H);
	fault_bands(b, h, x, top, height, 0);
	for (size_t i = 0; i < n; i++) {
		const struct rep_node *nd = &nodes[i];
		double y = top + row * (double)i;
		sbuf_addf(b, "<text class=\"nname\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
			  ML - 6, y + 15);
		rep_esc(b, nd->name);
		ADD(b, "</text>");
		for (size_t j = 0; j < nd->nsegs; j++) {
			const struct rep_seg *sg = &nd->segs[j];
			double t1 = sg->t1 >= 0 ? sg->t1 : x->t1;
			double x0 = xpos(x, fmax(sg->t0, x->t0)), x1 = xpos(x, fmin(t1, x->t1));
			if (x1 <= x0)
				continue;
			sbuf_addf(b, "<g class=\"seg r-%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				     "height=\"%.1f\"/><title>",
				  role_name(sg->role), x0, y + 2, x1 - x0, row - 4);
			rep_esc(b, nd->name);
			sbuf_addf(b, " %s", role_name(sg->role));
			if (sg->term >= 0)
				sbuf_addf(b, ", term %lld", (long long)sg->term);
			sbuf_addf(b, ", %.3f\u2013%.3f s</title>", sg->t0, t1);
			if (sg->term >= 0 && x1 - x0 > 22)
				sbuf_addf(b, "<text x=\"%.1f\" y=\"%.1f\">%sT%lld</text>", x0 + 3, y + 15,
					  sg->role == ROLE_LEADER && x1 - x0 > 70 ? "leader " : "",
					  (long long)sg->term);
			ADD(b, "</g>");
		}
		if (!nd->nsegs)
			sbuf_addf(b, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">no log lines</text>",
				  ML + 4, y + 15);
	}
	x_axis(b, x, top + height, "time (s)");
	ADD(b, "</svg>");
}

void rep_svg_timeline(struct sbuf *b, const struct rep_hist *h, const struct rep_node *nodes,
		      size_t nnodes)
{
	struct xscale x = {0, (double)h->t_end / (h->has_time ? 1e9 : 1)};
	for (size_t i = 0; i < h->nfaults; i++)
		x.t1 = fmax(x.t1, h->faults[i].end >= 0 ? h->faults[i].end : h->faults[i].start);
	for (size_t i = 0; i < nnodes; i++)
		for (size_t j = 0; j < nodes[i].nsegs; j++)
			x.t1 = fmax(x.t1, fmin(nodes[i].segs[j].t0, x.t1 * 1.5 + 1));
	if (x.t1 <= x.t0)
		x.t1 = x.t0 + 1;
	struct series s = {0};
	if (series_build(&s, h, &x)) {
		ADD(b, "<p class=\"note\">out of memory drawing the charts</p>");
		series_free(&s);
		return;
	}
	if (!h->has_time)
		ADD(b, "<p class=\"note\">The history has no times: the axis counts lines.</p>");
	throughput_chart(b, h, &x, &s);
	latency_chart(b, h, &x, &s);
	if (nnodes)
		nodes_chart(b, h, &x, nodes, nnodes);
	static const char legend[] =
		"<p class=\"legend\"><span class=\"sw ok\"></span>ok <span class=\"sw fail\">"
		"</span>fail <span class=\"sw info\"></span>info \u00b7 latency lines: "
		"<span class=\"sw p50\"></span>p50 <span class=\"sw p95\"></span>p95 "
		"<span class=\"sw p99\"></span>p99 \u00b7 shaded: fault windows</p>";
	sbuf_add(b, legend, sizeof legend - 1);
	series_free(&s);
}

/* ---- the key view ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double rank(const uint64_t *lines, size_t n, uint64_t line)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (lines[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (double)lo;
}

/* Ticks under the key view name the history lines of the events at those ranks. */
static void line_axis(struct sbuf *b, const struct xscale *x, double y, const uint64_t *lines,
		      size_t n)
{
	sbuf_addf(b, "<g class=\"axis\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
		  ML, W - MR, y, y);
	size_t step = n / 12 + 1;
	for (size_t i = 0; i < n; i += step) {
		double px = xpos(x, (double)i);
		sbuf_addf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
			     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%llu</text>",
			  px, px, y, y + 4, px, y + 15, (unsigned long long)lines[i]);
	}
	sbuf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">history line (events in "
		     "order)</text></g>", W - MR, y + 28);
}

static const char *bar_class(const struct rep_bar *r)
{
	switch (r->type) {
	case HTYPE_OK: return "ok";
	case HTYPE_FAIL: return "fail";
	case HTYPE_INFO: return "info";
	default: return "open";
	}
}

void rep_svg_keyview(struct sbuf *b, const struct rep_hist *h, const struct rep_keyview *kv,
		     size_t idx)
{
	if (!kv->nbars) {
		ADD(b, "<p class=\"note\">None of this key's operations were found in the "
			    "history.</p>");
		return;
	}
	/* rows: the processes in the window, in order */
	int64_t *procs = malloc(kv->nbars * sizeof *procs);
	if (!procs)
		return;
	size_t np = 0;
	for (size_t i = 0; i < kv->nbars; i++)
		procs[np++] = kv->bars[i].process;
	qsort(procs, np, sizeof *procs, cmp_i64);
	size_t u = 0;
	for (size_t i = 0; i < np; i++)
		if (!u || procs[u - 1] != procs[i])
			procs[u++] = procs[i];
	np = u;
	/* The axis is the order of the events (Porcupine's view): real-time order is the order
	 * of the history's lines, and ranks keep short operations as readable as long ones. */
	size_t nl = 0;
	uint64_t *lines = malloc(2 * kv->nbars * sizeof *lines);
	if (!lines) {
		free(procs);
		return;
	}
	for (size_t i = 0; i < kv->nbars; i++) {
		lines[nl++] = kv->bars[i].line;
		if (kv->bars[i].ret_line)
			lines[nl++] = kv->bars[i].ret_line;
	}
	qsort(lines, nl, sizeof *lines, cmp_u64);
	struct xscale x = {-1, (double)nl + 1};
	double open_end = (double)nl;
	const double top = 6, row = 24, H = top + row * (double)np + 34;
	sbuf_addf(b, "<svg class=\"chart keyview\" id=\"keyview-%zu\" viewBox=\"0 0 %.0f %.0f\" "
		     "role=\"img\" aria-label=\"operations of the key\">", idx, W, H);
	for (size_t p = 0; p < np; p++)
		sbuf_addf(b, "<text class=\"nname\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
			     "p%lld</text><line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
			     "y2=\"%.1f\"/>",
			  ML - 6, top + row * (double)p + 16, (long long)procs[p], ML, W - MR,
			  top + row * ((double)p + 1), top + row * ((double)p + 1));
	const struct rep_bar *bad = NULL;
	for (size_t i = 0; i < kv->nbars; i++)
		if (kv->bars[i].bad)
			bad = &kv->bars[i];
	if (bad) { /* the bad op's interval, across every row */
		double x0 = xpos(&x, rank(lines, nl, bad->line));
		double x1 = xpos(&x, bad->ret_line ? rank(lines, nl, bad->ret_line) : open_end);
		sbuf_addf(b, "<rect class=\"badspan\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			     "height=\"%.1f\"/>", x0, top, x1 - x0, row * (double)np);
	}
	for (size_t i = 0; i < kv->nbars; i++) {
		const struct rep_bar *r = &kv->bars[i];
		size_t p = 0;
		while (procs[p] != r->process)
			p++;
		double y = top + row * (double)p + 3;
		double x0 = xpos(&x, rank(lines, nl, r->line));
		double x1 = xpos(&x, r->ret_line ? rank(lines, nl, r->ret_line) : open_end);
		if (x1 - x0 < 3)
			x1 = x0 + 3;
		sbuf_addf(b, "<g class=\"op %s%s%s%s\" data-line=\"%llu\" data-h=\"", bar_class(r),
			  r->bad ? " bad" : "", r->conc ? " conc" : "", r->order ? " lin" : "",
			  (unsigned long long)r->line);
		rep_esc(b, r->text);
		if (r->order)
			sbuf_addf(b, "&#10;linearized #%ld on the deepest search path", r->order);
		if (r->bad && kv->undecided)
			ADD(b, "&#10;no order the search tried got past its completion");
		else if (r->bad)
			ADD(b, "&#10;cannot be linearized");
		sbuf_addf(b, "\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\"/>",
			  x0, y, x1 - x0, row - 6);
		if (x1 - x0 > 24) {
			sbuf_addf(b, "<text x=\"%.1f\" y=\"%.1f\">", x0 + (r->order ? 22 : 3), y + 13);
			rep_esc(b, r->label);
			ADD(b, "</text>");
		}
		if (r->order)
			sbuf_addf(b, "<circle class=\"ord\" cx=\"%.1f\" cy=\"%.1f\" r=\"8\"/>"
				     "<text class=\"ordn\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
				     "%ld</text>",
				  x0 + 9, y + 9, x0 + 9, y + 12.5, r->order);
		ADD(b, "</g>");
	}
	line_axis(b, &x, top + row * (double)np, lines, nl);
	ADD(b, "</svg>");
	free(lines);
	free(procs);
}
