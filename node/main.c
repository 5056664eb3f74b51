/* raftnode — the reference Raft key-value store (docs/node-protocol.md): argument parsing and
 * start-up. The work happens in node/server.c (I/O shell) around node/raft.c (consensus core). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "node/crash.h"
#include "node/log.h"
#include "node/raft.h"
#include "node/server.h"
#include "node/wire.h"

static void print_point(const struct crash_info *ci, void *arg)
{
	fprintf(arg, "  %-38s %s\n", ci->name, ci->what);
}

/* The core's crash points, registered with the shell's (names borrowed from raft.c). */
static struct crash_info core_points[RAFT_CRASH_POINT_COUNT];

static void register_core_points(void)
{
	for (size_t i = 0; i < RAFT_CRASH_POINT_COUNT; i++) {
		core_points[i].name = raft_crash_points[i];
		core_points[i].what = raft_crash_point_help[i];
	}
	crash_register(core_points, RAFT_CRASH_POINT_COUNT);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: raftnode --id NAME --peers NAME=HOST:PORT,... --client HOST:PORT --data DIR\n"
		"                [--election-timeout MIN-MAX] [--heartbeat MS] [--snapshot-every N]\n"
		"                [--max-append-entries N] [--max-inflight N] [--max-clients N] [--cluster-token STRING]\n"
		"                [--fault-injection] [--bug NAME]... [--log FILE] [--debug]\n"
		"\n"
		"A Raft replicated key-value store speaking RESP2 to clients (redis-cli works).\n"
		"\n"
		"  --id NAME               this node's name; must be one of --peers\n"
		"  --peers LIST            every voter as NAME=HOST:PORT (the peer port), comma-separated\n"
		"  --client HOST:PORT      where clients connect (RESP2)\n"
		"  --data DIR              durable state: term/vote record, log segments, snapshot\n"
		"  --election-timeout A-B  randomized election timeout in ms (default 150-300)\n"
		"  --heartbeat MS          leader heartbeat interval in ms (default 50)\n"
		"  --snapshot-every N      snapshot the state machine every N applied entries (65536)\n"
		"  --max-append-entries N  entries per AppendEntries message, 1 to 4096 (default 256)\n"
		"  --max-inflight N        AppendEntries sent to a follower ahead of its answers, 1 to 64\n"
		"                          (default 8)\n"
		"  --max-clients N         client connections at once (default 1024, at most 65535)\n"
		"  --cluster-token STRING  peers accept each other's hello only with the same token\n"
		"                          (default empty); keeps clusters apart, it is not a secret:\n"
		"                          peers must be on a trusted network\n"
		"  --fault-injection       accept DEBUG CRASHPOINT <name> [hit] | DEBUG CRASHPOINT CLEAR\n"
		"  --bug NAME              re-introduce a known consensus bug (repeatable)\n"
		"  --log FILE              append log lines to FILE instead of stderr\n"
		"  --debug                 also log debug lines\n"
		"\n"
		"Commands: GET k, SET k v, CAS k old new, DEL k, RPUSH k v, LRANGE k 0 -1, PING, INFO,\n"
		"DEBUG CRASHPOINT, DEBUG DIGEST (applied index and a digest of the state machine).\n"
		"A follower answers -NOTLEADER <id> <host:port> (or -NOTLEADER ?);\n"
		"-TIMEOUT means the outcome is unknown.\n"
		"\ncrash points (the process _exits with status %d after logging event=crashpoint-hit):\n",
		CRASH_EXIT_CODE);
	crash_foreach(print_point, f);
	fprintf(f, "\nbugs (--bug):\n");
	for (unsigned b = 0; b < RAFT_BUG_COUNT; b++) {
		const char *n = raft_bug_name(1u << b);
		const char *d = raft_bug_describe(1u << b);
		fprintf(f, "  %-20s %s\n", n ? n : "?", d ? d : "");
	}
	fprintf(f, "\nexit codes: 0 clean shutdown (SIGTERM), 254 bad arguments, 255 fatal error\n");
}

static int bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "raftnode: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n(see raftnode --help)\n");
	return SB_EXIT_BADINPUT;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 1000000 || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Split "host:port" (or "[v6]:port") into its parts. */
