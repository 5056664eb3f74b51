/* report/html — report.html: the page a person reads after a run or a check.
 *
 * One self-contained HTML file (inline CSS, inline SVG drawn here, a few lines of inline
 * script for hovering; nothing fetched from the network) with:
 *   - the top: verdict, test, seed, start, duration, operations by outcome, the faults, one
 *     sentence per anomaly (any kind results.json lists), links to the run's files;
 *   - over time, every fault window shaded and labelled: throughput by outcome, latency
 *     (sampled points and p50 / p95 / p99 lines), and each node's role and term from its logs;
 *   - per invalid key (Porcupine's view): the operations of that key around the
 *     counterexample as bars per process (invocation to completion), the operation that
 *     cannot be linearized and those concurrent with it highlighted, the order the checker's
 *     deepest search path linearized shown on the bars, the checker's sentence; hovering a
 *     bar shows its lines of history.jsonl.
 * It scales with the history: series are aggregated into buckets, latency points sampled
 * and the key view bounded to a window around the counterexample, so a run of a million
 * operations gives a file of well under a megabyte (bench/RESULTS.md).
 *
 * The inputs are read, never trusted: a missing or malformed results.json, a history that
 * breaks the rules, an unreadable node log each give a note on the page, not a failure;
 * every string from them is escaped.
 *
 * Thread rules: none shared; each call uses only its own memory.
 */
#ifndef SB_REPORT_HTML_H
#define SB_REPORT_HTML_H

#include <stddef.h>

#include "checker/checker.h"

/* Write <store_dir>/report.html for the run in store_dir (docs/store.md), replacing it
 * atomically. What the run's end calls. Returns 0, or SB_EIO (the run directory or its
 * history cannot be read, the file cannot be written) / SB_ENOMEM, with a message. */
int report_html_write(const char *store_dir, char *err, size_t errlen);

/* The same into out_path (`splitbrain report STORE_DIR --out FILE`). */
int report_html_write_to(const char *store_dir, const char *out_path, char *err,
			 size_t errlen);

/* The key view for `splitbrain check --html FILE`: a page with one section per history
 * checked. report_check_add() copies what it needs from the result, so the caller may free
 * the result right after. */
struct report_check;

int report_check_new(struct report_check **out, char *err, size_t errlen);
/* Add a checked history: its path ("-" = standard input: shown with the checker's sentences
 * only, without the charts and the bars, since it cannot be read twice) and its result
 * (borrowed). */
int report_check_add(struct report_check *rc, const char *history_path,
		     const struct chk_result *r, char *err, size_t errlen);
/* Write the page to out_path (replaced atomically). */
int report_check_write(const struct report_check *rc, const char *out_path, char *err,
		       size_t errlen);
void report_check_free(struct report_check *rc);

#endif
