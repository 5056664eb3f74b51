/* nodesafety — log lines in which a node reports that a safety property of its replication
 * protocol broke: a Raft node that is sent, by a leader, an entry other than the one it
 * already committed at that index (State Machine Safety, Raft paper §5.4.3), etcd's raft
 * finding such a conflict or a commit index beyond its log.
 *
 * A db kind says how its log reports such a break (db_ops.safety_pattern: a PCRE2 regex).
 * Every matching line of every collected log is a finding: the run is invalid and the result
 * quotes the line. A node only notices what reaches it, so a clean scan proves nothing; the
 * check catches what the history cannot show (an entry a node applied and then saw replaced
 * while no client read it).
 *
 * Thread rules: a struct nodesafety belongs to one thread.
 */
#ifndef SB_CHECK_NODESAFETY_H
#define SB_CHECK_NODESAFETY_H

#include <stddef.h>

#include "harness/check/election.h"

#define NODESAFETY_MAX_SHOWN 8 /* lines kept in full; all are counted */

struct nodesafety_line {
	char where[ELECTION_WHERE_MAX]; /* "n3/raftnode.log:57" */
	char text[ELECTION_TEXT_MAX];   /* the line as it is in the log (cut if longer) */
};

struct nodesafety_result {
	size_t nlines;                  /* matching lines read */
	struct nodesafety_line shown[NODESAFETY_MAX_SHOWN]; /* the first, in scan order */
};

struct nodesafety;

/* A scanner for lines matching `pattern`; SB_EINVAL when it does not compile (the message
 * says why). Caller frees with nodesafety_free(). */
int nodesafety_new(struct nodesafety **out, const char *pattern, char *err, size_t errlen);
void nodesafety_free(struct nodesafety *s); /* NULL is fine */

/* Add the matching lines of data[0..len); `label` names it in `where`. */
int nodesafety_scan_buffer(struct nodesafety *s, const char *label, const char *data, size_t len,
			   char *err, size_t errlen);
/* The same for the file at path; errors name it (SB_EIO). */
int nodesafety_scan_file(struct nodesafety *s, const char *path, const char *label, char *err,
			 size_t errlen);

/* What was found so far (borrowed, valid until nodesafety_free). */
const struct nodesafety_result *nodesafety_result(const struct nodesafety *s);

#endif
