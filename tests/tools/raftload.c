/* raftload — a client for testing and benchmarking a raftnode cluster over RESP2.
 *
 *   raftload freeport N                      print N free loopback TCP ports
 *   raftload leader   --nodes L              print "NAME HOST:PORT" of the current leader
 *   raftload write    --nodes L --prefix P --count N [--out FILE]
 *                     SET P:i i for i = 1..N through the leader (following -NOTLEADER);
 *                     appends "ok KEY VALUE" or "unknown KEY VALUE" per write to FILE
 *   raftload verify   --nodes L --in FILE    every "ok" write is readable with its value;
 *                     an "unknown" one holds its value or is absent (exit 1 if not)
 *   raftload converge --nodes L              wait until every node reports the same applied
 *                     index and state digest (DEBUG DIGEST); exit 1 if they never agree
 *   raftload bench    --nodes L --clients C --seconds S    write throughput, p50/p99 latency
 *   raftload failover --nodes L --pids NAME=PID,...        SIGKILL the leader, print the time
 *                     until the next acknowledged write ("killed NAME ms=T")
 *
 * L is NAME=HOST:PORT,... (client addresses). Exit: 0 ok, 1 check failed, 254 bad arguments,
 * 255 cluster unreachable or no progress within the time limit.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness/client/resp.h"
#include "lib/clock.h"
#include "lib/err.h"

#define MAXN 16

struct cluster {
	size_t n;
	char name[MAXN][64];
	char addr[MAXN][128];
};

static long long now_ms(void)
{
	return clock_mono_ms();
}

static long long now_us(void)
{
	return clock_mono_ns() / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int parse_nodes(const char *s, struct cluster *c)
{
	char *copy = strdup(s), *save = NULL;
	c->n = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq || c->n == MAXN) {
			fprintf(stderr, "raftload: bad --nodes entry '%s' (want NAME=HOST:PORT)\n", t);
			free(copy);
			return -1;
		}
		*eq = 0;
		snprintf(c->name[c->n], sizeof c->name[0], "%s", t);
		snprintf(c->addr[c->n], sizeof c->addr[0], "%s", eq + 1);
		c->n++;
	}
	free(copy);
	return c->n ? 0 : -1;
}

/* A connection that follows the leader. */
struct conn {
	const struct cluster *c;
	size_t cur;
	struct resp_client *rc;
	int timeout_ms;
};

enum outcome { O_OK, O_UNKNOWN, O_FAIL };

static int conn_ensure(struct conn *k)
{
	if (k->rc)
		return 0;
	char err[256];
	if (resp_client_connect_addr(&k->rc, k->c->addr[k->cur], 300, err, sizeof err)) {
		k->rc = NULL;
		k->cur = (k->cur + 1) % k->c->n;
		return -1;
	}
	resp_client_set_timeout(k->rc, k->timeout_ms);
	return 0;
}

static void conn_drop(struct conn *k)
{
	resp_client_close(k->rc);
	k->rc = NULL;
}

/* Run one command until it gets a definite answer or the deadline passes. A write whose
 * outcome is unknown (timeout, connection lost after sending) is not retried: *reply is NULL
 * and O_UNKNOWN is returned. Reads may be retried (retry_unknown). */
static enum outcome run(struct conn *k, int argc, const char *const *argv, int retry_unknown,
			long long deadline, struct resp_value **reply)
{
	*reply = NULL;
	while (now_ms() < deadline) {
		if (conn_ensure(k) < 0) {
			sleep_ms(10);
			continue;
		}
		char err[256];
		struct resp_value *v = NULL;
		if (resp_client_command(k->rc, argc, argv, NULL, &v, err, sizeof err)) {
			conn_drop(k);
			k->cur = (k->cur + 1) % k->c->n;
			if (!retry_unknown)
				return O_UNKNOWN;
			sleep_ms(10);
			continue;
		}
		if (v->type == RESP_ERROR && !strncmp(v->str, "NOTLEADER", 9)) {
			/* "-NOTLEADER n2 host:port" or "-NOTLEADER ?": definitely not done; retry. */
			char name[64] = "", addr[128] = "";
			sscanf(v->str, "NOTLEADER %63s %127s", name, addr);
			size_t next = (k->cur + 1) % k->c->n;
			for (size_t i = 0; i < k->c->n; i++)
				if (!strcmp(k->c->name[i], name))
					next = i;
			if (next == k->cur || !name[0] || !strcmp(name, "?"))
				sleep_ms(10);
			if (next != k->cur) {
				conn_drop(k);
				k->cur = next;
			}
			resp_value_free(v);
			continue;
		}
		if (v->type == RESP_ERROR && !strncmp(v->str, "TIMEOUT", 7)) {
			resp_value_free(v);
			if (!retry_unknown)
				return O_UNKNOWN;
			continue;
		}
		*reply = v;
		return v->type == RESP_ERROR ? O_FAIL : O_OK;
	}
	return O_UNKNOWN;
}

