/* run — the interpreter: the one place with threads, sockets and the clock.
 *
 * `splitbrain run SPEC` takes a spec (spec.h) to a verdict:
 *
 *   1. resolve the spec (CLI overrides, the seed) and the hosts; open the store (store.h) and
 *      write test.yaml; from here on the controller logs to splitbrain.log
 *   2. set the cluster up: wipe every node's data (unless db.keep_data), install, start,
 *      wait until a leader is elected
 *   3. run: one thread per worker drives a client (client.h) with the operations of the
 *      generator (gen.h), one thread runs the faults (nemesis.h), the main thread prints
 *      progress and watches for signals; every invocation and completion is appended to
 *      history.jsonl and flushed as it happens
 *   4. heal: at the end of the main phase every fault is healed, then recovery and the final
 *      reads
 *   5. tear down: heal every fault kind again (whatever the bookkeeping says), collect the
 *      nodes' logs into the store, stop and wipe the nodes (unless db.keep_running)
 *   6. check the history with the workload's model, write results.json and junit.xml, print
 *      the summary; the exit code is the verdict's
 *
 * Faults are healed on every way out: the normal end, SIGINT, SIGTERM, SIGHUP and every
 * error after the cluster came up. A signal stops the workload (no final reads) and the run
 * still heals, collects and checks what it recorded. A SIGKILL of the controller cannot be
 * caught: the history is complete up to that instant, and the next run on the same hosts
 * starts by wiping the nodes.
 *
 * The one global state: the signal flag (run.c).
 */
#ifndef SB_RUN_H
#define SB_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/spec/spec.h"

struct run_opts {
	const char *spec_path;
	struct spec_overrides ov;
	const char *store_root;   /* default "store" */
	unsigned test_count;      /* campaigns with seeds seed, seed+1, ...; default 1 */
	bool dry_run;             /* print the schedule, touch no host */
	size_t dry_ops;           /* operations a dry run prints (default 20) */
	int progress;             /* -1 auto (a terminal: one updating line), 0 off, 1 lines */
};

/* Run the campaign(s); returns the process exit code (the worst over the campaigns:
 * docs/exit-codes.md). Prints the summary on stdout and progress and errors on stderr. */
int run_main(const struct run_opts *o);

#endif
