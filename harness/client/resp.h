/* resp_client — a small RESP2 client: connect with a time limit, send one command as an
 * array of bulk strings, read one reply (simple string, error, integer, bulk, array).
 *
 * Used for leader discovery (`INFO`, `PING`) and by workload clients. Every size that comes
 * from the network is bounded (RESP_MAX_BULK, RESP_MAX_ELEMS, RESP_MAX_DEPTH, line length), so
 * a hostile or broken server gives an error, never unbounded memory or a crash.
 *
 * Two layers:
 *   resp_parse()            pure: decode one reply from a byte buffer (no I/O), or say that
 *                           more bytes are needed.
 *   resp_client_*()         the socket shell around it: connect, write, read with deadlines.
 * and a path without allocation for clients that run an operation per call on the hot path
 * (workload clients): resp_client_exchange() sends bytes the caller encoded and hands back
 * the reply's bytes in the connection's own buffer, which resp_reply_len() has checked whole
 * and resp_next() walks element by element.
 *
 * Thread rules: a struct resp_client is used by one thread at a time; distinct clients are
 * independent. The parser is reentrant.
 */
#ifndef SB_RESP_CLIENT_H
#define SB_RESP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Limits on what a reply may contain (a reply beyond them is a protocol error). */
#define RESP_MAX_BULK (16u * 1024 * 1024) /* bytes in one bulk string */
#define RESP_MAX_ELEMS (1u << 20)          /* elements in one array */
#define RESP_MAX_DEPTH 8                   /* nesting of arrays */
#define RESP_MAX_LINE 65536                /* simple string, error, integer or header line */

/* resp_parse() returns this (> 0) when the buffer holds only part of a reply. */
#define RESP_NEED_MORE 1

enum resp_type {
	RESP_SIMPLE,  /* +OK */
	RESP_ERROR,   /* -ERR message */
	RESP_INTEGER, /* :42 */
	RESP_BULK,    /* $3\r\nfoo */
	RESP_NIL,     /* $-1 or *-1 */
	RESP_ARRAY,   /* *2\r\n... */
};

/* One decoded reply. `str` (SIMPLE, ERROR, BULK) is NUL-terminated for convenience and `len`
 * is its length (a bulk string may contain NUL bytes). `elems` holds `nelems` values (ARRAY).
 * The whole tree is owned by whoever received it and freed with resp_value_free(). */
struct resp_value {
	enum resp_type type;
	long long integer;
	char *str;
	size_t len;
	struct resp_value *elems;
	size_t nelems;
};

/* Free a reply tree returned by resp_parse() or resp_client_command(); NULL is fine. */
void resp_value_free(struct resp_value *v);

/* Decode one reply from buf[0..len). On success returns 0, sets *out (caller frees with
 * resp_value_free) and *consumed (bytes used). Returns RESP_NEED_MORE if the buffer holds an
 * incomplete reply (nothing is allocated), or SB_EINVAL with a message naming the byte offset
 * for a malformed reply or one beyond the limits, or SB_ENOMEM. */
int resp_parse(const char *buf, size_t len, size_t *consumed, struct resp_value **out,
	       char *err, size_t errlen);

/* Encode a command (argv[i] of length lens[i]; lens == NULL means strlen) as a RESP array of
 * bulk strings into a malloc'd buffer. Caller frees *out. */
int resp_encode(int argc, const char *const *argv, const size_t *lens, char **out,
		size_t *outlen, char *err, size_t errlen);

/* Check that buf[0..len) starts with one whole, valid reply (the same rules and limits as
 * resp_parse) without building it: 0 and *consumed, RESP_NEED_MORE, or SB_EINVAL with the
 * offset. Pure, no allocation. */
int resp_reply_len(const char *buf, size_t len, size_t *consumed, char *err, size_t errlen);

/* One element of a reply that resp_reply_len() accepted: SIMPLE, ERROR and BULK point at
 * their bytes in the buffer (`str`, `len`; not NUL-terminated), INTEGER has `integer`, ARRAY
 * has `nelems` (its elements follow: walk them with further calls), NIL has nothing. */
struct resp_item {
	enum resp_type type;
	long long integer;
	const char *str;
	size_t len;
	size_t nelems;
};

/* Read the element at *pos of a checked reply and move *pos past its header (and a bulk
 * string's payload). Returns 0, or SB_EINVAL if buf is not a checked reply there. Pure. */
int resp_next(const char *buf, size_t len, size_t *pos, struct resp_item *it);

/* Human-readable type name ("simple string", "error", ...). */
const char *resp_type_name(enum resp_type t);

struct resp_client;

/* Connect to host:port (host is an address or a name) within timeout_ms. The same
 * timeout_ms later bounds each command (write and read together). Caller frees with
 * resp_client_close(). Errors name the address and the reason (refused, timeout, ...). */
int resp_client_connect(struct resp_client **out, const char *host, int port, int timeout_ms,
			char *err, size_t errlen);

/* Parse "host:port" ("[v6]:port" also accepted) into host (NUL-terminated) and port. */
int resp_split_addr(const char *addr, char *host, size_t hostlen, int *port, char *err,
		    size_t errlen);

/* Connect to "host:port". */
int resp_client_connect_addr(struct resp_client **out, const char *addr, int timeout_ms,
			     char *err, size_t errlen);

/* Send one command and read its reply into *reply (caller frees). A RESP error reply is a
 * successful call (reply->type == RESP_ERROR); a return < 0 is a transport or protocol
 * failure (SB_ETIMEOUT when the time limit passed, SB_EIO otherwise), after which the
 * connection is closed and further commands fail. */
int resp_client_command(struct resp_client *c, int argc, const char *const *argv,
			const size_t *lens, struct resp_value **reply, char *err, size_t errlen);

/* Is a connection that has been idle still usable for a new request? One non-blocking peek:
 * 0 when nothing has arrived; SB_EIO when the server closed it (or reset it), or sent bytes
 * that no request asked for (say a late reply to a request that timed out): the connection
 * is then broken and must be replaced. Nothing is sent. */
int resp_client_check(struct resp_client *c, char *err, size_t errlen);

/* Send req[0..reqlen) (a command the caller encoded) and read one whole reply, all before
 * deadline_ns (lib/clock monotonic ns). On success *reply and *replylen are the reply's
 * bytes in the client's buffer, checked by resp_reply_len(), valid until the next call on c.
 * *sent tells whether any byte of the request reached the kernel: a failure with *sent false
 * means the server cannot have seen the request. Errors as resp_client_command (the
 * connection is then broken). No allocation once the buffer has grown to the largest reply. */
int resp_client_exchange(struct resp_client *c, const char *req, size_t reqlen,
			 long long deadline_ns, const char **reply, size_t *replylen, bool *sent,
			 char *err, size_t errlen);

/* Change the per-command time limit. */
void resp_client_set_timeout(struct resp_client *c, int timeout_ms);

/* Close and free; NULL is fine. */
void resp_client_close(struct resp_client *c);

/* Look up `field` in an INFO-style text ("field:value" lines, CRLF or LF, '#' comments) and
 * copy its value (trimmed) into out. Returns 0 if found, SB_EINVAL if absent, SB_ELIMIT if it
 * does not fit. Pure. */
int resp_info_field(const char *info, size_t infolen, const char *field, char *out,
		    size_t outlen);

#endif