static int cmd_freeport(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int fds[64];
	if (n < 1 || n > 64)
		return 254;
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t al = sizeof a;
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof a) ||
		    getsockname(fds[i], (struct sockaddr *)&a, &al))
			return 255;
		printf("%d\n", ntohs(a.sin_port));
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

static int find_leader(const struct cluster *c, long long deadline, size_t *out)
{
	while (now_ms() < deadline) {
		for (size_t i = 0; i < c->n; i++) {
			struct resp_client *rc;
			char err[256];
			if (resp_client_connect_addr(&rc, c->addr[i], 200, err, sizeof err))
				continue;
			const char *av[] = {"INFO"};
			struct resp_value *v = NULL;
			int ok = 0;
			if (!resp_client_command(rc, 1, av, NULL, &v, err, sizeof err) && v->type == RESP_BULK) {
				char role[32];
				if (!resp_info_field(v->str, v->len, "role", role, sizeof role) &&
				    !strcmp(role, "leader"))
					ok = 1;
			}
			resp_value_free(v);
			resp_client_close(rc);
			if (ok) {
				*out = i;
				return 0;
			}
		}
		sleep_ms(20);
	}
	return -1;
}

struct opts {
	struct cluster c;
	const char *prefix, *out, *in, *pids;
	long count, clients, seconds, timeout_ms;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->prefix = "k";
	o->count = 100;
	o->clients = 1;
	o->seconds = 5;
	o->timeout_ms = 20000;
	int have_nodes = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "raftload: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--nodes")) {
			if (parse_nodes(v, &o->c))
				return -1;
			have_nodes = 1;
		} else if (!strcmp(a, "--prefix"))
			o->prefix = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--in"))
			o->in = v;
		else if (!strcmp(a, "--pids"))
			o->pids = v;
		else if (!strcmp(a, "--count"))
			o->count = atol(v);
		else if (!strcmp(a, "--clients"))
			o->clients = atol(v);
		else if (!strcmp(a, "--seconds"))
			o->seconds = atol(v);
		else if (!strcmp(a, "--timeout-ms"))
			o->timeout_ms = atol(v);
		else {
			fprintf(stderr, "raftload: unknown option %s\n", a);
			return -1;
		}
	}
	if (!have_nodes) {
		fprintf(stderr, "raftload: --nodes is required\n");
		return -1;
	}
	return 0;
}

static int cmd_leader(struct opts *o)
{
	size_t i;
	if (find_leader(&o->c, now_ms() + o->timeout_ms, &i)) {
		fprintf(stderr, "raftload: no leader within %ld ms\n", o->timeout_ms);
		return 255;
	}
	printf("%s %s\n", o->c.name[i], o->c.addr[i]);
	return 0;
}

static int cmd_write(struct opts *o)
{
	FILE *f = o->out ? fopen(o->out, "a") : stdout;
	if (!f) {
		fprintf(stderr, "raftload: open %s: %s\n", o->out, strerror(errno));
		return 255;
	}
	struct conn k = {.c = &o->c, .timeout_ms = 3000};
	long ok = 0, unknown = 0;
	int rc = 0;
	for (long i = 1; i <= o->count; i++) {
		char key[128], val[32];
		snprintf(key, sizeof key, "%s:%ld", o->prefix, i);
		snprintf(val, sizeof val, "%ld", i);
		const char *av[] = {"SET", key, val};
		struct resp_value *v;
		enum outcome out = run(&k, 3, av, 0, now_ms() + o->timeout_ms, &v);
		if (out == O_OK) {
			fprintf(f, "ok %s %s\n", key, val);
			ok++;
		} else if (out == O_UNKNOWN) {
			fprintf(f, "unknown %s %s\n", key, val);
			unknown++;
		} else {
			fprintf(stderr, "raftload: SET %s failed: %s\n", key, v ? v->str : "?");
			rc = 1;
		}
		fflush(f);
		resp_value_free(v);
		if (rc)
			break;
	}
	conn_drop(&k);
	if (f != stdout)
		fclose(f);
	fprintf(stderr, "raftload: %ld acknowledged, %ld unknown\n", ok, unknown);
	return rc ? rc : (ok == 0 && o->count > 0 ? 255 : 0);
}

