/* cmd_serve — `splitbrain serve [--store DIR] [--bind ADDR:PORT]`: the store over HTTP,
 * read-only: an index of every run (newest first, filtered by verdict and test name) and
 * each run's files, its report among them.
 *
 * libmicrohttpd does the HTTP (one internal polling thread, a bounded number of
 * connections with a timeout, so a client that stops reading or disconnects costs one
 * connection slot and nothing else). What it serves is decided here:
 *   - only GET and HEAD;
 *   - the path is decoded by our own rule: a %XX that decodes to '/', '\', NUL or a control
 *     character poisons the path, and every component must be a store name (letters,
 *     digits, '_', '.', '-'; not "." or ".."), so `..`, encoded slashes, NUL and odd bytes
 *     never reach the file system; paths over 1024 bytes are refused;
 *   - files are opened below the store's root with openat2(RESOLVE_BENEATH), so a symlink
 *     that leads outside the store is refused too (relative links inside it, such as
 *     `latest`, work); where openat2 is missing, the resolved path must lie in the root;
 *   - content types by extension, nosniff, and a content security policy that lets the
 *     pages run only their own inline script and style, never fetch anything.
 * SIGINT and SIGTERM stop it cleanly (waited for with sigwait in the main thread).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/lazylib.h"
#include "harness/report/runs.h"
#include "lib/err.h"
#include "lib/opt.h"
#include "lib/sbuf.h"

int cmd_serve(int argc, char **argv);

#define SERVE_MAX_PATH 1024
#define POISON '\x01' /* what a forbidden escape decodes to: no store name contains it */

static const char usage_text[] =
	"usage: splitbrain serve [--store DIR] [--bind ADDR:PORT]\n"
	"\n"
	"Serves the store read-only over HTTP: an index of every run (test, start, verdict,\n"
	"operations, faults, duration; newest first; filter by verdict and test name), each\n"
	"run's report.html and files. Ctrl-C or SIGTERM stops it.\n"
	"\n"
	"  --store DIR        the store (default: store)\n"
	"  --bind ADDR:PORT   where to listen (default 127.0.0.1:8080; [::1]:8080 for IPv6;\n"
	"                     port 0 picks a free one). Anything but loopback exposes the\n"
	"                     store to the network: only when told.\n"
	"\n"
	"exit code: 0 stopped by a signal, 254 bad arguments, 255 cannot listen or read the store.\n";

/* libmicrohttpd, opened by cmd_serve before the daemon starts (lazylib.h) */
static const struct lz_mhd *mhd;

struct server {
	char root[PATH_MAX]; /* the store's real path */
	int rootfd;
	const char *label;   /* the store as given, for the index's title */
};

/* ---- paths ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* MHD's unescape hook, for the path and the query's values: decode %XX and '+' (in values);
 * a forbidden byte becomes POISON, which fails every later check. Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			int v = hexval(r[1]) * 16 + hexval(r[2]);
			*w++ = v == '/' || v == '\\' || v < 0x20 || v == 0x7f ? POISON : (char)v;
			r += 2;
		} else if (*r == '%') {
			*w++ = POISON;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Check the URL path: "/" or "/name/name/..." (a trailing '/' allowed), every component a
 * store name. Fills rel with the path relative to the root ("" for the root). */
static int path_ok(const char *url, char *rel, size_t relsz, int *trailing)
{
	size_t n = strlen(url);
	if (n == 0 || n > SERVE_MAX_PATH || url[0] != '/' || n >= relsz)
		return 0;
	*trailing = url[n - 1] == '/';
	const char *p = url + 1;
	size_t off = 0;
	rel[0] = '\0';
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];
		if (len == 0 || len >= sizeof comp)
			return 0; /* "//" or a component too long */
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (!runs_name_ok(comp))
			return 0;
		off += (size_t)snprintf(rel + off, relsz - off, "%s%s", off ? "/" : "", comp);
		p += len;
		if (*p == '/')
			p++;
	}
	return 1;
}

