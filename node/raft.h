/* raft — the pure Raft consensus core of raftnode (docs/node-protocol.md, STYLE.md "pure core").
 *
 * Events in, actions out. The core makes no syscalls, reads no clock and uses no ambient
 * randomness: time comes in with raft_tick(), randomness from a PRNG seeded by the config.
 * The same core runs in raftnode (node/server*: sockets, disk, epoll) and in the deterministic
 * simulator (node/sim.h). Paper references: "Raft" = Ongaro & Ousterhout, In Search of an
 * Understandable Consensus Algorithm (2014); "thesis" = Ongaro, Consensus: Bridging Theory and
 * Practice (2014).
 *
 * The core also owns the replicated state machine (node/raft_kv.h): it applies committed
 * entries itself and hands the shell finished replies (with results) for client requests, so
 * raftnode and the simulator apply entries identically and the "committed and applied but not
 * yet replied" crash point lives in the core.
 *
 * ---------------------------------------------------------------------------------------------
 * THE LOOP (how a shell drives the core; single-threaded, one struct raft per node):
 *
 *   raft_create(cfg, persisted state, now)                       at start / restart
 *   loop:
 *     raft_tick(now) in every iteration, and after handling a batch of events: the core has
 *                  no clock; an election timer reset by an event is dated by the next tick
 *                  (so a tick soon after the events keeps timeouts exact); also call it when
 *                  raft_next_deadline() has passed,
 *     feed events:
 *                  raft_step(msg) for each peer message, raft_propose()/raft_read() for
 *                  client requests, raft_transfer() for a leadership transfer request
 *     if raft_has_ready():
 *       raft_ready(r, &rd)
 *       1. persist, in this order, and make durable (fsync) before step 2:
 *            rd.snapshot (if non-NULL; write temp, fsync, rename),
 *            rd.hs if rd.hs_changed (term + vote in one atomic record),
 *            drop entries with index >= rd.truncate_from (if non-zero),
 *            drop entries with index <= rd.compact_upto (if non-zero; only once the snapshot
 *              covering them is durable — the core only asks for that; this step may also
 *              come after the append),
 *            append rd.entries (contiguous, first one is rd.entries[0].index).
 *          When a snapshot from the leader replaces the log, the ready has snapshot S,
 *          truncate_from = S.index + 1 and compact_upto = S.index: the log is then empty and
 *          continues at S.index + 1 (a storage that discards a log not holding S.index with
 *          S.term when it saves S gets the same result).
 *       2. raft_persisted(r)    — tells the core all of step 1 is durable
 *       3. send rd.msgs (each to msg.to; dropping some is harmless: Raft retries)
 *       4. send rd.replies to the clients that made the requests (by req_id)
 *       5. raft_advance(r)      — releases rd; its pointers become invalid
 *   Between raft_ready() and raft_advance() call nothing else on the core except
 *   raft_persisted() and the read-only accessors. Messages and replies must never be sent
 *   before their ready's persistence is durable (votes and acks depend on it: Raft §5.1,
 *   Figure 2 "Persistent state ... updated on stable storage before responding to RPCs").
 *   Group commit falls out: feed many events, then handle one ready with one fsync.
 *   A crash anywhere loses only what step 1 had not made durable; restart from what was.
 *
 * ---------------------------------------------------------------------------------------------
 * OWNERSHIP: every pointer passed into the core is borrowed for the duration of the call (the
 * core copies what it keeps). Every pointer in a struct raft_ready is owned by the core and
 * valid until raft_advance() (or raft_destroy()).
 *
 * ERRORS: functions return 0 or a negative SB_E* code (lib/err.h). SB_EINVAL: the input was
 * malformed (a hostile or corrupt peer message, a bad config) — the message says what; the
 * core's state is unchanged and the shell may drop the message and go on. SB_ENOMEM: out of
 * memory — the core's state is then unspecified and the shell must stop the node.
 */
#ifndef NODE_RAFT_H
#define NODE_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/raft_kv.h"

typedef uint64_t raft_term;
typedef uint64_t raft_index;
/* Node ids are small positive integers (the position in --peers, 1-based); 0 means "none". */
typedef uint32_t raft_id;