static int cmd_verify(struct opts *o)
{
	FILE *f = fopen(o->in ? o->in : "/dev/stdin", "r");
	if (!f) {
		fprintf(stderr, "raftload: open %s: %s\n", o->in, strerror(errno));
		return 255;
	}
	struct conn k = {.c = &o->c, .timeout_ms = 3000};
	char line[512];
	long checked = 0, bad = 0, present = 0, absent = 0;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		char kind[16], key[256], val[128];
		if (sscanf(line, "%15s %255s %127s", kind, key, val) != 3)
			continue;
		const char *av[] = {"GET", key};
		struct resp_value *v;
		if (run(&k, 2, av, 1, now_ms() + o->timeout_ms, &v) != O_OK) {
			fprintf(stderr, "raftload: GET %s: no answer from the cluster\n", key);
			resp_value_free(v);
			rc = 255;
			break;
		}
		int has = v->type == RESP_BULK && !strcmp(v->str, val);
		int nil = v->type == RESP_NIL;
		if (!strcmp(kind, "ok") && !has) {
			fprintf(stderr, "raftload: LOST acknowledged write %s=%s (read %s)\n", key, val,
				nil ? "nil" : v->str ? v->str : "?");
			bad++;
		} else if (!strcmp(kind, "unknown")) {
			if (has)
				present++;
			else if (nil)
				absent++;
			else {
				fprintf(stderr, "raftload: %s holds neither its value nor nothing\n", key);
				bad++;
			}
		}
		checked++;
		resp_value_free(v);
	}
	fclose(f);
	conn_drop(&k);
	printf("checked %ld writes: %ld lost; unknown ones present %ld, absent %ld\n", checked, bad,
	       present, absent);
	return rc ? rc : bad ? 1 : 0;
}

