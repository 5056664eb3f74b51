/* db — the system under test on its hosts: a small vtable (STYLE.md: backends behind a
 * vtable, like Jepsen's DB protocol) and the generic operations built on it.
 *
 * A `struct db` is one cluster: n nodes, one per host of a nodes file, each with its control
 * connection (control.h). The target system is a `struct db_ops`, one file per kind and one
 * row in db_kinds: raftnode (db/raftnode.c), etcd (db/etcd.c), redis-sentinel
 * (db/redis_sentinel.c). A new system is a new file and a new row (README: "Testing a system
 * of your own"), plus a client adapter (client.h) and a row in spec's db-kind table.
 *
 * Per-node operations take the node's index. db_each() runs one of them on a set of nodes in
 * parallel (one thread per node) and reports every node that failed. Leader discovery asks
 * every node's status (the node's own view: role, term, leader) and accepts a leader only if
 * a majority of the cluster names it at the highest term seen; otherwise, once the time is
 * up, it falls back to the nodes' logs (the latest `became-leader` line with the highest
 * term, logscan.h) and says so.
 *
 * Errors follow lib/err.h; messages name the node ("node n2: ...", or the control layer's
 * "host n2 (10.0.0.2:22): ..."). A connection failure is SB_EIO (exit 255).
 *
 * Threads: a struct db may be used by one thread at a time; db_each and db_leader use one
 * thread per node internally, each touching only its node's control.
 */
#ifndef SB_DB_H
#define SB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/control/control.h"

#define DB_MAX_NODES 64
#define DB_ROLE_MAX 16
#define DB_DIGEST_MAX 64 /* db_ops.digest's token, NUL included */
#define DB_BASE_DIR_DEFAULT "/var/lib/splitbrain" /* db_opts.base_dir when none is given */
#define DB_TOKEN_MAX 264 /* room for the runner's "<test name>-<start time>" */

/* Where a node lives and how it is reached. Filled by db_open from the hosts and options. */
struct db_node {
	char name[CONTROL_NAME_MAX];             /* == the host's name, and the node's --id */
	char listen_host[CONTROL_ADDR_MAX];      /* address the node binds (the host's address) */
	int client_port;                         /* RESP client port */
	int peer_port;                           /* Raft peer port */
	char dir[CONTROL_PATH_MAX];              /* remote per-node directory */
	char dc[CONTROL_NAME_MAX];               /* the host's datacenter label (control_host.dc),
	                                            "" if none: the cut-dc/cut-link faults use it */
};

/* Options for db_open. Zero values mean the defaults given. Strings are copied. */
struct db_opts {
	const char *kind;        /* "raftnode" (default) */
	const char *binary;      /* local path of the binary to install (install only) */
	const char *base_dir;    /* remote base directory; default DB_BASE_DIR_DEFAULT */
	const char *run_id;      /* subdirectory of base_dir for this lab or run: nodes live in
	                            <base_dir>/<run_id>/<node>/; default "default". Must be unique
	                            per lab: the lab's hosts share one filesystem. */
	int client_port;         /* default 7001 */
	int peer_port;           /* default 7000 */
	const char *const *args; /* extra arguments for the node (NULL-terminated). NULL means
	                            "as recorded": install and start reuse the command line a
	                            node was last installed or started with (its config file),
	                            or none if there is no record yet. */
	int ready_timeout_ms;    /* start: wait until the client port answers; default 10000 */
	int op_timeout_ms;       /* each remote command; default 20000 */
	const char *cluster_token; /* a string unique to this cluster and run (the runner: the
	                            test's name and start time), so that its members never join
	                            another cluster's on the same hosts: etcd's
	                            --initial-cluster-token; default "splitbrain-<run_id>".
	                            [A-Za-z0-9_.-], at most DB_TOKEN_MAX - 1 characters. */
	bool faketime;           /* start nodes under libfaketime (LD_PRELOAD) so that the clock
	                            fault (nemesis/clock.c) can skew their wall clock while they
	                            run: each node reads <dir>/faketime.rc, created neutral
	                            ("+0 x1") when missing. The kind's start fails with a clear
	                            message when the host has no libfaketime. Default off. */
};

/* What a node says about itself (db_status). */
struct db_status {
	long pid;                  /* from the pid file; 0 when there is none */
	bool running;              /* the pid file names a live process of ours */
	bool paused;               /* that process is stopped (SIGSTOP) */
	bool up;                   /* the client port answered */
	char role[DB_ROLE_MAX];    /* "leader", "follower", "candidate", ... or "" */
	uint64_t term;
	char leader[CONTROL_NAME_MAX]; /* the leader it knows of, or "" */
	long long commit_index;    /* -1 when unknown */
	char error[256];           /* why the node did not answer, when !up */
};

enum db_leader_source {
	DB_LEADER_NONE = 0, /* no leader found */
	DB_LEADER_INFO,     /* a majority named it at the highest term */
	DB_LEADER_LOG,      /* fallback: the latest became-leader line in the logs */
};

