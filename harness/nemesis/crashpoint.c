/* crashpoint — make a node die at a named point of its own code (raftnode's crash points,
 * README: `DEBUG CRASHPOINT <point> <hit>`; the node needs --fault-injection), then restart it.
 *
 * The crash comes whenever the node's work reaches the point, so start and heal split the
 * work:
 *   start  notes where each target's log ends, arms the point over RESP on every target
 *          (default: the leader) and returns; the workload keeps running. The fault's window
 *          is its `duration` (the spec's default 5 s; 10 s if none is given): start sets
 *          act->until to started + window.
 *   heal   (at act->until) reads each target's log from where it ended for
 *          `event=crashpoint-hit name=<point>`. Fired: the node is restarted, no sooner than
 *          `restart_after` after it died (the heal waits for the rest of that time), and the
 *          history gets {"point":..,"fired":true,"at_s":12.3,"nodes":[{"node":"n2",
 *          "fired":true,"at_s":12.3,"after_arm_s":0.01,"restarted":true}]} (at_s: seconds
 *          since the run started, from the node's own log: arming to firing). Did not fire:
 *          the point is disarmed (`DEBUG CRASHPOINT CLEAR`), act->error and the run's log say
 *          "did not fire", and the value says {"fired":false,"result":"did not fire within
 *          10s",...}. A node that died otherwise (no crashpoint-hit line) is reported, not
 *          restarted: whatever killed it heals it.
 * heal_all disarms every node that answers and starts every node that is not running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/client/resp.h"
#include "harness/control/shquote.h"
#include "harness/nemesis/nemesis.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/sbuf.h"
#include "lib/units.h"

#define DEFAULT_WINDOW_NS (10 * CLOCK_NS_PER_S)
#define RESP_TIMEOUT_MS 2000

struct cp_state {
	long long log_off[DB_MAX_NODES]; /* where each target's log ended before arming */
	int64_t armed_mono;              /* the controller's clock when the last target was armed */
	int64_t arm_delay_ns;            /* from the fault's start to that moment (finding the
					    leader, arming over RESP) */
	int64_t window_ns, restart_after_ns;
	uint32_t hit;
};

static bool point_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static int crashpoint_check(const struct spec_fault *f, char *err, size_t errlen)
{
	if (!f->point[0])
		return err_set(err, errlen, SB_EINVAL, "crashpoint: needs point: (a crash point name)");
	for (const char *p = f->point; *p; p++)
		if (!point_char(*p))
			return err_set(err, errlen, SB_EINVAL,
				       "crashpoint: point '%s' is not a crash point name", f->point);
	if (f->duration_ns < 0 || f->restart_after_ns < 0)
		return err_set(err, errlen, SB_EINVAL, "crashpoint: negative duration");
	return 0;
}

/* "2026-11-24T00:10:00.123456Z" at the start of a log line -> ns since the epoch. */
static int line_time(const char *line, int64_t *ns)
{
	struct tm tm = {0};
	long usec = 0;
	int n = 0;
	if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%6ldZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &usec, &n) != 7 || n == 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ns = (int64_t)timegm(&tm) * CLOCK_NS_PER_S + (int64_t)usec * 1000;
	return 0;
}

/* Is `key=value` a word of line (value ends at a space or the end)? */
static bool has_word(const char *line, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	for (const char *p = line; (p = strstr(p, key)); p++) {
		if (p != line && p[-1] != ' ')
			continue;
		if (p[kl] == '=' && !strncmp(p + kl + 1, value, vl) &&
		    (p[kl + 1 + vl] == ' ' || p[kl + 1 + vl] == '\0' || p[kl + 1 + vl] == '\n'))
			return true;
	}
	return false;
}

