/* run/internal.h — what the interpreter's files (run.c, faults.c, timeline.c) share.
 *
 * Not a public interface: the rest of the harness uses run.h. Everything here is guarded by
 * the rules written next to it; r->mu protects the generator, the counters, the faults (acts)
 * and the errors.
 */
#ifndef SB_RUN_INTERNAL_H
#define SB_RUN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "checker/checker.h"
#include "harness/check/checks.h"
#include "harness/client/client.h"
#include "harness/control/nodes.h"
#include "harness/db/db.h"
#include "harness/gen/gen.h"
#include "harness/nemesis/nemesis.h"
#include "harness/report/results.h"
#include "harness/spec/spec.h"
#include "harness/store/store.h"
#include "harness/workload/workload.h"
#include "lib/clock.h"
#include "lib/history.h"

/* How often the nemesis and main threads look around when nothing wakes them. */
#define TICK_NS (100 * CLOCK_NS_PER_MS)

/* Faults started by a timeline step have ids from here on (the random schedule's come from
 * the generator and count from 0). */
#define RUN_TIMELINE_ID_BASE (1ull << 32)

/* What happened to one timeline step (results.json "timeline"). */
enum run_step_result {
	RUN_STEP_PENDING = 0, /* not reached (the main phase ended first) */
	RUN_STEP_RAN,         /* its condition held (or its time came) and it acted */
	RUN_STEP_TIMED_OUT,   /* its condition did not hold within its timeout: skipped */
	RUN_STEP_FAILED,      /* it acted, and the fault could not be started */
};

/* The scripted timeline's state (timeline.c); touched only by the nemesis thread, read by
 * the main thread after it ended. */
struct run_timeline {
	size_t next;                         /* the step to run next */
	int64_t wait_since;                  /* when waiting for `next` began; -1: not yet */
	int64_t last_poll;                   /* when its condition was last asked */
	long long log_off[DB_MAX_NODES];     /* `log~`: where each node's log ended */
	void *log_re;                        /* `log~`: the compiled pattern (logscan) */
	bool log_marked;                     /* log_off was taken when the step before acted */
	struct spec_fault fault[SPEC_MAX_STEPS]; /* each step's fault, `$id` targets resolved */
	size_t act[SPEC_MAX_STEPS];          /* the act each step started, or SIZE_MAX */
	enum run_step_result result[SPEC_MAX_STEPS];
	int64_t ran_at[SPEC_MAX_STEPS];      /* when each step acted or gave up */
	char note[SPEC_MAX_STEPS][640];      /* why it timed out or failed */
	size_t last_fault_step;              /* the latest step that started a fault (`died`) */
	bool any_fault_step;
};


struct run {
	struct spec spec;
	const struct workload_kind *wk;
	const struct client_kind *ck;
	enum chk_model model;
	struct nodes nodes;
	struct db *db;
	struct store store;
	char history_path[STORE_PATH_MAX];
	struct hwriter *hist;
	FILE *log;
	pthread_mutex_t log_mu;
	int64_t t0;           /* monotonic ns at the start of the main phase */
	int64_t t0_wall;      /* the wall clock then (to place the nodes' log lines in run time) */
	uint32_t workers;
	struct gen *gen;
	pthread_mutex_t mu;   /* gen, counters, acts, errors, phases */
	pthread_cond_t cv;    /* workers waiting for the generator (GEN_WAIT): an operation
			         completed, the phase moved on */
	unsigned nwaiting;    /* workers waiting on cv: a completion wakes them only if any */
	pthread_cond_t cv_ctl; /* the main and nemesis threads: a thread ended, the run stops */
	unsigned running;     /* worker and nemesis threads still running */
	struct nemesis_env env;
	struct nemesis_act *acts;
	size_t nacts, capacts;
	uint64_t ops[OP_NF][3];
	double phase[REPORT_NPHASE][2];
	double cpu_workload;  /* CPU seconds from the first operation to the last */
	char *errors[REPORT_MAX_ERRORS];
	size_t nerrors;
	int stop;             /* a signal or a fatal error: the workload stops */
	int leader;           /* the last leader seen (progress only) */
	int progress;
	char last_fault[NEMESIS_DESC_MAX];
	struct run_timeline tl;
	struct checks checks; /* election safety, replica agreement, availability */
};


/* ---- run.c ---- */
int64_t run_now(const struct run *r);
void run_log(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An environment problem: the log, stderr and results.json's errors. */
void run_error(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_record_nemesis(struct run *r, enum htype type, const char *f, const char *value_json,
			const char *error);
/* The leader's index, or -1 (claims: accept a lone claimant when no majority agrees). */
int run_find_leader(struct run *r, int timeout_ms, bool claims);
/* Wait on cv (r->cv or r->cv_ctl) until run time until_ns or one tick from now. Caller holds
 * r->mu. */
void run_wait_locked(struct run *r, pthread_cond_t *cv, int64_t until_ns);
/* Wake whoever waits for the generator or the run's threads. Caller holds r->mu. */
void run_wake_locked(struct run *r);

/* ---- faults.c: starting and healing faults, the nemesis thread ---- */
/* Start fault `sf` (borrowed until the run ends) as fault `id`, due to heal at `until`;
 * returns the index of its act in r->acts, or SIZE_MAX when it could not be tracked. */
size_t run_start_fault(struct run *r, const struct spec_fault *sf, uint64_t id, uint64_t rnd,
		       int64_t until);
void run_heal_fault(struct run *r, size_t i);
/* Heal the faults that are due (all when `all`), newest first; returns when the next one is
 * due (INT64_MAX: none). */
int64_t run_heal_due(struct run *r, bool all);
/* Every fault kind's heal_all; returns how many failed. */
int run_heal_everything(struct run *r);
void *run_nemesis_main(void *arg);

/* ---- timeline.c ---- */
/* Prepare the timeline (before the nemesis thread starts). */
void run_timeline_init(struct run *r);
/* Advance the timeline at `now` (nemesis thread): start the steps whose time came or whose
 * condition holds, give up on those that timed out. Returns when it wants to be called again
 * (INT64_MAX: the timeline is over). */
int64_t run_timeline_tick(struct run *r, int64_t now);
/* The main phase is over: the steps not reached are left pending. */
void run_timeline_end(struct run *r);
/* Did every step run as written? */
bool run_timeline_as_written(const struct run *r);
/* Append the timeline's JSON array to b (results.json "timeline"). */
struct sbuf;
void run_timeline_json(const struct run *r, struct sbuf *b);
/* Print the steps for --dry-run. */
void run_timeline_print(const struct spec *s, FILE *out);
void run_timeline_free(struct run *r);

#endif
