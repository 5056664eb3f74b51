/* sim — a deterministic in-process cluster simulator for the Raft core (node/raft.h).
 *
 * N cores (3 or 5) run in one process against a simulated network and simulated disks, on a
 * simulated millisecond clock. One seed decides everything: message delay (hence reordering),
 * loss and duplication, partitions, pauses, crashes and restarts (a restarted node gets exactly
 * what its core asked to persist and was told was durable: the unsynced rest is lost; a crash
 * can also tear a ready's persistence part way), crashes at chosen moments (right after a vote,
 * after persisting but before sending, after committing), armed crash points inside the core,
 * leadership transfers, and the clients' requests. The same seed replays the same run, bit for
 * bit. The simulated disk behaves like node/storage (a saved snapshot the log does not reach
 * supersedes the log; every append must continue the log).
 *
 * Workload: clients append unique values to a few list keys (RPUSH, each with a client id and
 * sequence number, retried with the same sequence number after a timeout or a redirect) and
 * read whole lists (LRANGE through ReadIndex); some also SET, CAS and GET register keys (only
 * the replicas' final states are compared for those).
 *
 * Checked after every step (Raft Figure 3):
 *   Election Safety      at most one leader per term
 *   Log Matching         an (index, term) pair always names the same entry with the same
 *                        predecessor term, so logs agreeing on it agree on every earlier entry
 *   Leader Completeness  a leader holds every entry committed (applied anywhere) before it took
 *                        office
 *   State Machine Safety no two nodes apply different entries at one index
 * and at the end, after healing every fault and letting the cluster settle:
 *   every node holds the same state; every acknowledged append is in every node's list, once,
 *   and before every append that began after it was acknowledged;
 *   every read returned a prefix of the final list containing every append acknowledged before
 *   the read began, and reads that follow each other in real time never shrink (linearizable
 *   reads for an append-only list).
 *
 * Pure and single-threaded; no I/O except optional trace lines to a FILE given by the caller.
 */
#ifndef NODE_SIM_H
#define NODE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sim_config {
	uint64_t seed;
	size_t n_nodes;            /* 1..9 */
	unsigned bugs;             /* RAFT_BUG_* for every node */

	uint64_t duration_ms;      /* fault phase length (simulated) */
	uint64_t settle_ms;        /* at most this long to settle after healing */

	/* network, per message; pm = per mille */
	unsigned drop_pm, dup_pm;
	unsigned delay_min_ms, delay_max_ms;
	unsigned long_delay_pm;    /* chance of a delay of up to 10x delay_max */

	/* faults: mean interval between events (0 = never) */
	unsigned crash_every_ms;
	unsigned restart_min_ms, restart_max_ms;
	unsigned partition_every_ms;
	unsigned partition_min_ms, partition_max_ms;
	unsigned crashpoint_every_ms; /* arm a random core crash point on a random node */
	unsigned transfer_every_ms;   /* ask the leader to transfer leadership */
	unsigned pause_every_ms;      /* pause a node (SIGSTOP-like: no ticks; its messages and
					 requests wait until it resumes) */
	unsigned pause_min_ms, pause_max_ms;
	bool crash_leader_bias;       /* crashes and crash points prefer the current leader */
	/* crashes at chosen moments of a node's loop (per ready, per mille) */
	unsigned crash_before_send_pm;  /* a leader persisted new entries, sends nothing, dies */
	unsigned crash_after_commit_pm; /* a leader applied newly committed entries, dies before
					   telling anyone (its followers do not learn the commit) */
	unsigned crash_after_vote_pm;   /* a node sent a granted vote, then dies */
	unsigned crash_mid_persist_pm;  /* a node dies part way through persisting a ready */

	/* clients */
	size_t n_clients;
	size_t n_keys;
	unsigned think_min_ms, think_max_ms;
	unsigned read_pm;             /* share of reads among operations */
	unsigned register_pm;         /* share of SET/CAS/GET on register keys */
	unsigned client_timeout_ms;

	/* core settings for every node */
	uint32_t election_min_ms, election_max_ms, heartbeat_ms;
	bool pre_vote, check_quorum;
	uint64_t snapshot_every, snapshot_trailing;
	size_t snapshot_chunk, max_append_entries, max_inflight;

	/* drive leaders as raftnode does: a ready that changes neither term, vote, snapshot nor
	 * log prefix has its AppendEntries and replies sent before the leader's own fsync */
	bool early_leader_send;

	FILE *trace;     /* NULL: silent; else one line per event */
	bool trace_msgs; /* with trace: also one line per delivered message */
};

/* Defaults for a seed: fault mix, rates and core settings vary with the seed so that many
 * seeds cover many schedules. n_nodes 3 or 5. */
void sim_config_init(struct sim_config *cfg, uint64_t seed, size_t n_nodes);

enum sim_violation {
	SIM_OK = 0,
	SIM_ELECTION_SAFETY,
	SIM_LOG_MATCHING,
	SIM_LEADER_COMPLETENESS,
	SIM_STATE_MACHINE_SAFETY,
	SIM_LOST_WRITE,        /* an acknowledged append is missing from a node's final state */
	SIM_DUPLICATE_WRITE,   /* a value applied twice (deduplication failed) */
	SIM_DIVERGED,          /* final states differ between nodes */
	SIM_STALE_READ,        /* a read violates linearizability */
	SIM_NO_PROGRESS,       /* the healed cluster did not settle in settle_ms */
	SIM_CORE_ERROR,        /* the core returned an error or broke its contract */
};

const char *sim_violation_name(int v);

struct sim_result {
	int violation;            /* enum sim_violation; the first one found */
	char detail[512];         /* what, where, when (simulated ms) */
	uint64_t at_ms;
	uint64_t appends_acked, appends_sent, reads_ok, register_ops_ok;
	uint64_t crashes, crashpoints_hit, partitions, transfers, snapshots_installed, pauses;
	uint64_t max_term, msgs_delivered, end_ms;
};

/* Run one simulation. Returns 0 when the run completed (check res->violation), or a negative
 * SB_E* code if the simulator itself failed (out of memory, bad config) with a message. */
int sim_run(const struct sim_config *cfg, struct sim_result *res, char *err, size_t errlen);

#endif