#define RAFT_MAX_NODES 16
/* Upper bounds a wire decoder can enforce before allocating (the core never produces more). */
#define RAFT_MAX_MSG_ENTRIES 4096u
#define RAFT_MAX_ENTRY_BYTES (RAFT_KV_MAX_KEY + 2u * RAFT_KV_MAX_VALUE + 64u)
#define RAFT_MAX_CHUNK_BYTES (1024u * 1024u)
/* Terms above RAFT_MAX_TERM are refused wherever they come in (raft_step, the persisted state):
 * no real cluster gets near 2^63 elections, and the bound keeps `term + 1` from ever wrapping
 * to 0 (a forged term 2^64-1 once did, and left a cluster leaderless for good). A node whose
 * term has reached the bound does not campaign (it logs event=term-exhausted). */
#define RAFT_MAX_TERM ((UINT64_C(1) << 63) - 1)

/* ---------------------------------------------------------------------------------------------
 * Bug switches (--bug NAME). Off by default; each re-introduces one real consensus bug so that
 * the harness and the simulator can prove they detect it. Bitmask values are stable.
 *
 * commit-old-term     RAFT_BUG_COMMIT_OLD_TERM
 *     The leader advances its commit index by counting replicas of ANY entry, also entries of
 *     earlier terms (Raft §5.4.2, Figure 8 — the correct rule only counts current-term ones).
 *     Exposed by a leader that re-replicates an old-term entry to a majority and then crashes
 *     before its own term's entry is stored, after which a server with a different entry at
 *     that index (higher last term, from a minority partition) wins the election and
 *     overwrites the "committed" entry: an applied entry differs between replicas
 *     (State Machine Safety) and an acknowledged write can vanish.
 * ack-before-commit   RAFT_BUG_ACK_BEFORE_COMMIT
 *     The leader replies success to a write as soon as the write is durable in its OWN log,
 *     without waiting for a majority (the reply's result is a guess: SET OK, CAS 1, DEL 1,
 *     RPUSH 0). Exposed by a leader crash (or isolation) right after the reply, before the
 *     entry reaches a majority: the next leader lacks the write, an acknowledged write is lost.
 * stale-read          RAFT_BUG_STALE_READ
 *     A node that believes it is leader answers reads at once from its local state, without a
 *     ReadIndex heartbeat round and without waiting for its term's first commit (thesis §6.4).
 *     Exposed by partitioning a leader away: a new leader accepts writes on the majority side
 *     while the old one still answers reads with old values (and a fresh leader that has not
 *     yet learned the latest commit index answers stale values too).
 * forget-vote         RAFT_BUG_FORGET_VOTE
 *     The vote is not persisted: the hard state handed to the shell always carries vote = 0.
 *     Exposed by crash + restart of a voter within one term: it votes again for another
 *     candidate in the same term, and two leaders are elected in one term (Election Safety).
 * no-log-check        RAFT_BUG_NO_LOG_CHECK
 *     Votes (and pre-votes) are granted without the election restriction (Raft §5.4.1, the
 *     candidate's log must be at least as up-to-date). Exposed by crashing or partitioning a
 *     node, committing writes without it, then letting it campaign: it wins with a stale log,
 *     and its AppendEntries erase committed entries (Leader Completeness, lost writes).
 * no-noop             RAFT_BUG_NO_NOOP
 *     A new leader does not append a no-op entry of its term (Raft §8, thesis §6.4) and serves
 *     ReadIndex reads at its commit index without first committing an entry of its own term.
 *     Exposed by a leader change while a write is committed on the old leader but the new
 *     leader has not yet learned that commit index: a read on the new leader returns the value
 *     from before an acknowledged write (stale read). Earlier-term entries also stay
 *     uncommitted until the next client write.
 * --------------------------------------------------------------------------------------------- */
enum {
	RAFT_BUG_COMMIT_OLD_TERM = 1u << 0,
	RAFT_BUG_ACK_BEFORE_COMMIT = 1u << 1,
	RAFT_BUG_STALE_READ = 1u << 2,
	RAFT_BUG_FORGET_VOTE = 1u << 3,
	RAFT_BUG_NO_LOG_CHECK = 1u << 4,
	RAFT_BUG_NO_NOOP = 1u << 5,
};
#define RAFT_BUG_COUNT 6

