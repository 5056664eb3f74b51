/* http — HTTP/1.1 POST on libcurl (http.h). */
#include "harness/client/http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/lazylib.h"
#include "lib/clock.h"
#include "lib/err.h"

struct http {
	const struct lz_curl *api; /* libcurl, opened on the first http_new */
	CURL *curl;
	struct curl_slist *headers;
	char *buf; /* the response body, NUL-terminated */
	size_t len, cap;
	bool too_big;
	bool sent; /* some request byte went out during the current transfer */
	char errbuf[CURL_ERROR_SIZE];
};

/* libcurl's global set-up, once for the process (not thread-safe on every platform by
 * itself), after the library is opened. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static const struct lz_curl *global_api;
static CURLcode global_rc;
static char global_err[400];

static void global_init(void)
{
	global_api = lz_curl(global_err, sizeof global_err);
	if (global_api)
		global_rc = global_api->global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;
	size_t n = size * nmemb;
	if (h->len + n > HTTP_MAX_BODY) {
		h->too_big = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;
		while (cap < h->len + n + 1)
			cap *= 2;
		char *b = realloc(h->buf, cap);
		if (!b)
			return 0;
		h->buf = b;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
	h->buf[h->len] = '\0';
	return n;
}

/* Called for every header and data block curl writes to a socket (and for its notes). */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct http *h = arg;
	if (type == CURLINFO_HEADER_OUT || type == CURLINFO_DATA_OUT)
		h->sent = true;
	return 0;
}

int http_new(struct http **out, char *err, size_t errlen)
{
	pthread_once(&global_once, global_init);
	const struct lz_curl *api = global_api;
	if (!api)
		return err_set(err, errlen, SB_EIO, "%s", global_err);
	if (global_rc != CURLE_OK)
		return err_set(err, errlen, SB_EIO, "libcurl: %s", api->easy_strerror(global_rc));
	struct http *h = calloc(1, sizeof *h);
	if (!h)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	h->api = api;
	h->curl = api->easy_init();
	h->headers = api->slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip: bodies are small. */
	if (h->headers)
		h->headers = api->slist_append(h->headers, "Expect:");
	if (!h->curl || !h->headers) {
		http_free(h);
		return err_set(err, errlen, SB_ENOMEM, "libcurl: cannot make a handle");
	}
	CURL *c = h->curl;
	api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for time-outs */
	api->easy_setopt(c, CURLOPT_PROXY, "");    /* never a proxy from the environment */
	api->easy_setopt(c, CURLOPT_NOPROXY, "*");
	api->easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	api->easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	api->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	api->easy_setopt(c, CURLOPT_WRITEDATA, h);
	api->easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	api->easy_setopt(c, CURLOPT_DEBUGDATA, h);
	api->easy_setopt(c, CURLOPT_VERBOSE, 1L); /* makes curl call on_debug; prints nothing */
	api->easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	api->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	*out = h;
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		h->api->easy_cleanup(h->curl);
	if (h->headers)
		h->api->slist_free_all(h->headers);
	free(h->buf);
	free(h);
}

int http_post(struct http *h, const char *url, const char *body, size_t len,
	      int64_t deadline_ns, struct http_res *res)
{
	memset(res, 0, sizeof *res);
	h->len = 0;
	h->too_big = false;
	h->sent = false;
	h->errbuf[0] = '\0';
	if (h->buf)
		h->buf[0] = '\0';
	int64_t left = deadline_ns - clock_mono_ns();
	if (left <= 0) {
		res->timed_out = true;
		snprintf(res->error, sizeof res->error, "timeout before the request was sent");
		return SB_ETIMEOUT;
	}
	long ms = (long)((left + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS);
	CURL *c = h->curl;
	h->api->easy_setopt(c, CURLOPT_URL, url);
	h->api->easy_setopt(c, CURLOPT_POSTFIELDS, body);
	h->api->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	h->api->easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	h->api->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	CURLcode cc = h->api->easy_perform(c);
	res->sent = h->sent;
	res->body = h->buf ? h->buf : "";
	res->len = h->len;
	if (cc == CURLE_OK) {
		h->api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
		return 0;
	}
	const char *why = h->errbuf[0] ? h->errbuf : h->api->easy_strerror(cc);
	if (h->too_big) {
		snprintf(res->error, sizeof res->error, "response larger than %u bytes",
			 HTTP_MAX_BODY);
		return SB_ELIMIT;
	}
	snprintf(res->error, sizeof res->error, "%s", why);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		res->timed_out = true;
		return SB_ETIMEOUT;
	}
	return SB_EIO;
}

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long http_base64_encode(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t need = (n + 2) / 3 * 4 + 1;
	if (outlen < need)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (long)o;
}

static int b64_val(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

long http_base64_decode(const char *in, size_t n, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t k = 0;
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		size_t pad = 0;
		for (int j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad || (v[j] = b64_val(in[i + j])) < 0)
				return -1;
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
			     (unsigned)v[3];
		size_t bytes = 3 - pad;
		if (k + bytes > outlen)
			return -1;
		o[k++] = (unsigned char)(w >> 16);
		if (bytes > 1)
			o[k++] = (unsigned char)(w >> 8);
		if (bytes > 2)
			o[k++] = (unsigned char)w;
	}
	return (long)k;
}
