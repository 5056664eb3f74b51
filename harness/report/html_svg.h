/* report/html_svg — the charts of report.html as inline SVG (internal to report/).
 *
 * Why SVG written here rather than a vendored charting library: every chart is drawn from
 * aggregated series (a few hundred buckets) and a bounded sample of points, so the page stays
 * small whatever the history's length, needs no script to draw, prints, and has nothing to
 * keep up to date. bench/RESULTS.md has the sizes and load times measured for 10k, 100k and
 * 1M operations.
 */
#ifndef SB_REPORT_HTML_SVG_H
#define SB_REPORT_HTML_SVG_H

#include "harness/report/html_data.h"
#include "lib/sbuf.h"

/* Append s with the five HTML special characters escaped (also fine inside attributes). */
void rep_esc(struct sbuf *b, const char *s);

/* The time charts of one history: throughput by outcome, latency (points and p50/p95/p99),
 * and, when nodes are given, each node's role and term. Every fault window is shaded in each
 * chart (class "fault", attribute data-fault = its index) and labelled in the first. */
void rep_svg_timeline(struct sbuf *b, const struct rep_hist *h, const struct rep_node *nodes,
		      size_t nnodes);

/* The key view of one invalid key: bars per process, the bad operation (class "bad"), the
 * concurrent ones ("conc"), the linearized order on the bars; each bar has data-h = its
 * history lines. */
void rep_svg_keyview(struct sbuf *b, const struct rep_hist *h, const struct rep_keyview *kv,
		     size_t idx);

#endif
