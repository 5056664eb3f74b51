/* checks — the checks of a run beyond the history's consistency model, bundled for the
 * runner and the report:
 *
 *   election      Raft's Election Safety from the collected logs (election.h)
 *   node safety   lines in which a node reports a broken safety property (nodesafety.h)
 *   agreement     replicas' applied index and state digest once the cluster is quiet
 *                 (agreement.h)
 *   availability  success shares around faults and the time to the next acknowledged write,
 *                 against the spec's thresholds (availability.h)
 *
 * The runner calls checks_agreement() during teardown, before the nodes are stopped, and
 * checks_after_run() once the logs are collected and the history closed. Each finding is an
 * anomaly in results.json (`election-safety`, `node-safety`, `replica-disagreement`,
 * `availability`) and
 * makes the run invalid; a check that could not run says `skipped` and why.
 *
 * Thread rules: none; a struct checks belongs to one thread.
 */
#ifndef SB_CHECK_CHECKS_H
#define SB_CHECK_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/check/agreement.h"
#include "harness/check/availability.h"
#include "harness/check/election.h"
#include "harness/check/nodesafety.h"
#include "harness/nemesis/nemesis.h"
#include "lib/sbuf.h"

enum election_status { ELECTION_SKIPPED = 0, ELECTION_OK, ELECTION_VIOLATED };

struct checks {
	enum election_status election_status;
	char election_reason[512];        /* skipped: why */
	size_t election_files;            /* log files read */
	struct election_result election;
	enum election_status safety_status; /* the same three states, for node safety */
	char safety_reason[512];          /* skipped: why */
	struct nodesafety_result safety;
	bool agreement_ran;               /* checks_agreement was called */
	struct agree_result agreement;
	struct avail_result availability;
	const struct nemesis_act *faults; /* borrowed (checks_after_run), for descriptions */
	size_t nfaults;
};

/* The run's data the offline checks read. Everything borrowed. */
struct checks_input {
	struct db *db;                    /* NULL: no cluster was set up */
	const char *store_dir;            /* the logs are in <store_dir>/<node>/ */
	const char *history_path;         /* NULL or "": no history */
	const struct spec *spec;
	const struct nemesis_act *faults;
	size_t nfaults;
	int64_t end_ns;                   /* operations invoked after this (the final reads)
					     count nowhere in availability */
	bool ran;                         /* the workload ran */
};

/* Replica agreement: when `skip_reason` is NULL, poll db (agreement.h) for at most
 * timeout_ns; otherwise record the check as skipped for that reason. */
void checks_agreement(struct checks *c, struct db *db, const char *skip_reason,
		      int64_t timeout_ns);

/* Election safety and node safety over the collected logs, availability over the history and faults.
 * Problems reading inputs make the check `skipped` with the reason (never a crash). */
void checks_after_run(struct checks *c, const struct checks_input *in);

/* Number of anomalies the checks found (each makes the run invalid). */
size_t checks_anomalies(const struct checks *c);

/* results.json: append the anomalies as `,{...}` items (each with "kind" and "text"), with
 * a leading comma when `comma` says so; returns how many it wrote. */
size_t checks_anomalies_json(const struct checks *c, struct sbuf *b, bool comma);
/* results.json: append `"election":{...},"node_safety":{...},"agreement":{...},
 * "availability":{...}`. */
void checks_sections_json(const struct checks *c, struct sbuf *b);
/* The summary's lines, one per check. */
void checks_summary(const struct checks *c, FILE *f);
/* junit.xml: one <testcase> per check; *failures / *skipped get what they add. */
void checks_junit_count(const struct checks *c, size_t *tests, size_t *failures, size_t *skipped);
void checks_junit(const struct checks *c, FILE *f, void (*xml_text)(FILE *, const char *));

void checks_free(struct checks *c);

#endif
