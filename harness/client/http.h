/* http — a small HTTP/1.1 POST client on libcurl, for systems that speak HTTP/JSON (etcd's v3
 * gateway): the etcd client adapter and the etcd db kind.
 *
 * One struct http is one curl easy handle with its connection cache: a client keeps it for
 * all of its operations, so the TCP connection to a member is reused (no per-operation
 * setup). Proxies from the environment are ignored: traffic goes only where the URL says.
 *
 * Whether the request went out matters for an honest outcome (client.h): a request that
 * never reached the server certainly did not apply. libcurl retries a request once on a
 * fresh connection when a reused one died before any answer arrived, so "the last attempt
 * failed to connect" does not mean "nothing was sent". http_post watches every byte curl
 * writes (its debug callback) and reports `sent` when any byte of any attempt's request
 * went out.
 *
 * Thread rules: a struct http belongs to one thread. libcurl's global set-up runs once, on
 * the first http_new.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_BODY (16u * 1024 * 1024) /* a longer response is an error */
#define HTTP_ERROR_MAX 256

struct http;

/* The outcome of one request. `body` points into the handle's buffer (NUL-terminated), valid
 * until the next request on the same handle. */
struct http_res {
	long status;                 /* the HTTP status, 0 when no response arrived */
	bool sent;                   /* some byte of the request reached the kernel */
	bool timed_out;              /* the deadline passed */
	const char *body;
	size_t len;
	char error[HTTP_ERROR_MAX];  /* why no response arrived ("" when one did) */
};

/* A handle. Caller frees with http_free. */
int http_new(struct http **out, char *err, size_t errlen);
void http_free(struct http *h); /* NULL is fine */

/* POST body[0..len) as application/json to url, all before deadline_ns (lib/clock
 * monotonic). Returns 0 when a response arrived (whatever its status: res->status),
 * SB_ETIMEOUT when the deadline passed first, SB_EIO when the connection failed or broke,
 * SB_ELIMIT for a response above HTTP_MAX_BODY; res->sent says whether the request went
 * out in every case. */
int http_post(struct http *h, const char *url, const char *body, size_t len,
	      int64_t deadline_ns, struct http_res *res);

/* Base64 (RFC 4648, with padding), as etcd's gateway carries keys and values. encode writes
 * a NUL-terminated string and returns its length, or -1 when out is too small (outlen <
 * 4 * ceil(n / 3) + 1). decode accepts padded input only and returns the length, or -1 on
 * bad input or a short buffer. Pure. */
long http_base64_encode(const void *in, size_t n, char *out, size_t outlen);
long http_base64_decode(const char *in, size_t n, void *out, size_t outlen);

#endif
