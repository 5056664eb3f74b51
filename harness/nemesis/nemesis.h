/* nemesis — the faults a run injects: one file per kind, one row in nemesis_kinds (etcd's
 * failpoint table, Jepsen's nemesis).
 *
 * A fault kind knows how to start a fault on the cluster and how to heal it. Heals are
 * idempotent, and every kind also has heal_all(): undo every fault of that kind on every
 * node, whatever the run's own bookkeeping says. The interpreter calls heal_all() of every
 * kind on every way out of a run (the end, Ctrl-C, SIGTERM, an error), so nothing is ever left
 * behind: nodes killed are restarted, paused nodes resumed, partitions flushed, netem removed,
 * clocks reset.
 *
 * What a fault did is recorded exactly: its act (below) says which nodes it touched and
 * carries a one-line description ("kill n2", "partition {n1} / {n2, n3}") and a JSON value
 * for the history's nemesis event ({"nodes":["n2"]}, {"cut":[["n1","n2"],...]}).
 *
 * Targets (`target:` in the spec) are resolved when the fault starts, against the cluster of
 * that moment: leader, follower (one follower, at random), followers (all but the leader),
 * random (one node), minority (a random
 * minority: n/2 rounded down... at least one), majority (a random majority), all, or node
 * names ("n1,n3"). The choice among nodes draws on the fault's `rnd` (from the seeded
 * schedule), so the same seed and the same leader give the same nodes.
 *
 * Thread rules: start/heal run on the interpreter's nemesis thread; heal_all may run on the
 * main thread after the others stopped. Kinds keep no global state.
 */
#ifndef SB_NEMESIS_H
#define SB_NEMESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/db/db.h"
#include "harness/spec/spec.h"

#define NEMESIS_DESC_MAX 256
#define NEMESIS_VALUE_MAX 2048

struct nemesis_env;

