#include "node/server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "node/crash.h"
#include "node/log.h"
#include "node/resp.h"
#include "node/storage.h"
#include "node/wire.h"

/* The only signal state: set by the SIGTERM/SIGINT handler, read by the loop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = sig;
}

/* K_DEAD: a closed client whose memory is freed after the current batch of epoll events (a
 * later event of the batch may still point at it). */
enum kind { K_CLIENT_LISTEN = 1, K_PEER_LISTEN, K_CLIENT, K_PEER_IN, K_PEER_OUT, K_DEAD };

#define PEER_OUT_MAX (64u << 20) /* bytes queued to one peer before messages are dropped */
#define CLIENT_OUT_MAX (64u << 20)
#define CLIENT_IN_MAX (2 * RESP_MAX_REQUEST + 65536)
/* The largest command must fit in one request (a 1 MiB value could once never be sent). */
_Static_assert(RESP_MAX_REQUEST >= RAFT_KV_MAX_KEY + 2u * RAFT_KV_MAX_VALUE + 4096u,
	       "a request must hold a CAS with the largest key and values");
#define BACKOFF_MIN_MS 20
#define BACKOFF_MAX_MS 500
/* A connection to a peer that stops acknowledging (a peer that died or restarted behind a
 * partition leaves one half-open) is dropped after this long and dialled again, and so is a
 * dial left unanswered: otherwise TCP's own retransmission backoff can keep a healed peer
 * unreachable for seconds. */
#define PEER_STALL_MS 1000
#define MAX_PEER_IN 64
#define PEER_ADDRS 8 /* resolved addresses kept per node */
#define PEER_HELLO_TIMEOUT_MS 2000
#define PIN_CHUNK 65536u
/* Room for bodies across all incoming peer connections: two of the largest frames at once. */
#define PEER_IN_BUDGET (2u * (WIRE_HDR + WIRE_MAX_BODY))

struct client {
	int kind; /* K_CLIENT: must be first (epoll data points at it) */
	int fd;
	size_t slot;
	char *in;
	size_t in_len, in_cap;
	struct resp_out out;
	uint64_t waiting;          /* req_id in the core, 0 = none */
	uint64_t deadline;         /* when waiting: -TIMEOUT after this (ms) */
	uint64_t client_id, seq;   /* dedup identity (raft_kv.h) */
	int closing;               /* close once the output is flushed */
	int kick;                  /* got its reply: parse further requests after the ready */
	uint32_t events;           /* registered epoll events */
	uint64_t partial_since;    /* a request is incomplete since (ms); 0 = none */
	uint64_t last_active;      /* last bytes received or reply delivered (ms) */
	struct client *dead_next;  /* when K_DEAD: the list of closed clients to free */
};

struct peer_in {
	int kind; /* K_PEER_IN */
	int fd;
	struct wire_buf in;   /* capacity counted in server.pin_bytes */
	raft_id from;         /* from the accepted hello; 0 until then */
	uint64_t since;       /* accepted at (ms): the hello must follow soon */
	struct sockaddr_storage addr; /* the connection's source address */
};

struct peer {
	int kind; /* K_PEER_OUT */
	raft_id id;
	int fd;
	int connected;
	struct wire_buf out;
	uint32_t backoff;
	uint64_t next_attempt;
	uint64_t dialled_at; /* when the pending dial began */
	uint32_t events;
	char client_addr[WIRE_MAX_ADDR]; /* learned from this peer's hello; "" = unknown */
	int was_connected;
	struct sockaddr_storage addrs[PEER_ADDRS]; /* its --peers host, resolved at start */
	size_t n_addrs;
};

struct listener {
	int kind;
	int fd;
};

struct server {
	const struct server_config *cfg;
	int ep;
	struct listener client_l, peer_l;
	struct raft *raft;
	struct storage *st;
	struct peer peers[RAFT_MAX_NODES]; /* by raft id - 1; the self slot is unused */
	struct client **clients;
	size_t max_clients, n_clients;
	struct client *dead; /* closed in this batch, freed after it */
	struct peer_in *pins[MAX_PEER_IN];
	size_t pin_bytes; /* buffer capacity held by all of pins[] */
	size_t *kicks; /* slots of clients with kick set */
	size_t n_kicks;
	uint64_t req_counter;
	uint64_t conn_counter;
	uint64_t boot_nonce;
	char client_addr[300];
	int fatal;
	char fatal_msg[512];
	struct resp_cmd cmd; /* parse scratch (large: kept off the stack) */
	struct storage_entry *sbuf; /* scratch for appends */
	size_t sbuf_cap;
};

static uint64_t now_ms(void)
{
	return (uint64_t)clock_mono_ms();
}

static void set_fatal(struct server *s, const char *what, const char *msg)
{
	if (s->fatal)
		return;
	s->fatal = 1;
	snprintf(s->fatal_msg, sizeof s->fatal_msg, "%.100s: %.400s", what, msg);
}

static const char *node_name(const struct server *s, raft_id id)
{
	if (id == 0 || id > s->cfg->n_nodes)
		return "?";
	return s->cfg->nodes[id - 1].name;
}

static void ep_set(struct server *s, int fd, void *ptr, uint32_t *cur, uint32_t want)
{
	if (*cur == want)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = ptr};
	epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev);
	*cur = want;
}

static int listen_on(struct server *s, struct listener *l, int kind, const char *host,
		     const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (g)
		return err_set(err, errlen, SB_EINVAL, "resolve %s:%s: %s", host, port, gai_strerror(g));
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "listen on %s:%s: %s", host, port, strerror(e));
	l->kind = kind;
	l->fd = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* ---- addresses --------------------------------------------------------------------------- */

/* An IPv4 address seen through an IPv6 socket (::ffff:a.b.c.d) as the plain IPv4 one, so that
 * addresses compare equal whichever socket family carried them. */
static void addr_normalize(struct sockaddr_storage *a)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;
	if (a->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = s6->sin6_port};
	memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
	memset(a, 0, sizeof *a);
	memcpy(a, &s4, sizeof s4);
}

/* Same host address (ports are not compared: a dialled connection has an ephemeral one). */
static int addr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr));
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
	return 0;
}

static void addr_format(const struct sockaddr_storage *a, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof host);
	else if (a->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, host, sizeof host);
	snprintf(out, n, "%s", host);
}

/* Resolve every node's peer address (kept: incoming hellos must come from them) and the client
 * address, before anything else happens: a name that does not resolve is a bad argument. */
