/* log — the node's event log: one line per event,
 *
 *   2026-11-24T00:10:00.123456Z INFO node=n1 term=3 event=became-leader key=value ...
 *
 * so that the harness can match lines with PCRE2 patterns (docs/node-protocol.md). Each line is
 * written with a single write(2), so lines from a process that dies right after logging are
 * complete, and nothing is buffered in user space (a crash point logs and then _exits).
 *
 * Global state (a named exception to the house style): the sink, the node id and the current
 * term, because every part of the shell logs and threading them through every call would
 * add nothing. Single-threaded use only.
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Send lines to `path` (appended, created 0644), or to stderr when path is NULL.
 * Returns 0 or SB_EIO with a message. */
int log_open(const char *path, char *err, size_t errlen);
void log_close(void);
/* The node id and term printed on every line (the id is copied). */
void log_set_node(const char *id);
void log_set_term(uint64_t term);
/* Lines below this level are dropped (default LOG_INFO). */
void log_set_level(enum log_level lvl);

/* Log one event. `fmt` formats the trailing "key=value ..." part and may be NULL. Values
 * with spaces should be quoted by the caller ("msg=\"...\""). */
void log_event(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Log a line made elsewhere (the consensus core's "event=... key=value" text) with the usual
 * time/level/node prefix and the given term. */
void log_raw(enum log_level lvl, uint64_t term, const char *line);

#endif
