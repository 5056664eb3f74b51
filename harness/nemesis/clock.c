/* clock — skew a node's wall clock: an offset (`offset: 1h`, `-500ms`) and a rate
 * (`clock_rate: 1.01`: 1% fast), while it runs, with libfaketime.
 *
 * The nodes must run under libfaketime: db_opts.faketime (set by nemesis_db_opts when the spec
 * has a clock fault) starts each node preloaded, reading <node dir>/faketime.rc, neutral
 * ("+0 x1") until a fault writes it. Only CLOCK_REALTIME (time(), gettimeofday, the node's log
 * timestamps) is skewed; the monotonic clock stays real, as NTP steps never move it either.
 * libfaketime also divides the node's sleeps and poll/epoll timeouts by the rate: a slow
 * clock (rate < 1) makes a node's timers fire late; with a fast one it wakes early and its
 * monotonic deadlines keep its timers on time.
 *
 * libfaketime computes `start + (now - start) * rate + offset` from the process's start, so
 * a new rate alone would jump the clock by (rate - 1) * (time since the node started). The
 * fault compensates on the host: from the moment it starts, the node's clock reads
 *     real time + offset + (rate - 1) * (time since the fault started)
 * (the process's start time comes from /proc to 10 ms). Heal writes "+0 x1" back: the clock
 * is reset at once, as an NTP step would. heal_all resets every node's file. The history
 * event records the skew: {"nodes":["n2"],"offset_s":3600,"rate":1}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/shquote.h"
#include "harness/nemesis/nemesis.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/units.h"

#define NEUTRAL "+0 x1"
#define MAX_OFFSET_NS (3650LL * 24 * 3600 * CLOCK_NS_PER_S) /* ten years */

static double rate_of(const struct spec_fault *f)
{
	return f->clock_rate == 0 ? 1.0 : f->clock_rate; /* 0: not given */
}

static int clock_check(const struct spec_fault *f, char *err, size_t errlen)
{
	double r = rate_of(f);
	if (!(r >= 0.01 && r <= 100))
		return err_set(err, errlen, SB_EINVAL, "clock: clock_rate %g is not in 0.01..100", r);
	if (f->offset_ns > MAX_OFFSET_NS || f->offset_ns < -MAX_OFFSET_NS)
		return err_set(err, errlen, SB_EINVAL, "clock: offset beyond ten years");
	if (f->offset_ns == 0 && r == 1.0)
		return err_set(err, errlen, SB_EINVAL,
			       "clock: nothing to do (give offset, clock_rate or both)");
	return 0;
}

struct clock_run {
	struct db *db;
	const bool *sel;
	const long *pids;    /* start: each node's pid */
	double offset_s, rate;
	bool start, only_skewed;
	bool changed[DB_MAX_NODES];
};

/* Start: check that the node runs under libfaketime, then write the compensated setting. */
static char *skew_script(const struct clock_run *r, size_t i)
{
	char off[64], rate[64];
	snprintf(off, sizeof off, "%.9f", r->offset_s);
	snprintf(rate, sizeof rate, "%.9g", r->rate);
	return shquote_fmt(
		"d=%q\np=%ld\noff=%q\nrate=%q\n"
		"f=\"$d/faketime.rc\"\n"
		"tr '\\0' '\\n' < \"/proc/$p/environ\" 2>/dev/null | grep -qxF \"FAKETIME_TIMESTAMP_FILE=$f\" "
		"|| { echo \"the node does not run under libfaketime (start it with db_opts.faketime: "
		"the runner does when the spec has a clock fault)\" >&2; exit 5; }\n"
		"export LC_ALL=C\n"
		"st=$(sed 's/^.*) //' \"/proc/$p/stat\" | cut -d' ' -f20)\n"
		"hz=$(getconf CLK_TCK)\n"
		"up=$(cut -d' ' -f1 /proc/uptime)\n"
		"now=$(date +%%s.%%N)\n"
		"o=$(awk -v now=\"$now\" -v up=\"$up\" -v st=\"$st\" -v hz=\"$hz\" -v o=\"$off\" "
		"-v r=\"$rate\" 'BEGIN { s = now - up + st / hz; printf \"%%+.6f\", o - (r - 1) * (now - s) }')\n"
		"[ -n \"$o\" ] || exit 4\n"
		"printf '%%s x%%s\\n' \"$o\" \"$rate\" > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\" || exit 4\n"
		"echo \"$o x$rate\"\n",
		r->db->nodes[i].dir, r->pids[i], off, rate);
}

/* Heal: write the neutral setting (a node that never ran under libfaketime has no file). */
static char *reset_script(const struct clock_run *r, size_t i)
{
	return shquote_fmt("d=%q\nf=\"$d/faketime.rc\"\n"
			   "[ -f \"$f\" ] || exit 0\n"
			   "%s"
			   "printf '%%s\\n' '" NEUTRAL "' > \"$f.tmp\" && mv -f \"$f.tmp\" \"$f\" || exit 4\n"
			   "echo reset\n",
			   r->db->nodes[i].dir,
			   r->only_skewed ? "[ \"$(cat \"$f\")\" = '" NEUTRAL "' ] && exit 0\n" : "");
}