static int cmd_converge(struct opts *o)
{
	long long deadline = now_ms() + o->timeout_ms;
	char last[MAXN][128];
	while (now_ms() < deadline) {
		int same = 1;
		for (size_t i = 0; i < o->c.n; i++) {
			last[i][0] = 0;
			struct resp_client *rc;
			char err[256];
			if (resp_client_connect_addr(&rc, o->c.addr[i], 300, err, sizeof err)) {
				same = 0;
				continue;
			}
			const char *av[] = {"DEBUG", "DIGEST"};
			struct resp_value *v = NULL;
			if (!resp_client_command(rc, 2, av, NULL, &v, err, sizeof err) && v->type == RESP_BULK)
				snprintf(last[i], sizeof last[i], "%s", v->str);
			resp_value_free(v);
			resp_client_close(rc);
			if (!last[i][0] || (i && strcmp(last[i], last[0])))
				same = 0;
		}
		if (same) {
			printf("converged: %s\n", last[0]);
			return 0;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "raftload: replicas did not converge within %ld ms:\n", o->timeout_ms);
	for (size_t i = 0; i < o->c.n; i++)
		fprintf(stderr, "  %s: %s\n", o->c.name[i], last[i][0] ? last[i] : "(unreachable)");
	return 1;
}

/* ---- bench -------------------------------------------------------------------------------
 * One thread, one epoll set, one connection per simulated client: each connection has one
 * SET in flight at a time (closed loop). Cheaper on a small shared machine than a thread per
 * client, so more of the CPU goes to the cluster being measured. */

struct bconn {
	int fd;
	long long t0; /* send time of the request in flight (us) */
	long n;       /* requests sent */
	char in[512];
	size_t in_len;
};

static int bconn_send(struct bconn *b, int id)
{
	char key[64], val[32], req[192];
	snprintf(key, sizeof key, "b%d:%ld", id, b->n % 1000);
	snprintf(val, sizeof val, "%ld", b->n);
	int n = snprintf(req, sizeof req, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
			 strlen(key), key, strlen(val), val);
	b->n++;
	b->t0 = now_us();
	return send(b->fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static int cmd_bench(struct opts *o)
{
	size_t li;
	if (find_leader(&o->c, now_ms() + 10000, &li)) {
		fprintf(stderr, "raftload: no leader\n");
		return 255;
	}
	char host[128], port[16];
	const char *colon = strrchr(o->c.addr[li], ':');
	if (!colon)
		return 254;
	snprintf(host, sizeof host, "%.*s", (int)(colon - o->c.addr[li]), o->c.addr[li]);
	snprintf(port, sizeof port, "%s", colon + 1);
	long nc = o->clients;
	struct bconn *bs = calloc((size_t)nc, sizeof *bs);
	int ep = epoll_create1(0);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (!bs || ep < 0 || getaddrinfo(host, port, &hints, &ai)) {
		fprintf(stderr, "raftload: cannot set up %ld connections to %s\n", nc, o->c.addr[li]);
		return 255;
	}
	for (long i = 0; i < nc; i++) {
		int fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			fprintf(stderr, "raftload: connect %s: %s\n", o->c.addr[li], strerror(errno));
			return 255;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		bs[i].fd = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	freeaddrinfo(ai);
	size_t cap = 1 << 20, total = 0;
	long long *lat = malloc(cap * sizeof *lat);
	long errors = 0;
	long long start = now_us(), stop = start + o->seconds * 1000000LL;
	for (long i = 0; i < nc; i++)
		if (bconn_send(&bs[i], (int)i) < 0)
			errors++;
	struct epoll_event evs[256];
	while (now_us() < stop) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int e = 0; e < n; e++) {
			long i = (long)evs[e].data.u64;
			struct bconn *b = &bs[i];
			ssize_t r = recv(b->fd, b->in + b->in_len, sizeof b->in - b->in_len, 0);
			if (r <= 0) {
				fprintf(stderr, "raftload: connection %ld closed by the server\n", i);
				epoll_ctl(ep, EPOLL_CTL_DEL, b->fd, NULL);
				errors++;
				continue;
			}
			b->in_len += (size_t)r;
			char *crlf = memchr(b->in, '\n', b->in_len);
			if (!crlf)
				continue; /* every reply here is one line: +OK or -ERR ... */
			long long t1 = now_us();
			if (b->in[0] == '+') {
				if (total == cap) {
					cap *= 2;
					lat = realloc(lat, cap * sizeof *lat);
				}
				lat[total++] = t1 - b->t0;
			} else {
				errors++;
			}
			size_t used = (size_t)(crlf - b->in) + 1;
			memmove(b->in, b->in + used, b->in_len - used);
			b->in_len -= used;
			if (t1 < stop && bconn_send(b, (int)i) < 0)
				errors++;
		}
	}
	double secs = (double)(now_us() - start) / 1e6;
	for (long i = 0; i < nc; i++)
		close(bs[i].fd);
	close(ep);
	qsort(lat, total, sizeof *lat, cmp_ll);
	double p50 = total ? (double)lat[total / 2] / 1000.0 : 0;
	double p99 = total ? (double)lat[(size_t)((double)total * 0.99)] / 1000.0 : 0;
	printf("clients=%ld writes=%zu seconds=%.1f throughput=%.0f/s p50=%.2fms p99=%.2fms errors=%ld\n",
	       nc, total, secs, (double)total / secs, p50, p99, errors);
	free(lat);
	free(bs);
	return 0;
}

static int cmd_failover(struct opts *o)
{
	size_t li;
	if (!o->pids || find_leader(&o->c, now_ms() + 10000, &li)) {
		fprintf(stderr, "raftload: no leader (or no --pids)\n");
		return 255;
	}
	/* the leader's pid from NAME=PID,... */
	pid_t pid = 0;
	char *copy = strdup(o->pids), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (eq && (size_t)(eq - t) == strlen(o->c.name[li]) && !strncmp(t, o->c.name[li], (size_t)(eq - t)))
			pid = (pid_t)atol(eq + 1);
	}
	free(copy);
	if (pid <= 0) {
		fprintf(stderr, "raftload: no pid for leader %s\n", o->c.name[li]);
		return 254;
	}
	/* Connect to the survivors first so that the measurement is the cluster's, not ours. */
	struct conn k = {.c = &o->c, .cur = (li + 1) % o->c.n, .timeout_ms = 2000};
	conn_ensure(&k);
	long long t0 = now_us();
	kill(pid, SIGKILL);
	long i = 0;
	for (;;) {
		char val[32];
		snprintf(val, sizeof val, "%ld", i++);
		const char *av[] = {"SET", "failover", val};
		struct resp_value *v;
		enum outcome out = run(&k, 3, av, 0, now_ms() + o->timeout_ms, &v);
		resp_value_free(v);
		if (out == O_OK)
			break;
		if (now_us() - t0 > o->timeout_ms * 1000LL) {
			printf("killed %s ms=timeout\n", o->c.name[li]);
			conn_drop(&k);
			return 255;
		}
	}
	printf("killed %s ms=%.1f\n", o->c.name[li], (double)(now_us() - t0) / 1000.0);
	conn_drop(&k);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		fprintf(stderr, "usage: raftload freeport|leader|write|verify|converge|bench|failover ...\n");
		return 254;
	}
	if (!strcmp(argv[1], "freeport"))
		return cmd_freeport(argc - 1, argv + 1);
	struct opts o;
	if (parse_opts(argc - 1, argv + 1, &o))
		return 254;
	if (!strcmp(argv[1], "leader"))
		return cmd_leader(&o);
	if (!strcmp(argv[1], "write"))
		return cmd_write(&o);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(&o);
	if (!strcmp(argv[1], "converge"))
		return cmd_converge(&o);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(&o);
	if (!strcmp(argv[1], "failover"))
		return cmd_failover(&o);
	fprintf(stderr, "raftload: unknown command %s\n", argv[1]);
	return 254;
}
