/* report/runs — the runs of a store and the index page that lists them (`splitbrain serve`).
 *
 * A run is a directory <root>/<test>/<stamp>/ (docs/store.md) whose names are store names;
 * the `latest` links are not runs. What the index shows comes from each run's results.json;
 * a run without one (still running, or stopped early) is listed with verdict "none".
 *
 * Thread rules: none shared; each call uses only its own memory.
 */
#ifndef SB_REPORT_RUNS_H
#define SB_REPORT_RUNS_H

#include <stddef.h>

#include "lib/sbuf.h"

struct run_info {
	char test[128];
	char stamp[128];
	char verdict[16];   /* valid, invalid, unknown, error, or none */
	char started[64];   /* results.json's "started", or "" */
	double duration_s;  /* < 0: unknown */
	long ops, faults;   /* < 0: unknown */
	int has_report;     /* report.html exists */
};

/* Is s a store name (letters, digits, '_', '.', '-'; not "." or ".."; 1..127 bytes)? */
int runs_name_ok(const char *s);

/* List the runs under root, newest first (by stamp, then test). *out: caller frees.
 * Returns 0, or SB_EIO (root unreadable) / SB_ENOMEM with a message. */
int runs_list(const char *root, struct run_info **out, size_t *n, char *err, size_t errlen);

/* The index page: the runs that match (verdict: exact, or NULL/"" for all; test: a
 * substring of the test name, or NULL/"" for all), each linking to its report and files. */
void runs_index_html(struct sbuf *b, const char *root_label, const struct run_info *runs,
		     size_t n, const char *verdict, const char *test);

/* A listing of a run's directory (or a node's): links to every entry. `rel` is the URL path
 * of the directory, ending in '/'. */
void runs_dir_html(struct sbuf *b, const char *dir, const char *rel);

#endif