static int open_beneath(const struct server *s, const char *rel)
{
	if (!rel[0])
		return dup(s->rootfd);
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, s->rootfd, rel, &how, sizeof how);
	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	/* no openat2 (Linux < 5.6): resolve, then insist on the root as a prefix */
	char full[PATH_MAX * 2], real[PATH_MAX];
	snprintf(full, sizeof full, "%s/%s", s->root, rel);
	if (!realpath(full, real))
		return -1;
	size_t rl = strlen(s->root);
	if (strncmp(real, s->root, rl) || (real[rl] != '/' && real[rl] != '\0')) {
		errno = EXDEV;
		return -1;
	}
	return open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

static const char *content_type(const char *rel)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".json", "application/json"},
		{".jsonl", "text/plain; charset=utf-8"}, /* shown in the browser, not downloaded */
		{".yaml", "text/plain; charset=utf-8"},
		{".yml", "text/plain; charset=utf-8"},
		{".xml", "application/xml"},
		{".log", "text/plain; charset=utf-8"},
		{".txt", "text/plain; charset=utf-8"},
		{".args", "text/plain; charset=utf-8"},
		{".edn", "text/plain; charset=utf-8"},
		{".png", "image/png"},
		{".svg", "image/svg+xml"},
	};
	const char *dot = strrchr(rel, '.');
	const char *slash = strrchr(rel, '/');
	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (!strcmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/* ---- responses ---- */

static void common_headers(struct MHD_Response *r, const char *type)
{
	mhd->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd->add_response_header(r, "X-Content-Type-Options", "nosniff");
	mhd->add_response_header(r, "Cache-Control", "no-cache");
	mhd->add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; "
				"script-src 'unsafe-inline'; img-src data:; form-action 'self'");
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
				  const char *body, size_t len)
{
	struct MHD_Response *r =
		mhd->create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	common_headers(r, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd->add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = mhd->queue_response(c, status, r);
	mhd->destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof body, "%u %s\n", status, msg);
	return reply_text(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static enum MHD_Result reply_html(struct MHD_Connection *c, struct sbuf *b)
{
	if (b->oom) {
		sbuf_free(b);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	enum MHD_Result ret = reply_text(c, MHD_HTTP_OK, "text/html; charset=utf-8",
					 b->p ? b->p : "", b->len);
	sbuf_free(b);
	return ret;
}

static enum MHD_Result serve_index(struct MHD_Connection *c, const struct server *s)
{
	struct run_info *runs = NULL;
	size_t n = 0;
	char err[512];
	if (runs_list(s->root, &runs, &n, err, sizeof err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "the store cannot be read");
	const char *verdict = mhd->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "verdict");
	const char *test = mhd->lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "test");
	struct sbuf b = {0};
	runs_index_html(&b, s->label, runs, n, verdict, test);
	free(runs);
	return reply_html(c, &b);
}

static enum MHD_Result redirect_dir(struct MHD_Connection *c, const char *url)
{
	char loc[SERVE_MAX_PATH + 2];
	snprintf(loc, sizeof loc, "%s/", url);
	struct MHD_Response *r = mhd->create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	common_headers(r, "text/plain; charset=utf-8");
	mhd->add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
	enum MHD_Result ret = mhd->queue_response(c, MHD_HTTP_MOVED_PERMANENTLY, r);
	mhd->destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	const struct server *s = cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: GET and HEAD only");
	if (strlen(url) > SERVE_MAX_PATH)
		return reply_error(c, MHD_HTTP_URI_TOO_LONG, "path too long");
	char rel[SERVE_MAX_PATH + 1];
	int trailing = 0;
	if (!path_ok(url, rel, sizeof rel, &trailing))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "not a path of the store");
	if (!rel[0])
		return serve_index(c, s);
	int fd = open_beneath(s, rel);
	if (fd < 0)
		return errno == EXDEV || errno == ELOOP ?
			       reply_error(c, MHD_HTTP_FORBIDDEN, "outside the store") :
			       reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		if (!trailing)
			return redirect_dir(c, url);
		char dir[PATH_MAX * 2];
		snprintf(dir, sizeof dir, "%s/%s", s->root, rel);
		struct sbuf b = {0};
		runs_dir_html(&b, dir, url);
		return reply_html(c, &b);
	}
	if (!S_ISREG(st.st_mode) || trailing) {
		close(fd);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not found");
	}
	/* MHD sends the file (sendfile where it can) and closes fd with the response */
	struct MHD_Response *r = mhd->create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	common_headers(r, content_type(rel));
	enum MHD_Result ret = mhd->queue_response(c, MHD_HTTP_OK, r);
	mhd->destroy_response(r);
	return ret;
}

