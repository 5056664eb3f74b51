/* logscan — PCRE2 matching over node log files.
 *
 * A `struct logscan` is a list of named patterns (PCRE2, UTF-8 off, compiled once). Files are
 * scanned line by line, streaming, with bounded memory: a line longer than LOGSCAN_MAX_LINE is
 * matched on its first LOGSCAN_MAX_LINE bytes and the rest is skipped. Every line that matches
 * a pattern is reported as "file:line: text" through a callback.
 *
 * Uses:
 *   - leader discovery fallback: logscan_latest_leader() reads `event=became-leader` lines
 *     (`... node=ID term=T event=became-leader ...`, docs/node-protocol.md) and picks the
 *     highest term;
 *   - scanning collected logs for the patterns a spec names (panics, assertion failures) and
 *     the defaults below.
 *
 * Thread rules: after the patterns are added a struct logscan may be used by several threads
 * at once (each scan makes its own match data). Adding patterns is not thread-safe.
 */
#ifndef SB_LOGSCAN_H
#define SB_LOGSCAN_H

#include <stddef.h>
#include <stdint.h>

#define LOGSCAN_MAX_LINE 8192
#define LOGSCAN_MAX_PATTERNS 64
#define LOGSCAN_NAME_MAX 64

struct logscan;

/* An empty pattern list. Caller frees with logscan_free(). */
int logscan_new(struct logscan **out, char *err, size_t errlen);
void logscan_free(struct logscan *ls); /* NULL is fine */

/* Compile `regex` under `name` (1..63 chars of [A-Za-z0-9_.-], unique). A bad pattern fails
 * with SB_EINVAL and a message naming the pattern and the offset, e.g.
 * "pattern 'panic' at offset 3: missing closing parenthesis". */
int logscan_add(struct logscan *ls, const char *name, const char *regex, char *err,
		size_t errlen);

/* The default patterns for raftnode logs (see logscan.c for the exact expressions):
 *   leader     a leader change (event=became-leader)
 *   panic      "panic" as a word, any case
 *   assertion  a failed C assert ("Assertion `...' failed") or "assertion failed"
 *   fatal      a FATAL level, event=crash/fatal, sanitizer reports, "Segmentation fault"
 * `which` selects by name ("leader,panic"); NULL means all of them. */
int logscan_add_defaults(struct logscan *ls, const char *which, char *err, size_t errlen);

/* Names of the default patterns that indicate a failure (all but "leader"). */
extern const char *const logscan_failure_patterns;

size_t logscan_count(const struct logscan *ls);
const char *logscan_name(const struct logscan *ls, size_t i);

/* One matching line. All pointers are borrowed and valid only during the callback. */
struct logscan_match {
	const char *pattern; /* the pattern's name */
	const char *file;    /* the file's name as given (or the label for buffers) */
	unsigned long line;  /* 1-based */
	const char *text;    /* the line without its newline, NUL-terminated (maybe truncated) */
	size_t len;
	const void *md_;     /* internal: the match, for logscan_group() */
};

/* Return 0 to go on, anything else to stop the scan (the scan then returns that value). */
typedef int (*logscan_fn)(const struct logscan_match *m, void *arg);

/* Scan a file; call fn for each (line, pattern) that matches, in file order and, within a
 * line, in pattern order. *nmatches (may be NULL) gets the count. Errors name the file. */
int logscan_file(const struct logscan *ls, const char *path, logscan_fn fn, void *arg,
		 unsigned long *nmatches, char *err, size_t errlen);

/* The same over a memory buffer; `label` stands for the file name in matches. */
int logscan_buffer(const struct logscan *ls, const char *label, const char *data, size_t len,
		   logscan_fn fn, void *arg, unsigned long *nmatches, char *err, size_t errlen);

/* The text of the named capture group `group` of the match m (only during the callback)
 * into out, NUL-terminated. Returns its length, or -1 when the pattern has no such group,
 * the group took no part in the match, or out is too small for it. */
int logscan_group(const struct logscan_match *m, const char *group, char *out, size_t outlen);

/* Does the pattern named `pattern` have a named group `group`? 1 yes, 0 no (or no such
 * pattern). For callers that take patterns from elsewhere and need certain groups. */
int logscan_has_group(const struct logscan *ls, const char *pattern, const char *group);

/* Print each match as "file:line: [pattern] text" to the stdio stream `arg` (a FILE *). */
int logscan_print_fn(const struct logscan_match *m, void *arg);

/* Leader from log lines. */
struct logscan_leader {
	char node[LOGSCAN_NAME_MAX]; /* "" when none was found */
	uint64_t term;
	char file[256];             /* where the winning line was (truncated path) */
	unsigned long line;
};

/* Parse one log line: if it announces a leader (event=became-leader with node= and term=
 * fields, in any order) fill *out and return 1; else return 0. Pure. */
int logscan_parse_leader_line(const char *line, size_t len, struct logscan_leader *out);

/* Scan files[0..n) for became-leader lines and return the one with the highest term (on a tie,
 * the later file and line). Missing files are skipped (they may not exist yet); other read
 * errors fail. out->node is "" if no file announced a leader. */
int logscan_latest_leader(const char *const *files, size_t n, struct logscan_leader *out,
			  char *err, size_t errlen);

#endif