static int split_addr(const char *a, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon;
	if (a[0] == '[') {
		const char *rb = strchr(a, ']');
		if (!rb || rb[1] != ':')
			return -1;
		if ((size_t)(rb - a - 1) >= hl)
			return -1;
		memcpy(host, a + 1, (size_t)(rb - a - 1));
		host[rb - a - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(a, ':');
		if (!colon || (size_t)(colon - a) >= hl)
			return -1;
		memcpy(host, a, (size_t)(colon - a));
		host[colon - a] = '\0';
	}
	uint32_t p;
	if (parse_u32(colon + 1, &p) || p > 65535 || strlen(colon + 1) >= pl)
		return -1;
	snprintf(port, pl, "%s", colon + 1);
	return 0;
}

static int parse_peers(const char *list, struct server_config *cfg)
{
	char *copy = strdup(list);
	if (!copy)
		return bad("out of memory%s%s", "", "");
	int rc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok) {
			rc = bad("--peers: '%s' is not NAME=HOST:PORT%s", tok, "");
			break;
		}
		*eq = '\0';
		if (cfg->n_nodes == RAFT_MAX_NODES) {
			rc = bad("--peers: more than %s nodes%s", "16", "");
			break;
		}
		struct server_node *n = &cfg->nodes[cfg->n_nodes];
		if (strlen(tok) >= sizeof n->name || strspn(tok, "abcdefghijklmnopqrstuvwxyz"
								  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(tok)) {
			rc = bad("--peers: bad node name '%s' (letters, digits, _ . - only)%s", tok, "");
			break;
		}
		for (size_t i = 0; i < cfg->n_nodes; i++)
			if (!strcmp(cfg->nodes[i].name, tok)) {
				rc = bad("--peers: node '%s' listed twice%s", tok, "");
				goto out;
			}
		snprintf(n->name, sizeof n->name, "%s", tok);
		if (split_addr(eq + 1, n->host, sizeof n->host, n->port, sizeof n->port)) {
			rc = bad("--peers: bad address '%s' for node %s (want HOST:PORT)", eq + 1, tok);
			break;
		}
		cfg->n_nodes++;
	}
out:
	free(copy);
	if (!rc && cfg->n_nodes == 0)
		rc = bad("--peers: no nodes given%s%s", "", "");
	return rc;
}

