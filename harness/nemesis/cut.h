/* cut — network partitions as data (pure), and as iptables rules on the hosts (shell).
 *
 * A cut says, for every node, which nodes it still hears: bit j of hears[i] is set when
 * packets from node j reach node i. A link is directed: "j -> i cut" means i no longer hears
 * j, while j may still hear i (a one-way partition). Every node hears itself.
 *
 * The shapes of the `partition` fault, and the datacenter cuts of `cut-dc` and `cut-link`,
 * are pure functions of the number of nodes, the current leader and the fault's randomness
 * (`rnd`, from the seeded schedule), so they are unit-tested as tables and replay from a seed
 * (tests/unit/harness/test_partition.c). Node i is the i-th node of the cluster (db.h).
 *
 *   isolate-leader   {leader} / {the rest}
 *   isolate-node     each target node alone / the rest (target: names, `leader`, or a random
 *                    node when none is given)
 *   halves           the first n/2 nodes (rounded down) / the rest, in cluster order
 *   random-halves    the same after a random shuffle
 *   majority         a random minority of (n-1)/2 nodes (at least 1) / the majority
 *   minority-third   a random group of ceil(n/3)-1 nodes (at least 1; Jepsen's minority
 *                    third) / the rest
 *   majorities-ring  nodes on a random ring; each hears the nodes within k places of it on
 *                    both sides, k = ceil((m-1)/2) for a majority m: every node sees a
 *                    majority, no two see the same one, and every cut is two-way. On 3 nodes
 *                    (where no two-way ring exists) a path a-b-c: a and c each see a majority
 *                    with b, and b sees everyone.
 *   bridge           random order; {first n/2 + the bridge} / {the bridge + the rest}: the
 *                    bridge node hears, and is heard by, both sides; the sides are cut.
 *   one-way          the target nodes (default: one random node) stop hearing the others,
 *                    while the others still hear them. With explicit groups [[A..], [B..]]:
 *                    A stops hearing B.
 *   (explicit)       groups [[n1, n2], [n3, n4, n5]]: two nodes hear each other iff some
 *                    group holds both; nodes named in no group form one more group.
 *
 * On TCP a one-way cut soon stops both directions of a connection (the receiver's ACKs no
 * longer come back), so for raftnode it acts as a two-way cut after a few segments.
 *
 * The rules (shell part): for every cut link j -> i, host i gets
 *     iptables -w -A SPLITBRAIN -s <address of j> -j DROP
 * (ip6tables for an IPv6 address), so the cut is made where the packets arrive. Rules match
 * peers' addresses only: the controller's own traffic (SSH) is never matched (the lab also
 * accepts SSH from the controller before the chain). A host without the chain gets it, jumped
 * to from the top of INPUT. Healing deletes exactly the rules the cut added (one copy of each,
 * so overlapping partitions heal independently); nemesis_cut_flush_all() empties the chain on
 * every host whatever was recorded. A partition needs one address per node: iptables cannot
 * tell apart nodes that share an address (the local backend), which is refused.
 */
#ifndef SB_NEMESIS_CUT_H
#define SB_NEMESIS_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/db/db.h"
#include "harness/nemesis/nemesis.h"
#include "lib/sbuf.h"

enum nemesis_cut_style {
	NEMESIS_CUT_GROUPS = 0, /* groups that hear within themselves ("{a, b} / {c, d, e}") */
	NEMESIS_CUT_ONE_WAY,    /* groups[0] stops hearing groups[1] */
	NEMESIS_CUT_VIEWS,      /* groups[i] is node i's own view (majorities-ring) */
	NEMESIS_CUT_LINK,       /* groups[0] and groups[1] cut apart; the others untouched */
};

struct nemesis_cut {
	size_t n;                       /* nodes, <= DB_MAX_NODES */
	uint64_t hears[DB_MAX_NODES];   /* bit j of hears[i]: i hears j */
	/* For the description and the history value: the sides of the cut, node sets as bit
	 * masks, in the order they are printed. They may overlap (bridge, views). */
	uint64_t groups[DB_MAX_NODES];
	size_t ngroups;
	enum nemesis_cut_style style;
	char shape[32];                 /* "halves", ... or "groups", "dc", "link" */
};

/* The shape names `partition` takes (NULL-terminated), for the spec's validation. */
extern const char *const nemesis_shapes[];
bool nemesis_shape_ok(const char *shape);

/* ---- pure ---- */

/* No cut: everyone hears everyone. */
void nemesis_cut_none(struct nemesis_cut *c, size_t n);

/* A shape (above) on n nodes (2..DB_MAX_NODES). `leader` is the leader's index or -1;
 * `target` the target nodes as a bit mask (isolate-node, one-way; 0: a random node); rnd draws
 * the random choices. Errors (SB_EINVAL, message): unknown shape, too few nodes, no leader
 * for isolate-leader (SB_ETIMEOUT), a target that leaves no other side. */