/* ---- the command ---- */

static int parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *len,
		      int *loopback, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(bind, ':');
	if (!colon || colon == bind || !colon[1])
		return err_set(err, errlen, SB_EINVAL, "--bind '%s': give ADDR:PORT", bind);
	size_t hl = (size_t)(colon - bind);
	if (bind[0] == '[' && colon[-1] == ']') { /* [::1]:8080 */
		bind++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return err_set(err, errlen, SB_EINVAL, "--bind '%s': address too long", bind);
	memcpy(host, bind, hl);
	host[hl] = '\0';
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof host, "127.0.0.1");
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return err_set(err, errlen, SB_EINVAL, "--bind '%s': bad port", colon + 1);
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%ld", port);
	if (getaddrinfo(host, ps, &hints, &ai) || !ai)
		return err_set(err, errlen, SB_EINVAL, "--bind: '%s' is not an IP address", host);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (ss->ss_family == AF_INET)
		*loopback = (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	else
		*loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "splitbrain serve: %s\n(see 'splitbrain serve --help')\n", msg);
	return SB_EXIT_BADINPUT;
}

int cmd_serve(int argc, char **argv)
{
	const char *store = "store", *bind = "127.0.0.1:8080";
	const struct opt opts[] = {
		OPT_STRING("store", 0, &store),
		OPT_STRING("bind", 0, &bind),
		OPT_END,
	};
	char err[1024];
	struct opt_args args;
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		fputs(usage_text, stdout);
		opt_args_free(&args);
		return 0;
	}
	if (!rc && args.npos + args.nrest)
		rc = err_set(err, sizeof err, SB_EINVAL, "unexpected argument '%s'",
			     args.npos ? args.pos[0] : args.rest[0]);
	opt_args_free(&args);
	if (rc)
		return usage_error(err);
	struct sockaddr_storage ss;
	socklen_t sslen;
	int loopback = 0;
	if (parse_bind(bind, &ss, &sslen, &loopback, err, sizeof err))
		return usage_error(err);
	if (!(mhd = lz_mhd(err, sizeof err))) {
		fprintf(stderr, "splitbrain serve: %s\n", err);
		return SB_EXIT_INTERNAL;
	}
	struct server s = {.label = store};
	if (!realpath(store, s.root)) {
		fprintf(stderr, "splitbrain serve: store %s: %s\n", store, strerror(errno));
		return SB_EXIT_INTERNAL;
	}
	s.rootfd = open(s.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.rootfd < 0) {
		fprintf(stderr, "splitbrain serve: store %s: %s\n", store, strerror(errno));
		return SB_EXIT_INTERNAL;
	}
	if (!loopback)
		fprintf(stderr, "splitbrain serve: warning: %s is not a loopback address; the "
				"store is readable from the network\n", bind);
	/* Block the stop signals before MHD's threads start, so they inherit the mask and
	 * the main thread alone receives them in sigwait. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = mhd->start_daemon(
		flags, 0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "splitbrain serve: cannot listen on %s: %s\n", bind,
			errno ? strerror(errno) : "failed");
		close(s.rootfd);
		return SB_EXIT_INTERNAL;
	}
	const union MHD_DaemonInfo *info = mhd->get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
	printf("splitbrain serve: http://%s%s%s:%u/ (store %s); Ctrl-C stops\n",
	       ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
	       info ? (unsigned)info->port : 0, s.root);
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	mhd->stop_daemon(d);
	close(s.rootfd);
	printf("splitbrain serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}