int main(int argc, char **argv)
{
	register_core_points();
	struct server_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.election_min_ms = 150;
	cfg.election_max_ms = 300;
	cfg.heartbeat_ms = 50;
	const char *id = NULL, *peers = NULL, *client = NULL, *logfile = NULL;
	int debug = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--fault-injection")) {
			cfg.fault_injection = 1;
			continue;
		}
		if (!strcmp(a, "--debug")) {
			debug = 1;
			continue;
		}
		int known = !strcmp(a, "--id") || !strcmp(a, "--peers") || !strcmp(a, "--client") ||
			    !strcmp(a, "--data") || !strcmp(a, "--election-timeout") ||
			    !strcmp(a, "--heartbeat") || !strcmp(a, "--bug") || !strcmp(a, "--log") ||
			    !strcmp(a, "--snapshot-every") || !strcmp(a, "--max-clients") ||
			    !strcmp(a, "--max-append-entries") || !strcmp(a, "--max-inflight") ||
			    !strcmp(a, "--cluster-token");
		if (!known)
			return bad("unknown argument '%s'%s", a, "");
		if (i + 1 >= argc)
			return bad("%s needs a value%s", a, "");
		const char *v = argv[++i];
		if (!strcmp(a, "--id"))
			id = v;
		else if (!strcmp(a, "--peers"))
			peers = v;
		else if (!strcmp(a, "--client"))
			client = v;
		else if (!strcmp(a, "--data"))
			cfg.data_dir = v;
		else if (!strcmp(a, "--log"))
			logfile = v;
		else if (!strcmp(a, "--election-timeout")) {
			char lo[16], *dash = strchr(v, '-');
			if (!dash || (size_t)(dash - v) >= sizeof lo)
				return bad("--election-timeout: '%s' is not MIN-MAX in ms%s", v, "");
			memcpy(lo, v, (size_t)(dash - v));
			lo[dash - v] = '\0';
			if (parse_u32(lo, &cfg.election_min_ms) || parse_u32(dash + 1, &cfg.election_max_ms) ||
			    cfg.election_max_ms <= cfg.election_min_ms)
				return bad("--election-timeout: '%s' is not MIN-MAX with 0 < MIN < MAX (ms)%s", v, "");
		} else if (!strcmp(a, "--heartbeat")) {
			if (parse_u32(v, &cfg.heartbeat_ms))
				return bad("--heartbeat: '%s' is not a positive number of ms%s", v, "");
		} else if (!strcmp(a, "--snapshot-every")) {
			uint32_t n;
			if (parse_u32(v, &n))
				return bad("--snapshot-every: '%s' is not a positive count%s", v, "");
			cfg.snapshot_every = n;
		} else if (!strcmp(a, "--max-append-entries")) {
			uint32_t n;
			if (parse_u32(v, &n) || n > RAFT_MAX_MSG_ENTRIES)
				return bad("--max-append-entries: '%s' is not a count from 1 to 4096%s", v, "");
			cfg.max_append_entries = n;
		} else if (!strcmp(a, "--max-inflight")) {
			uint32_t n;
			if (parse_u32(v, &n) || n > 64)
				return bad("--max-inflight: '%s' is not a count from 1 to 64%s", v, "");
			cfg.max_inflight = n;
		} else if (!strcmp(a, "--max-clients")) {
			uint32_t n;
			if (parse_u32(v, &n) || n > 65535)
				return bad("--max-clients: '%s' is not a count from 1 to 65535%s", v, "");
			cfg.max_clients = n;
		} else if (!strcmp(a, "--cluster-token")) {
			size_t n = strlen(v);
			if (n >= WIRE_MAX_TOKEN)
				return bad("--cluster-token: longer than %s bytes%s", "255", "");
			for (size_t k = 0; k < n; k++)
				if (v[k] < 0x21 || v[k] > 0x7e)
					return bad("--cluster-token: '%s' has a space or a non-printable byte%s",
						   v, "");
			cfg.cluster_token = v;
		} else if (!strcmp(a, "--bug")) {
			unsigned bit;
			char err[512];
			if (raft_bug_parse(v, &bit, err, sizeof err))
				return bad("--bug: %s%s", err, "");
			cfg.bugs |= bit;
		}
	}
	if (!id)
		return bad("--id is required%s%s", "", "");
	if (!peers)
		return bad("--peers is required%s%s", "", "");
	if (!client)
		return bad("--client is required%s%s", "", "");
	if (!cfg.data_dir || !cfg.data_dir[0])
		return bad("--data is required%s%s", "", "");
	int rc = parse_peers(peers, &cfg);
	if (rc)
		return rc;
	size_t self = cfg.n_nodes;
	for (size_t i = 0; i < cfg.n_nodes; i++)
		if (!strcmp(cfg.nodes[i].name, id))
			self = i;
	if (self == cfg.n_nodes)
		return bad("--id %s is not one of the nodes in --peers%s", id, "");
	cfg.self = self;
	if (split_addr(client, cfg.client_host, sizeof cfg.client_host, cfg.client_port,
		       sizeof cfg.client_port))
		return bad("--client: '%s' is not HOST:PORT%s", client, "");
	if (cfg.heartbeat_ms >= cfg.election_min_ms)
		return bad("--heartbeat must be shorter than the minimum election timeout%s%s", "", "");

	char err[1024];
	log_set_node(id);
	log_set_level(debug ? LOG_DEBUG : LOG_INFO);
	if (logfile && log_open(logfile, err, sizeof err)) {
		fprintf(stderr, "raftnode: %s\n", err);
		return SB_EXIT_BADINPUT;
	}
	rc = server_run(&cfg, err, sizeof err);
	if (rc) {
		log_event(LOG_ERROR, "fatal", "msg=\"%s\"", err);
		if (logfile)
			fprintf(stderr, "raftnode: %s\n", err);
		log_close();
		return rc == SB_EINVAL ? SB_EXIT_BADINPUT : SB_EXIT_INTERNAL;
	}
	log_close();
	return 0;
}
