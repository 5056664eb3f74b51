/* resp — the RESP2 client protocol (the subset of Redis's that raftnode speaks).
 *
 * Parsing is incremental and copy-free: resp_parse_request() looks at the bytes a connection has
 * received so far and either finds one complete command (its arguments point into those
 * bytes), asks for more, or rejects the input. Both multibulk requests (`*2\r\n$3\r\nGET...`,
 * what redis-cli sends) and inline requests (`GET x\r\n`, what telnet sends) are accepted.
 * A request is bounded (RESP_MAX_REQUEST bytes, RESP_MAX_ARGS arguments); anything larger or
 * malformed is an error, never a crash, whatever the bytes.
 *
 * Encoding appends replies to a growable buffer. Allocation failure is sticky: the buffer's
 * `oom` flag is set and further appends do nothing, so a caller checks once.
 * Pure; no global state; thread-compatible.
 */
#ifndef NODE_RESP_H
#define NODE_RESP_H

#include <stddef.h>
#include <stdint.h>

#define RESP_MAX_ARGS 256
/* Bytes in one request, framing included: room for the largest command raftnode takes, a CAS
 * with a 64 KiB key and two 1 MiB values (node/raft_kv.h), and its framing. */
#define RESP_MAX_REQUEST ((2u << 20) + (128u << 10))

struct resp_arg {
	const char *p; /* borrowed from the parsed buffer; not NUL-terminated */
	size_t len;
};

struct resp_cmd {
	size_t argc; /* 0 for an empty inline line or an empty multibulk (ignored by servers) */
	struct resp_arg argv[RESP_MAX_ARGS];
};

/* Parse one request from buf[0..len).
 * Returns 1 with *consumed set and cmd filled (arguments borrow buf); 0 if the request is not
 * complete yet (read more and call again with the longer buffer); SB_EINVAL (malformed) or
 * SB_ELIMIT (too large) with a message: reply with an error and close the connection. */
int resp_parse_request(const char *buf, size_t len, struct resp_cmd *cmd, size_t *consumed, char *err,
	       size_t errlen);

/* Case-insensitive comparison of an argument with a NUL-terminated word. */
int resp_arg_is(const struct resp_arg *a, const char *word);

struct resp_out {
	char *p; /* owned; free with resp_out_free() */
	size_t len, cap;
	int oom; /* an append failed for lack of memory */
};

void resp_out_free(struct resp_out *o);
/* Drop the first n bytes (sent ones). */
void resp_out_consume(struct resp_out *o, size_t n);
void resp_put_raw(struct resp_out *o, const void *p, size_t n);
/* "+s\r\n". s must not contain CR or LF (they are replaced by spaces). */
void resp_put_simple(struct resp_out *o, const char *s);
/* "-msg\r\n" (CR/LF replaced by spaces). */
void resp_put_error(struct resp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_put_int(struct resp_out *o, int64_t v);
void resp_put_bulk(struct resp_out *o, const void *p, size_t n);
void resp_put_null(struct resp_out *o); /* "$-1\r\n" */
void resp_put_array(struct resp_out *o, size_t n);

#endif