/* What the interpreter gives the faults. */
struct nemesis_env {
	struct db *db;
	const struct spec *spec;
	/* The current leader's node index, or -1 when there is none (asks the cluster; may take
	 * up to timeout_ms). */
	int (*leader)(struct nemesis_env *env, int timeout_ms);
	/* Log a line to the run's log (splitbrain.log). */
	void (*log)(struct nemesis_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *run; /* the interpreter's own */
};

/* One fault, from start to heal. */
struct nemesis_act {
	uint64_t id;
	const struct nemesis_kind *kind;
	const struct spec_fault *fault;   /* borrowed from the spec */
	bool nodes[DB_MAX_NODES];          /* the nodes it touched */
	bool picked[DB_MAX_NODES];         /* the nodes it singled out, if fewer than those it
					      touched: a partition's isolated nodes
					      (isolate-leader, isolate-node); a timeline's `$id` */
	char desc[NEMESIS_DESC_MAX];       /* "kill n2" */
	char value[NEMESIS_VALUE_MAX];     /* JSON for the history event: {"nodes":["n2"],...} */
	char heal_desc[NEMESIS_DESC_MAX];  /* filled by heal: "restart n2" */
	char heal_value[NEMESIS_VALUE_MAX];
	int64_t started, until;            /* ns since the run started: began, due to heal. start
					      may move `until` (crashpoint: its window when the
					      spec gives no duration); the interpreter heals at the
					      act's `until` as start left it */
	int64_t healed_at;                 /* when the heal finished (0: not healed) */
	bool healed;
	char error[256];                   /* why starting or healing failed, "" if it did not */
	void *state;                       /* the kind's own: one malloc'd block or NULL, freed
					      by its heal. A caller that drops an act without
					      healing it (heal_all undid it) frees it with free() */
};

struct nemesis_kind {
	const char *name;            /* "kill" */
	const char *summary;         /* one line for docs */
	const char *fields;          /* spec_fault fields it takes: "target,restart_after,weight" */
	const char *required;        /* of those, the ones it requires */
	const char *default_target;  /* when `target:` is not given */
	int64_t default_duration_ns; /* when `duration:` is not given; 0: the spec's (5s) */
	const char *start_f;         /* history `f` of its start event: "kill" */
	const char *heal_f;          /* and of its heal: "start" */
	/* Inject the fault described by act->fault, drawing on rnd for choices; fill act->nodes,
	 * desc and value. On error nothing may be left half-done that heal_all cannot undo. */
	int (*start)(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd, char *err,
		     size_t errlen);
	/* Undo this fault; fill heal_desc/heal_value; idempotent. */
	int (*heal)(struct nemesis_env *env, struct nemesis_act *act, char *err, size_t errlen);
	/* Undo every fault of this kind on every node; idempotent; safe when none was started. */
	int (*heal_all)(struct nemesis_env *env, char *err, size_t errlen);
	/* Optional (NULL: nothing to check): is the fault's combination of fields sound, before
	 * any node is known (a shape name, groups without overlap, netem with something to do)?
	 * Pure; for the spec's validation at load time ("partition: unknown shape 'x'"). Node
	 * names are checked when the fault starts. */
	int (*check)(const struct spec_fault *f, char *err, size_t errlen);
	/* Optional: what the kind needs from the db when a spec uses it (clock: faketime). Called
	 * by nemesis_db_opts before the cluster is opened. */
	void (*db_opts)(struct db_opts *o);
};

/* The kinds; NULL-terminated. */
extern const struct nemesis_kind *const nemesis_kinds[];
const struct nemesis_kind *nemesis_find(const char *name);
const char *nemesis_names(void); /* "kill, pause, ..." */

/* Does kind k take spec field `field` ("restart_after")? Does it require it? */
bool nemesis_takes(const struct nemesis_kind *k, const char *field);
bool nemesis_requires(const struct nemesis_kind *k, const char *field);

/* Resolve a target ("leader", "minority", "n1,n3", ...) against the cluster: fills sel[0..n)
 * and returns the number of nodes chosen (>= 1), or SB_EINVAL (an unknown node name: the
 * message names it), SB_ETIMEOUT (`leader`/`followers` with no leader). `leader` is the
 * leader's index or -1; rnd draws the random choices. Pure. */
int nemesis_targets(const char *target, const struct db *db, int leader, uint64_t rnd,
		    bool *sel, char *err, size_t errlen);

/* Does resolving `target` need the current leader (leader, follower, followers)? */
bool nemesis_target_needs_leader(const char *target);

/* nemesis_targets for a fault starting now: asks the cluster for its leader when the target
 * needs one (env->leader, up to 5 s). The usual first step of a kind's start(). */
int nemesis_pick(struct nemesis_env *env, const char *target, uint64_t rnd, bool *sel,
		 char *err, size_t errlen);

/* What a node's process is doing, from db_status_all. */
enum nemesis_proc { NEMESIS_UP = 0, NEMESIS_STOPPED, NEMESIS_DOWN };

/* Keep in sel[0..n) only the nodes whose process is in state `want` (UP: running, not
 * stopped; STOPPED: running but SIGSTOPped; DOWN: not running); with all_nodes, start from
 * every node instead of sel's current choice. Returns how many remain, or < 0 (a host could
 * not be asked: the message says which). */
int nemesis_filter(struct nemesis_env *env, enum nemesis_proc want, bool all_nodes, bool *sel,
		   char *err, size_t errlen);

/* Is `target` well-formed for a cluster whose node names are not known yet (the spec parser
 * checks names later)? Pure. */
bool nemesis_target_ok(const char *target);

/* "n1, n3" for the selected nodes, and the JSON array ["n1","n3"]. */
void nemesis_nodes_text(const struct db *db, const bool *sel, char *buf, size_t n);
void nemesis_nodes_json(const struct db *db, const bool *sel, char *buf, size_t n);

/* Pure, for crashpoint: scan node log text for `event=crashpoint-armed` (the last one) and
 * `event=crashpoint-hit` (the first one) lines with name=`point`; returns the flags found and
 * their times (ns since the epoch, from the lines' timestamps). */
#define NEMESIS_CRASH_ARMED 1
#define NEMESIS_CRASH_HIT 2
int nemesis_crash_scan(const char *log, const char *point, int64_t *armed_ns, int64_t *hit_ns);

/* The db options the spec's faults need (db_opts.faketime for a clock fault); the
 * interpreter calls it before db_open. Looks at nemesis.faults and the timeline's steps. */
void nemesis_db_opts(const struct spec *s, struct db_opts *o);

extern const struct nemesis_kind nemesis_kill;
extern const struct nemesis_kind nemesis_pause;
extern const struct nemesis_kind nemesis_partition;
extern const struct nemesis_kind nemesis_cut_dc;
extern const struct nemesis_kind nemesis_cut_link;
extern const struct nemesis_kind nemesis_netem;
extern const struct nemesis_kind nemesis_clock;
extern const struct nemesis_kind nemesis_crashpoint;

#endif
