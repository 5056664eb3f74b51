/* netem — a bad network between nodes: delay (with jitter), loss, duplication, reordering and
 * corruption of the packets a target node sends to its peers, with Linux netem.
 *
 * On each target host, for the interface that reaches each peer (`ip route get`):
 *
 *     tc qdisc replace dev IF root handle 5b5b: prio bands 4
 *     tc qdisc replace dev IF parent 5b5b:4 handle 5b5c: netem delay 100000us ...
 *     tc filter add dev IF parent 5b5b: protocol ip prio 1 u32 match ip dst PEER/32 flowid 5b5b:4
 *
 * Only packets to the cluster's peers go through netem (a filter per peer address); the
 * controller's own traffic (SSH) keeps the prio qdisc's ordinary bands, so a lossy network
 * never slows the control path. The qdisc sits on the sender's side: `delay: 100ms` on n1
 * adds 100 ms to everything n1 sends to a peer, so a round trip between n1 and a peer gets
 * 100 ms longer. A newer netem on a node replaces an older one (the root qdisc is replaced).
 * A peer reached over `lo` (several nodes on one host) is refused: netem there would slow the
 * host's own traffic.
 *
 * Heal deletes the root qdisc of every interface of the target hosts that has a netem qdisc
 * (the kernel's default comes back); heal_all does that on every host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/shquote.h"
#include "harness/nemesis/nemesis.h"
#include "lib/err.h"
#include "lib/sbuf.h"
#include "lib/units.h"

static int netem_check(const struct spec_fault *f, char *err, size_t errlen)
{
	const double pct[] = {f->loss, f->duplicate, f->reorder, f->corrupt};
	const char *names[] = {"loss", "duplicate", "reorder", "corrupt"};
	bool any = f->delay_ns > 0;
	for (size_t i = 0; i < 4; i++) {
		if (!(pct[i] >= 0 && pct[i] <= 100))
			return err_set(err, errlen, SB_EINVAL, "netem: %s must be a percentage 0..100",
				       names[i]);
		any |= pct[i] > 0;
	}
	if (f->delay_ns < 0 || f->jitter_ns < 0)
		return err_set(err, errlen, SB_EINVAL, "netem: delay and jitter cannot be negative");
	if (!any)
		return err_set(err, errlen, SB_EINVAL,
			       "netem: nothing to do (give delay, loss, duplicate, reorder or corrupt)");
	if (f->jitter_ns > 0 && f->delay_ns <= 0)
		return err_set(err, errlen, SB_EINVAL, "netem: jitter needs a delay");
	if (f->reorder > 0 && f->delay_ns <= 0)
		return err_set(err, errlen, SB_EINVAL,
			       "netem: reorder needs a delay (reordered packets skip the delay)");
	return 0;
}

/* netem's arguments ("delay 100000us 10000us loss 1%"), and the same for people ("delay
 * 100ms jitter 10ms, loss 1%"). Numbers only: nothing from the spec goes in as text. */
static void netem_args(const struct spec_fault *f, char *args, size_t alen, char *human,
		       size_t hlen)
{
	size_t a = 0, h = 0;
	args[0] = human[0] = '\0';
	if (f->delay_ns > 0) {
		char d[32], j[32];
		units_format_duration(f->delay_ns, d, sizeof d);
		a += (size_t)snprintf(args + a, alen - a, "delay %lldus",
				      (long long)(f->delay_ns / 1000));
		h += (size_t)snprintf(human + h, hlen - h, "delay %s", d);
		if (f->jitter_ns > 0) {
			units_format_duration(f->jitter_ns, j, sizeof j);
			a += (size_t)snprintf(args + a, alen - a, " %lldus",
					      (long long)(f->jitter_ns / 1000));
			h += (size_t)snprintf(human + h, hlen - h, " jitter %s", j);
		}
	}
	const double pct[] = {f->loss, f->duplicate, f->reorder, f->corrupt};
	const char *names[] = {"loss", "duplicate", "reorder", "corrupt"};
	for (size_t i = 0; i < 4; i++) {
		if (pct[i] <= 0 || a >= alen || h >= hlen)
			continue;
		a += (size_t)snprintf(args + a, alen - a, "%s%s %.6g%%", a ? " " : "", names[i],
				      pct[i]);
		h += (size_t)snprintf(human + h, hlen - h, "%s%s %.6g%%", h ? ", " : "", names[i],
				      pct[i]);
	}
}

