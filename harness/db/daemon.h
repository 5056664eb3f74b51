/* db_daemon — what the kinds that run an installed program (etcd, Redis and Sentinel) share:
 * remote scripts that start, signal and inspect a daemon through its pid file in the node's
 * directory.
 *
 * The lab's hosts share one filesystem and one process table, and several nodes run the same
 * binary (/usr/bin/etcd), so a pid is believed only when /proc/<pid>/exe is the daemon's
 * binary AND /proc/<pid>/cwd is the node's own directory (every daemon is started there and
 * must stay there: Redis' `dir` is the node's directory). A recycled pid, a zombie, or
 * another node's process is never signalled. Nothing is signalled by name.
 *
 * db_daemon_run() runs a script on node i with `d` set to the node's directory (quoted) and
 * these shell functions defined (PF: a pid file name relative to $d; BIN: the binary's
 * canonical path, as canon() gives it):
 *
 *   canon PATH             the canonical path of PATH (relative to $d), as /proc shows it
 *   binof ARGSFILE         the canonical binary of a `set -- BIN ...` file in $d
 *   alive PF BIN           true when PF names a live process of BIN in $d; sets $p
 *   dstart PF BIN LOG CMD...  start CMD (it must exec BIN) in $d with setsid, output
 *                          appended to LOG, unless it is alive; returns once the process
 *                          runs BIN (exit 4 with LOG's tail when it died at once)
 *   dkill PF BIN           SIGKILL and wait until it is gone; dstop PF BIN: SIGTERM (and
 *                          SIGCONT), SIGKILL after 5 s
 *   dsig PF BIN SIG        send SIG (fails when it is not running)
 *   dstate PF BIN          print "PID STATE" (0 - when not running; STATE T: stopped)
 *
 * Every value a kind puts into a body must be quoted (shquote's %q); the functions quote
 * their own.
 */
#ifndef SB_DB_DAEMON_H
#define SB_DB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "harness/db/db.h"

/* Run body on node i (after the prelude above); fail unless it exits 0. *out (may be NULL)
 * gets stdout (caller frees). Errors are the control layer's, prefixed by nothing. */
int db_daemon_run(struct db *db, size_t i, const char *body, char **out, char *err,
		  size_t errlen);

/* Shell text that writes the file $d/NAME holding `set -- ARGV...` (each word quoted) with a
 * comment line, through a temporary name and a rename; with only_if_missing an existing file
 * is kept. Caller frees; NULL when out of memory. */
char *db_daemon_args_block(const char *name, const char *comment, const char *const *argv,
			   bool only_if_missing);

/* Shell text that writes $d/NAME with the given content (quoted), through a temporary name
 * and a rename; with only_if_missing an existing file is kept. Caller frees. */
char *db_daemon_file_block(const char *name, const char *content, bool only_if_missing);

/* Download the node's files names[0..n) that exist (relative to its directory) into
 * local_dir, and write local_dir/data-listing.txt with `ls -lR` of the node's directory
 * `listing` (relative; "." for the whole directory). */
int db_daemon_collect(struct db *db, size_t i, const char *local_dir, const char *const *names,
		      size_t n, const char *listing, char *err, size_t errlen);

/* db_ops.log_files for a kind whose logs are names[0..n) in the node's directory: their
 * remote paths (at most max). */
size_t db_daemon_log_files(const struct db *db, size_t i, const char *const *names, size_t n,
			   char (*paths)[CONTROL_PATH_MAX], size_t max);

/* Prefix err with "node NAME: WHAT" when rc is an error; returns rc. */
int db_daemon_err(const struct db *db, size_t i, int rc, const char *what, char *err,
		  size_t errlen);

/* Parse dstate's "PID STATE" output into st->pid, running and paused. */
void db_daemon_parse_state(const char *out, long *pid, bool *running, bool *paused);

#endif