int nemesis_crash_scan(const char *log, const char *point, int64_t *armed_ns, int64_t *hit_ns)
{
	int found = 0;
	*armed_ns = *hit_ns = 0;
	for (const char *p = log; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[1024];
		snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
		int64_t t;
		if (has_word(line, "name", point) && line_time(line, &t) == 0) {
			if (has_word(line, "event", "crashpoint-armed")) {
				*armed_ns = t;
				found |= NEMESIS_CRASH_ARMED;
			} else if (has_word(line, "event", "crashpoint-hit") &&
				   !(found & NEMESIS_CRASH_HIT)) {
				*hit_ns = t;
				found |= NEMESIS_CRASH_HIT;
			}
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}

/* One RESP command to node i; the reply must be +OK (else the message says what came). */
static int node_ok(struct db *db, size_t i, int argc, const char *const *argv, char *err,
		   size_t errlen)
{
	char addr[CONTROL_ADDR_MAX + 16];
	db_client_addr(db, i, addr, sizeof addr);
	struct resp_client *c = NULL;
	struct resp_value *v = NULL;
	int rc = resp_client_connect_addr(&c, addr, RESP_TIMEOUT_MS, err, errlen);
	if (!rc)
		rc = resp_client_command(c, argc, argv, NULL, &v, err, errlen);
	if (!rc && (v->type != RESP_SIMPLE || strcmp(v->str, "OK")))
		rc = err_set(err, errlen, SB_EIO, "%s %s answered '%s'", argv[0], argv[1],
			     v->str ? v->str : resp_type_name(v->type));
	resp_value_free(v);
	resp_client_close(c);
	if (rc)
		err_prefix(err, errlen, "node %s", db->nodes[i].name);
	return rc;
}

static int disarm(struct db *db, size_t i, char *err, size_t errlen)
{
	const char *argv[] = {"DEBUG", "CRASHPOINT", "CLEAR"};
	return node_ok(db, i, 3, argv, err, errlen);
}

/* The node's main log (the kind's first log file). */
static int log_path(struct db *db, size_t i, char *path, char *err, size_t errlen)
{
	char paths[2][CONTROL_PATH_MAX];
	if (!db->ops->log_files || db->ops->log_files(db, i, paths, 2) < 1)
		return err_set(err, errlen, SB_EINVAL, "node %s: no log file to watch",
			       db->nodes[i].name);
	memcpy(path, paths[0], CONTROL_PATH_MAX);
	return 0;
}

/* The size of node i's log now (0 when it does not exist yet). */
static int log_size(struct db *db, size_t i, long long *size, char *err, size_t errlen)
{
	char path[CONTROL_PATH_MAX], *out = NULL;
	int rc = log_path(db, i, path, err, errlen);
	if (rc)
		return rc;
	char *cmd = shquote_fmt("stat -c %%s %q 2>/dev/null || echo 0", path);
	if (!cmd)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	rc = control_run(db_control(db, i), cmd, db->op_timeout_ms, &out, err, errlen);
	free(cmd);
	*size = rc ? 0 : strtoll(out, NULL, 10);
	free(out);
	return rc;
}

/* The crash point lines of node i's log after `off`. Caller frees *out. */
static int log_tail(struct db *db, size_t i, long long off, char **out, char *err,
		    size_t errlen)
{
	char path[CONTROL_PATH_MAX];
	int rc = log_path(db, i, path, err, errlen);
	if (rc)
		return rc;
	char *cmd = shquote_fmt("tail -c +%lld %q 2>/dev/null | grep -E 'event=crashpoint-(armed|hit)' "
				"| tail -n 200; exit 0",
				off + 1, path);
	if (!cmd)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	rc = control_run(db_control(db, i), cmd, db->op_timeout_ms, out, err, errlen);
	free(cmd);
	return rc;
}

static int crashpoint_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
			    char *err, size_t errlen)
{
	int64_t start_mono = clock_mono_ns(); /* act->started, on the controller's clock */
	const struct spec_fault *f = act->fault;
	struct db *db = env->db;
	int rc = crashpoint_check(f, err, errlen);
	if (rc)
		return rc;
	const char *target = f->target[0] ? f->target : "leader";
	if ((rc = nemesis_pick(env, target, rnd, act->nodes, err, errlen)) < 0)
		return rc;
	rc = 0;
	struct cp_state *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	s->window_ns = f->duration_ns > 0 ? f->duration_ns : DEFAULT_WINDOW_NS;
	s->restart_after_ns = f->restart_after_ns;
	s->hit = f->hit ? f->hit : 1;
	char hit[24];
	snprintf(hit, sizeof hit, "%u", s->hit);
	const char *argv[] = {"DEBUG", "CRASHPOINT", f->point, hit};
	for (size_t i = 0; i < db->n && !rc; i++)
		if (act->nodes[i] && !(rc = log_size(db, i, &s->log_off[i], err, errlen)))
			rc = node_ok(db, i, 4, argv, err, errlen);
	if (rc) {
		char e2[256];
		for (size_t i = 0; i < db->n; i++)
			if (act->nodes[i])
				disarm(db, i, e2, sizeof e2);
		free(s);
		return rc;
	}
	s->armed_mono = clock_mono_ns();
	s->arm_delay_ns = s->armed_mono - start_mono;
	act->until = act->started + s->window_ns;
	act->state = s;
	char names[NEMESIS_DESC_MAX - 128], json[NEMESIS_VALUE_MAX - 256], win[32];
	nemesis_nodes_text(db, act->nodes, names, sizeof names);
	nemesis_nodes_json(db, act->nodes, json, sizeof json);
	units_format_duration(s->window_ns, win, sizeof win);
	snprintf(act->desc, sizeof act->desc, "crashpoint %s on %s (hit %u, window %s)", f->point,
		 names, s->hit, win);
	snprintf(act->value, sizeof act->value,
		 "{\"nodes\":%s,\"point\":\"%s\",\"hit\":%u,\"window_s\":%.6g}", json, f->point,
		 s->hit, (double)s->window_ns / 1e9);
	return 0;
}

/* What heal found on one target. */
struct cp_node {
	bool fired, running, restarted, disarmed;
	double at_s, after_arm_s;
};

static void heal_value(const struct nemesis_act *act, const struct db *db,
		       const struct cp_node *r, bool all_fired, const char *result)
{
	struct sbuf b = {0};
	double first = -1;
	for (size_t i = 0; i < db->n; i++)
		if (act->nodes[i] && r[i].fired && (first < 0 || r[i].at_s < first))
			first = r[i].at_s;
	sbuf_addf(&b, "{\"point\":\"%s\",\"fired\":%s", act->fault->point,
		  all_fired ? "true" : "false");
	if (first >= 0)
		sbuf_addf(&b, ",\"at_s\":%.3f", first);
	if (result[0])
		sbuf_addf(&b, ",\"result\":\"%s\"", result);
	sbuf_addf(&b, ",\"nodes\":[");
	bool comma = false;
	for (size_t i = 0; i < db->n; i++) {
		if (!act->nodes[i])
			continue;
		sbuf_addf(&b, "%s{\"node\":\"%s\",\"fired\":%s", comma ? "," : "", db->nodes[i].name,
			  r[i].fired ? "true" : "false");
		if (r[i].fired)
			sbuf_addf(&b, ",\"at_s\":%.3f,\"after_arm_s\":%.3f,\"restarted\":%s", r[i].at_s,
				  r[i].after_arm_s, r[i].restarted ? "true" : "false");
		else if (r[i].running)
			sbuf_addf(&b, ",\"disarmed\":%s", r[i].disarmed ? "true" : "false");
		else
			sbuf_addf(&b, ",\"died\":\"without the crash point firing\"");
		sbuf_addc(&b, '}');
		comma = true;
	}
	sbuf_addf(&b, "]}");
	struct nemesis_act *a = (struct nemesis_act *)act;
	if (!b.oom && b.len < sizeof a->heal_value)
		memcpy(a->heal_value, b.p, b.len + 1);
	else
		snprintf(a->heal_value, sizeof a->heal_value, "{\"point\":\"%s\",\"fired\":%s}",
			 act->fault->point, all_fired ? "true" : "false");
	sbuf_free(&b);
}

/* Read each target's log: did the point fire, and when (seconds since the run started)? */
static int heal_scan(struct nemesis_env *env, struct nemesis_act *act, const struct cp_state *s,
		     struct cp_node *r, char *err, size_t errlen)
{
	struct db *db = env->db;
	struct db_status st[DB_MAX_NODES];
	int rc = db_status_all(db, st, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < db->n; i++) {
		if (!act->nodes[i])
			continue;
		char *text = NULL;
		int64_t armed = 0, hit = 0;
		if ((rc = log_tail(db, i, s->log_off[i], &text, err, errlen)))
			return rc;
		int found = nemesis_crash_scan(text, act->fault->point, &armed, &hit);
		free(text);
		r[i].running = st[i].running;
		r[i].fired = found & NEMESIS_CRASH_HIT;
		if (r[i].fired) {
			r[i].after_arm_s = (found & NEMESIS_CRASH_ARMED) && hit >= armed
						   ? (double)(hit - armed) / 1e9
						   : 0;
			/* The node's own clock says how long after arming it died; the run's
			 * clock, when it was armed. */
			r[i].at_s = (double)(act->started + s->arm_delay_ns) / 1e9 + r[i].after_arm_s;
		}
	}
	return 0;
}

/* Restart the nodes the crash point killed, no sooner than restart_after after they died. */
static int heal_restart(struct nemesis_env *env, const struct cp_state *s, struct cp_node *r,
			char *err, size_t errlen)
{
	struct db *db = env->db;
	bool sel[DB_MAX_NODES] = {0};
	bool any = false;
	double last = 0;
	for (size_t i = 0; i < db->n; i++)
		if (r[i].fired && !r[i].running) {
			sel[i] = any = true;
			last = r[i].after_arm_s > last ? r[i].after_arm_s : last;
		}
	if (!any)
		return 0;
	int64_t due = (int64_t)(last * 1e9) + s->restart_after_ns;
	int64_t wait = due - (clock_mono_ns() - s->armed_mono);
	if (wait > 0)
		clock_sleep_ns(wait < s->restart_after_ns ? wait : s->restart_after_ns, NULL);
	int rc = db_each(db, DB_OP_START, sel, NULL, err, errlen);
	for (size_t i = 0; i < db->n; i++)
		r[i].restarted = sel[i] && !rc;
	return rc;
}

static int crashpoint_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
			   size_t errlen)
{
	struct cp_state *s = act->state;
	struct db *db = env->db;
	if (!s)
		return 0; /* healed already */
	struct cp_node r[DB_MAX_NODES];
	memset(r, 0, sizeof r);
	int rc = heal_scan(env, act, s, r, err, errlen);
	if (rc)
		return rc;
	bool all_fired = true;
	char quiet[96] = "", win[64], names[NEMESIS_DESC_MAX - 64];
	bool sel_quiet[DB_MAX_NODES] = {0};
	for (size_t i = 0; i < db->n; i++) {
		if (!act->nodes[i] || r[i].fired)
			continue;
		all_fired = false;
		sel_quiet[i] = true;
		char e2[256];
		if (r[i].running)
			r[i].disarmed = disarm(db, i, e2, sizeof e2) == 0;
	}
	rc = heal_restart(env, s, r, err, errlen);
	units_format_duration(s->window_ns, win, sizeof win);
	/* Healed before its window was over (a heal step, the end of the run, a signal): say how
	 * long it really had. */
	int64_t armed_for = clock_mono_ns() - s->armed_mono;
	if (armed_for < s->window_ns) {
		char had[32];
		units_format_duration(armed_for / CLOCK_NS_PER_MS * CLOCK_NS_PER_MS, had, sizeof had);
		snprintf(win, sizeof win, "%s (healed early)", had);
	}
	if (!all_fired) {
		nemesis_nodes_text(db, sel_quiet, names, sizeof names);
		snprintf(quiet, sizeof quiet, "did not fire within %s", win);
		snprintf(act->error, sizeof act->error,
			 "crash point %.63s did not fire on %.100s within %.20s",
			 act->fault->point, names, win);
		env->log(env, "%s", act->error);
	}
	heal_value(act, db, r, all_fired, quiet);
	nemesis_nodes_text(db, act->nodes, names, sizeof names);
	snprintf(act->heal_desc, sizeof act->heal_desc, "crashpoint %.63s on %.100s: %.60s",
		 act->fault->point, names,
		 all_fired ? "fired, restarted" : quiet);
	if (!rc) {
		free(s);
		act->state = NULL;
	}
	return rc;
}