static int clock_host(struct control *ctl, size_t i, void *arg, char *err, size_t errlen)
{
	struct clock_run *r = arg;
	if (r->sel && !r->sel[i])
		return 0;
	char *s = r->start ? skew_script(r, i) : reset_script(r, i);
	char *out = NULL;
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = control_run(ctl, s, r->db->op_timeout_ms, &out, err, errlen);
	free(s);
	r->changed[i] = !rc && out && out[0];
	free(out);
	if (rc)
		err_prefix(err, errlen, "node %s: clock", r->db->nodes[i].name);
	return rc;
}

static int clock_run_each(struct nemesis_env *env, struct clock_run *r, char *err, size_t errlen)
{
	return control_pool_each(&env->db->pool, clock_host, r, NULL, err, errlen);
}

static int clock_start(struct nemesis_env *env, struct nemesis_act *act, uint64_t rnd,
		       char *err, size_t errlen)
{
	const struct spec_fault *f = act->fault;
	int rc = clock_check(f, err, errlen);
	if (rc)
		return rc;
	const char *target = f->target[0] ? f->target : "random";
	if ((rc = nemesis_pick(env, target, rnd, act->nodes, err, errlen)) < 0)
		return rc;
	struct db_status st[DB_MAX_NODES];
	long pids[DB_MAX_NODES] = {0};
	if ((rc = db_status_all(env->db, st, err, errlen)))
		return rc;
	for (size_t i = 0; i < env->db->n; i++) {
		if (act->nodes[i] && !st[i].running)
			return err_set(err, errlen, SB_EIO, "clock: node %s is not running",
				       env->db->nodes[i].name);
		pids[i] = st[i].pid;
	}
	double rate = rate_of(f);
	char names[NEMESIS_DESC_MAX - 80], json[NEMESIS_VALUE_MAX - 128], off[32];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	units_format_duration(f->offset_ns < 0 ? -f->offset_ns : f->offset_ns, off, sizeof off);
	snprintf(act->desc, sizeof act->desc, "clock %s: %s%s, rate %g", names,
		 f->offset_ns < 0 ? "-" : "+", off, rate);
	snprintf(act->value, sizeof act->value, "{\"nodes\":%s,\"offset_s\":%.9g,\"rate\":%.9g}",
		 json, (double)f->offset_ns / 1e9, rate);
	struct clock_run *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*r = (struct clock_run){.db = env->db, .sel = act->nodes, .pids = pids,
				.offset_s = (double)f->offset_ns / 1e9, .rate = rate, .start = true};
	rc = clock_run_each(env, r, err, errlen);
	if (rc) {
		char e2[256];
		r->start = false;
		clock_run_each(env, r, e2, sizeof e2); /* no node stays half-skewed */
	}
	free(r);
	return rc;
}

static int clock_reset(struct nemesis_env *env, const bool *sel, char *err, size_t errlen)
{
	struct clock_run *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*r = (struct clock_run){.db = env->db, .sel = sel, .only_skewed = !sel};
	int rc = clock_run_each(env, r, err, errlen);
	if (!sel) {
		bool any[DB_MAX_NODES];
		memcpy(any, r->changed, sizeof any);
		char names[256];
		nemesis_nodes_text(env->db, any, names, sizeof names);
		if (names[0])
			env->log(env, "heal: reset the clock of %s", names);
	}
	free(r);
	return rc;
}

static int clock_heal(struct nemesis_env *env, struct nemesis_act *act, char *err,
		      size_t errlen)
{
	char names[NEMESIS_DESC_MAX - 16], json[NEMESIS_VALUE_MAX - 64];
	nemesis_nodes_text(env->db, act->nodes, names, sizeof names);
	nemesis_nodes_json(env->db, act->nodes, json, sizeof json);
	snprintf(act->heal_desc, sizeof act->heal_desc, "reset clock %s", names);
	snprintf(act->heal_value, sizeof act->heal_value, "{\"nodes\":%s,\"offset_s\":0,\"rate\":1}",
		 json);
	return clock_reset(env, act->nodes, err, errlen);
}

static int clock_heal_all(struct nemesis_env *env, char *err, size_t errlen)
{
	return clock_reset(env, NULL, err, errlen);
}

static void clock_db_opts(struct db_opts *o)
{
	o->faketime = true;
}

const struct nemesis_kind nemesis_clock = {
	.name = "clock",
	.summary = "skew the target nodes' wall clock by offset and clock_rate (libfaketime)",
	.fields = "target,duration,offset,clock_rate",
	.required = "",
	.default_target = "random",
	.start_f = "clock",
	.heal_f = "clock-reset",
	.start = clock_start,
	.heal = clock_heal,
	.heal_all = clock_heal_all,
	.check = clock_check,
	.db_opts = clock_db_opts,
};
