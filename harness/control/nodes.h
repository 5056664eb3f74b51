/* nodes — the nodes file: which hosts a run uses and how to reach them.
 *
 * Format (UTF-8 text, one directive per line, `#` starts a comment, blank lines ignored; a
 * leading byte order mark is skipped):
 *
 *     # splitbrain nodes file
 *     defaults user=root port=22 key=lab_ed25519 known_hosts=known_hosts host_key=strict
 *     host n1 10.77.3.11
 *     host n2 10.77.3.12 port=2222 user=alice
 *     host n3 node3.example key=agent host_key=accept-new connect_timeout=2000 dc=west
 *     host me - backend=local
 *
 *   defaults KEY=VALUE...      sets values for the `host` lines that follow it
 *   host NAME ADDRESS [KEY=VALUE...]
 *
 * Keys: user, port (1..65535), key (a private key file, or `agent` for ssh-agent),
 * known_hosts (file), host_key (strict | accept-new | off), connect_timeout (milliseconds,
 * 100..600000), backend (ssh | local), dc (a datacenter label, 1..63 characters of
 * [A-Za-z0-9_.-]: the cut-dc and cut-link faults cut datacenters apart by it; hosts without
 * one belong to no datacenter). Relative paths are relative to the nodes file's
 * directory. NAME: 1..63 characters of [A-Za-z0-9_.-], unique in the file. ADDRESS: an IP
 * literal or host name ([A-Za-z0-9.:-], or `-` with backend=local). Values cannot contain
 * spaces, quotes or `=`; a line is at most 4096 bytes. Unknown keys, directives and
 * duplicate names are errors reported as "FILE:LINE:COL: message".
 *
 * `nodes: lab` (spec) and `--nodes lab` (CLI) mean the nodes file written by `splitbrain lab
 * up`: <lab dir>/nodes, where the lab dir is $SPLITBRAIN_LAB_DIR or ./lab (lab.h).
 */
#ifndef SB_NODES_H
#define SB_NODES_H

#include <stddef.h>

#include "harness/control/control.h"

#define NODES_MAX 64

struct nodes {
	struct control_host *hosts; /* n entries, malloc'd; owned */
	size_t n;
	char path[CONTROL_PATH_MAX]; /* the file they came from ("" when built in memory) */
};

/* Parse nodes-file text (pure: no I/O). `filename` is used in messages; relative paths are
 * resolved against `base_dir` (NULL or "": left relative). On success *out owns its hosts
 * (nodes_free); on failure *out is empty and err holds "FILE:LINE:COL: message". An empty
 * file (no hosts) is an error. */
int nodes_parse(const char *text, size_t len, const char *filename, const char *base_dir,
		struct nodes *out, char *err, size_t errlen);

/* Read and parse the file at `path` (relative paths inside it resolve against its directory).
 * Unlike nodes_parse it also looks at the files named: a key or known_hosts that exists but
 * is not a regular file (/dev/zero, a FIFO, a directory) or is larger than
 * CONTROL_KEY_FILE_MAX / KNOWNHOSTS_FILE_MAX is an error at the line and column of its value
 * (SB_EINVAL), so that nothing ever reads it. */
int nodes_load(const char *path, struct nodes *out, char *err, size_t errlen);

/* Resolve a `--nodes` / `nodes:` argument: "lab" → the lab's nodes file (fails with a hint to
 * run `splitbrain lab up` when there is none), anything else → a nodes file path. */
int nodes_resolve(const char *arg, struct nodes *out, char *err, size_t errlen);

/* Write `n` in the format above (absolute paths, all keys explicit) to `path`, atomically
 * (temporary file + rename). */
int nodes_write(const struct nodes *n, const char *path, char *err, size_t errlen);

/* The host named `name`, or NULL. Borrowed pointer into n. */
const struct control_host *nodes_find(const struct nodes *n, const char *name);

void nodes_free(struct nodes *n); /* frees the hosts; safe on a zeroed struct and twice */

#endif