int nemesis_cut_shape(struct nemesis_cut *c, const char *shape, size_t n, int leader,
		      uint64_t target, uint64_t rnd, char *err, size_t errlen);

/* Explicit groups (bit masks, at least one, each non-empty, pairwise disjoint); nodes in no
 * group form one more group. */
int nemesis_cut_groups(struct nemesis_cut *c, size_t n, const uint64_t *groups, size_t ngroups,
		       char *err, size_t errlen);

/* Nodes `a` stop hearing nodes `b` (disjoint, non-empty); everything else untouched. */
int nemesis_cut_one_way(struct nemesis_cut *c, size_t n, uint64_t a, uint64_t b, char *err,
			size_t errlen);

/* Datacenters: dcs[i] is node i's label ("" for none). cut-dc: the nodes of `dc` / every
 * other node. cut-link: the nodes of `a` and of `b` stop hearing each other; the other nodes
 * (other datacenters, unlabelled) keep hearing both. Errors name the labels that exist. */
int nemesis_cut_datacenter(struct nemesis_cut *c, size_t n, const char *const *dcs, const char *dc,
		   char *err, size_t errlen);
int nemesis_cut_between(struct nemesis_cut *c, size_t n, const char *const *dcs, const char *a,
		     const char *b, char *err, size_t errlen);

/* Is the link from -> to cut (to no longer hears from)? How many directed links are cut? */
bool nemesis_cut_has(const struct nemesis_cut *c, size_t from, size_t to);
size_t nemesis_cut_count(const struct nemesis_cut *c);

/* "{n1, n2} / {n3, n4, n5}", "{n1} stops hearing {n2, n3}", "n1 {n5, n1, n2}; n2 {...}"
 * (views), "{n1, n2} / {n3, n4}, n5 untouched" (link); names[i] is node i's name. Truncated
 * to fit buf. */
void nemesis_cut_text(const struct nemesis_cut *c, const char *const *names, char *buf,
		      size_t len);

/* Append `"groups":[["n1","n2"],...],"cut":[["n1","n3"],...]` to b: every cut directed link
 * as [from, to] (to no longer hears from), in node order. Names are plain [A-Za-z0-9_.-]. */
void nemesis_cut_json(const struct nemesis_cut *c, const char *const *names, struct sbuf *b);

/* ---- shell (db's hosts; one thread per host) ---- */

/* Add the rules of c. Fails (SB_EINVAL) before touching a host when two nodes share an
 * address; on a host failure the rules already added are removed again, best effort (and
 * nemesis_cut_flush_all removes whatever is left). */
int nemesis_cut_apply(struct db *db, const struct nemesis_cut *c, char *err, size_t errlen);

/* Delete one copy of each rule of c (a rule already gone is fine). */
int nemesis_cut_remove(struct db *db, const struct nemesis_cut *c, char *err, size_t errlen);

/* Empty SPLITBRAIN (iptables and ip6tables) on every host; a host without it is fine. */
int nemesis_cut_flush_all(struct db *db, char *err, size_t errlen);

/* The nodes' names as an array for the functions above (names[i] = db->nodes[i].name). */
void nemesis_cut_names(const struct db *db, const char **names);

/* "n1,n2" (node names) -> a bit mask; unknown names are SB_EINVAL. */
int nemesis_cut_parse_set(const struct db *db, const char *list, uint64_t *out, char *err,
			  size_t errlen);

/* ---- what the partition, cut-dc and cut-link kinds share ---- */

/* Describe c in act (desc = desc_head + nemesis_cut_text; value = {json_head, groups, cut},
 * or {json_head, "cut_count": N, "truncated": true} when the list does not fit; nodes = every
 * node with a cut link), apply it, and keep a copy in act->state for the heal. */
int nemesis_cut_start(struct nemesis_env *env, struct nemesis_act *act,
		      const struct nemesis_cut *c, const char *desc_head, const char *json_head,
		      char *err, size_t errlen);
/* Remove exactly the act's rules; idempotent (a healed act has no state). */
int nemesis_cut_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		     size_t errlen);
/* nemesis_cut_flush_all on env's cluster. */
int nemesis_cut_heal_all(struct nemesis_env *env, char *err, size_t errlen);

/* A datacenter as the spec names it: a label, or `$leader` for the current leader's (asks
 * env->leader; SB_ETIMEOUT without a leader, SB_EINVAL when the leader has no label). */
int nemesis_dc_resolve(struct nemesis_env *env, const char *word, char *out, size_t outlen,
		       char *err, size_t errlen);
/* dcs[i] = db->nodes[i].dc. */
void nemesis_dc_labels(const struct db *db, const char **dcs);

#endif
