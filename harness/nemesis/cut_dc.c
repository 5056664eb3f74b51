/* cut-dc — cut one datacenter off from the rest: the nodes labelled `dc` (nodes file dc=,
 * the spec's hosts' dc:) stop hearing every other node and are no longer heard by them.
 * `dc: $leader` means the current leader's datacenter. Rules and healing as partition
 * (cut.h). */
#include <stdio.h>
#include <string.h>

#include "harness/nemesis/cut.h"
#include "harness/nemesis/nemesis.h"
#include "lib/err.h"
#include "lib/sbuf.h"

/* A datacenter label as written in the spec: a label, or $leader for the leader's. */
int nemesis_dc_resolve(struct nemesis_env *env, const char *word, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	if (strcmp(word, "$leader")) {
		snprintf(out, outlen, "%s", word);
		return 0;
	}
	int l = env->leader(env, 5000);
	if (l < 0 || (size_t)l >= env->db->n)
		return err_set(err, errlen, SB_ETIMEOUT, "dc $leader: no leader");
	const char *dc = env->db->nodes[l].dc;
	if (!dc[0])
		return err_set(err, errlen, SB_EINVAL, "dc $leader: the leader %s has no dc label",
			       env->db->nodes[l].name);
	snprintf(out, outlen, "%s", dc);
	return 0;
}

void nemesis_dc_labels(const struct db *db, const char **dcs)
{
	for (size_t i = 0; i < db->n; i++)
		dcs[i] = db->nodes[i].dc;
}

static int cut_dc_check(const struct spec_fault *f, char *err, size_t errlen)
{
	if (!f->dc[0])
		return err_set(err, errlen, SB_EINVAL, "cut-dc: needs dc: (a label, or $leader)");
	return 0;
}

static int cut_dc_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
			char *err, size_t errlen)
{
	char dc[CONTROL_NAME_MAX];
	const char *dcs[DB_MAX_NODES];
	struct nemesis_cut c;
	int rc = cut_dc_check(act->fault, err, errlen);
	if (rc || (rc = nemesis_dc_resolve(env, act->fault->dc, dc, sizeof dc, err, errlen)))
		return rc;
	nemesis_dc_labels(env->db, dcs);
	if ((rc = nemesis_cut_datacenter(&c, env->db->n, dcs, dc, err, errlen)))
		return rc;
	struct sbuf h = {0};
	char desc[CONTROL_NAME_MAX + 16];
	sbuf_addf(&h, "\"dc\":");
	sbuf_add_json_string(&h, dc, strlen(dc));
	snprintf(desc, sizeof desc, "cut-dc %s: ", dc);
	rc = h.oom ? err_set(err, errlen, SB_ENOMEM, "out of memory")
		   : nemesis_cut_start(env, act, &c, desc, h.p, err, errlen);
	sbuf_free(&h);
	return rc;
}

const struct nemesis_kind nemesis_cut_dc = {
	.name = "cut-dc",
	.summary = "cut a datacenter (dc: LABEL or $leader) off from the other nodes",
	.fields = "dc,duration",
	.required = "dc",
	.default_target = "",
	.start_f = "partition",
	.heal_f = "heal",
	.start = cut_dc_start,
	.heal = nemesis_cut_heal,
	.heal_all = nemesis_cut_heal_all,
	.check = cut_dc_check,
};
