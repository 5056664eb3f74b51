/* gen — the pure generator: what each worker does next, and when the faults come.
 *
 * Jepsen's generator in C: given the generator's state and the time, return the next
 * operation for a worker, or "nothing yet, ask again at T", or "done". No clock, no threads,
 * no I/O inside: the interpreter (run.h) owns those and passes `now` in; all randomness comes
 * from the seed (lib/rng). So the same seed gives the same schedule, `--dry-run` prints it
 * without touching a host, and tests drive it with a fake clock.
 *
 * A run has phases (all times in ns since the run started):
 *   MAIN      [0, time_limit): operations at the configured rate; faults on their schedule
 *   HEAL      from time_limit until the interpreter calls gen_healed(): no new operations
 *             (in-flight ones finish), the interpreter heals every fault
 *   RECOVERY  [healed, healed + recovery): operations go on, no faults
 *   FINAL     one read of every key (workloads with final_read, when spec.final_reads):
 *             a read that fails or ends info is asked again GEN_FINAL_RETRY_NS later (by
 *             whichever worker asks first) until it is ok or final_timeout has passed since
 *             the phase began; then DONE
 *
 * Operations. Their content (f, key, value) is drawn from one stream in the order workers ask,
 * so the k-th operation of a run is the same whichever worker takes it. Keys are uniform or
 * zipfian over `keys`; with ops_per_key, a key that has had that many operations is retired
 * and a fresh key index takes its place (Jepsen's independent keys). Written values and
 * elements are unique per key (a counter from 1). A cas expects the last value issued for its
 * key (a write or a cas' new value); a cas on a key with none is issued as a write instead.
 * Rate: the gaps between invocations are 1/rate * (1 +- jitter), uniform; a worker that asks
 * late gets its operation at once (no bursts to catch up). rate 0: whenever a worker asks.
 * A worker that asks early is handed the next invocation with a later `at` (reserved for it),
 * so that each worker sleeps until its own time instead of all waking for one slot. Such an
 * operation, if the interpreter decides not to invoke it after all (the run was stopped
 * meanwhile), is given back with gen_complete(..., GEN_FAIL) and recorded nowhere.
 *
 * Spec fields read: workload.keys (0: the workload's default; unkeyed workloads have one
 * register whatever it says), key_dist, zipf_s (P(key i) ~ 1/(i+1)^s), rate, jitter, mix
 * (when mix_given, else the workload's), ops_per_key (keyed workloads only), time_limit,
 * recovery, final_timeout, final_reads, seed, and nemesis.{enabled, interval, start_after (< 0:
 * = interval), max_concurrent (0: 1; at most GEN_MAX_ACTIVE), faults[].weight}.
 *
 * Processes. Worker w starts as process w. After an operation completes `info`, the worker
 * continues as process (its old number + concurrency), as Jepsen does: a process with an
 * operation of unknown outcome never invokes again (docs/history.md).
 *
 * Faults (random schedule): from start_after on, every interval (with the same jitter) one
 * fault is drawn from the weighted list, unless max_concurrent faults are active; a fault is
 * active from its start for its restart_after (when > 0, as kill has), else its duration (as
 * pause has), else 0 (healed at once), then the interpreter heals it. "Active" here means
 * scheduled to be active, so the schedule depends on the seed alone, not on how long
 * injecting or healing took. If healing lags so much that max_concurrent faults handed out
 * are not healed yet, the next fault waits (GEN_WAIT) and is handed out when a slot frees,
 * shifted to start then with its own duration: same id, kind and rnd, later times.
 *
 * Thread rules: a struct gen belongs to one thread at a time (the interpreter holds a mutex).
 */
#ifndef SB_GEN_H
#define SB_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/spec/spec.h"
#include "harness/workload/workload.h"

enum gen_phase { GEN_MAIN = 0, GEN_HEAL, GEN_RECOVERY, GEN_FINAL, GEN_DONE_PHASE };

/* A final read that did not succeed is asked again after this pause (a node that refuses
 * connections must not turn the final phase into a busy loop). */
#define GEN_FINAL_RETRY_NS (100 * 1000 * 1000LL)

/* The most random faults active at once (a larger max_concurrent counts as this). */
#define GEN_MAX_ACTIVE 64
const char *gen_phase_name(enum gen_phase p);