struct db_leader {
	char node[CONTROL_NAME_MAX];
	size_t index;              /* index of the node (valid when source != NONE) */
	uint64_t term;
	enum db_leader_source source;
	size_t votes;              /* nodes that named it (INFO), of n */
};

struct db;

/* The target-system interface. Every per-node function gets the node's index and a
 * caller-owned error buffer; it must touch only that node's control (db_control(db, i)),
 * since db_each calls them from one thread per node. */
struct db_ops {
	const char *kind;
	/* Optional: set up db->impl once db_open has filled the nodes (destroy frees it). */
	int (*init)(struct db *db, char *err, size_t errlen);
	/* Create the node's directory, upload the binary and its config. Idempotent; works while
	 * the node runs (the binary is replaced by rename). */
	int (*install)(struct db *db, size_t i, char *err, size_t errlen);
	/* Start as a daemon; a running node is left alone. Returns once the process exists
	 * (db_start also waits for readiness). */
	int (*start)(struct db *db, size_t i, char *err, size_t errlen);
	/* SIGTERM, wait, then SIGKILL; a node that is not running is fine. */
	int (*stop)(struct db *db, size_t i, char *err, size_t errlen);
	int (*kill)(struct db *db, size_t i, char *err, size_t errlen);   /* SIGKILL */
	int (*pause)(struct db *db, size_t i, char *err, size_t errlen);  /* SIGSTOP */
	int (*resume)(struct db *db, size_t i, char *err, size_t errlen); /* SIGCONT */
	/* Kill the node and remove its directory (data, logs, binary). */
	int (*wipe)(struct db *db, size_t i, char *err, size_t errlen);
	/* Fill *st; a node that does not answer is not an error (st->up false, st->error). */
	int (*status)(struct db *db, size_t i, struct db_status *st, char *err, size_t errlen);
	/* Ask the node only (no control connection): fill up, role, term, leader, commit_index
	 * and, when it does not answer, error. Used to poll for the leader cheaply. */
	void (*info)(struct db *db, size_t i, struct db_status *st);
	/* Optional: a system's own leader query. NULL: db_leader's generic discovery over
	 * info (majority at the highest term, then the logs). */
	int (*leader)(struct db *db, int timeout_ms, struct db_leader *out, char *err,
		      size_t errlen);
	/* Does the client port answer now? 0 yes, SB_EIO/SB_ETIMEOUT no (message says why). */
	int (*ping)(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen);
	/* Remote paths of the node's log files (at most max, written into paths). */
	size_t (*log_files)(struct db *db, size_t i, char (*paths)[CONTROL_PATH_MAX], size_t max);
	/* Download the node's logs and a listing of its data directory into local_dir. */
	int (*collect)(struct db *db, size_t i, const char *local_dir, char *err, size_t errlen);
	void (*destroy)(struct db *db);
	/* Optional: a PCRE2 regex that matches a log line announcing that a node became leader,
	 * with the named groups `node` (its name, as in the nodes file) and `term` (decimal
	 * digits). The election-safety check (harness/check/election.h) reads every collected
	 * log file (log_files) with it: two nodes that became leader in one term make a run
	 * invalid. NULL: the check is skipped, and results.json says so.
	 * Systems that do not log names or terms: `node` may be another identifier unique to a
	 * node (etcd logs its member ID in hex: the check only compares them); a pattern without
	 * a `term` group (Redis: Sentinel's "+switch-master ... NEWIP NEWPORT" and a server's
	 * "MASTER MODE enabled" carry no epoch; `node` is then the new master's "ip port", or
	 * unset for the node whose log it is) still shows role changes to a reader, and the
	 * election-safety check skips it saying it lacks the group. */
	const char *leader_pattern;
	/* Optional: a PCRE2 regex that matches a log line in which a node reports that a safety
	 * property broke (it was sent an entry other than the one it committed at that index,
	 * a commit index beyond its log). Every matching line of a collected log makes the run
	 * invalid (harness/check/nodesafety.h). NULL: the check is skipped, and results.json says
	 * so. */
	const char *safety_pattern;
	/* Optional: the node's applied index and a digest of its state machine, asking the node
	 * only (no control connection), like info. Replicas that applied the same entries must
	 * give equal digests (harness/check/agreement.h compares them once the cluster is quiet).
	 * `digest` gets a printable token of at most DB_DIGEST_MAX - 1 bytes. NULL: the replica
	 * agreement check is skipped, and results.json says so. A node that does not answer is
	 * SB_EIO / SB_ETIMEOUT with the reason. */
	int (*digest)(struct db *db, size_t i, uint64_t *applied, char *digest, size_t digestlen,
		      char *err, size_t errlen);
};

struct db {
	const struct db_ops *ops;
	struct control_pool pool; /* one control per node, same order as nodes */
	struct db_node *nodes;    /* n entries */
	size_t n;
	/* copies of the options */
	char kind[32];
	char binary[CONTROL_PATH_MAX];
	char base_dir[CONTROL_PATH_MAX];
	char run_id[CONTROL_NAME_MAX];
	char **args;              /* NULL-terminated (empty when not given) */
	bool args_given;          /* opts.args was not NULL */
	int ready_timeout_ms;
	int op_timeout_ms;
	bool faketime;            /* opts.faketime */
	char cluster_token[DB_TOKEN_MAX]; /* opts.cluster_token or its default */
	void *impl;               /* the kind's own state */
};

