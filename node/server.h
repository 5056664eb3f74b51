/* server — raftnode's I/O shell: one single-threaded epoll loop around the Raft core.
 *
 * It owns the sockets (a client listener speaking RESP2, a peer listener, one outgoing TCP
 * connection per peer that is re-dialled with exponential backoff), the storage, the timer
 * that ticks the core, and the persistence discipline of raft.h's loop: everything a ready
 * asks to persist is written and fsynced before its messages and replies leave. All the client
 * requests and peer messages that arrive in one loop iteration share one ready and therefore
 * one fsync (group commit).
 *
 * Each TCP connection to a peer carries traffic in one direction: a node sends on the
 * connection it dialled (from its own --peers address) and receives on the ones it accepted.
 * The first frame on a dialled connection is a hello with the sender's id, client address and
 * the cluster token, so that followers can redirect clients to the leader (-NOTLEADER n2
 * host:port). An accepted connection gets nothing through before a hello, which must come
 * within PEER_HELLO_TIMEOUT_MS, carry this node's token and come from the claimed node's
 * --peers address; then every message's sender must be the hello's. Frames are bounded per
 * kind before they are buffered, and so are all incoming buffers together (server.c). This
 * keeps clusters and stray traffic apart; it is not cryptography: peers must be on a trusted
 * network.
 *
 * A client connection has at most one request in the core at a time (replies stay in order);
 * further pipelined requests wait in the socket until the reply is out. A connection holding an
 * incomplete request for SERVER_PARTIAL_TIMEOUT_MS is closed, and when all client slots are
 * taken a new connection takes the slot of the one idle the longest (if idle for at least
 * SERVER_IDLE_EVICT_MS), so that stalled clients cannot lock the others out.
 */
#ifndef NODE_SERVER_H
#define NODE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "node/raft.h"

#define SERVER_MAX_CLIENTS 1024
#define SERVER_REQUEST_TIMEOUT_MS 5000 /* a request in the core: -TIMEOUT after this */
#define SERVER_PARTIAL_TIMEOUT_MS 5000 /* an incomplete request: the connection is closed */
#define SERVER_IDLE_EVICT_MS 1000      /* idle this long: may give its slot to a newcomer */
#define SERVER_SNAPSHOT_EVERY 65536 /* applied entries between snapshots, unless configured */

struct server_node {
	char name[64];  /* "n1" */
	char host[256]; /* peer address */
	char port[16];
};

struct server_config {
	size_t self;     /* index into nodes[] (raft id = index + 1) */
	size_t n_nodes;
	struct server_node nodes[RAFT_MAX_NODES];
	char client_host[256], client_port[16];
	const char *data_dir;
	uint32_t election_min_ms, election_max_ms, heartbeat_ms;
	int fault_injection;
	unsigned bugs;
	size_t max_clients; /* 0: SERVER_MAX_CLIENTS */
	const char *cluster_token; /* NULL or "": the empty token; must match the peers' */
	uint64_t snapshot_every; /* 0: SERVER_SNAPSHOT_EVERY */
	size_t max_append_entries; /* entries per AppendEntries; 0: the core's default (256) */
	size_t max_inflight;       /* AppendEntries ahead of a follower's answers; 0: default (8) */
};

/* Run the node until SIGTERM or SIGINT (returns 0 after a clean shutdown) or a fatal error
 * (storage failure, corrupt data directory, a port that cannot be bound: SB_EIO with a
 * message; SB_ENOMEM). Installs its own SIGTERM/SIGINT handlers and ignores SIGPIPE. */
int server_run(const struct server_config *cfg, char *err, size_t errlen);

#endif