/* The script that puts netem in front of every peer of node i. */
static char *apply_script(const struct db *db, size_t i, const char *args)
{
	struct sbuf b = {0};
	/* args: digits, letters, '.', '%'. On any failure the qdiscs made so far are removed
	 * (heal_all looks for netem, and a prio qdisc without one would stay). */
	sbuf_addf(&b,
		  "args='%s'\ndevs=\n"
		  "undo() {\n"
		  "  for u in $devs $1; do tc qdisc del dev \"$u\" root 2>/dev/null; done\n"
		  "  exit 4\n"
		  "}\n"
		  "for a in",
		  args);
	for (size_t j = 0; j < db->n; j++) {
		if (j == i)
			continue;
		char *q = shquote(db->nodes[j].listen_host);
		if (!q) {
			sbuf_free(&b);
			return NULL;
		}
		sbuf_addf(&b, " %s", q);
		free(q);
	}
	sbuf_addf(
		&b,
		"; do\n"
		"  ip=$(getent ahosts \"$a\" | awk 'NR == 1 {print $1}')\n"
		"  [ -n \"$ip\" ] || { echo \"cannot resolve peer $a\" >&2; exit 3; }\n"
		"  dev=$(ip -o route get \"$ip\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')\n"
		"  [ -n \"$dev\" ] || { echo \"no route to peer $ip\" >&2; exit 3; }\n"
		"  if [ \"$dev\" = lo ]; then\n"
		"    echo \"peer $a is on this host (lo): netem would slow the host's own "
		"traffic\" >&2; exit 3\n"
		"  fi\n"
		"  case \" $devs \" in *\" $dev \"*) ;; *)\n"
		"    tc qdisc del dev \"$dev\" root 2>/dev/null\n"
		"    e=$(tc qdisc replace dev \"$dev\" root handle 5b5b: prio bands 4 2>&1) || {\n"
		"      echo \"tc prio qdisc on $dev: $e (the kernel needs sch_prio)\" >&2; undo; }\n"
		"    e=$(tc qdisc replace dev \"$dev\" parent 5b5b:4 handle 5b5c: netem $args 2>&1) || {\n"
		"      echo \"tc netem qdisc on $dev: $e (the kernel needs sch_netem)\" >&2; undo \"$dev\"; }\n"
		"    devs=\"$devs $dev\";;\n"
		"  esac\n"
		"  case $ip in\n"
		"    *:*) tc filter add dev \"$dev\" parent 5b5b: protocol ipv6 prio 1 u32 "
		"match ip6 dst \"$ip/128\" flowid 5b5b:4 || undo;;\n"
		"    *) tc filter add dev \"$dev\" parent 5b5b: protocol ip prio 1 u32 "
		"match ip dst \"$ip/32\" flowid 5b5b:4 || undo;;\n"
		"  esac\n"
		"done\n"
		"echo $devs\n");
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_take(&b);
}

/* Remove every netem (and the root qdisc above it) on the host. */
static const char remove_script[] =
	"command -v tc >/dev/null 2>&1 || exit 0\n"
	"rc=0\n"
	"for dev in $(tc qdisc show | awk '$1 == \"qdisc\" && $2 == \"netem\" && $4 == \"dev\" "
	"{print $5}' | sort -u); do\n"
	"  tc qdisc del dev \"$dev\" root || rc=4\n"
	"  echo \"$dev\"\n"
	"done\n"
	"exit $rc\n";

