/* peerforge — sends hand-made peer frames to a raftnode, for tests of what a node must refuse
 * on its peer port (forged senders, a wrong cluster token, a frame before the hello, frames
 * too large for their kind, connections that never say hello).
 *
 *   peerforge --to HOST:PORT [--bind IP] [--hello ID] [--token T] [--client-addr A]
 *             [--append TERM] [--from ID] [--dest ID] [--claim TYPE:BYTES] [--hold MS]
 *
 * Connects (from address --bind if given), then sends, in this order and each only if asked:
 *   --hello ID         a hello as node ID (1-based) with --token (default empty) and
 *                      --client-addr (default 127.0.0.1:1)
 *   --append TERM      an AppendEntries heartbeat of that term from --from (default: the hello's
 *                      ID, else 2) to --dest (default 1)
 *   --claim TYPE:BYTES the header of a message frame of TYPE (append, vote, ...) claiming a
 *                      BYTES-long body, and up to 4 KiB of that body; the rest never comes
 * then waits until the node closes the connection or --hold ms (default 1000) pass, and prints
 * "closed" or "open". Exit 0; 1 if it cannot connect or send; 254 for bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node/wire.h"

static const char *const types[] = {"", "prevote", "prevote_resp", "vote", "vote_resp", "append",
				    "append_resp", "snapshot", "snapshot_resp", "timeout_now"};

static int usage(const char *why)
{
	fprintf(stderr, "peerforge: %s\n(see the head of tests/tools/peerforge.c)\n", why);
	return 254;
}

static int dial(const char *to, const char *bind_ip)
{
	char host[256];
	snprintf(host, sizeof host, "%s", to);
	char *colon = strrchr(host, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &res) || !res)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind_ip) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		if (res->ai_family != AF_INET || inet_pton(AF_INET, bind_ip, &a.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Wait for the node to close the connection; 1 if it did within hold_ms. */
static int wait_closed(int fd, int hold_ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = hold_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		char b[256];
		ssize_t r = recv(fd, b, sizeof b, 0);
		if (r <= 0)
			return 1; /* EOF or reset; a node never writes on a connection it accepted */
	}
}

int main(int argc, char **argv)
{
	const char *to = NULL, *bind_ip = NULL, *token = "", *client_addr = "127.0.0.1:1", *claim = NULL;
	long hello = 0, from = 0, dest = 1, hold = 1000;
	unsigned long long term = 0;
	int append = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage("every option takes a value");
		i++;
		if (!strcmp(a, "--to"))
			to = v;
		else if (!strcmp(a, "--bind"))
			bind_ip = v;
		else if (!strcmp(a, "--hello"))
			hello = atol(v);
		else if (!strcmp(a, "--token"))
			token = v;
		else if (!strcmp(a, "--client-addr"))
			client_addr = v;
		else if (!strcmp(a, "--append")) {
			append = 1;
			term = strtoull(v, NULL, 10);
		} else if (!strcmp(a, "--from"))
			from = atol(v);
		else if (!strcmp(a, "--dest"))
			dest = atol(v);
		else if (!strcmp(a, "--claim"))
			claim = v;
		else if (!strcmp(a, "--hold"))
			hold = atol(v);
		else
			return usage("unknown option");
	}
	if (!to)
		return usage("--to is required");
	if (!from)
		from = hello ? hello : 2;
	int fd = dial(to, bind_ip);
	if (fd < 0) {
		fprintf(stderr, "peerforge: cannot connect to %s: %s\n", to, strerror(errno));
		return 1;
	}
	struct wire_buf b = {0};
	char err[256];
	if (hello && wire_encode_hello(&b, (raft_id)hello, client_addr, token, err, sizeof err))
		return usage(err);
	if (append) {
		struct raft_msg m = {.type = RAFT_MSG_APPEND, .from = (raft_id)from, .to = (raft_id)dest,
				     .term = term};
		if (wire_encode_msg(&b, &m, err, sizeof err))
			return usage(err);
	}
	if (claim) {
		const char *colon = strchr(claim, ':');
		size_t t = 0;
		for (size_t k = 1; colon && k < sizeof types / sizeof types[0]; k++)
			if (strlen(types[k]) == (size_t)(colon - claim) && !strncmp(claim, types[k], strlen(types[k])))
				t = k;
		if (!t)
			return usage("--claim wants TYPE:BYTES");
		unsigned long n = strtoul(colon + 1, NULL, 10);
		unsigned char h[WIRE_HDR + 1] = {0x53, 0x42, WIRE_VERSION, WIRE_MSG,
						 (unsigned char)n, (unsigned char)(n >> 8),
						 (unsigned char)(n >> 16), (unsigned char)(n >> 24),
						 0, 0, 0, 0, (unsigned char)t};
		wire_buf_put(&b, h, sizeof h);
		static const unsigned char some[4096];
		wire_buf_put(&b, some, n - 1 < sizeof some ? n - 1 : sizeof some);
	}
	if (b.len && send_all(fd, b.p, b.len) < 0) {
		fprintf(stderr, "peerforge: send: %s\n", strerror(errno));
		puts("closed");
		return 0;
	}
	wire_buf_free(&b);
	puts(wait_closed(fd, (int)hold) ? "closed" : "open");
	close(fd);
	return 0;
}
