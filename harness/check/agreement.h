/* agreement — do the replicas hold the same state once the cluster is quiet?
 *
 * Raft's State Machine Safety (§5.4.3): replicas that applied the same entries hold the same
 * state. After every fault is healed and the workload has ended (the final reads done),
 * the runner asks every node for its applied index and a digest of its state
 * (db_ops.digest; raftnode's `DEBUG DIGEST`), again and again until the applied indexes
 * converge or a time limit passes (default 10 s), and compares:
 *
 *   agreed       every node answered with the same applied index and the same digest
 *   diverged     two nodes at the same applied index hold different digests: an anomaly
 *                (kind `replica-disagreement`), the run is invalid
 *   unconverged  within the time limit the indexes never became equal on every node (a
 *                node that does not answer, or lags behind): reported, not an anomaly, since
 *                nothing wrong was seen; digests of nodes that reached the same index are
 *                still compared (a difference there is `diverged`)
 *   skipped      the db kind has no digest, or the workload did not run to its end (a
 *                signal, an error): the reason says which
 *
 * Pure core: agree_judge() over one round of answers. agree_run() polls a cluster.
 */
#ifndef SB_CHECK_AGREEMENT_H
#define SB_CHECK_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/db/db.h"

#define AGREE_DEFAULT_TIMEOUT_NS (10 * 1000000000LL)

enum agree_status { AGREE_SKIPPED = 0, AGREE_AGREED, AGREE_DIVERGED, AGREE_UNCONVERGED };

/* One node's answer. */
struct agree_node {
	char node[CONTROL_NAME_MAX];
	bool answered;
	uint64_t applied;
	char digest[DB_DIGEST_MAX];
	char error[256];          /* why it did not answer */
};

struct agree_result {
	enum agree_status status;
	char reason[256];         /* skipped: why; unconverged: which nodes differ or are silent */
	uint64_t applied;         /* agreed: the common index; diverged: the index at which the
				     digests differ */
	size_t n;
	struct agree_node nodes[DB_MAX_NODES]; /* the last round of answers */
	double waited_s;          /* from the first ask to the verdict */
	unsigned rounds;          /* how many times every node was asked */
};

const char *agree_status_name(enum agree_status s); /* "agreed", ... */

/* Pure: the status of one round of answers nodes[0..n) (AGREED, DIVERGED or UNCONVERGED; no
 * nodes at all is UNCONVERGED). For DIVERGED and AGREED *applied gets the index. */
enum agree_status agree_judge(const struct agree_node *nodes, size_t n, uint64_t *applied);

/* Mark the result skipped with a reason (printf-style). */
void agree_skip(struct agree_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ask every node of db (db->ops->digest; skipped when NULL) every 100 ms until agree_judge
 * says AGREED or DIVERGED, or timeout_ns passes (then UNCONVERGED, with the last round).
 * Fills *out completely. */
void agree_run(struct db *db, int64_t timeout_ns, struct agree_result *out);

#endif