static int resolve_nodes(struct server *s, char *err, size_t errlen)
{
	const struct server_config *cfg = s->cfg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		const struct server_node *n = &cfg->nodes[i];
		int g = getaddrinfo(n->host, n->port, &hints, &res);
		if (g)
			return err_set(err, errlen, SB_EINVAL, "--peers: cannot resolve %s's address %s:%s: %s",
				       n->name, n->host, n->port, gai_strerror(g));
		struct peer *p = &s->peers[i];
		p->n_addrs = 0;
		for (struct addrinfo *ai = res; ai && p->n_addrs < PEER_ADDRS; ai = ai->ai_next) {
			if (ai->ai_addrlen > sizeof p->addrs[0])
				continue;
			memset(&p->addrs[p->n_addrs], 0, sizeof p->addrs[0]);
			memcpy(&p->addrs[p->n_addrs], ai->ai_addr, ai->ai_addrlen);
			addr_normalize(&p->addrs[p->n_addrs]);
			p->n_addrs++;
		}
		freeaddrinfo(res);
	}
	hints.ai_flags = AI_PASSIVE;
	int g = getaddrinfo(cfg->client_host[0] ? cfg->client_host : NULL, cfg->client_port, &hints,
			    &res);
	if (g)
		return err_set(err, errlen, SB_EINVAL, "--client: cannot resolve %s:%s: %s",
			       cfg->client_host, cfg->client_port, gai_strerror(g));
	freeaddrinfo(res);
	return 0;
}

/* ---- peers: outgoing --------------------------------------------------------------------- */

static void peer_close(struct server *s, struct peer *p, const char *why)
{
	if (p->fd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	if (p->connected || p->was_connected)
		log_event(LOG_INFO, "peer-disconnected", "peer=%s reason=\"%s\"", node_name(s, p->id), why);
	p->fd = -1;
	p->connected = 0;
	p->was_connected = 0;
	p->out.len = 0;
	p->events = 0;
	uint64_t now = now_ms();
	p->next_attempt = now + p->backoff;
	p->backoff = p->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff * 2;
}

static void peer_flush(struct server *s, struct peer *p)
{
	while (p->connected && p->out.len) {
		ssize_t w = send(p->fd, p->out.p, p->out.len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			peer_close(s, p, strerror(errno));
			return;
		}
		wire_buf_consume(&p->out, (size_t)w);
	}
	if (p->fd >= 0)
		ep_set(s, p->fd, p, &p->events, (p->out.len || !p->connected ? EPOLLOUT : 0) | EPOLLRDHUP);
}

static void peer_connected(struct server *s, struct peer *p)
{
	p->connected = 1;
	p->was_connected = 1;
	p->backoff = BACKOFF_MIN_MS;
	int one = 1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char err[256];
	p->out.len = 0;
	if (wire_encode_hello(&p->out, (raft_id)(s->cfg->self + 1), s->client_addr,
			      s->cfg->cluster_token ? s->cfg->cluster_token : "", err, sizeof err))
		log_event(LOG_WARN, "peer-hello-failed", "msg=\"%s\"", err);
	log_event(LOG_INFO, "peer-connected", "peer=%s", node_name(s, p->id));
	peer_flush(s, p);
}

/* Dial from this node's own --peers address when it names one (not a wildcard): the receiver
 * accepts a hello only from the sender's configured address, and a host with several
 * addresses would otherwise pick the source by its routes. */
static int bind_own_address(struct server *s, int fd, int family)
{
	const struct peer *me = &s->peers[s->cfg->self];
	for (size_t k = 0; k < me->n_addrs; k++) {
		struct sockaddr_storage a = me->addrs[k];
		socklen_t len;
		if (a.ss_family != family)
			continue;
		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
			if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
				return 0;
			s4->sin_port = 0;
			len = sizeof *s4;
		} else if (family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
			if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
				return 0;
			s6->sin6_port = 0;
			len = sizeof *s6;
		} else {
			return 0;
		}
		errno = 0;
		return bind(fd, (struct sockaddr *)&a, len);
	}
	return 0;
}

static void peer_dial(struct server *s, struct peer *p)
{
	const struct server_node *n = &s->cfg->nodes[p->id - 1];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(n->host, n->port, &hints, &res) || !res) {
		peer_close(s, p, "cannot resolve address");
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		peer_close(s, p, strerror(errno));
		return;
	}
	if (bind_own_address(s, fd, res->ai_family) < 0) {
		int e = errno;
		freeaddrinfo(res);
		close(fd);
		peer_close(s, p, e ? strerror(e) : "cannot bind to the own peer address");
		return;
	}
	unsigned int stall = PEER_STALL_MS;
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &stall, sizeof stall);
	int rc = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	p->fd = fd;
	p->dialled_at = now_ms();
	p->events = EPOLLOUT | EPOLLRDHUP;
	struct epoll_event ev = {.events = p->events, .data.ptr = p};
	epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	if (rc == 0)
		peer_connected(s, p);
	else if (errno != EINPROGRESS)
		peer_close(s, p, strerror(errno));
}

static void peer_event(struct server *s, struct peer *p, uint32_t evs)
{
	if (!p->connected) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			p->was_connected = 0;
			peer_close(s, p, strerror(soerr));
			return;
		}
		if (evs & (EPOLLOUT))
			peer_connected(s, p);
		return;
	}
	if (evs & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (evs & EPOLLERR)
			getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		/* ETIMEDOUT: nothing acknowledged for PEER_STALL_MS (TCP_USER_TIMEOUT) */
		peer_close(s, p, soerr ? strerror(soerr) : "connection closed by peer");
		return;
	}
	if (evs & EPOLLOUT)
		peer_flush(s, p);
}

static void peer_send(struct server *s, const struct raft_msg *m)
{
	if (m->to == 0 || m->to > s->cfg->n_nodes || m->to == s->cfg->self + 1)
		return;
	struct peer *p = &s->peers[m->to - 1];
	if (!p->connected)
		return; /* dropped: Raft retries, and stale messages must not pile up */
	if (p->out.len > PEER_OUT_MAX) {
		log_event(LOG_DEBUG, "peer-message-dropped", "peer=%s queued=%zu", node_name(s, p->id),
			  p->out.len);
		return;
	}
	char err[256];
	if (wire_encode_msg(&p->out, m, err, sizeof err)) {
		log_event(LOG_WARN, "peer-encode-failed", "peer=%s msg=\"%s\"", node_name(s, p->id), err);
		if (p->out.oom)
			peer_close(s, p, "out of memory");
	}
}

