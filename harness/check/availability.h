/* availability — how much of the workload succeeded while each fault lasted and after it
 * was healed, and how long the cluster took to acknowledge a write again.
 *
 * For every fault (in the order given) with window [start, end):
 *
 *   during    the operations invoked in [start, end) and how many succeeded;
 *   after     the recovery period: the operations invoked from its heal until the next fault
 *             starts (or the end of the run, `end_ns`), and how many succeeded; empty for a
 *             fault never healed;
 *   recover   the time from the fault's start to the first acknowledged write invoked once
 *             it was in force: the earliest completion among the successful writes (write,
 *             cas, add, append) invoked since its injection was done (a write the old leader
 *             acknowledged while the kill was on its way does not count); -1 (never) when
 *             there is none. It includes the injection's own time (an SSH round trip). A
 *             history without any write measures it with any successful operation instead.
 *
 * An operation succeeded when it completed `ok`, or `fail` with error `mismatch` (a cas the
 * system evaluated and refused: it was available). `fail` otherwise and `info` (including an
 * invoke never completed) did not. Operations invoked at or after end_ns (the final reads)
 * count nowhere. Shares are succeeded / invoked; a span without operations has no share.
 *
 * Thresholds (the spec's `availability:`; zero fields are not checked): every fault's
 * recover must be at most recover_within (never recovering fails it), the share during every
 * fault at least min_ok_share, the share after every fault at least min_recovery_ok_share.
 * A threshold that fails is an anomaly of kind `availability`: the run is invalid (exit 1).
 *
 * Pure: avail_compute() takes events and windows, no clock, no files. avail_read_history()
 * turns a history file into the events.
 */
#ifndef SB_CHECK_AVAILABILITY_H
#define SB_CHECK_AVAILABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One client operation, in invocation order. */
struct avail_op {
	int64_t invoke_ns;
	int64_t complete_ns;  /* -1: never completed */
	bool ok;              /* succeeded (above) */
	bool write;           /* anything but a read */
};

/* One fault's window, in ns since the run began. */
struct avail_fault {
	int64_t start_ns;     /* when it began to be injected */
	int64_t end_ns;       /* its heal; -1: never healed (lasts until end_ns of the run) */
	int64_t in_force_ns;  /* when its injection was done (below start_ns: start_ns) */
};

struct avail_limits {
	int64_t recover_within_ns;    /* 0: not checked */
	double min_ok_share;          /* 0: not checked */
	double min_recovery_ok_share; /* 0: not checked */
};

struct avail_span {
	int64_t start_ns, end_ns;
	uint64_t ops, ok;
};

#define AVAIL_FAIL_RECOVER 1u      /* recover above recover_within, or never */
#define AVAIL_FAIL_DURING 2u       /* share during below min_ok_share */
#define AVAIL_FAIL_AFTER 4u        /* share after below min_recovery_ok_share */

struct avail_window {
	size_t fault;                 /* index into the faults given */
	struct avail_span during, after;
	int64_t in_force_ns;          /* the fault's in_force_ns, at least its start */
	int64_t recover_ns;           /* -1: never */
	unsigned failed;              /* AVAIL_FAIL_* */
};

enum avail_verdict {
	AVAIL_NOT_CHECKED = 0,        /* no threshold set (the figures are still computed) */
	AVAIL_MET,
	AVAIL_FAILED,
	AVAIL_SKIPPED,                /* not computed (the run did not run, no history) */
};

struct avail_result {
	enum avail_verdict verdict;
	char reason[512];             /* AVAIL_SKIPPED: why */
	struct avail_limits limits;
	struct avail_span all;        /* every operation invoked before end_ns */
	bool by_writes;               /* recovery measured by writes (else by any operation) */
	struct avail_window *w;       /* one per fault, in the order given; owned */
	size_t n;
	size_t nfailed;               /* windows with a failed threshold */
	int64_t max_recover_ns;       /* the slowest recovery (-1: some fault never recovered;
					 0 without faults) */
};

const char *avail_verdict_name(enum avail_verdict v); /* "not-checked", "met", ... */

/* Compute the result of ops[0..nops) (sorted by invoke_ns) under faults[0..nf) until end_ns.
 * *out is overwritten (free it with avail_result_free). Returns 0 or SB_ENOMEM. */
int avail_compute(const struct avail_op *ops, size_t nops, const struct avail_fault *faults,
		  size_t nf, int64_t end_ns, const struct avail_limits *lim,
		  struct avail_result *out);
void avail_result_free(struct avail_result *r);

/* Share of a span (0..1), or -1 when it has no operation. */
double avail_share(const struct avail_span *s);

/* A nemesis event of the history with type `info` (a fault in place, or healed). */
struct avail_nemesis {
	int64_t time_ns;
	char f[32];
};

/* Pure: when was each fault in force? faults[k] (in the order they were started, each with
 * start_ns set) took effect at the first `info` event after the one matched for faults[k-1],
 * at or after its start, whose f is start_f[k] (the fault kind's start event: "kill",
 * "partition", ...); in_force_ns gets its time, or start_ns when there is none. The runner
 * starts faults one at a time, so their events come in the same order. */
void avail_match_starts(const struct avail_nemesis *ev, size_t nev,
			const char *const *start_f, struct avail_fault *faults, size_t nf);

/* Read the client operations of a history file (JSON Lines, docs/history.md): each invoke
 * paired with its process's next completion; *ops (caller frees) sorted by invocation. With
 * nem non-NULL, *nem (caller frees) gets the nemesis `info` events in file order. Errors:
 * SB_EIO / SB_EINVAL naming the file and line, SB_ENOMEM. */
int avail_read_history(const char *path, struct avail_op **ops, size_t *nops,
		       struct avail_nemesis **nem, size_t *nnem, char *err, size_t errlen);

#endif
