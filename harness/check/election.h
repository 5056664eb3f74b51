/* election — Raft's Election Safety read from the nodes' logs: at most one leader per term
 * (Raft paper §5.2, Figure 3).
 *
 * A db kind says how its log announces a new leader (db_ops.leader_pattern: a PCRE2 regex
 * with the named groups `node` and `term`). Every line of every collected log that matches
 * is a claim "node N became leader in term T"; claims by two different nodes for the same
 * term are a violation, and the result quotes both lines. The same node announcing the same
 * term twice (a log read twice, a line repeated) is not. Lines that do not match — other
 * events, garbage, a torn last line — are ignored, and so is a matching line whose `term` is
 * not a decimal number below 2^64 or whose `node` is empty.
 *
 * Pure core: election_judge() over a list of claims. Scanning (election_scan_*) adds the
 * claims of a buffer or a file through logscan (PCRE2, streaming, bounded lines).
 *
 * Thread rules: a struct election belongs to one thread.
 */
#ifndef SB_CHECK_ELECTION_H
#define SB_CHECK_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#define ELECTION_NODE_MAX 64
#define ELECTION_WHERE_MAX 256
#define ELECTION_TEXT_MAX 512   /* a quoted line is cut there */
#define ELECTION_MAX_SHOWN 16   /* violations kept in full; all are counted */

/* One "became leader" line. */
struct election_claim {
	char node[ELECTION_NODE_MAX];
	uint64_t term;
	char where[ELECTION_WHERE_MAX]; /* "n1/raftnode.log:12" */
	char text[ELECTION_TEXT_MAX];   /* the line as it is in the log (cut if longer) */
};

/* Two nodes that became leader in the same term: the first claim of the term in scan order
 * and the first one by another node. */
struct election_violation {
	uint64_t term;
	size_t nnodes;                  /* distinct nodes that claimed the term (>= 2) */
	struct election_claim a, b;
};

struct election_result {
	size_t claims;                  /* became-leader lines read */
	size_t terms;                   /* distinct terms among them */
	size_t nviolations;             /* terms with two or more leaders */
	struct election_violation v[ELECTION_MAX_SHOWN]; /* the first, by term */
};

/* Pure: judge claims c[0..n) (in scan order). */
void election_judge(const struct election_claim *c, size_t n, struct election_result *out);

struct election;

/* A scanner for lines matching `pattern`. SB_EINVAL when it does not compile or lacks the
 * named groups `node` and `term` (the message says which). Caller frees with
 * election_free(). */
int election_new(struct election **out, const char *pattern, char *err, size_t errlen);
void election_free(struct election *e); /* NULL is fine */

/* Add the claims of data[0..len); `label` names it in `where` ("n1/raftnode.log"). */
int election_scan_buffer(struct election *e, const char *label, const char *data, size_t len,
			 char *err, size_t errlen);
/* The same for the file at path; errors name it (SB_EIO). */
int election_scan_file(struct election *e, const char *path, const char *label, char *err,
		       size_t errlen);

/* The claims read so far (borrowed, valid until the next scan or election_free). */
const struct election_claim *election_claims(const struct election *e, size_t *n);

#endif