/* ---- peers: incoming ---------------------------------------------------------------------
 *
 * What a connection may make the node hold is bounded at every step. Before its hello, only a
 * hello (at most WIRE_HDR + WIRE_MAX_HELLO_BODY bytes) is read, and it must arrive within
 * PEER_HELLO_TIMEOUT_MS. The hello must carry this cluster's token, name a configured peer
 * and come from that peer's --peers address; a newer accepted hello from the same peer
 * replaces its older connection. After it, each message's sender must be the hello's, a frame
 * is checked against its kind's bound (wire.h) before its body is buffered, and the room
 * reserved for bodies across all incoming connections stays within PEER_IN_BUDGET. */

static void pin_resize(struct server *s, struct peer_in *pi, size_t cap);

static void pin_close(struct server *s, size_t i, const char *why)
{
	struct peer_in *pi = s->pins[i];
	epoll_ctl(s->ep, EPOLL_CTL_DEL, pi->fd, NULL);
	close(pi->fd);
	if (why) {
		char addr[INET6_ADDRSTRLEN];
		addr_format(&pi->addr, addr, sizeof addr);
		log_event(LOG_WARN, "peer-connection-dropped", "peer=%s addr=%s reason=\"%s\"",
			  node_name(s, pi->from), addr, why);
	}
	pin_resize(s, pi, 0);
	free(pi);
	s->pins[i] = NULL;
}

/* Give pi's input buffer exactly `cap` bytes of room (0 frees it), keeping s->pin_bytes, the
 * sum over all incoming connections, up to date. No budget check: see pin_reserve. */
static void pin_resize(struct server *s, struct peer_in *pi, size_t cap)
{
	if (cap == pi->in.cap)
		return;
	if (cap == 0) {
		s->pin_bytes -= pi->in.cap;
		wire_buf_free(&pi->in);
		return;
	}
	unsigned char *q = realloc(pi->in.p, cap);
	if (!q)
		return; /* keep the old buffer; pin_reserve reports the shortage */
	s->pin_bytes = s->pin_bytes - pi->in.cap + cap;
	pi->in.p = q;
	pi->in.cap = cap;
}

/* Make room for `want` bytes in pi's buffer. -1 with *why set if that would take the incoming
 * buffers over their budget or memory runs out. */
