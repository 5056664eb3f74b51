/* netprobe — which links between hosts work, for the partition tests.
 *
 *   netprobe serve PORT LOG
 *       listen on PORT (TCP and UDP, every address); accept and close TCP connections; append
 *       each UDP datagram's text as one line to LOG. Runs until killed.
 *   netprobe probe TIMEOUT_MS PORT TAG NAME=ADDR...
 *       from this host, to every ADDR at once: a TCP connect (ok when it completes within
 *       TIMEOUT_MS) and three UDP datagrams "TAG <this host's name>" (the name is the first
 *       argument after TAG that is marked with a leading '+', e.g. +n1=10.0.0.11, which is
 *       not probed itself). Prints "NAME tcp ok" or "NAME tcp cut" per peer.
 *
 * TCP needs both directions (a SYN one way, its SYN-ACK back), so a TCP probe sees a link cut
 * either way; the UDP datagrams show one direction alone: the receiver's LOG says who it heard.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXP 64

static int serve(int port, const char *log)
{
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (t < 0 || u < 0 || bind(t, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(t, 64) < 0 ||
	    bind(u, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "netprobe serve %d: %s\n", port, strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = t, .events = POLLIN}, {.fd = u, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents & POLLIN) {
			int c = accept(t, NULL, NULL);
			if (c >= 0)
				close(c);
		}
		if (p[1].revents & POLLIN) {
			char buf[256];
			ssize_t n = recv(u, buf, sizeof buf - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				FILE *f = fopen(log, "a");
				if (f) {
					fprintf(f, "%s\n", buf);
					fclose(f);
				}
			}
		}
	}
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int probe(int timeout_ms, int port, const char *tag, int argc, char **argv)
{
	const char *self = "?";
	char name[MAXP][64];
	struct sockaddr_in addr[MAXP];
	int fd[MAXP], ok[MAXP], n = 0;
	for (int i = 0; i < argc && n < MAXP; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq)
			return 2;
		if (argv[i][0] == '+') {
			*eq = '\0';
			self = argv[i] + 1;
			continue;
		}
		snprintf(name[n], sizeof name[n], "%.*s", (int)(eq - argv[i]), argv[i]);
		addr[n] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		if (inet_pton(AF_INET, eq + 1, &addr[n].sin_addr) != 1)
			return 2;
		n++;
	}
	char msg[128];
	snprintf(msg, sizeof msg, "%s %s", tag, self);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < n; i++)
			sendto(u, msg, strlen(msg), 0, (struct sockaddr *)&addr[i], sizeof addr[i]);
	for (int i = 0; i < n; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ok[i] = connect(fd[i], (struct sockaddr *)&addr[i], sizeof addr[i]) == 0 ? 1 : 0;
		if (!ok[i] && errno != EINPROGRESS)
			ok[i] = -1;
	}
	long long end = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p[MAXP];
		int idx[MAXP], m = 0;
		for (int i = 0; i < n; i++)
			if (ok[i] == 0) {
				p[m] = (struct pollfd){.fd = fd[i], .events = POLLOUT};
				idx[m++] = i;
			}
		long long left = end - now_ms();
		if (!m || left <= 0)
			break;
		if (poll(p, (nfds_t)m, (int)left) < 0 && errno != EINTR)
			break;
		for (int j = 0; j < m; j++)
			if (p[j].revents) {
				int e = 0;
				socklen_t l = sizeof e;
				getsockopt(fd[idx[j]], SOL_SOCKET, SO_ERROR, &e, &l);
				ok[idx[j]] = e == 0 ? 1 : -1;
			}
	}
	for (int i = 0; i < n; i++) {
		printf("%s tcp %s\n", name[i], ok[i] == 1 ? "ok" : "cut");
		close(fd[i]);
	}
	close(u);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argv[3]);
	if (argc >= 5 && !strcmp(argv[1], "probe"))
		return probe(atoi(argv[2]), atoi(argv[3]), argv[4], argc - 5, argv + 5);
	fprintf(stderr, "usage: netprobe serve PORT LOG | netprobe probe TIMEOUT_MS PORT TAG "
			"+SELF=ADDR NAME=ADDR...\n");
	return 2;
}
