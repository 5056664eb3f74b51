/* history — the operation history of docs/history.md.
 *
 * Streaming readers for JSON Lines and for Jepsen/Knossos EDN, and an append-and-flush JSON
 * Lines writer. Shared by the checker (which reads) and the harness (which writes).
 *
 * The reader checks syntax and field types only: every event it returns has a known `type`,
 * a process (integer >= 0 or nemesis) and an `f`. The rules that span events (one operation in
 * flight per process, completions matching their invoke, no invoke after `info`) are the
 * checker's to enforce, because only it pairs events.
 *
 * Thread rules: a reader belongs to one thread. A writer may be shared by threads; its
 * append is serialised by an internal mutex.
 */
#ifndef SB_HISTORY_H
#define SB_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- values ------------------------------------------------------------------------------ */

enum hval_kind {
	HVAL_NULL = 0,
	HVAL_BOOL,
	HVAL_INT,   /* an integer that fits int64_t */
	HVAL_FLOAT, /* a number written with a fraction or an exponent (a double) */
	HVAL_STR,   /* JSON string, or EDN string/keyword/symbol (keyword without its ':') */
	HVAL_ARRAY, /* JSON array, EDN vector/list/set */
	HVAL_MAP,   /* JSON object / EDN map: `items` holds 2*len values, key, value, ... */
	HVAL_BIGINT, /* an integer outside int64_t (JSON, EDN's 123N), kept exactly: u.s holds
		      * its canonical decimal text ('-' or nothing, then digits without leading
		      * zeros; never a value that fits int64_t), len bytes */
};

/* Integers longer than this many digits are refused by the readers ("out of range"). */
#define HVAL_BIGINT_MAX_DIGITS 1000

struct hval {
	uint8_t kind;    /* enum hval_kind */
	uint8_t keyword; /* HVAL_STR that came from an EDN keyword (":read") */
	uint32_t len;    /* HVAL_STR, HVAL_BIGINT: bytes (no NUL counted); ARRAY: items; MAP:
			  * pairs */
	union {
		int b;
		int64_t i;
		double d;
		const char *s; /* NUL-terminated, may contain NUL inside if the JSON had \u0000
				* (HVAL_STR); the digits of HVAL_BIGINT */
		struct hval *items;
	} u;
};

/* Deep equality. Numbers are equal when their values are: integers (HVAL_INT, HVAL_BIGINT)
 * exactly, a double equal to an integer when it is exactly that integer (1 == 1.0,
 * 1e19 == 10000000000000000000, but 2^64+1 != 2^64 as the double nearest both). Strings
 * by bytes. */
int hval_equal(const struct hval *a, const struct hval *b);
/* The integer a double is, if it is integral: returns 1 with *i when it fits int64_t, 2 with
 * its exact decimal text in buf (canonical as HVAL_BIGINT's; n >= HVAL_DBL_TEXT) when it does
 * not, 0 when d has a fraction or is not finite. */
#define HVAL_DBL_TEXT 320
int hval_dbl_integer(double d, int64_t *i, char *buf, size_t n);
/* A hash consistent with hval_equal. */
uint64_t hval_hash(const struct hval *v);
/* Write v as JSON to f (EDN keywords become strings). Returns 0 or SB_EIO. */
int hval_write_json(FILE *f, const struct hval *v);
/* Format v as JSON into buf (always NUL-terminated, truncated with "..." if too long).
 * Returns the length it would have needed, like snprintf. */
size_t hval_format(char *buf, size_t n, const struct hval *v);
/* Parse one JSON value from text[0..n) (surrounding blanks allowed), e.g. a command-line
 * argument, into a tree that the caller owns and frees with hval_free(). Returns 0, or
 * SB_EINVAL with "column N: what is wrong" (the reader's limits apply: nesting deeper than
 * 256 levels is refused), or SB_ENOMEM. */
int hval_parse_json(const char *text, size_t n, struct hval **out, char *err, size_t errlen);
/* A deep copy of v that the caller owns (hval_free). NULL when out of memory. */
struct hval *hval_copy(const struct hval *v);
/* Free a tree from hval_parse_json() or hval_copy(). NULL is allowed. */
void hval_free(struct hval *v);
/* Write s[0..len) as a quoted, escaped JSON string (json_quote in lib/sbuf.h: always valid
 * JSON, bytes of invalid UTF-8 as \udc80..\udcff). Returns 0 or SB_EIO. */
int json_write_string(FILE *f, const char *s, size_t len);

/* ---- events ------------------------------------------------------------------------------ */

enum htype { HTYPE_INVOKE = 0, HTYPE_OK, HTYPE_FAIL, HTYPE_INFO };

#define HPROC_NEMESIS (-1)

