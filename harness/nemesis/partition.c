/* partition — cut the network between nodes along a shape (cut.h): isolate-leader,
 * isolate-node, halves, random-halves, majority, minority-third, majorities-ring, bridge,
 * one-way, or explicit groups. iptables DROP rules in each host's SPLITBRAIN chain; heal
 * deletes them, heal_all flushes the chain everywhere. */
#include <stdio.h>
#include <string.h>

#include "harness/nemesis/cut.h"
#include "harness/nemesis/nemesis.h"
#include "lib/err.h"

#define DEFAULT_SHAPE "random-halves"

static bool shape_takes_target(const char *shape)
{
	return !strcmp(shape, "isolate-node") || !strcmp(shape, "one-way");
}

static int partition_check(const struct spec_fault *f, char *err, size_t errlen)
{
	if (f->shape[0] && !nemesis_shape_ok(f->shape))
		return err_set(err, errlen, SB_EINVAL,
			       "partition: unknown shape '%s' (isolate-leader, isolate-node, halves, "
			       "random-halves, majority, minority-third, majorities-ring, bridge, "
			       "one-way, or groups)",
			       f->shape);
	if (f->ngroups) {
		if (f->shape[0] && strcmp(f->shape, "one-way"))
			return err_set(err, errlen, SB_EINVAL,
				       "partition: shape %s does not take groups (groups alone, or "
				       "one-way with two groups)",
				       f->shape);
		if (!strcmp(f->shape, "one-way") && f->ngroups != 2)
			return err_set(err, errlen, SB_EINVAL,
				       "partition one-way: groups must be two: [[A...], [B...]] (A "
				       "stops hearing B)");
		if (f->target[0])
			return err_set(err, errlen, SB_EINVAL,
				       "partition: groups and target exclude each other");
	}
	const char *shape = f->shape[0] ? f->shape : DEFAULT_SHAPE;
	if (f->target[0] && !f->ngroups && !shape_takes_target(shape))
		return err_set(err, errlen, SB_EINVAL,
			       "partition %s: takes no target (only isolate-node and one-way do)",
			       shape);
	return 0;
}

/* The cut of explicit groups ("n1,n2" each). */
static int groups_cut(struct nemesis_env *env, const struct spec_fault *f, struct nemesis_cut *c,
		      char *err, size_t errlen)
{
	uint64_t g[SPEC_MAX_GROUPS];
	for (size_t i = 0; i < f->ngroups && i < SPEC_MAX_GROUPS; i++) {
		int rc = nemesis_cut_parse_set(env->db, f->groups[i], &g[i], err, errlen);
		if (rc) {
			err_prefix(err, errlen, "partition group %zu", i + 1);
			return rc;
		}
	}
	if (!strcmp(f->shape, "one-way"))
		return nemesis_cut_one_way(c, env->db->n, g[0], g[1], err, errlen);
	return nemesis_cut_groups(c, env->db->n, g, f->ngroups, err, errlen);
}

static int partition_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
			   char *err, size_t errlen)
{
	const struct spec_fault *f = act->fault;
	struct nemesis_cut c;
	int rc = partition_check(f, err, errlen);
	if (rc)
		return rc;
	if (f->ngroups) {
		rc = groups_cut(env, f, &c, err, errlen);
	} else {
		const char *shape = f->shape[0] ? f->shape : DEFAULT_SHAPE;
		const char *target = f->target;
		bool want_leader = !strcmp(shape, "isolate-leader") ||
				   nemesis_target_needs_leader(target);
		int leader = want_leader ? env->leader(env, 5000) : -1;
		uint64_t mask = 0;
		if (target[0]) {
			bool sel[DB_MAX_NODES];
			if ((rc = nemesis_targets(target, env->db, leader, rnd, sel, err, errlen)) < 0)
				return rc;
			for (size_t i = 0; i < env->db->n; i++)
				mask |= sel[i] ? (uint64_t)1 << i : 0;
		}
		/* The target drew on rnd; the shape's own draws use a different stream. */
		rc = nemesis_cut_shape(&c, shape, env->db->n, leader, mask, rnd ^ 0x9e3779b97f4a7c15ULL,
				       err, errlen);
	}
	if (rc)
		return rc;
	char head[64];
	snprintf(head, sizeof head, "\"shape\":\"%s\"", c.shape);
	rc = nemesis_cut_start(env, act, &c, "partition ", head, err, errlen);
	/* An isolating shape singles out the nodes it cuts off alone: a timeline step's `$id`
	 * means them (the old leader of isolate-leader), not every node whose view changed. */
	if (!rc && !f->ngroups &&
	    (!strcmp(c.shape, "isolate-leader") || !strcmp(c.shape, "isolate-node")))
		for (size_t i = 0; i < c.n && i < env->db->n; i++)
			act->picked[i] = c.hears[i] == ((uint64_t)1 << i);
	return rc;
}

const struct nemesis_kind nemesis_partition = {
	.name = "partition",
	.summary = "cut the network along a shape or explicit groups (iptables DROP in SPLITBRAIN)",
	.fields = "shape,groups,target,duration",
	.required = "",
	.default_target = "",
	.start_f = "partition",
	.heal_f = "heal",
	.start = partition_start,
	.heal = nemesis_cut_heal,
	.heal_all = nemesis_cut_heal_all,
	.check = partition_check,
};
