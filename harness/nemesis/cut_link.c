/* cut-link — cut the link between two datacenters only (`link: [A, B]`): the nodes of A and
 * of B stop hearing each other; a third datacenter keeps hearing both (it becomes the
 * bridge). Either end may be $leader (the leader's datacenter). Rules and healing as
 * partition (cut.h). */
#include <stdio.h>
#include <string.h>

#include "harness/nemesis/cut.h"
#include "harness/nemesis/nemesis.h"
#include "lib/err.h"
#include "lib/sbuf.h"

static int cut_link_check(const struct spec_fault *f, char *err, size_t errlen)
{
	if (!f->link[0][0] || !f->link[1][0])
		return err_set(err, errlen, SB_EINVAL, "cut-link: needs link: [A, B] (two labels)");
	if (!strcmp(f->link[0], f->link[1]))
		return err_set(err, errlen, SB_EINVAL, "cut-link: both ends are '%s'", f->link[0]);
	return 0;
}

static int cut_link_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
			  char *err, size_t errlen)
{
	char a[CONTROL_NAME_MAX], b[CONTROL_NAME_MAX];
	const char *dcs[DB_MAX_NODES];
	struct nemesis_cut c;
	const struct spec_fault *f = act->fault;
	int rc = cut_link_check(f, err, errlen);
	if (rc || (rc = nemesis_dc_resolve(env, f->link[0], a, sizeof a, err, errlen)) ||
	    (rc = nemesis_dc_resolve(env, f->link[1], b, sizeof b, err, errlen)))
		return rc;
	nemesis_dc_labels(env->db, dcs);
	if ((rc = nemesis_cut_between(&c, env->db->n, dcs, a, b, err, errlen)))
		return rc;
	struct sbuf h = {0};
	char desc[2 * CONTROL_NAME_MAX + 32];
	sbuf_addf(&h, "\"link\":[");
	sbuf_add_json_string(&h, a, strlen(a));
	sbuf_addc(&h, ',');
	sbuf_add_json_string(&h, b, strlen(b));
	sbuf_addc(&h, ']');
	snprintf(desc, sizeof desc, "cut-link %s <-> %s: ", a, b);
	rc = h.oom ? err_set(err, errlen, SB_ENOMEM, "out of memory")
		   : nemesis_cut_start(env, act, &c, desc, h.p, err, errlen);
	sbuf_free(&h);
	return rc;
}

const struct nemesis_kind nemesis_cut_link = {
	.name = "cut-link",
	.summary = "cut the link between two datacenters (link: [A, B]); the others see both",
	.fields = "link,duration",
	.required = "link",
	.default_target = "",
	.start_f = "partition",
	.heal_f = "heal",
	.start = cut_link_start,
	.heal = nemesis_cut_heal,
	.heal_all = nemesis_cut_heal_all,
	.check = cut_link_check,
};