/* Name of one bug bit ("commit-old-term", ...), or NULL if bit is not exactly one known bug. */
const char *raft_bug_name(unsigned bit);
/* One-line description of a bug bit, for --help; NULL if unknown. */
const char *raft_bug_describe(unsigned bit);
/* Parse a bug name into its bit. SB_EINVAL (message lists the known names) if unknown. */
int raft_bug_parse(const char *name, unsigned *bit, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------------
 * Crash points inside the core. The core calls cfg.crash(cfg.crash_ctx, name) at these moments;
 * raftnode _exit()s there when the point is armed (DEBUG CRASHPOINT), the simulator turns the
 * call into a crash of that node (everything not yet durable is lost, no message or reply of
 * the current ready is sent). If the hook returns, the core simply continues. Names are stable.
 *
 * "leader-before-append"
 *     A client write reached the leader (raft_propose), before it is appended to the log.
 *     The write is certainly lost; the client gets no reply.
 * "leader-after-append"
 *     The leader's log holding a client write is durable (inside raft_persisted), before the
 *     AppendEntries carrying it are sent. Only the dead leader has it.
 * "leader-after-partial-replicate"
 *     The first follower acknowledged storing a client write of the current term while that
 *     does not make a majority of the followers (called inside raft_step before the ack is
 *     counted towards commit). In a 3-node cluster the write is then on 2 of 3 nodes.
 * "leader-after-commit"
 *     A client write is committed and applied on the leader, before the reply is sent
 *     (called at apply time; the reply would have been in the next ready).
 * "vote-before-persist"
 *     A vote was granted in memory (inside raft_step), before the hard state is persisted.
 * "vote-after-persist"
 *     The granted vote is durable (inside raft_persisted), before the vote reply is sent.
 * "vote-after-send"
 *     The ready holding a granted vote reply was sent (inside raft_advance, which the shell
 *     calls after step 3 of THE LOOP), before anything else happens: the candidate may count
 *     the vote while the voter is down. With --bug forget-vote the restarted voter can then
 *     vote again in the same term (the other two vote points die before the vote leaves).
 * --------------------------------------------------------------------------------------------- */
#define RAFT_CRASH_LEADER_BEFORE_APPEND "leader-before-append"
#define RAFT_CRASH_LEADER_AFTER_APPEND "leader-after-append"
#define RAFT_CRASH_LEADER_PARTIAL "leader-after-partial-replicate"
#define RAFT_CRASH_LEADER_AFTER_COMMIT "leader-after-commit"
#define RAFT_CRASH_VOTE_BEFORE_PERSIST "vote-before-persist"
#define RAFT_CRASH_VOTE_AFTER_PERSIST "vote-after-persist"
#define RAFT_CRASH_VOTE_AFTER_SEND "vote-after-send"
#define RAFT_CRASH_LEADER_COMMIT_SENT "leader-after-commit-sent"
#define RAFT_CRASH_POINT_COUNT 8
/* The names above in this order, NULL-terminated; with one-line descriptions for --help. */
extern const char *const raft_crash_points[RAFT_CRASH_POINT_COUNT + 1];
extern const char *const raft_crash_point_help[RAFT_CRASH_POINT_COUNT + 1];

/* ---------------------------------------------------------------------------------------------
 * Configuration. Fill with raft_config_init() (defaults), then set fields. */
struct raft_peer_info {
	raft_id id;    /* 1..RAFT_MAX_NODES, unique */
	int priority;  /* transfer preference: higher wins among up-to-date nodes; default 0 */
};

struct raft_config {
	raft_id self;                          /* must appear in nodes[] */
	size_t n_nodes;                        /* all voters, including self; 1..RAFT_MAX_NODES */
	struct raft_peer_info nodes[RAFT_MAX_NODES];
	uint32_t election_timeout_min_ms;      /* default 150 */
	uint32_t election_timeout_max_ms;      /* default 300; > min */
	uint32_t heartbeat_ms;                 /* default 50; < election_timeout_min_ms */
	bool pre_vote;                         /* default true (thesis §9.6) */
	bool check_quorum;                     /* default true (thesis §6.2) */
	uint64_t snapshot_every;               /* take a snapshot every N applied entries; 0 = never;
					          default 1024. The core owns the state machine, so it
					          serialises it itself and hands the shell the bytes in
					          rd.snapshot (no "snapshot taken" event is needed) */
	uint64_t snapshot_trailing;            /* entries kept in the log behind a snapshot; default 64 */
	size_t snapshot_chunk;                 /* InstallSnapshot chunk size; default 64 KiB,
					          at most RAFT_MAX_CHUNK_BYTES */
	size_t max_append_entries;             /* entries per AppendEntries; default 256 */
	size_t max_append_bytes;               /* payload bytes per AppendEntries; default 1 MiB */
	size_t max_inflight;                   /* pipelined AppendEntries per follower; default 8 */
	unsigned bugs;                         /* RAFT_BUG_* bitmask; default 0 */
	uint64_t seed;                         /* PRNG seed for election timeouts */
	/* Optional hooks (may be NULL). The core calls them synchronously; they must not call
	 * back into the core. */
	void (*crash)(void *ctx, const char *point);
	void *crash_ctx;
	/* One log line per event, without time/level/node prefix, e.g.
	 * "event=became-leader term=4" or "event=vote-granted term=4 candidate=2".
	 * level: 0 debug, 1 info, 2 warn. */
	void (*log)(void *ctx, int level, raft_term term, const char *line);
	void *log_ctx;
};

void raft_config_init(struct raft_config *cfg);
/* Check a config; SB_EINVAL with a message naming the field. raft_create calls it too. */
int raft_config_validate(const struct raft_config *cfg, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------------
 * Log entries, snapshots, hard state. */
enum raft_entry_type {
	RAFT_ENTRY_NOOP = 1, /* appended by a new leader (Raft §8); data empty */
	RAFT_ENTRY_CMD = 2,  /* a client write: data = raft_kv encoded command */
};

struct raft_entry {
	raft_term term;
	raft_index index;
	uint8_t type;        /* enum raft_entry_type */
	uint64_t client_id;  /* dedup key (raft_kv.h); 0 = none */
	uint64_t seq;
	unsigned char *data; /* len bytes; ownership per context (see OWNERSHIP above) */
	size_t len;
};

struct raft_snapshot {
	raft_index index;    /* last index covered; 0 = no snapshot */
	raft_term term;      /* term of that entry */
	unsigned char *data; /* raft_kv_snapshot() bytes */
	size_t len;
};

struct raft_hardstate {
	raft_term term;
	raft_id vote; /* 0 = voted for nobody in term */
};

/* What raft_create starts from: exactly what was durable. All borrowed. */
struct raft_persisted {
	struct raft_hardstate hs;
	struct raft_snapshot snapshot;      /* index 0: none */
	const struct raft_entry *entries;   /* ascending, contiguous indexes */
	size_t n_entries;
	/* Entries at or below snapshot.index are ignored. If the log does not continue the
	 * snapshot (its entry at snapshot.index has another term, or it starts after
	 * snapshot.index + 1) the log is discarded and the node catches up from the leader:
	 * this covers a crash between installing a snapshot and truncating the log. */
};

/* ---------------------------------------------------------------------------------------------
 * Messages between nodes. One flat struct; which fields matter depends on type. The shell's
 * wire codec (node/wire*) must carry every field marked for a type; the simplest codec carries
 * every field for every type (unused ones are zero). */
enum raft_msg_type {
	RAFT_MSG_PREVOTE = 1,      /* term = the term the sender WOULD campaign in (not adopted) */
	RAFT_MSG_PREVOTE_RESP = 2, /* term = the request's term if granted, else responder's term */
	RAFT_MSG_VOTE = 3,
	RAFT_MSG_VOTE_RESP = 4,
	RAFT_MSG_APPEND = 5,       /* AppendEntries; no entries = heartbeat */
	RAFT_MSG_APPEND_RESP = 6,
	RAFT_MSG_SNAPSHOT = 7,     /* InstallSnapshot chunk (Raft §7, Figure 13) */
	RAFT_MSG_SNAPSHOT_RESP = 8,
	RAFT_MSG_TIMEOUT_NOW = 9,  /* leadership transfer: campaign now (thesis §3.10) */
};

struct raft_msg {
	uint8_t type;          /* enum raft_msg_type */
	raft_id from, to;
	raft_term term;        /* all types */

	/* PREVOTE, VOTE: candidate's last log position (election restriction, Raft §5.4.1);
	 * transfer: campaign caused by TimeoutNow, voters disregard their leader lease. */
	raft_index last_log_index;
	raft_term last_log_term;
	bool transfer;

	/* PREVOTE_RESP, VOTE_RESP, APPEND_RESP, SNAPSHOT_RESP: granted / success. */
	bool success;

	/* APPEND: consistency check position, leader's commit index, entries (each with its own
	 * index = prev_index + 1 + i, and term). APPEND_RESP echoes ctx. */
	raft_index prev_index;
	raft_term prev_term;
	raft_index commit;
	struct raft_entry *entries;
	size_t n_entries;
	uint64_t ctx;          /* APPEND / APPEND_RESP: heartbeat round id for ReadIndex */
	/* APPEND_RESP also echoes the request's prev_index (to recognise stale replies). */

	/* APPEND_RESP: success -> match_index = last index now known to match the leader.
	 * failure -> fast backtracking hint (Raft §5.3 end, thesis §5.3.5):
	 *   conflict_term = term of the follower's entry at prev_index (0 if it has none),
	 *   conflict_index = first index the follower holds with conflict_term, or its last
	 *   index + 1 when it has no entry at prev_index. match_index = follower's last index. */
	raft_index match_index;
	raft_index conflict_index;
	raft_term conflict_term;

	/* SNAPSHOT: snap_index/snap_term of the snapshot; chunk data[0..len) at byte offset;
	 * total = full size; done on the last chunk.
	 * SNAPSHOT_RESP: snap_index echoed; success -> offset = next byte expected (total when
	 * installed, then match_index = snap_index); failure -> offset = restart from offset. */
	raft_index snap_index;
	raft_term snap_term;
	uint64_t offset;
	uint64_t total;
	bool done;
	unsigned char *data;
	size_t len;
};

/* ---------------------------------------------------------------------------------------------
 * Replies to client requests (raft_propose / raft_read). Every accepted request gets exactly
 * one reply in some later ready, matched by req_id (chosen by the shell, any value). */
enum raft_reply_status {
	RAFT_REPLY_OK = 1,        /* done; result holds the command's result (raft_kv.h) */
	RAFT_REPLY_NOT_LEADER,    /* definitely not done; leader_hint = current leader or 0 */
	RAFT_REPLY_DROPPED,       /* outcome unknown: leadership lost while the request was in
				     flight, or the node is shutting down (-TIMEOUT) */
};

struct raft_reply {
	uint64_t req_id;
	int status;                  /* enum raft_reply_status */
	raft_id leader_hint;
	struct raft_kv_result result; /* valid when status == OK */
};

/* ---------------------------------------------------------------------------------------------
 * The actions of one ready (see THE LOOP). All owned by the core until raft_advance(). */
struct raft_ready {
	bool hs_changed;
	struct raft_hardstate hs;
	const struct raft_snapshot *snapshot; /* to write durably first; NULL = none */
	raft_index truncate_from;             /* drop entries >= this before appending; 0 = none */
	const struct raft_entry *entries;     /* to append */
	size_t n_entries;
	raft_index compact_upto;              /* drop entries <= this (covered by a durable
						 snapshot); 0 = none */
	const struct raft_msg *msgs;
	size_t n_msgs;
	const struct raft_reply *replies;
	size_t n_replies;
	/* Entries applied to the state machine since the last ready (informational, e.g. for
	 * logging; nothing to do). */
	const struct raft_entry *applied;
	size_t n_applied;
};

/* ---------------------------------------------------------------------------------------------
 * Status (for INFO and tests). */
enum raft_role {
	RAFT_FOLLOWER = 1,
	RAFT_PRECANDIDATE = 2,
	RAFT_CANDIDATE = 3,
	RAFT_LEADER = 4,
};

struct raft_status {
	raft_id id;
	int role;             /* enum raft_role */
	raft_term term;
	raft_id vote;
	raft_id leader;       /* known leader of the current term, 0 = unknown */
	raft_index commit;
	raft_index applied;
	raft_index first_index;  /* first entry in the in-memory log */
	raft_index last_index;
	raft_term last_term;
	raft_index snapshot_index;
	raft_term snapshot_term;
	raft_index persisted_index; /* last index known durable */
};

const char *raft_role_name(int role); /* "follower", "precandidate", "candidate", "leader" */

/* ---------------------------------------------------------------------------------------------
 * The core. */
struct raft;

/* Create a node from its config and its durable state at time now_ms (any monotonic ms
 * origin). On success *out is the new core (free with raft_destroy). SB_EINVAL: bad config or
 * inconsistent persisted state (message says which); SB_ENOMEM. */
int raft_create(const struct raft_config *cfg, const struct raft_persisted *ps, uint64_t now_ms,
		struct raft **out, char *err, size_t errlen);
void raft_destroy(struct raft *r);

/* Advance time (monotonic; a smaller value than before is treated as no progress). Drives
 * election timeouts, heartbeats, check-quorum and ReadIndex rounds. */
int raft_tick(struct raft *r, uint64_t now_ms);

/* The time (ms) at which raft_tick should next be called; the shell may call it earlier. */
uint64_t raft_next_deadline(const struct raft *r);

/* Handle one message from a peer (borrowed). SB_EINVAL if it is malformed (unknown sender,
 * to != self, inconsistent entry indexes, oversized, a term above RAFT_MAX_TERM ...): nothing
 * changed. */
int raft_step(struct raft *r, const struct raft_msg *m, char *err, size_t errlen);

/* A client write: cmd is a raft_kv encoded write command (borrowed). On a non-leader the reply
 * is NOT_LEADER. SB_EINVAL if cmd does not decode or is read-only (nothing queued). */
int raft_propose(struct raft *r, uint64_t req_id, uint64_t client_id, uint64_t seq,
		 const void *cmd, size_t len, char *err, size_t errlen);

/* A linearizable read: cmd is a raft_kv encoded read-only command (GET, LRANGE). Served by
 * ReadIndex (thesis §6.4): the leader records its commit index, confirms it is still leader
 * with a heartbeat round acknowledged by a majority, waits until applied >= that index, then
 * evaluates cmd. SB_EINVAL if cmd does not decode or is a write. */
int raft_read(struct raft *r, uint64_t req_id, const void *cmd, size_t len, char *err,
	      size_t errlen);

/* Leadership transfer (thesis §3.10). target 0: the leader picks the up-to-date-most, then
 * highest-priority follower. On a non-leader or when a transfer is already running: SB_EINVAL
 * with a message. The leader stops accepting writes (NOT_LEADER) until the transfer ends or
 * an election timeout passes. */
int raft_transfer(struct raft *r, raft_id target, char *err, size_t errlen);

bool raft_has_ready(const struct raft *r);
/* Take the pending actions (see THE LOOP). May be called when raft_has_ready() is false (then
 * everything is empty). May return SB_ENOMEM. */
int raft_ready(struct raft *r, struct raft_ready *rd);
/* Everything in the last ready's persistence part is durable. Moves the core's durable index
 * (a leader counts itself towards commit only up to it), may commit and apply. Calls the
 * crash hooks "leader-after-append" and "vote-after-persist". */
int raft_persisted(struct raft *r);
/* Release the last ready (its messages must have been sent). Calls the crash hook
 * "vote-after-send" when that ready held a granted vote. */
void raft_advance(struct raft *r);

void raft_status(const struct raft *r, struct raft_status *st);

/* The state machine (read-only access, e.g. for tests comparing replicas). */
const struct raft_kv *raft_state_machine(const struct raft *r);

/* Read-only access to the in-memory log: the entry at index, or NULL if not held (compacted
 * or beyond the end). Valid until the next call that changes the core. */
const struct raft_entry *raft_log_entry(const struct raft *r, raft_index index);

#endif
