/* kill — SIGKILL nodes, restart them after `restart_after` with their data. */
#include <stdio.h>
#include <string.h>

#include "harness/nemesis/nemesis.h"
#include "lib/err.h"

static int kill_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
		      char *err, size_t errlen)
{
	const char *target = act->fault->target[0] ? act->fault->target : "random";
	int rc = nemesis_pick(env, target, rnd, act->nodes, err, errlen);
	if (rc < 0)
		return rc;
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->desc, sizeof act->desc, "kill %s", names);
	snprintf(act->value, sizeof act->value, "{\"nodes\":%s,\"signal\":\"KILL\"}", json);
	return db_each(env->db, DB_OP_KILL, act->nodes, NULL, err, errlen);
}

static int kill_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		     size_t errlen)
{
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->heal_desc, sizeof act->heal_desc, "start %s", names);
	snprintf(act->heal_value, sizeof act->heal_value, "{\"nodes\":%s}", json);
	/* Start leaves a running node alone and waits until each answers. */
	return db_each(env->db, DB_OP_START, act->nodes, NULL, err, errlen);
}

/* Every node that is not running is started again (with its data). */
static int kill_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	bool sel[DB_MAX_NODES];
	int n = nemesis_filter(env, NEMESIS_DOWN, true, sel, err, errlen);
	if (n <= 0)
		return n;
	char names[256];
	nemesis_nodes_text(env->db, sel, names, sizeof names);
	env->log(env, "heal: starting %s (not running)", names);
	return db_each(env->db, DB_OP_START, sel, NULL, err, errlen);
}

const struct nemesis_kind nemesis_kill = {
	.name = "kill",
	.summary = "SIGKILL the target nodes; restart them with their data after restart_after",
	.fields = "target,restart_after",
	.required = "",
	.default_target = "random",
	.start_f = "kill",
	.heal_f = "start",
	.start = kill_start,
	.heal = kill_heal,
	.heal_all = kill_heal_all,
};