static int pin_reserve(struct server *s, struct peer_in *pi, size_t want, const char **why)
{
	if (want <= pi->in.cap)
		return 0;
	if (s->pin_bytes - pi->in.cap + want > PEER_IN_BUDGET) {
		*why = "incoming peer buffers over budget";
		return -1;
	}
	pin_resize(s, pi, want);
	if (pi->in.cap < want) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

static void peer_accept(struct server *s)
{
	for (;;) {
		struct sockaddr_storage addr;
		socklen_t alen = sizeof addr;
		memset(&addr, 0, sizeof addr);
		int fd = accept4(s->peer_l.fd, (struct sockaddr *)&addr, &alen,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		size_t i = 0;
		while (i < MAX_PEER_IN && s->pins[i])
			i++;
		struct peer_in *pi = i < MAX_PEER_IN ? calloc(1, sizeof *pi) : NULL;
		if (!pi) {
			close(fd);
			continue;
		}
		pi->kind = K_PEER_IN;
		pi->fd = fd;
		pi->addr = addr;
		addr_normalize(&pi->addr);
		pi->since = now_ms();
		s->pins[i] = pi;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = pi};
		epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Connections that have not said hello in time. */
static void expire_pins(struct server *s, uint64_t now)
{
	for (size_t i = 0; i < MAX_PEER_IN; i++)
		if (s->pins[i] && !s->pins[i]->from && now - s->pins[i]->since >= PEER_HELLO_TIMEOUT_MS)
			pin_close(s, i, "no hello in time");
}

/* Why a hello cannot be accepted, or NULL if it can. */
static const char *hello_refusal(const struct server *s, const struct peer_in *pi, raft_id from,
				 const char *token)
{
	if (pi->from)
		return "a second hello on one connection";
	if (from == 0 || from > s->cfg->n_nodes || from == s->cfg->self + 1)
		return "hello from an unknown node";
	if (strcmp(token, s->cfg->cluster_token ? s->cfg->cluster_token : ""))
		return "hello with another cluster token";
	const struct peer *p = &s->peers[from - 1];
	for (size_t k = 0; k < p->n_addrs; k++)
		if (addr_same_host(&pi->addr, &p->addrs[k]))
			return NULL;
	return "hello from an address other than the node's --peers address";
}

/* Handle a hello on connection i. -1 if the connection was closed. */
static int pin_hello(struct server *s, size_t i, const unsigned char *body, size_t blen)
{
	struct peer_in *pi = s->pins[i];
	raft_id from = 0;
	char addr[WIRE_MAX_ADDR], token[WIRE_MAX_TOKEN], err[256];
	const char *why = NULL;
	if (wire_decode_hello(body, blen, &from, addr, sizeof addr, token, sizeof token, err,
			      sizeof err))
		why = err;
	else
		why = hello_refusal(s, pi, from, token);
	if (why) {
		char src[INET6_ADDRSTRLEN];
		addr_format(&pi->addr, src, sizeof src);
		log_event(LOG_WARN, "peer-hello-refused", "claimed=%u addr=%s reason=\"%s\"", from, src,
			  why);
		pin_close(s, i, NULL);
		return -1;
	}
	pi->from = from;
	/* A peer dials one connection at a time: an older one from it is dead or forged. */
	for (size_t j = 0; j < MAX_PEER_IN; j++)
		if (j != i && s->pins[j] && s->pins[j]->from == from)
			pin_close(s, j, "replaced by a newer connection from the same peer");
	snprintf(s->peers[from - 1].client_addr, sizeof s->peers[from - 1].client_addr, "%s", addr);
	return 0;
}

/* Hand one message to the core. -1 if the connection was closed (or the node must stop). */
static int pin_message(struct server *s, size_t i, const unsigned char *body, size_t blen)
{
	struct peer_in *pi = s->pins[i];
	char err[256];
	struct raft_msg m;
	int rc = wire_decode_msg(body, blen, &m, err, sizeof err);
	if (rc == SB_ENOMEM) {
		set_fatal(s, "decode peer message", err);
		return -1;
	}
	if (rc) {
		pin_close(s, i, err);
		return -1;
	}
	if (m.from != pi->from) {
		snprintf(err, sizeof err, "a message from node %u on %s's connection", m.from,
			 node_name(s, pi->from));
		wire_msg_free(&m);
		pin_close(s, i, err);
		return -1;
	}
	rc = raft_step(s->raft, &m, err, sizeof err);
	wire_msg_free(&m);
	if (rc == SB_ENOMEM) {
		set_fatal(s, "raft_step", err);
		return -1;
	}
	if (rc)
		log_event(LOG_WARN, "peer-message-rejected", "peer=%s msg=\"%s\"", node_name(s, pi->from),
			  err);
	return 0;
}

/* Handle every complete frame in connection i's buffer. -1 if the connection was closed. */
static int pin_frames(struct server *s, size_t i)
{
	struct peer_in *pi = s->pins[i];
	char err[256];
	size_t off = 0;
	while (!s->fatal) {
		const unsigned char *p = pi->in.p + off;
		size_t n = pi->in.len - off;
		if (!pi->from && n > 3 && p[3] != WIRE_HELLO) {
			pin_close(s, i, "a message before the hello");
			return -1;
		}
		int kind;
		const unsigned char *body;
		size_t blen, used;
		int rc = wire_frame(p, n, &kind, &body, &blen, &used, err, sizeof err);
		if (rc == 0)
			break;
		if (rc < 0) {
			pin_close(s, i, err);
			return -1;
		}
		off += used;
		if (kind == WIRE_HELLO ? pin_hello(s, i, body, blen) : pin_message(s, i, body, blen))
			return -1;
	}
	wire_buf_consume(&pi->in, off);
	return s->fatal ? -1 : 0;
}

/* How much buffer the next read may fill: before the hello, the rest of a largest hello;
 * after it, the rest of the frame being received or PIN_CHUNK, whichever is more. */
static size_t pin_want(const struct peer_in *pi)
{
	if (!pi->from)
		return WIRE_HDR + WIRE_MAX_HELLO_BODY;
	size_t frame = wire_frame_size(pi->in.p, pi->in.len);
	return frame > pi->in.len + PIN_CHUNK ? frame : pi->in.len + PIN_CHUNK;
}

static void pin_event(struct server *s, size_t i)
{
	/* A few chunks at a time, so that one busy peer does not starve the loop (epoll is
	 * level-triggered: the rest is read on the next round). */
	for (int round = 0; round < 16; round++) {
		struct peer_in *pi = s->pins[i];
		const char *why = NULL;
		size_t want = pin_want(pi);
		if (want <= pi->in.len) {
			pin_close(s, i, "hello too large");
			return;
		}
		if (pin_reserve(s, pi, want, &why) < 0) {
			pin_close(s, i, why);
			return;
		}
		size_t room = want - pi->in.len;
		ssize_t r = recv(pi->fd, pi->in.p + pi->in.len, room, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			pin_close(s, i, NULL);
			return;
		}
		pi->in.len += (size_t)r;
		if (pin_frames(s, i) < 0)
			return;
		if ((size_t)r < room)
			break;
	}
	/* Give back the room of a large frame once it is handled. */
	struct peer_in *pi = s->pins[i];
	if (pi->in.cap > 2 * PIN_CHUNK && pi->in.len < PIN_CHUNK &&
	    wire_frame_size(pi->in.p, pi->in.len) <= PIN_CHUNK)
		pin_resize(s, pi, pi->in.len ? PIN_CHUNK : 0);
}

/* ---- clients ----------------------------------------------------------------------------- */

static void client_close(struct server *s, struct client *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->clients[c->slot] = NULL;
	s->n_clients--;
	free(c->in);
	c->in = NULL;
	resp_out_free(&c->out);
	c->kind = K_DEAD;
	c->dead_next = s->dead;
	s->dead = c;
}

static void free_dead_clients(struct server *s)
{
	while (s->dead) {
		struct client *c = s->dead;
		s->dead = c->dead_next;
		free(c);
	}
}

/* Write what we can; returns -1 if the client was closed. */
static int client_flush(struct server *s, struct client *c)
{
	while (c->out.len) {
		ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			client_close(s, c);
			return -1;
		}
		resp_out_consume(&c->out, (size_t)w);
	}
	if (c->out.oom || c->out.len > CLIENT_OUT_MAX || (c->closing && !c->out.len)) {
		client_close(s, c);
		return -1;
	}
	/* Input stays registered while a request is in the core (a pipelining client's next
	 * requests are buffered, not parsed), so the usual request/reply cycle costs no
	 * epoll_ctl; only a full input buffer pauses reading. */
	int full = c->in_len == c->in_cap && c->in_cap * 2 > CLIENT_IN_MAX;
	uint32_t want = EPOLLRDHUP | (c->out.len ? EPOLLOUT : 0) | (c->closing || full ? 0 : EPOLLIN);
	ep_set(s, c->fd, c, &c->events, want);
	return 0;
}

static void put_notleader(struct server *s, struct resp_out *o, raft_id leader)
{
	if (leader == 0 || leader > s->cfg->n_nodes) {
		resp_put_error(o, "NOTLEADER ?");
		return;
	}
	const char *addr = leader == s->cfg->self + 1 ? s->client_addr
						    : s->peers[leader - 1].client_addr;
	resp_put_error(o, "NOTLEADER %s %s", node_name(s, leader), addr[0] ? addr : "?");
}

static void put_result(struct resp_out *o, const struct raft_kv_result *r)
{
	switch (r->kind) {
	case RAFT_KV_RES_OK:
		resp_put_simple(o, "OK");
		break;
	case RAFT_KV_RES_NIL:
		resp_put_null(o);
		break;
	case RAFT_KV_RES_INT:
		resp_put_int(o, r->integer);
		break;
	case RAFT_KV_RES_BULK:
		resp_put_bulk(o, r->bulk, r->bulk_len);
		break;
	case RAFT_KV_RES_ARRAY:
		resp_put_array(o, r->n_items);
		for (size_t i = 0; i < r->n_items; i++)
			resp_put_bulk(o, r->items[i], r->item_lens[i]);
		break;
	case RAFT_KV_RES_ERR:
	default:
		resp_put_error(o, "%.*s", (int)r->bulk_len, r->bulk ? (const char *)r->bulk : "ERR");
		break;
	}
}

static void put_info(struct server *s, struct resp_out *o)
{
	struct raft_status st;
	raft_status(s->raft, &st);
	const char *laddr = "";
	if (st.leader == s->cfg->self + 1)
		laddr = s->client_addr;
	else if (st.leader && st.leader <= s->cfg->n_nodes)
		laddr = s->peers[st.leader - 1].client_addr;
	char buf[2048];
	int n = snprintf(buf, sizeof buf,
			 "# Raft\r\nnode:%s\r\nid:%u\r\nrole:%s\r\nterm:%" PRIu64 "\r\nvote:%s\r\n"
			 "leader:%s\r\nleader_addr:%s\r\ncommit_index:%" PRIu64 "\r\n"
			 "applied_index:%" PRIu64 "\r\nlast_log_index:%" PRIu64 "\r\n"
			 "last_log_term:%" PRIu64 "\r\nsnapshot_index:%" PRIu64 "\r\n"
			 "persisted_index:%" PRIu64 "\r\nclients:%zu\r\nfault_injection:%d\r\n"
			 "crashpoint:%s\r\n",
			 node_name(s, st.id), st.id, raft_role_name(st.role), st.term,
			 st.vote ? node_name(s, st.vote) : "", st.leader ? node_name(s, st.leader) : "",
			 laddr[0] ? laddr : "", st.commit, st.applied, st.last_index, st.last_term,
			 st.snapshot_index, st.persisted_index, s->n_clients, s->cfg->fault_injection,
			 crash_armed() ? crash_armed() : "");
	resp_put_bulk(o, buf, n > 0 ? ((size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1) : 0);
}

static int arg_u64(const struct resp_arg *a, uint64_t *v)
{
	if (a->len == 0 || a->len > 19)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < a->len; i++) {
		if (a->p[i] < '0' || a->p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(a->p[i] - '0');
	}
	*v = x;
	return 0;
}

static void handle_debug(struct server *s, struct client *c, const struct resp_cmd *cmd)
{
	if (cmd->argc == 2 && resp_arg_is(&cmd->argv[1], "DIGEST")) {
		/* Read-only and harmless, so always available: lets tests compare replicas. */
		struct raft_status st;
		raft_status(s->raft, &st);
		char buf[64];
		int n = snprintf(buf, sizeof buf, "%" PRIu64 " %016" PRIx64, st.applied,
				 raft_kv_digest(raft_state_machine(s->raft)));
		resp_put_bulk(&c->out, buf, (size_t)n);
		return;
	}
	if (!s->cfg->fault_injection) {
		resp_put_error(&c->out, "ERR DEBUG is disabled (start raftnode with --fault-injection)");
		return;
	}
	if (cmd->argc < 3 || !resp_arg_is(&cmd->argv[1], "CRASHPOINT")) {
		resp_put_error(&c->out, "ERR usage: DEBUG CRASHPOINT <name> [hit] | DEBUG CRASHPOINT CLEAR");
		return;
	}
	if (resp_arg_is(&cmd->argv[2], "CLEAR") && cmd->argc == 3) {
		crash_clear();
		log_event(LOG_INFO, "crashpoint-cleared", NULL);
		resp_put_simple(&c->out, "OK");
		return;
	}
	uint64_t hit = 1;
	if (cmd->argc > 4 || (cmd->argc == 4 && (arg_u64(&cmd->argv[3], &hit) || hit == 0))) {
		resp_put_error(&c->out, "ERR usage: DEBUG CRASHPOINT <name> [hit>=1]");
		return;
	}
	char name[128], err[256];
	snprintf(name, sizeof name, "%.*s", (int)(cmd->argv[2].len < 127 ? cmd->argv[2].len : 127),
		 cmd->argv[2].p);
	if (crash_arm(name, hit, err, sizeof err)) {
		resp_put_error(&c->out, "ERR %s", err);
		return;
	}
	log_event(LOG_INFO, "crashpoint-armed", "name=%s hit=%" PRIu64, name, hit);
	resp_put_simple(&c->out, "OK");
}

struct op_name {
	const char *name;
	enum raft_kv_op op;
	size_t nargs;
};

static const struct op_name ops[] = {
	{"GET", RAFT_KV_GET, 1},	{"SET", RAFT_KV_SET, 2},	 {"CAS", RAFT_KV_CAS, 3},
	{"DEL", RAFT_KV_DEL, 1},	{"RPUSH", RAFT_KV_RPUSH, 2}, {"LRANGE", RAFT_KV_LRANGE, 3},
};

/* Handle one parsed command. Either puts an immediate reply or hands a request to the core
 * (then c->waiting is set). */
static void handle_command(struct server *s, struct client *c, const struct resp_cmd *cmd)
{
	const struct resp_arg *a0 = &cmd->argv[0];
	if (resp_arg_is(a0, "PING")) {
		if (cmd->argc > 1)
			resp_put_bulk(&c->out, cmd->argv[1].p, cmd->argv[1].len);
		else
			resp_put_simple(&c->out, "PONG");
		return;
	}
	if (resp_arg_is(a0, "INFO")) {
		put_info(s, &c->out);
		return;
	}
	if (resp_arg_is(a0, "QUIT")) {
		resp_put_simple(&c->out, "OK");
		c->closing = 1;
		return;
	}
	if (resp_arg_is(a0, "DEBUG")) {
		handle_debug(s, c, cmd);
		return;
	}
	if (resp_arg_is(a0, "COMMAND")) { /* redis-cli asks at start-up; it copes with nothing */
		resp_put_array(&c->out, 0);
		return;
	}
	const struct op_name *op = NULL;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (resp_arg_is(a0, ops[i].name))
			op = &ops[i];
	if (!op) {
		resp_put_error(&c->out, "ERR unknown command '%.*s'", (int)(a0->len < 64 ? a0->len : 64),
			       a0->p);
		return;
	}
	if (cmd->argc - 1 != op->nargs) {
		resp_put_error(&c->out, "ERR wrong number of arguments for '%s' command", op->name);
		return;
	}
	struct raft_kv_str args[3];
	for (size_t i = 0; i < op->nargs; i++) {
		args[i].p = (const unsigned char *)cmd->argv[i + 1].p;
		args[i].len = cmd->argv[i + 1].len;
	}
	unsigned char *enc = NULL;
	size_t enclen = 0;
	char err[256];
	int rc = raft_kv_encode_args(op->op, args, op->nargs, &enc, &enclen, err, sizeof err);
	if (rc) {
		resp_put_error(&c->out, "ERR %s", err);
		return;
	}
	uint64_t req = (++s->req_counter << 16) | c->slot;
	if (op->op == RAFT_KV_GET || op->op == RAFT_KV_LRANGE)
		rc = raft_read(s->raft, req, enc, enclen, err, sizeof err);
	else
		rc = raft_propose(s->raft, req, c->client_id, ++c->seq, enc, enclen, err, sizeof err);
	free(enc);
	if (rc == SB_ENOMEM) {
		set_fatal(s, "propose", err);
		return;
	}
	if (rc) {
		resp_put_error(&c->out, "ERR %s", err);
		return;
	}
	c->waiting = req;
	c->deadline = now_ms() + SERVER_REQUEST_TIMEOUT_MS;
}

/* Parse and handle buffered requests until one waits on the core. Returns -1 if closed. */
static int client_process(struct server *s, struct client *c)
{
	size_t off = 0;
	char err[256];
	while (!c->waiting && !c->closing && off < c->in_len) {
		size_t used = 0;
		int rc = resp_parse_request(c->in + off, c->in_len - off, &s->cmd, &used, err, sizeof err);
		if (rc == 0)
			break;
		if (rc < 0) {
			resp_put_error(&c->out, "ERR Protocol error: %s", err);
			c->closing = 1;
			break;
		}
		off += used;
		if (s->cmd.argc)
			handle_command(s, c, &s->cmd);
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	/* Bytes that do not make a request yet: the clock of the partial-request timeout runs
	 * from the first of them (a client dribbling bytes gets no more time). */
	if (c->in_len && !c->waiting && !c->closing) {
		if (!c->partial_since)
			c->partial_since = now_ms();
	} else {
		c->partial_since = 0;
	}
	return client_flush(s, c);
}

static void client_read(struct server *s, struct client *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < 16384) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
			if (cap > CLIENT_IN_MAX) {
				if (c->in_cap - c->in_len == 0)
					break; /* the parser will refuse the oversized request */
				cap = c->in_cap;
			} else {
				char *n = realloc(c->in, cap);
				if (!n) {
					client_close(s, c);
					return;
				}
				c->in = n;
				c->in_cap = cap;
			}
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			client_close(s, c);
			return;
		}
		c->in_len += (size_t)r;
		c->last_active = now_ms();
		if (c->in_len >= c->in_cap)
			continue;
		break;
	}
	client_process(s, c);
}

/* When every slot is taken, the connection idle the longest (for at least
 * SERVER_IDLE_EVICT_MS, with no request in the core and no reply pending) makes room for a new
 * one: otherwise idle or stalled connections could lock every other client out. */
static int evict_idle_client(struct server *s, uint64_t now)
{
	struct client *victim = NULL;
	for (size_t i = 0; i < s->max_clients; i++) {
		struct client *c = s->clients[i];
		if (!c || c->waiting || c->out.len || now - c->last_active < SERVER_IDLE_EVICT_MS)
			continue;
		if (!victim || c->last_active < victim->last_active)
			victim = c;
	}
	if (!victim)
		return -1;
	log_event(LOG_INFO, "client-evicted", "reason=\"idle for %" PRIu64 " ms while all %zu slots were taken\"",
		  now - victim->last_active, s->max_clients);
	client_close(s, victim);
	return 0;
}

static void client_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->client_l.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		uint64_t now = now_ms();
		if (s->n_clients >= s->max_clients && evict_idle_client(s, now) < 0) {
			static const char msg[] = "-ERR max number of clients reached\r\n";
			(void)!send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
			close(fd);
			log_event(LOG_WARN, "client-rejected", "reason=\"max clients\" limit=%zu",
				  s->max_clients);
			continue;
		}
		size_t slot = 0;
		while (s->clients[slot])
			slot++;
		struct client *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->kind = K_CLIENT;
		c->fd = fd;
		c->slot = slot;
		/* A client id no earlier incarnation of this node can have used (dedup, raft_kv.h). */
		uint64_t x = s->boot_nonce + ++s->conn_counter * 0x9E3779B97F4A7C15ull;
		x ^= x >> 31;
		c->client_id = x ? x : 1;
		c->events = EPOLLIN | EPOLLRDHUP;
		c->last_active = now;
		s->clients[slot] = c;
		s->n_clients++;
		struct epoll_event ev = {.events = c->events, .data.ptr = c};
		epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static struct client *client_by_req(struct server *s, uint64_t req)
{
	size_t slot = req & 0xffff;
	if (slot >= s->max_clients || !s->clients[slot] || s->clients[slot]->waiting != req)
		return NULL;
	return s->clients[slot];
}

/* Called between raft_ready() and raft_advance(): the reply is written out, but the client's
 * next request waits for kick_clients() (the core takes no requests inside a ready). */
static void deliver_reply(struct server *s, const struct raft_reply *r)
{
	struct client *c = client_by_req(s, r->req_id);
	if (!c)
		return; /* the client left or timed out */
	if (r->status == RAFT_REPLY_OK)
		put_result(&c->out, &r->result);
	else if (r->status == RAFT_REPLY_NOT_LEADER)
		put_notleader(s, &c->out, r->leader_hint);
	else
		resp_put_error(&c->out, "TIMEOUT leadership changed while the request was in flight");
	c->waiting = 0;
	c->last_active = now_ms();
	if (!c->kick) {
		c->kick = 1;
		s->kicks[s->n_kicks++] = c->slot;
	}
	client_flush(s, c);
}

static void kick_clients(struct server *s)
{
	for (size_t i = 0; i < s->n_kicks; i++) {
		struct client *c = s->clients[s->kicks[i]];
		if (c && c->kick) {
			c->kick = 0;
			client_process(s, c);
		}
	}
	s->n_kicks = 0;
}

static void expire_requests(struct server *s, uint64_t now)
{
	for (size_t i = 0; i < s->max_clients; i++) {
		struct client *c = s->clients[i];
		if (c && c->waiting && now >= c->deadline) {
			c->waiting = 0;
			c->last_active = now;
			resp_put_error(&c->out, "TIMEOUT no reply within %d ms", SERVER_REQUEST_TIMEOUT_MS);
			client_process(s, c);
		} else if (c && c->partial_since && now - c->partial_since >= SERVER_PARTIAL_TIMEOUT_MS) {
			/* Half a request held for long: say why, as far as the socket takes it, and
			 * close (a client that does not read must not keep the slot either). */
			log_event(LOG_DEBUG, "client-timed-out", "reason=\"request incomplete\" bytes=%zu",
				  c->in_len);
			resp_put_error(&c->out, "ERR request incomplete after %d ms", SERVER_PARTIAL_TIMEOUT_MS);
			c->closing = 1;
			if (client_flush(s, c) == 0)
				client_close(s, c);
		}
	}
}

/* ---- the core's ready -------------------------------------------------------------------- */

static int persist(struct server *s, const struct raft_ready *rd, int follower)
{
	char err[512];
	int rc = 0;
	if (rd->snapshot) {
		rc = storage_save_snapshot(s->st, rd->snapshot->index, rd->snapshot->term,
					   rd->snapshot->data, rd->snapshot->len, err, sizeof err);
		if (rc)
			goto out;
		log_event(LOG_INFO, "snapshot-saved", "index=%" PRIu64 " term=%" PRIu64 " bytes=%zu",
			  rd->snapshot->index, rd->snapshot->term, rd->snapshot->len);
	}
	/* raft.h's order: the hard state before the log, so that no entry is ever durable without
	 * the term and vote of the node that stored it (storage_open refuses a log without them). */
	if (rd->hs_changed) {
		if ((rc = storage_set_meta(s->st, rd->hs.term, rd->hs.vote, err, sizeof err)))
			goto out;
		log_set_term(rd->hs.term);
	}
	if (rd->truncate_from && (rc = storage_truncate(s->st, rd->truncate_from, err, sizeof err)))
		goto out;
	if (rd->n_entries) {
		if (s->sbuf_cap < rd->n_entries) {
			struct storage_entry *n = realloc(s->sbuf, rd->n_entries * sizeof *n);
			if (!n) {
				rc = err_set(err, sizeof err, SB_ENOMEM, "out of memory");
				goto out;
			}
			s->sbuf = n;
			s->sbuf_cap = rd->n_entries;
		}
		for (size_t i = 0; i < rd->n_entries; i++) {
			const struct raft_entry *e = &rd->entries[i];
			s->sbuf[i] = (struct storage_entry){.term = e->term, .index = e->index,
							   .type = e->type, .client_id = e->client_id,
							   .seq = e->seq, .len = (uint32_t)e->len,
							   .data = e->data};
		}
		if ((rc = storage_append(s->st, s->sbuf, rd->n_entries, err, sizeof err)))
			goto out;
		if (follower)
			crash_point(CRASH_FOLLOWER_AFTER_APPEND);
		if ((rc = storage_sync(s->st, err, sizeof err)))
			goto out;
		if (follower)
			crash_point(CRASH_FOLLOWER_AFTER_FSYNC);
	}
	if (rd->compact_upto && (rc = storage_compact(s->st, rd->compact_upto, err, sizeof err)))
		goto out;
out:
	if (rc)
		set_fatal(s, "storage", err);
	return rc;
}

static void flush_peers(struct server *s)
{
	for (size_t i = 0; i < s->cfg->n_nodes; i++)
		if (s->peers[i].connected && s->peers[i].out.len)
			peer_flush(s, &s->peers[i]);
}

/* One ready per raft.h's loop: persist, raft_persisted, messages, replies, advance.
 *
 * One deviation, for latency: a leader whose ready changes neither term, vote, snapshot nor
 * log prefix sends its AppendEntries and its replies BEFORE its own fsync, so that followers
 * write in parallel with it (Raft thesis §10.2.1). This is safe because the core counts the
 * leader itself towards commit only after raft_persisted(), AppendEntries from a leader do
 * not depend on its own durability, and every reply in a ready is for a request the core has
 * already settled (committed, read, refused or dropped). Votes and acknowledgements (any
 * *_RESP message) still wait for the fsync. Not done while "leader-after-append" is armed,
 * whose meaning is "durable on the leader, not yet sent". */
static int process_ready(struct server *s)
{
	while (!s->fatal && raft_has_ready(s->raft)) {
		struct raft_ready rd;
		if (raft_ready(s->raft, &rd)) {
			set_fatal(s, "raft_ready", "out of memory");
			return -1;
		}
		struct raft_status st;
		raft_status(s->raft, &st);
		const char *armed = crash_armed();
		int early = st.role == RAFT_LEADER && !rd.hs_changed && !rd.snapshot &&
			    !rd.truncate_from && rd.n_entries &&
			    !(armed && !strcmp(armed, RAFT_CRASH_LEADER_AFTER_APPEND));
		if (early) {
			for (size_t i = 0; i < rd.n_msgs; i++)
				if (rd.msgs[i].type == RAFT_MSG_APPEND)
					peer_send(s, &rd.msgs[i]);
			flush_peers(s);
			for (size_t i = 0; i < rd.n_replies; i++)
				deliver_reply(s, &rd.replies[i]);
		}
		if (persist(s, &rd, st.role == RAFT_FOLLOWER))
			return -1;
		if (raft_persisted(s->raft)) {
			set_fatal(s, "raft_persisted", "out of memory");
			return -1;
		}
		for (size_t i = 0; i < rd.n_msgs; i++)
			if (!early || rd.msgs[i].type != RAFT_MSG_APPEND)
				peer_send(s, &rd.msgs[i]);
		if (!early)
			for (size_t i = 0; i < rd.n_replies; i++)
				deliver_reply(s, &rd.replies[i]);
		/* Written to the sockets before the ready is released, so that the core's
		 * "vote-after-send" point (in raft_advance) fires with the vote on the wire. */
		flush_peers(s);
		raft_advance(s->raft);
		kick_clients(s);
	}
	flush_peers(s);
	return s->fatal ? -1 : 0;
}

/* ---- hooks for the core ------------------------------------------------------------------ */

static void core_crash(void *ctx, const char *point)
{
	crash_point(point);
}

static void core_log(void *ctx, int level, raft_term term, const char *line)
{
	log_set_term(term);
	log_raw(level <= 0 ? LOG_DEBUG : level == 1 ? LOG_INFO : LOG_WARN, term, line);
}

/* ---- start-up and the loop --------------------------------------------------------------- */

static int start_core(struct server *s, char *err, size_t errlen)
{
	const struct server_config *cfg = s->cfg;
	struct storage_state st;
	int rc = storage_open(cfg->data_dir, NULL, &s->st, &st, err, errlen);
	if (rc) {
		err_prefix(err, errlen, "data directory %s", cfg->data_dir);
		return rc;
	}
	struct raft_entry *ents = NULL;
	if (st.n_entries && !(ents = calloc(st.n_entries, sizeof *ents))) {
		storage_state_free(&st);
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < st.n_entries; i++) {
		const struct storage_entry *e = &st.entries[i];
		ents[i] = (struct raft_entry){.term = e->term, .index = e->index, .type = e->type,
					      .client_id = e->client_id, .seq = e->seq,
					      .data = e->data, .len = e->len};
	}
	struct raft_persisted ps = {
		.hs = {.term = st.term, .vote = (raft_id)st.vote},
		.snapshot = {.index = st.has_snapshot ? st.snap_index : 0, .term = st.snap_term,
			     .data = st.snap_data, .len = st.snap_len},
		.entries = ents,
		.n_entries = st.n_entries,
	};
	struct raft_config rc_;
	raft_config_init(&rc_);
	rc_.self = (raft_id)(cfg->self + 1);
	rc_.n_nodes = cfg->n_nodes;
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		rc_.nodes[i].id = (raft_id)(i + 1);
		rc_.nodes[i].priority = 0;
	}
	rc_.election_timeout_min_ms = cfg->election_min_ms;
	rc_.election_timeout_max_ms = cfg->election_max_ms;
	rc_.heartbeat_ms = cfg->heartbeat_ms;
	rc_.bugs = cfg->bugs;
	if (cfg->max_append_entries)
		rc_.max_append_entries = cfg->max_append_entries;
	if (cfg->max_inflight)
		rc_.max_inflight = cfg->max_inflight;
	/* A snapshot serialises the whole state and costs three fsyncs: far apart by default,
	 * so that it does not dominate the write path (the simulator uses the core's default). */
	rc_.snapshot_every = cfg->snapshot_every ? cfg->snapshot_every : SERVER_SNAPSHOT_EVERY;
	s->boot_nonce = (uint64_t)clock_wall_ns() ^ ((uint64_t)(cfg->self + 1) << 56) ^
			((uint64_t)getpid() << 32);
	rc_.seed = s->boot_nonce;
	rc_.crash = core_crash;
	rc_.log = core_log;
	log_set_term(st.term);
	rc = raft_create(&rc_, &ps, now_ms(), &s->raft, err, errlen);
	log_event(LOG_INFO, "node-started",
		  "data=%s entries=%zu snapshot_index=%" PRIu64 " vote=%s torn_tail=%d",
		  cfg->data_dir, st.n_entries, ps.snapshot.index,
		  st.vote ? node_name(s, (raft_id)st.vote) : "-", st.torn_tail);
	free(ents);
	storage_state_free(&st);
	if (rc)
		err_prefix(err, errlen, "start the consensus core");
	return rc;
}