/* Disarm every node that answers; start every node that is not running. */
static int crashpoint_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	struct db *db = env->db;
	struct db_status st[DB_MAX_NODES];
	bool down[DB_MAX_NODES] = {0};
	bool any = false;
	int rc = db_status_all(db, st, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < db->n; i++) {
		char e2[256];
		if (st[i].running && st[i].up)
			disarm(db, i, e2, sizeof e2); /* a node without --fault-injection refuses: fine */
		down[i] = !st[i].running;
		any |= down[i];
	}
	if (!any)
		return 0;
	char names[256];
	nemesis_nodes_text(db, down, names, sizeof names);
	env->log(env, "heal: starting %s (not running)", names);
	return db_each(db, DB_OP_START, down, NULL, err, errlen);
}

const struct nemesis_kind nemesis_crashpoint = {
	.name = "crashpoint",
	.summary = "arm a named crash point on the target (default the leader); restart the node "
		   "once it died there, or report that it did not fire within duration",
	.fields = "target,point,hit,duration,restart_after",
	.required = "point",
	.default_target = "leader",
	.default_duration_ns = DEFAULT_WINDOW_NS,
	.start_f = "crashpoint",
	.heal_f = "restart",
	.start = crashpoint_start,
	.heal = crashpoint_heal,
	.heal_all = crashpoint_heal_all,
	.check = crashpoint_check,
};
