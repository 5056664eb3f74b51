/* pause — SIGSTOP nodes for `duration`, then SIGCONT. A paused leader keeps its sockets
 * open but answers nothing: the others elect a new leader, and when it resumes it must
 * neither serve a stale read nor commit anything. */
#include <stdio.h>
#include <string.h>

#include "harness/nemesis/nemesis.h"
#include "lib/err.h"

static int pause_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
		       char *err, size_t errlen)
{
	const char *target = act->fault->target[0] ? act->fault->target : "random";
	int rc = nemesis_pick(env, target, rnd, act->nodes, err, errlen);
	if (rc < 0)
		return rc;
	/* A target another fault killed (or stopped) has nothing to stop: pause the others. */
	if ((rc = nemesis_filter(env, NEMESIS_UP, false, act->nodes, err, errlen)) < 0)
		return rc;
	if (!rc)
		return err_set(err, errlen, SB_EIO, "target %s: no target node is running", target);
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->desc, sizeof act->desc, "pause %s", names);
	snprintf(act->value, sizeof act->value, "{\"nodes\":%s,\"signal\":\"STOP\"}", json);
	return db_each(env->db, DB_OP_PAUSE, act->nodes, NULL, err, errlen);
}

static int pause_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		      size_t errlen)
{
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->heal_desc, sizeof act->heal_desc, "resume %s", names);
	snprintf(act->heal_value, sizeof act->heal_value, "{\"nodes\":%s,\"signal\":\"CONT\"}",
		 json);
	/* A node that died while paused (another fault killed it) is not an error here: the
	 * kill's heal, or heal_all, restarts it. */
	bool sel[DB_MAX_NODES];
	memcpy(sel, act->nodes, sizeof sel);
	int n = nemesis_filter(env, NEMESIS_STOPPED, false, sel, err, errlen);
	return n > 0 ? db_each(env->db, DB_OP_RESUME, sel, NULL, err, errlen) : n;
}

/* Every node that is stopped is continued. */
static int pause_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	bool sel[DB_MAX_NODES];
	int n = nemesis_filter(env, NEMESIS_STOPPED, true, sel, err, errlen);
	if (n <= 0)
		return n;
	char names[256];
	nemesis_nodes_text(env->db, sel, names, sizeof names);
	env->log(env, "heal: resuming %s (stopped)", names);
	return db_each(env->db, DB_OP_RESUME, sel, NULL, err, errlen);
}

const struct nemesis_kind nemesis_pause = {
	.name = "pause",
	.summary = "SIGSTOP the target nodes for duration, then SIGCONT",
	.fields = "target,duration",
	.required = "",
	.default_target = "random",
	.start_f = "pause",
	.heal_f = "resume",
	.start = pause_start,
	.heal = pause_heal,
	.heal_all = pause_heal_all,
};
