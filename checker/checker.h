/* checker — decides whether a history (docs/history.md) is linearizable, per key, and whether
 * acknowledged set elements were lost.
 *
 * Pipeline: events (from lib/history's readers, or fed one by one) are paired into operations
 * by chk_history_add(), which enforces the rules of docs/history.md and rejects a history that
 * breaks them with an error naming the line. chk_history_check() then decides every key on
 * its own (P-compositionality) on a pool of threads: a Wing–Gong–Lowe search with Lowe's
 * memo of (linearized set, model state) for the register, list, mutex and multi-register
 * models; the set model is a direct analysis (lost, stale, never-read, unexpected, recovered).
 *
 * Semantics (docs/history.md): `ok` took effect; a plain `fail` did not happen and is dropped;
 * a cas `fail` with error "mismatch" is kept as an observation (the value differed from the
 * expected one at some instant of its interval); `info` and operations still open at the end
 * may or may not have happened, at any time after their invocation; nemesis events are
 * ignored. In EDN input a completed read of nil means "unknown" (it constrains nothing); in
 * JSON Lines a read of null means "absent" (the initial value when --initial is not given).
 * Real-time order is the order of the events in the file (the `time` field is only shown).
 *
 * A time limit and a memory cap end the search of the keys not decided yet with the verdict
 * `unknown` (listed by key); they never crash, hang or pass silently.
 *
 * Thread rules: a chk_history belongs to one thread; chk_history_check() starts and joins its
 * own worker threads. Results are plain data owned by the caller (chk_result_free()).
 */
#ifndef SB_CHECKER_H
#define SB_CHECKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/history.h"

enum chk_model {
	CHK_MODEL_REGISTER = 0, /* read, write */
	CHK_MODEL_CAS_REGISTER, /* read, write, cas */
	CHK_MODEL_KV,           /* a cas-register per key; EDN `[k v]` tuples name the key */
	CHK_MODEL_LIST,         /* append, read (the whole list), write (a whole list) */
	CHK_MODEL_SET,          /* add, read (the whole set) */
	CHK_MODEL_MUTEX,        /* acquire, release */
	CHK_MODEL_MULTI_REGISTER, /* txn of [read k v] / [write k v] over several registers */
};

/* Verdicts, in order of severity; the numeric value is the exit code (docs/exit-codes.md). */
enum chk_verdict { CHK_VALID = 0, CHK_INVALID = 1, CHK_UNKNOWN = 2 };

/* Parse a model name ("cas-register", ...). Returns 0 or SB_EINVAL with the list of models. */
int chk_model_parse(const char *name, enum chk_model *out, char *err, size_t errlen);
const char *chk_model_name(enum chk_model m);
const char *chk_verdict_name(enum chk_verdict v);
/* The worse of two verdicts: invalid > unknown > valid. */
enum chk_verdict chk_verdict_worst(enum chk_verdict a, enum chk_verdict b);

struct chk_options {
	enum chk_model model;
	/* Initial value of every register (or list, for `list`), borrowed for the duration of
	 * chk_history_new(). NULL: absent (JSON null). For multi-register a map {name: value}
	 * gives each register its own initial value (others start absent); any other value is
	 * the initial value of every register. Ignored by `set` and `mutex` (a free lock). */
	const struct hval *initial;
	/* Time limits in seconds. <= 0, or more than CHK_MAX_TIMEOUT_S (infinity included):
	 * none. NaN is refused by chk_history_new (SB_EINVAL). */
	double timeout_s;    /* wall-clock limit of the whole check, reading included */
	double key_timeout_s; /* wall-clock limit of one key's search (that key becomes
			       * unknown, the others go on) */
	int threads;         /* worker threads; <= 0: the number of online CPUs; at most
			      * CHK_MAX_THREADS are started */
	size_t memory_limit; /* bytes all searches together may use for memos; 0: none */
	size_t min_ops;      /* a history with fewer operations is at best unknown (a CI gate
			      * must not pass on a truncated or empty history); 0: no minimum */
};

#define CHK_MAX_TIMEOUT_S 1e9 /* ~31 years: a limit beyond it is no limit */
#define CHK_MAX_THREADS 1024

/* Parse a JSON value given on the command line (--initial). *out is owned by the caller and
 * freed with chk_value_free(). Returns 0 or SB_EINVAL with a message that quotes the start
 * of the value and says what is wrong where ("'[1,': column 4: the value ends before it is
 * complete"); a map that names a key twice is refused ("key \"x\" appears twice"). */
int chk_value_parse(const char *json, struct hval **out, char *err, size_t errlen);
void chk_value_free(struct hval *v);

/* ---- results ------------------------------------------------------------------------------ */

/* One operation, for a person to read. Strings are owned by the result. */
struct chk_op_info {
	uint64_t line;     /* line of the invocation (0 if unknown) */
	uint64_t ret_line; /* line of the completion; 0 if it never completed */
	int64_t process;
	int64_t time;      /* ns of the invocation, -1 if the history had no times */
	int64_t ret_time;  /* ns of the completion, -1 if none */
	const char *type;  /* "ok", "info", "fail" (mismatch) or "open" (no completion) */
	char *f;           /* "read", "write", "cas", ... */
	char *value;       /* JSON text of the value (the read's result, the written value) */
};

#define CHK_LINEARIZED_MAX 10000