int server_run(const struct server_config *cfg, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	s->cfg = cfg;
	s->max_clients = cfg->max_clients ? cfg->max_clients : SERVER_MAX_CLIENTS;
	if (s->max_clients > 65535)
		s->max_clients = 65535;
	s->clients = calloc(s->max_clients, sizeof *s->clients);
	s->kicks = calloc(s->max_clients, sizeof *s->kicks);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->client_l.fd = s->peer_l.fd = -1;
	int rc = 0;
	if (!s->clients || !s->kicks || s->ep < 0) {
		rc = err_set(err, errlen, SB_EIO, "set up the event loop: %s", strerror(errno));
		goto out;
	}
	snprintf(s->client_addr, sizeof s->client_addr,
		 strchr(cfg->client_host, ':') ? "[%s]:%s" : "%s:%s", cfg->client_host, cfg->client_port);

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Everything that can be checked is checked before the disk is touched: addresses, ports,
	 * then whether the data directory can take a persist at all. */
	const struct server_node *me = &cfg->nodes[cfg->self];
	if ((rc = resolve_nodes(s, err, errlen)) ||
	    (rc = listen_on(s, &s->peer_l, K_PEER_LISTEN, me->host, me->port, err, errlen)) ||
	    (rc = listen_on(s, &s->client_l, K_CLIENT_LISTEN, cfg->client_host, cfg->client_port,
			    err, errlen)) ||
	    (rc = storage_probe_dir(cfg->data_dir, NULL, err, errlen)) ||
	    (rc = start_core(s, err, errlen)))
		goto out;
	log_event(LOG_INFO, "listening", "peer=%s:%s client=%s", me->host, me->port, s->client_addr);

	for (size_t i = 0; i < cfg->n_nodes; i++) {
		struct peer *p = &s->peers[i];
		p->kind = K_PEER_OUT;
		p->id = (raft_id)(i + 1);
		p->fd = -1;
		p->backoff = BACKOFF_MIN_MS;
		p->next_attempt = 0;
	}

	struct epoll_event evs[256];
	while (!stop_requested && !s->fatal) {
		uint64_t now = now_ms();
		for (size_t i = 0; i < cfg->n_nodes; i++) {
			struct peer *p = &s->peers[i];
			if (i != cfg->self && p->fd >= 0 && !p->connected &&
			    now - p->dialled_at >= PEER_STALL_MS)
				peer_close(s, p, "dial unanswered");
			if (i != cfg->self && p->fd < 0 && now >= p->next_attempt)
				peer_dial(s, p);
		}
		if (raft_tick(s->raft, now) == SB_ENOMEM) {
			set_fatal(s, "raft_tick", "out of memory");
			break;
		}
		if (process_ready(s))
			break;
		expire_requests(s, now);
		expire_pins(s, now);

		uint64_t deadline = raft_next_deadline(s->raft);
		for (size_t i = 0; i < cfg->n_nodes; i++)
			if (i != cfg->self && s->peers[i].fd < 0 && s->peers[i].next_attempt < deadline)
				deadline = s->peers[i].next_attempt;
		now = now_ms();
		int timeout = deadline <= now ? 0 : (int)(deadline - now > 100 ? 100 : deadline - now);
		int n = epoll_wait(s->ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR) {
			rc = err_set(err, errlen, SB_EIO, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < n && !s->fatal; i++) {
			void *ptr = evs[i].data.ptr;
			int kind = *(int *)ptr;
			switch (kind) {
			case K_CLIENT_LISTEN:
				client_accept(s);
				break;
			case K_PEER_LISTEN:
				peer_accept(s);
				break;
			case K_PEER_OUT:
				peer_event(s, ptr, evs[i].events);
				break;
			case K_PEER_IN:
				for (size_t j = 0; j < MAX_PEER_IN; j++)
					if (s->pins[j] == ptr) {
						pin_event(s, j);
						break;
					}
				break;
			case K_DEAD: /* closed earlier in this batch */
				break;
			case K_CLIENT: {
				struct client *c = ptr;
				if (evs[i].events & EPOLLIN)
					client_read(s, c);
				else if (evs[i].events & (EPOLLHUP | EPOLLERR))
					client_close(s, c);
				else if (evs[i].events & EPOLLOUT)
					client_flush(s, c);
				else if (evs[i].events & EPOLLRDHUP && !c->out.len)
					client_close(s, c);
				break;
			}
			}
		}
		free_dead_clients(s);
		if (s->fatal)
			break;
		if (process_ready(s))
			break;
		free_dead_clients(s);
	}
	if (s->fatal) {
		rc = err_set(err, errlen, SB_EIO, "%s", s->fatal_msg);
		goto out;
	}
	log_event(LOG_INFO, "shutdown", "signal=%d", (int)stop_requested);
out:
	if (s->raft)
		raft_destroy(s->raft);
	storage_close(s->st);
	for (size_t i = 0; s->clients && i < s->max_clients; i++)
		if (s->clients[i])
			client_close(s, s->clients[i]);
	free_dead_clients(s);
	for (size_t i = 0; i < MAX_PEER_IN; i++)
		if (s->pins[i])
			pin_close(s, i, NULL);
	for (size_t i = 0; i < cfg->n_nodes; i++) {
		if (s->peers[i].fd >= 0)
			close(s->peers[i].fd);
		wire_buf_free(&s->peers[i].out);
	}
	if (s->client_l.fd >= 0)
		close(s->client_l.fd);
	if (s->peer_l.fd >= 0)
		close(s->peer_l.fd);
	if (s->ep >= 0)
		close(s->ep);
	free(s->clients);
	free(s->kicks);
	free(s->sbuf);
	free(s);
	return rc;
}