/* One line of a history (or one map of an EDN history). */
struct hevent {
	int64_t index;    /* the `index` field; -1 if the input had none (EDN) */
	int64_t time;     /* ns since the run started; -1 if absent */
	int64_t process;  /* >= 0, or HPROC_NEMESIS */
	enum htype type;
	const char *f;    /* never NULL */
	int has_key;      /* the event names a key */
	struct hval key;  /* HVAL_INT, HVAL_BIGINT or HVAL_STR when has_key */
	int has_value;    /* a `value` field was present (JSON null counts as present) */
	struct hval value;
	const char *node;  /* NULL if absent */
	const char *error; /* NULL if absent; EDN keyword errors lose their ':' */
	uint64_t line;     /* 1-based line of the input where the event starts */
};

const char *htype_name(enum htype t); /* "invoke", "ok", "fail", "info" */

/* ---- reading ----------------------------------------------------------------------------- */

enum hformat {
	HFMT_AUTO = 0, /* decide from the first non-blank, non-comment byte: '{' JSONL, '['/'(' EDN */
	HFMT_JSONL,
	HFMT_EDN, /* a vector or list of maps, or one map per line; ';' comments */
};

struct hreader;

/* Limit on one event's size in bytes (a longer line or map is an error naming its line).
 * A valid event of 10 MB (say a set read of a million elements) is accepted. A long line
 * that is not a valid event is rejected as soon as the part read shows it, not after reading
 * up to the limit; a line over the limit is rejected after the limit is read. The reader's
 * memory follows the largest event (up to ~20 times its size when a value is made of many
 * small elements), not the file size, and is given back once a large event has passed. */
#define HREADER_MAX_EVENT (64u << 20)

/* Open `path` ("-" = standard input). On error returns SB_EIO/SB_EINVAL with a message that
 * names the file. *out is owned by the caller: hreader_close() frees it. */
int hreader_open(struct hreader **out, const char *path, enum hformat fmt, char *err,
		 size_t errlen);
/* Read from memory (borrowed: buf must outlive the reader). `name` is used in messages. */
int hreader_open_mem(struct hreader **out, const char *buf, size_t len, const char *name,
		     enum hformat fmt, char *err, size_t errlen);
/* Number lines from `line` (1-based) instead of 1; call before the first hreader_next. For
 * reading one JSON Lines history in parallel: cut the text at line ends, open one memory
 * reader per piece and give each the number of its first line, so events and messages keep
 * the line numbers of the whole file. */
void hreader_set_line(struct hreader *r, uint64_t line);
/* Wait for input at most until deadline_ns (clock_mono_ns(); 0, the default: as long as it
 * takes). When a pipe or terminal stays silent past it, hreader_next returns SB_ETIMEOUT
 * ("NAME: no input before the time limit (at line N)"), and so does every later call. */
void hreader_set_deadline(struct hreader *r, int64_t deadline_ns);
/* The format in use (after the first hreader_next for HFMT_AUTO). */
enum hformat hreader_format(const struct hreader *r);
/* The size of the file in bytes when it was opened, if it is a regular file; else 0 (a pipe,
 * a terminal, memory). For sizing arrays ahead, not for trusting: the file may change. */
uint64_t hreader_size(const struct hreader *r);
/* Next event. Returns 1 and fills *ev, 0 at the end, or a negative SB_E* code with a message
 * "NAME:LINE:COL: what is wrong". Every pointer inside *ev (strings, arrays) stays valid only
 * until the next call or hreader_close(): copy what you keep. After an error, further calls
 * return the same error. */
int hreader_next(struct hreader *r, struct hevent *ev, char *err, size_t errlen);
void hreader_close(struct hreader *r);

/* ---- writing ----------------------------------------------------------------------------- */

struct hwriter;

/* Create (truncate) `path`. Caller frees with hwriter_close(). */
int hwriter_open(struct hwriter **out, const char *path, char *err, size_t errlen);
/* Append one event as a JSON line and flush it to the kernel before returning, so a crash of
 * the controller loses nothing recorded. The writer assigns ev->index (dense, from 0) and
 * ignores ev->line. Thread-safe. Returns 0 or SB_EIO (disk full: the message says so). */
int hwriter_append(struct hwriter *w, struct hevent *ev, char *err, size_t errlen);
/* fsync the file. */
int hwriter_sync(struct hwriter *w, char *err, size_t errlen);
/* Flush, fsync and close; returns the first error seen, if any. NULL is allowed. */
int hwriter_close(struct hwriter *w, char *err, size_t errlen);

/* Format ev as one JSON line (with its '\n', as the writer writes it, ev->index included
 * unless it is -1: an event read from a line without one)
 * into buf[0..n). Returns the length needed, like snprintf without the NUL: when it is > n
 * nothing useful was written and the caller retries with a larger buffer. No allocation,
 * for bulk writers (the history generator) that batch many lines per write(2). */
size_t hevent_format(char *buf, size_t n, const struct hevent *ev);

#endif
