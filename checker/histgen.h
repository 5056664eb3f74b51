/* histgen — random histories from a simulated linearizable register or list store.
 *
 * A pure, seeded generator: the same options give the same history, byte for byte. It runs
 * `concurrency` client processes against registers (one per key), or, with the list workload,
 * against lists (one per key: `append` adds one element at the end, `read` returns the whole
 * list; every appended element is unique). Each operation is invoked,
 * takes effect at one instant inside its interval (its linearization point, where the store's
 * state changes or is read), and then completes `ok`, `fail` or `info`. So every history it
 * makes is linearizable, unless a violation is injected on purpose.
 *
 * Rules it follows (docs/history.md): a process has one operation in flight; an operation that
 * completes `info` may or may not have taken effect (decided at random at its linearization
 * point) and its process is retired: the slot continues under a fresh process number, as in
 * Jepsen. A cas whose expected value differs from the current one completes `fail` with
 * error "mismatch"; other `fail`s did not happen (error "unavailable"). Times are nanoseconds,
 * strictly increasing in file order. One key: no `key` field (a single register); several
 * keys: integer keys 0..keys-1 (or strings "k0".. with string_keys).
 *
 * Injection (HISTGEN_INJECT_STALE_READ) changes the value of exactly one `ok` read:
 *   - unique write values (values == 0): the read returns the value of a write W1 that was
 *     overwritten by an `ok` write W2, where W1 completed before W2 was invoked and W2
 *     completed before the read was invoked. Since no other operation writes that value, no
 *     linearization exists: the history is certainly invalid.
 *   - a small value range: the read returns `values` (a value no operation ever writes),
 *     which is also certainly invalid, whatever the initial value.
 * List workload injections (each makes the history certainly invalid; the generator refuses
 * with SB_EINVAL when no operation qualified):
 *   - HISTGEN_INJECT_STALE_READ: an ok read returns its list cut one element short of an ok
 *     append that completed before the read was invoked;
 *   - HISTGEN_INJECT_LOST_APPEND: an ok append never reaches the store, and some ok read of
 *     its key is invoked after it completed;
 *   - HISTGEN_INJECT_DUPLICATE: an ok read returns its first element twice;
 *   - HISTGEN_INJECT_ORDER: an ok read returns its first two elements swapped, while an
 *     earlier completed read returned them in order (the two reads disagree);
 *   - HISTGEN_INJECT_FUTURE_READ: an ok read returns one more element, which only an append
 *     invoked after the read completed adds;
 *   - HISTGEN_INJECT_NEVER_APPENDED: an ok read returns one more element, -1, that no
 *     operation appends.
 * The report names the event (index and line) that was changed (for a lost append: the
 * append's completion).
 *
 * Thread rules: a struct histgen belongs to one thread; different generators are independent.
 */
#ifndef SB_HISTGEN_H
#define SB_HISTGEN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/history.h"

enum histgen_inject {
	HISTGEN_INJECT_NONE = 0,
	HISTGEN_INJECT_STALE_READ,
	HISTGEN_INJECT_LOST_APPEND,    /* list workload only, like the ones below */
	HISTGEN_INJECT_DUPLICATE,
	HISTGEN_INJECT_ORDER,
	HISTGEN_INJECT_FUTURE_READ,
	HISTGEN_INJECT_NEVER_APPENDED,
};

enum histgen_workload {
	HISTGEN_REGISTER = 0, /* read, write, cas */
	HISTGEN_LIST,         /* read, append: read weight mix_read, append weight mix_write
			       * (mix_cas ignored); elements unique; `values` and the initial
			       * value do not apply */
};

/* The injection's name as the histgen tool spells it ("stale-read", ...), and back (-1). */
const char *histgen_inject_name(enum histgen_inject i);
int histgen_inject_parse(const char *name);

struct histgen_opts {
	uint64_t seed;
	enum histgen_workload workload;
	uint32_t keys;        /* >= 1 */
	uint32_t concurrency; /* client processes in flight, >= 1 */
	uint64_t ops;         /* operations (invocations) in the history */
	double crash_rate;    /* writes, cas and appends that complete `info`, 0..1 */
	double fail_rate;     /* operations that complete a plain `fail` (did not happen), 0..1 */
	uint32_t values;      /* writes and cas use values 0..values-1; 0 = unique values */
	double mix_read, mix_write, mix_cas; /* relative weights; all 0 = 0.5/0.3/0.2 */
	int has_initial;      /* the registers start at `initial`; else absent (reads: null) */
	int64_t initial;
	uint32_t nemesis_every; /* a nemesis event (kill/start, process "nemesis") every N ops; 0 = none */
	enum histgen_inject inject;
	int string_keys; /* keys are the strings "k0", "k1", ... instead of integers */
	int leave_open; /* end the history when the last operation is invoked: the operations
			   still in flight never complete (as when a run is cut short; a checker
			   counts them as info) */
};

/* Defaults: seed 1, 1 key, concurrency 5, 1000 ops, crash 0.05, fail 0.05, values 5, mix
 * 0.5/0.3/0.2, no initial value, no nemesis, no injection. */
void histgen_opts_default(struct histgen_opts *o);

/* The shapes the checker's benchmarks use. */
void histgen_opts_etcd(struct histgen_opts *o, uint64_t seed); /* Jepsen etcd register-like:
	1 key, values 0-4, 80 ops, 10 slots (~20 processes after crashes), 20% of writes and cas
	indeterminate, refused cas as mismatch */

struct histgen_report {
	uint64_t events;     /* lines generated */
	uint64_t ops;        /* operations invoked */
	uint64_t processes;  /* distinct client process numbers used */
	uint64_t ok, fail, info, mismatch; /* completions (mismatch: cas refused) */
	int injected;        /* 1 if the violation was injected */
	int64_t inj_index;   /* the changed event's index (its line is inj_index + 1) */
	int64_t inj_key;     /* its key (0 for the single register) */
	char inj_what[256];  /* one sentence: what was changed and why it is invalid */
};

struct histgen;

/* Validate `o` and make a generator. Returns 0, or SB_EINVAL with a message naming the bad
 * option. Caller frees with histgen_free(). */
int histgen_new(struct histgen **out, const struct histgen_opts *o, char *err, size_t errlen);
/* The next event in file order: 1 and *ev filled (pointers inside valid until the next call),
 * or 0 at the end. ev->index is set (dense from 0). */
int histgen_next(struct histgen *g, struct hevent *ev);
/* Counts so far; after the end, also whether and where the violation was injected. */
const struct histgen_report *histgen_report(const struct histgen *g);
void histgen_free(struct histgen *g);

/* Generate the whole history as JSON Lines into `path` ("-" = standard output), batching
 * many lines per write(2) (the fast path for bulk generation; the harness's journal uses
 * hwriter instead). *rep may be NULL. Returns 0, SB_EINVAL (options, or injection requested
 * but no read qualified), or SB_EIO with the path in the message. */
int histgen_write_file(const struct histgen_opts *o, const char *path,
		       struct histgen_report *rep, char *err, size_t errlen);
/* The same into memory: *buf (caller frees) holds *len bytes of JSON Lines followed by a
 * NUL. On SB_EINVAL for a failed injection the history is still returned. */
int histgen_to_mem(const struct histgen_opts *o, char **buf, size_t *len,
		   struct histgen_report *rep, char *err, size_t errlen);

#endif