struct netem_run {
	struct db *db;
	const bool *sel;
	const char *args; /* NULL: remove */
	char ifaces[DB_MAX_NODES][64];
};

static int netem_host(struct control *ctl, size_t i, void *arg, char *err, size_t errlen)
{
	struct netem_run *r = arg;
	if (r->sel && !r->sel[i])
		return 0;
	char *s = r->args ? apply_script(r->db, i, r->args) : strdup(remove_script);
	char *out = NULL;
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = control_run(ctl, s, r->db->op_timeout_ms, &out, err, errlen);
	free(s);
	if (!rc && out) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(r->ifaces[i], sizeof r->ifaces[i], "%.63s", out);
	}
	free(out);
	return rc;
}

static int netem_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
		       char *err, size_t errlen)
{
	const struct spec_fault *f = act->fault;
	int rc = netem_check(f, err, errlen);
	if (rc)
		return rc;
	const char *target = f->target[0] ? f->target : "all";
	if ((rc = nemesis_pick(env, target, rnd, act->nodes, err, errlen)) < 0)
		return rc;
	char args[256], human[128], names[NEMESIS_DESC_MAX - 140], json[NEMESIS_VALUE_MAX - 300];
	netem_args(f, args, sizeof args, human, sizeof human);
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->desc, sizeof act->desc, "netem %s: %s", names, human);
	snprintf(act->value, sizeof act->value,
		 "{\"nodes\":%s,\"delay_ms\":%.6g,\"jitter_ms\":%.6g,\"loss\":%.6g,"
		 "\"duplicate\":%.6g,\"reorder\":%.6g,\"corrupt\":%.6g,\"netem\":\"%s\"}",
		 json, (double)f->delay_ns / 1e6, (double)f->jitter_ns / 1e6, f->loss, f->duplicate,
		 f->reorder, f->corrupt, args);
	struct netem_run *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*r = (struct netem_run){.db = env->db, .sel = act->nodes, .args = args};
	rc = control_pool_each(&env->db->pool, netem_host, r, NULL, err, errlen);
	if (rc) {
		/* Leave nothing half-made on the hosts that did succeed. */
		char e2[256];
		r->args = NULL;
		control_pool_each(&env->db->pool, netem_host, r, NULL, e2, sizeof e2);
	}
	free(r);
	return rc;
}

static int netem_remove(struct nemesis_env *env, const bool *sel, char *err, size_t errlen)
{
	struct netem_run *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*r = (struct netem_run){.db = env->db, .sel = sel, .args = NULL};
	int rc = control_pool_each(&env->db->pool, netem_host, r, NULL, err, errlen);
	if (!sel) {
		bool any = false;
		char names[512] = "";
		size_t len = 0;
		for (size_t i = 0; i < env->db->n && len < sizeof names; i++)
			if (r->ifaces[i][0]) {
				any = true;
				int w = snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "",
						 env->db->nodes[i].name);
				len += w > 0 ? (size_t)w : 0;
			}
		if (any)
			env->log(env, "heal: removed netem on %s", names);
	}
	free(r);
	return rc;
}

static int netem_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		      size_t errlen)
{
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->heal_desc, sizeof act->heal_desc, "heal netem %s", names);
	snprintf(act->heal_value, sizeof act->heal_value, "{\"nodes\":%s}", json);
	return netem_remove(env, act->nodes, err, errlen);
}

static int netem_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	return netem_remove(env, NULL, err, errlen);
}

const struct nemesis_kind nemesis_netem = {
	.name = "netem",
	.summary = "delay, jitter, loss, duplicate, reorder or corrupt what target nodes send to "
		   "their peers (tc netem)",
	.fields = "target,duration,delay,jitter,loss,duplicate,reorder,corrupt",
	.required = "",
	.default_target = "all",
	.start_f = "netem",
	.heal_f = "heal",
	.start = netem_start,
	.heal = netem_heal,
	.heal_all = netem_heal_all,
	.check = netem_check,
};
