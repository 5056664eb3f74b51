/* wglref — a plain reference implementation of the classic linearizability check, for tests
 * and benchmarks: the checker's reductions (inference, pruning, greedy reads, chains of
 * identical indeterminate operations, merged values) must only ever help, giving the same
 * verdict as this code on every history and never being much slower.
 *
 * The algorithm is Wing & Gong's search with Lowe's memo ("Testing for linearizability",
 * 2017), as Porcupine and Knossos' wgl checker run it: the invocation and completion entries
 * of every operation in one linked list in history order; at an invocation, linearize the
 * operation if the model accepts it and the configuration (the exact set of linearized
 * operations as a bitset, the model state) was never seen; at the completion of an
 * operation not linearized, backtrack. An indeterminate operation (info, or never completed)
 * completes after everything and may be linearized with its effect or with none (it may
 * not have happened). Keys are checked one by one (P-compositionality, as both peers do);
 * nothing else is reduced.
 *
 * Semantics of the history as in DESIGN.md §2 (the checker's): ok happened; a plain fail did
 * not; a cas fail with error "mismatch" is an observation (the value differed from the
 * expected one); info and open operations may have happened; reads that did not complete ok
 * are dropped; in EDN input a read of nil is unknown and dropped; in JSON Lines null is the
 * absent value. Models: register, cas-register, kv, list (append/read/write), mutex.
 *
 * Thread rules: none shared; every call is independent.
 */
#ifndef SB_TESTS_WGLREF_H
#define SB_TESTS_WGLREF_H

#include <stddef.h>

#include "lib/history.h"

struct wglref_opts {
	const char *model;          /* "register", "cas-register", "kv", "list" or "mutex" */
	const struct hval *initial; /* borrowed; NULL: absent (null); list: an array */
	double timeout_s;           /* <= 0: none */
	size_t memory_limit;        /* bytes of memo; 0: none */
};

struct wglref_result {
	int verdict;       /* 0 valid, 1 invalid, 2 unknown (time or memory limit) */
	size_t ops, keys;  /* operations taking part, keys */
	double seconds;    /* wall time, reading included */
	double read_seconds; /* of which reading the history and pairing its events */
	unsigned long long configs; /* configurations memoised, all keys */
};

/* Check the history in `path` ("-" = standard input; format detected). Returns 0 with *res,
 * or SB_EINVAL (bad input, unsupported model; message) or SB_ENOMEM. */
int wglref_check_file(const char *path, const struct wglref_opts *o, struct wglref_result *res,
		      char *err, size_t errlen);
/* The same for a history in memory. */
int wglref_check_mem(const char *buf, size_t len, const struct wglref_opts *o,
		     struct wglref_result *res, char *err, size_t errlen);

#endif