/* One operation to invoke. */
struct gen_op {
	uint64_t seq;        /* 0, 1, 2, ...: the order the generator handed them out */
	int64_t at;          /* when to invoke it (ns since the start); >= the `now` asked with */
	uint32_t worker;
	int64_t process;     /* the history's process number */
	enum op_f f;
	uint32_t key;        /* key index (workload_key_name); 0 for an unkeyed workload */
	int64_t value;       /* write, add, append: the value; cas: the new value */
	int64_t expect;      /* cas: the expected value */
	bool final;          /* a final read */
};

/* How an operation ended (the history's completion type). */
enum gen_outcome { GEN_OK = 0, GEN_FAIL, GEN_INFO };

/* One fault to inject. */
struct gen_fault {
	uint64_t id;         /* 0, 1, 2, ... */
	int64_t at;          /* when to start it */
	int64_t until;       /* when to heal it (at + duration, or + restart_after) */
	uint32_t fault;      /* index into spec.nemesis.faults */
	uint64_t rnd;        /* randomness for choosing targets when it starts (nemesis.h) */
};

enum gen_status {
	GEN_NEXT = 0,        /* *op / *fault filled */
	GEN_WAIT,            /* nothing now: ask again at *wake, or sooner after a completion */
	GEN_DONE,            /* this worker (or the fault schedule) is finished */
};

struct gen;

/* Make a generator for `spec` (borrowed for the duration of the call; what it needs is
 * copied) with `workers` worker processes (spec_concurrency). The seed is spec->seed.
 * Errors: SB_EINVAL (an unknown workload kind, ...), SB_ENOMEM. Caller frees: gen_free. */
int gen_new(struct gen **out, const struct spec *spec, uint32_t workers, char *err,
	    size_t errlen);
void gen_free(struct gen *g);

/* What worker w does next, asked at time `now`. GEN_NEXT fills *op (op->at >= now: sleep
 * until then); GEN_WAIT sets *wake (the latest time worth asking again; a completion or
 * gen_healed may make an earlier ask fruitful; INT64_MAX in the HEAL phase: nothing until
 * gen_healed); GEN_DONE: the worker has nothing more to do. A worker asks only when its
 * previous operation has completed (gen_complete). */
enum gen_status gen_next(struct gen *g, uint32_t worker, int64_t now, struct gen_op *op,
			 int64_t *wake);

/* The outcome of an operation the generator handed out, at time `now`. A final read that
 * did not succeed is asked again (another worker may take it). */
void gen_complete(struct gen *g, const struct gen_op *op, enum gen_outcome outcome,
		  int64_t now);

/* The interpreter healed every fault (HEAL phase over) at `now`: recovery starts. Called
 * once, after gen_phase() says GEN_HEAL. */
void gen_healed(struct gen *g, int64_t now);

/* Stop early (Ctrl-C, a fatal error): no more main-phase operations or faults; the run goes
 * to HEAL at once (the final reads still happen unless `skip_final`). */
void gen_stop(struct gen *g, int64_t now, bool skip_final);

/* The phase at `now`. */
enum gen_phase gen_phase(const struct gen *g, int64_t now);

/* The next fault of the random schedule at time `now`: GEN_NEXT fills *f (f->at may be in
 * the future: the interpreter waits until then); GEN_WAIT sets *wake (max_concurrent faults
 * are not healed yet: ask again after gen_fault_healed, or at *wake; INT64_MAX: only a heal
 * helps); GEN_DONE once the main phase is over (or there are no faults). No fault starts at
 * or after the end of the main phase. */
enum gen_status gen_next_fault(struct gen *g, int64_t now, struct gen_fault *f, int64_t *wake);

/* A fault handed out by gen_next_fault has been healed (frees its max_concurrent slot). */
void gen_fault_healed(struct gen *g, uint64_t id);

/* Counters for the progress line. */
struct gen_stats {
	uint64_t invoked, ok, fail, info;
	uint64_t final_pending;  /* final reads not yet done */
};
void gen_stats(const struct gen *g, struct gen_stats *st);

/* --dry-run: simulate the run with operations that complete at once (ok) and print the first
 * `max_ops` operations and every fault of the schedule, one line each, with their times. The
 * output depends on the spec and the seed only. With rate 0 simulated time does not advance,
 * so max_ops is what bounds the output. Returns 0 or SB_EINVAL (as gen_new), SB_EIO/SB_ENOMEM. */
int gen_dry_run(const struct spec *spec, uint32_t workers, size_t max_ops, FILE *out, char *err,
		size_t errlen);

#endif
