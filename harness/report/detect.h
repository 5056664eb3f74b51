/* detect — when a run first showed what its checks flag: results.json's `detected_s`, the
 * time into the run (seconds since the main phase began, the history's clock) of the
 * earliest evidence, and `detected_by`, what it was.
 *
 * The evidence, whichever came first:
 *   - a key the linearizability checker found invalid: the completion of the operation its
 *     counterexample names (the invocation when it never completed);
 *   - a set key found invalid: the earliest read that showed the anomaly, i.e. a read that
 *     lacks an element whose add was acknowledged before the read began (lost or stale), or
 *     holds an element no add had been invoked for (unexpected); found by reading the
 *     history again, since the set checker reports elements, not reads;
 *   - two leaders in one term: the later of the two `became-leader` lines (its timestamp,
 *     taken against the run's start on the wall clock: the lab's hosts share the controller's
 *     clock; on other hosts, the clock offset `splitbrain hosts check` shows applies);
 *   - replicas that disagree: found once the cluster is quiet after the final reads, so the
 *     run's end.
 *
 * The time to detection is what the detection matrix (`make detect`) reports per bug and
 * scenario.
 */
#ifndef SB_REPORT_DETECT_H
#define SB_REPORT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "checker/checker.h"
#include "harness/check/checks.h"

struct detect_input {
	const struct chk_result *check; /* the history's verdict; NULL: not checked */
	const char *history_path;       /* read again for set keys; NULL: not read */
	const struct checks *checks;    /* election safety, agreement; NULL: none ran */
	int64_t t0_wall_ns;             /* wall clock at the start of the main phase; 0: unknown
					   (log lines then give no time) */
	double end_s;                   /* the run's end, in run time */
};

/* Pure except for reading history_path. Returns 1 with *at_s and `by` ("nonlinearizable
 * read of key \"k0\"", "stale read of key \"k1\"", "election safety: term 4", ...) when
 * something was flagged, 0 when nothing was (or no time could be found). */
int detect_first(const struct detect_input *in, double *at_s, char *by, size_t bylen);

/* Seconds since the epoch of a log line that starts with an ISO 8601 UTC stamp
 * "2026-11-24T00:10:00.123456Z", as nanoseconds; -1 when it does not. */
int64_t detect_line_wall_ns(const char *line);

#endif