/* Build a db for hosts[0..n) (copied). Checks the options (kind, paths, ports, names) and
 * computes each node's directory and ports: when several hosts share one address (the local
 * backend, or hosts behind one IP) each node gets client_port + index and peer_port + index
 * so they do not collide (with neither port given: 7001 + index and 7101 + index). Does not connect. Caller frees with db_close. */
int db_open(struct db **out, const struct control_host *hosts, size_t n,
	    const struct db_opts *opts, char *err, size_t errlen);
void db_close(struct db *db); /* NULL is fine */

/* Index of the node named `name`, or -1. */
int db_find(const struct db *db, const char *name);

/* The node's control (borrowed). */
struct control *db_control(struct db *db, size_t i);

/* "host:port" the controller uses for the node's client port. */
void db_client_addr(const struct db *db, size_t i, char *out, size_t outlen);

/* The per-node operations, run in parallel on the nodes where sel[i] is true (sel == NULL:
 * all nodes). rcs (n ints, may be NULL) gets each node's result. Returns 0 if all succeeded,
 * else the first failing node's code and a message naming every failing node. */
enum db_op {
	DB_OP_INSTALL,
	DB_OP_START,   /* start, then wait until ready */
	DB_OP_STOP,
	DB_OP_KILL,
	DB_OP_PAUSE,
	DB_OP_RESUME,
	DB_OP_RESTART, /* stop, then start and wait until ready; data kept */
	DB_OP_WIPE,
};
const char *db_op_name(enum db_op op);
int db_each(struct db *db, enum db_op op, const bool *sel, int *rcs, char *err, size_t errlen);

/* One node, in the calling thread. */
int db_do(struct db *db, enum db_op op, size_t i, char *err, size_t errlen);

/* Poll the node's client port until it answers or timeout_ms passes (SB_ETIMEOUT, with the
 * last reason). */
int db_wait_ready(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen);

/* Status of every node, in parallel; st has n entries. Fails only on a connection-level
 * failure to a host (message names it); st[i] is filled for every reachable node, and an
 * unreachable one has the reason in st[i].error. */
int db_status_all(struct db *db, struct db_status *st, char *err, size_t errlen);

/* INFO of every node, in parallel, without the control connections (st has n entries;
 * running/pid are left false/0). Never fails: unanswered nodes have up == false. */
void db_info_all(struct db *db, struct db_status *st);

/* Pure: pick the leader from the nodes' statuses: the highest term at which some node calls
 * itself leader and more than n/2 nodes (of n, answering or not) name that node as leader at
 * that term. Returns 1 and fills *out (source DB_LEADER_INFO) or returns 0. */
int db_leader_decide(const struct db *db, const struct db_status *st, size_t n,
		     struct db_leader *out);

/* Find the leader (ops->leader if the kind has one, else): poll every node's info until
 * db_leader_decide agrees or timeout_ms passes; then fall back to the logs (DB_LEADER_LOG). Returns 0 with out->source NONE when neither
 * finds one; < 0 only on a connection failure or a local error. */
int db_leader(struct db *db, int timeout_ms, struct db_leader *out, char *err, size_t errlen);

/* Fallback alone: download every node's logs into a temporary directory and return the
 * latest became-leader line's node (source DB_LEADER_LOG or NONE). */
int db_leader_from_logs(struct db *db, struct db_leader *out, char *err, size_t errlen);

/* Collect every selected node's logs and listing into <store_dir>/<node>/ in parallel. */
int db_collect(struct db *db, const bool *sel, const char *store_dir, char *err, size_t errlen);

/* The default run id (db_opts.run_id) of a cluster given as `--nodes ARG` / `nodes: ARG`:
 * "lab-<tag>" for the lab (its hosts share this machine's filesystem, so each lab has its own
 * directory, which `lab down` removes), "nodes-<hash of the nodes file's path>" otherwise. */
int db_default_run_id(const char *nodes_arg, const char *nodes_path, char *out, size_t outlen,
		      char *err, size_t errlen);

/* Before installing on a cluster given as `--nodes ARG` (nodes_path: the file it resolved
 * to): when it is a lab (ARG "lab", or a lab's own nodes file), record db's run directory
 * (<base_dir>/<run_id>) with the lab (lab_record_run), so that `lab down` removes its node
 * directories whatever the run id; other clusters: nothing to do. */
int db_record_lab_run(const struct db *db, const char *nodes_arg, const char *nodes_path,
		      char *err, size_t errlen);

/* The kinds known to db_open, one row each; NULL-terminated. */
extern const struct db_ops *const db_kinds[];

/* The kind named `kind`, or NULL. */
const struct db_ops *db_kind_find(const char *kind);

/* "raftnode, etcd, redis-sentinel", for messages. */
const char *db_kind_names(void);

extern const struct db_ops db_raftnode_ops;
extern const struct db_ops db_etcd_ops;
extern const struct db_ops db_redis_sentinel_ops;

#endif