enum chk_set_anomaly {
	CHK_SET_LOST = 0,    /* acknowledged add absent from the final read */
	CHK_SET_STALE,       /* acknowledged add absent from a read that began after it completed */
	CHK_SET_NEVER_READ,  /* acknowledged add that no read began after and no read returned */
	CHK_SET_UNEXPECTED,  /* read, but never added (or its add failed) */
	CHK_SET_RECOVERED,   /* indeterminate add that a read returned */
	CHK_SET_NANOMALY,
};

struct chk_key_result {
	char *key;                /* JSON text of the key; NULL for the history's single key */
	enum chk_verdict verdict;
	size_t ops;               /* operations of this key that the check used */
	char *why;                /* one sentence: why invalid, or why unknown; NULL when valid */
	/* invalid linearizability: the operation that cannot be linearized, the operations
	 * concurrent with it, the states the deepest searches reached before it (JSON text). */
	struct chk_op_info *bad;  /* NULL unless invalid (and not a set) */
	/* unknown after a search: the furthest completion it reached where no order it tried
	 * could linearize the operation (over every round of both searches), with the
	 * operations concurrent with it in `concurrent` and the states reached there in
	 * `states`. NULL when no search got that far (a limit hit while reading or preparing,
	 * a set, a list decided by inference). */
	struct chk_op_info *stalled;
	struct chk_op_info *concurrent; /* the first of them (not all, when there are many) */
	size_t nconcurrent;       /* entries in `concurrent` */
	char **states;
	size_t nstates;
	/* The order the search reached: the invocation lines of the operations on the deepest
	 * path it explored, in the order it linearized them (the bad operation could not be
	 * added after the last). Only the last CHK_LINEARIZED_MAX are kept; linearized_skipped
	 * counts those before them. Empty when the verdict needed no search (a stale read, a
	 * value nothing writes). */
	uint64_t *linearized;
	size_t nlinearized;
	size_t linearized_skipped;
	/* set model: counts per anomaly and a JSON array of up to 20 elements of each. */
	size_t set_count[CHK_SET_NANOMALY];
	char *set_sample[CHK_SET_NANOMALY];
	size_t set_acked;         /* acknowledged adds */
	size_t nconcurrent_total; /* operations concurrent with `bad`, all of them */
};

struct chk_result {
	char *name;               /* the history's name (file path) */
	enum chk_model model;
	enum chk_verdict verdict; /* worst over the keys (valid for an empty history, with a
				   * warning); unknown at best with fewer ops than min_ops */
	size_t events;            /* events read, nemesis included */
	size_t ops;               /* operations paired (client ops, all outcomes) */
	double seconds;           /* wall-clock time of the check (ingest included) */
	double read_seconds;      /* of which reading the history and pairing its events */
	struct chk_key_result *keys; /* sorted: invalid first, then unknown, then valid */
	size_t nkeys;
	size_t nvalid, ninvalid, nunknown;
	/* Said about the history as a whole, or NULL: "no operations: nothing was checked",
	 * or why it is unknown for having fewer operations than min_ops. Owned. */
	char *warning;
};

const char *chk_set_anomaly_name(enum chk_set_anomaly a);

/* Human summary: one verdict line, then the details of invalid and unknown keys. */
void chk_result_print(const struct chk_result *r, FILE *f);
/* One JSON object (no trailing newline). Returns 0 or SB_EIO. */
int chk_result_write_json(const struct chk_result *r, FILE *f);
void chk_result_free(struct chk_result *r);

/* ---- checking ----------------------------------------------------------------------------- */

struct chk_history;

/* Start an empty history named `name` (copied; used in messages). Caller frees with
 * chk_history_free(). Returns 0, SB_EINVAL (a NaN time limit; a bad initial value, e.g. a
 * multi-register map naming a register twice) or SB_ENOMEM. */
int chk_history_new(struct chk_history **out, const struct chk_options *opt, const char *name,
		    char *err, size_t errlen);
/* Tell the history whether its events come from EDN (nil read = unknown) or JSON Lines
 * (null read = absent). Default: JSON Lines. */
void chk_history_set_edn(struct chk_history *h, int edn);
/* Add the next event (borrowed; copied as needed). Returns 0, or SB_EINVAL with
 * "line N: ..." when the event breaks a rule of docs/history.md or does not fit the model,
 * or SB_ENOMEM. After an error the history must only be freed. */
int chk_history_add(struct chk_history *h, const struct hevent *ev, char *err, size_t errlen);
/* Decide every key. Operations still open count as `info`. *out is owned by the caller.
 * Returns 0 (the verdict is in the result), or SB_ENOMEM/SB_EIO. */
int chk_history_check(struct chk_history *h, struct chk_result **out, char *err, size_t errlen);
void chk_history_free(struct chk_history *h);

/* Read every event of `r` into a history and check it: the common path. `name` names the
 * history in the result. Returns 0 with *out set, or a negative code (SB_EINVAL for bad
 * input: the message names the line). */
int chk_check_reader(struct hreader *r, const struct chk_options *opt, const char *name,
		     struct chk_result **out, char *err, size_t errlen);
/* The same for a file ("-" = standard input), format detected from its first byte. */
int chk_check_file(const char *path, const struct chk_options *opt, struct chk_result **out,
		   char *err, size_t errlen);

#endif
