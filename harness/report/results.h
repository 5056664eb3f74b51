/* results — what a run concluded, for machines and for people: results.json, junit.xml
 * (docs/store.md) and the summary printed at the end of `splitbrain run`.
 *
 * The interpreter fills a struct report_run (everything borrowed) and calls the writers.
 * Pure formatting: the only I/O is the FILE given.
 */
#ifndef SB_REPORT_RESULTS_H
#define SB_REPORT_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "checker/checker.h"
#include "harness/check/checks.h"
#include "harness/nemesis/nemesis.h"
#include "harness/spec/spec.h"
#include "harness/workload/workload.h"

#define REPORT_MAX_ERRORS 32

enum report_phase { REPORT_MAIN = 0, REPORT_HEAL, REPORT_RECOVERY, REPORT_FINAL, REPORT_NPHASE };

struct report_run {
	const struct spec *spec;
	const char *store_dir;
	time_t started;               /* wall clock, for `started` */
	double duration_s;
	const char *const *nodes;     /* node names */
	size_t nnodes;
	uint32_t concurrency;
	const char *model;            /* the checker model's name */
	double phase[REPORT_NPHASE][2]; /* [start_s, end_s]; end < 0: never reached */
	uint64_t ops[OP_NF][3];       /* per operation: ok, fail, info */
	const struct nemesis_act *faults;
	size_t nfaults;
	const struct chk_result *check; /* NULL when the history could not be checked */
	const struct checks *checks;  /* election safety, replica agreement, availability;
					 NULL: none ran */
	const char *check_error;      /* why not, or NULL */
	const char *const *errors;    /* environment problems during the run */
	size_t nerrors;
	const char *verdict;          /* "valid", "invalid", "unknown", "error" */
	int exit;                     /* the exit code */
	int expect_held;              /* -1: no expectation; 0/1 */
	bool interrupted;             /* stopped early by a signal */
	const char *timeline_json;    /* the timeline's steps as a JSON array, or NULL */
	int as_written;               /* -1: no timeline; 1: every step ran; 0: some did not */
	double cpu_run_s;             /* the controller's user + sys CPU from setup to teardown */
	double cpu_workload_s;        /* of which while the workload ran (first operation to the
					 last), what a recorded operation costs */
	double cpu_check_s;           /* and for checking the history */
	/* The first flagged evidence (detect.h): its time into the run and what it was;
	 * detected_by NULL: nothing was flagged. */
	double detected_s;
	const char *detected_by;
};

/* The run's verdict from the check (or "error") and its exit code (docs/exit-codes.md).
 * An anomaly of the run's own checks (checks.h: two leaders in a term, replicas that
 * disagree, a failed availability threshold) makes it invalid (exit 1) whatever the
 * history's verdict. */
void report_verdict(struct report_run *r);

int report_results_json(const struct report_run *r, FILE *f);
int report_junit(const struct report_run *r, FILE *f);
/* The summary: verdict line, operations by type and outcome, faults, anomalies (lost writes
 * named), the store path. */
void report_summary(const struct report_run *r, FILE *f);

#endif
