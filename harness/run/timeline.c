/* run/timeline.c — a scripted nemesis: the spec's `nemesis.timeline`, one step after another.
 *
 * Each step waits for its moment, then acts:
 *   at: T           the run's clock reaches T
 *   when: leader    a leader is elected (a majority of the nodes agree, INFO)
 *   when: commit>=N some node's commit index has reached N
 *   when: log~RE    a line that some node writes to its log matches RE (PCRE2): a line written
 *                   since the step before it began to act (or, for a first step, since the
 *                   wait began)
 *   when: died      a node that the latest fault-starting step hit is no longer running
 * A `when` has a timeout: a condition that does not hold in time is reported ("the scenario
 * did not run as written") and its step is skipped; the run's verdict cannot then be `valid`
 * (an unexpected pass would hide that the bug was never provoked). The action is `heal`
 * (every active fault is healed) or a fault, started like the random schedule's; its target
 * may name an earlier step (`$id`): the nodes that step hit (for a partition that isolates
 * nodes, isolate-leader or isolate-node, the isolated ones). A fault is healed after its
 * `restart_after` or `duration`, or by a later `heal` step, or when the main phase ends.
 *
 * Runs on the nemesis thread only; conditions are polled at most every POLL_NS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/shquote.h"
#include "harness/db/logscan.h"
#include "harness/run/internal.h"
#include "lib/err.h"
#include "lib/sbuf.h"
#include "lib/units.h"

#define POLL_NS (200 * CLOCK_NS_PER_MS)
#define LOG_READ_MAX (4u << 20) /* bytes of new log read per node per poll */

static const char *const result_names[] = {"not reached", "ran", "timed out", "failed"};

void run_timeline_init(struct run *r)
{
	struct run_timeline *tl = &r->tl;
	memset(tl, 0, sizeof *tl);
	tl->wait_since = -1;
	for (size_t i = 0; i < SPEC_MAX_STEPS; i++)
		tl->act[i] = SIZE_MAX;
}

void run_timeline_free(struct run *r)
{
	logscan_free(r->tl.log_re);
	r->tl.log_re = NULL;
}

/* ---- conditions -------------------------------------------------------------------------- */

static long long max_commit(struct run *r)
{
	struct db_status st[DB_MAX_NODES];
	db_info_all(r->db, st);
	long long best = -1;
	for (size_t i = 0; i < r->db->n; i++)
		if (st[i].up && st[i].commit_index > best)
			best = st[i].commit_index;
	return best;
}

/* Node i's main log file. */
static int log_path(struct run *r, size_t i, char *path)
{
	char paths[4][CONTROL_PATH_MAX];
	if (!r->db->ops->log_files || r->db->ops->log_files(r->db, i, paths, 4) == 0)
		return -1;
	memcpy(path, paths[0], CONTROL_PATH_MAX);
	return 0;
}

/* Where node i's log ends now (0 when it has none or the size cannot be read). */
static int mark_one(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct run *r = arg;
	char path[CONTROL_PATH_MAX], *out = NULL;
	r->tl.log_off[i] = 0;
	if (log_path(r, i, path))
		return 0;
	char *cmd = shquote_fmt("stat -c %%s %q 2>/dev/null || echo 0", path);
	if (cmd && !control_run(c, cmd, r->db->op_timeout_ms, &out, err, errlen))
		r->tl.log_off[i] = strtoll(out, NULL, 10);
	free(cmd);
	free(out);
	return 0;
}

/* The size of every node's log now, asked of every node at once: lines written after this
 * count for `log~`. */
static void mark_logs(struct run *r)
{
	char err[512];
	control_pool_each(&r->db->pool, mark_one, r, NULL, err, sizeof err);
}

struct match_arg {
	char line[512];
	bool found;
};

static int on_match(const struct logscan_match *m, void *arg)
{
	struct match_arg *a = arg;
	snprintf(a->line, sizeof a->line, "%s: %.400s", m->file, m->text);
	a->found = true;
	return 1; /* one is enough */
}

/* What each node's log holds past log_off (NULL where it could not be read). */
struct news {
	struct run *r;
	char *out[DB_MAX_NODES];
};

/* Node i's part of a poll: at most LOG_READ_MAX bytes from log_off[i] on, into out[i]. */
static int read_news(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct news *nw = arg;
	char path[CONTROL_PATH_MAX];
	if (log_path(nw->r, i, path))
		return 0;
	char *cmd = shquote_fmt("tail -c +%lld %q 2>/dev/null | head -c %u; exit 0",
				nw->r->tl.log_off[i] + 1, path, LOG_READ_MAX);
	if (!cmd)
		return 0;
	if (control_run(c, cmd, nw->r->db->op_timeout_ms, &nw->out[i], err, errlen)) {
		free(nw->out[i]);
		nw->out[i] = NULL;
	}
	free(cmd);
	return 0;
}

/* Does a line written since mark_logs match the step's pattern? Reads only what is new, from
 * every node at once. */
static bool log_matches(struct run *r, char *found, size_t foundlen)
{
	struct news nw = {.r = r};
	char err[512];
	control_pool_each(&r->db->pool, read_news, &nw, NULL, err, sizeof err);
	bool any = false;
	for (size_t i = 0; i < r->db->n; i++) {
		char *out = nw.out[i];
		if (!out || any) {
			free(out);
			continue;
		}
		/* Only whole lines: a line still being written is read next time. */
		size_t len = strlen(out);
		while (len && out[len - 1] != '\n')
			len--;
		struct match_arg a = {.found = false};
		logscan_buffer(r->tl.log_re, r->db->nodes[i].name, out, len, on_match, &a, NULL,
			       err, sizeof err);
		r->tl.log_off[i] += (long long)len;
		free(out);
		if (a.found) {
			snprintf(found, foundlen, "%s", a.line);
			any = true;
		}
	}
	return any;
}

/* Has a node hit by the latest fault-starting step stopped running? */
static bool target_died(struct run *r, char *which, size_t n)
{
	struct run_timeline *tl = &r->tl;
	if (!tl->any_fault_step || tl->act[tl->last_fault_step] == SIZE_MAX)
		return false;
	bool nodes[DB_MAX_NODES];
	pthread_mutex_lock(&r->mu);
	memcpy(nodes, r->acts[tl->act[tl->last_fault_step]].nodes, sizeof nodes);
	pthread_mutex_unlock(&r->mu);
	struct db_status st[DB_MAX_NODES];
	char err[512];
	if (db_status_all(r->db, st, err, sizeof err))
		return false;
	for (size_t i = 0; i < r->db->n; i++)
		if (nodes[i] && !st[i].running) {
			snprintf(which, n, "%s is not running", r->db->nodes[i].name);
			return true;
		}
	return false;
}

/* Is step k's condition true now? `why` says what was seen. */
static bool holds(struct run *r, const struct spec_step *st, char *why, size_t n)
{
	if (!strcmp(st->when, "leader")) {
		int l = run_find_leader(r, 0, false);
		if (l >= 0)
			snprintf(why, n, "leader %s", r->db->nodes[l].name);
		return l >= 0;
	}
	if (!strcmp(st->when, "commit")) {
		long long want = strtoll(st->when_arg, NULL, 10), got = max_commit(r);
		snprintf(why, n, "commit index %lld", got);
		return got >= want;
	}
	if (!strcmp(st->when, "log"))
		return log_matches(r, why, n);
	if (!strcmp(st->when, "died"))
		return target_died(r, why, n);
	snprintf(why, n, "unknown condition '%s'", st->when);
	return false;
}

/* ---- actions ----------------------------------------------------------------------------- */

/* The step's fault with `$id` resolved to the nodes that step hit. */
static int resolve(struct run *r, size_t k, char *err, size_t errlen)
{
	const struct spec *s = &r->spec;
	struct spec_fault *f = &r->tl.fault[k];
	*f = s->nemesis.steps[k].action;
	if (f->target[0] != '$')
		return 0;
	for (size_t j = 0; j < k; j++) {
		if (strcmp(s->nemesis.steps[j].name, f->target + 1))
			continue;
		if (r->tl.act[j] == SIZE_MAX)
			return err_set(err, errlen, SB_EINVAL, "target %s: step '%s' started no fault",
				       f->target, f->target + 1);
		bool nodes[DB_MAX_NODES], picked[DB_MAX_NODES], any = false;
		pthread_mutex_lock(&r->mu);
		memcpy(nodes, r->acts[r->tl.act[j]].nodes, sizeof nodes);
		memcpy(picked, r->acts[r->tl.act[j]].picked, sizeof picked);
		pthread_mutex_unlock(&r->mu);
		for (size_t i = 0; i < r->db->n; i++)
			any |= picked[i];
		if (any)
			memcpy(nodes, picked, sizeof nodes);
		char list[sizeof f->target] = "";
		size_t len = 0;
		for (size_t i = 0; i < r->db->n; i++)
			if (nodes[i])
				len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
							len ? "," : "", r->db->nodes[i].name);
		if (!len)
			return err_set(err, errlen, SB_EINVAL, "target %s: step '%s' hit no node",
				       f->target, f->target + 1);
		snprintf(f->target, sizeof f->target, "%s", list);
		return 0;
	}
	return err_set(err, errlen, SB_EINVAL, "target %s: no earlier step is called '%s'",
		       f->target, f->target + 1);
}

static void act(struct run *r, size_t k, int64_t now, const char *why)
{
	struct run_timeline *tl = &r->tl;
	const struct spec_step *st = &r->spec.nemesis.steps[k];
	tl->ran_at[k] = now;
	/* A `log~` step next sees what this step provokes from its first moment: an election a
	 * partition sets off can be over before the partition is in place on every host. */
	if (k + 1 < r->spec.nemesis.nsteps && !strcmp(r->spec.nemesis.steps[k + 1].when, "log")) {
		mark_logs(r);
		tl->log_marked = true;
	}
	if (st->heal) {
		run_log(r, "timeline step %zu (%s): heal every active fault", k + 1, why);
		run_heal_due(r, true);
		tl->result[k] = RUN_STEP_RAN;
		return;
	}
	char err[512];
	if (resolve(r, k, err, sizeof err)) {
		tl->result[k] = RUN_STEP_FAILED;
		snprintf(tl->note[k], sizeof tl->note[k], "%s", err);
		run_error(r, "timeline step %zu: %s", k + 1, err);
		return;
	}
	const struct spec_fault *f = &tl->fault[k];
	int64_t lasts = f->restart_after_ns ? f->restart_after_ns : f->duration_ns;
	run_log(r, "timeline step %zu (%s): %s %s", k + 1, why, f->kind, f->target);
	/* The fault's randomness comes from the seed and the step, so a timeline replays. */
	uint64_t rnd = r->spec.seed ^ (0x9e3779b97f4a7c15ull * (k + 1));
	size_t i = run_start_fault(r, f, RUN_TIMELINE_ID_BASE + k, rnd, now + lasts);
	tl->act[k] = i;
	tl->last_fault_step = k;
	tl->any_fault_step = true;
	bool failed = i == SIZE_MAX;
	if (!failed) {
		pthread_mutex_lock(&r->mu);
		failed = r->acts[i].error[0] != '\0';
		if (failed)
			snprintf(tl->note[k], sizeof tl->note[k], "%s", r->acts[i].error);
		pthread_mutex_unlock(&r->mu);
	}
	tl->result[k] = failed ? RUN_STEP_FAILED : RUN_STEP_RAN;
}

/* Start waiting for step k: note the time, and for `log~` where the logs end now. */
static int begin_wait(struct run *r, size_t k, int64_t now, char *err, size_t errlen)
{
	const struct spec_step *st = &r->spec.nemesis.steps[k];
	bool marked = r->tl.log_marked; /* by the step before, when it acted */
	r->tl.log_marked = false;
	r->tl.wait_since = now;
	r->tl.last_poll = -POLL_NS;
	if (strcmp(st->when, "log"))
		return 0;
	logscan_free(r->tl.log_re);
	r->tl.log_re = NULL;
	struct logscan *ls = NULL;
	int rc = logscan_new(&ls, err, errlen);
	if (!rc)
		rc = logscan_add(ls, "when", st->when_arg, err, errlen);
	if (rc) {
		logscan_free(ls);
		return rc;
	}
	r->tl.log_re = ls;
	if (!marked)
		mark_logs(r);
	return 0;
}

int64_t run_timeline_tick(struct run *r, int64_t now)
{
	struct run_timeline *tl = &r->tl;
	const struct spec_nemesis *nm = &r->spec.nemesis;
	while (tl->next < nm->nsteps) {
		size_t k = tl->next;
		const struct spec_step *st = &nm->steps[k];
		char why[512] = "";
		if (st->at_ns >= 0 && !st->when[0]) {
			if (now < st->at_ns)
				return st->at_ns;
			snprintf(why, sizeof why, "at %.3f s", (double)st->at_ns / 1e9);
			act(r, k, now, why);
			tl->next++;
			tl->wait_since = -1;
			now = run_now(r);
			continue;
		}
		if (tl->wait_since < 0) {
			char err[512];
			if (begin_wait(r, k, now, err, sizeof err)) {
				tl->result[k] = RUN_STEP_FAILED;
				snprintf(tl->note[k], sizeof tl->note[k], "%s", err);
				run_error(r, "timeline step %zu: %s", k + 1, err);
				tl->next++;
				tl->wait_since = -1;
				continue;
			}
			run_log(r, "timeline step %zu: waiting for %s%s%s", k + 1, st->when,
				st->when_arg[0] ? " " : "", st->when_arg);
		}
		if (now - tl->last_poll < POLL_NS)
			return tl->last_poll + POLL_NS;
		tl->last_poll = now;
		if (holds(r, st, why, sizeof why)) {
			act(r, k, run_now(r), why);
			tl->next++;
			tl->wait_since = -1;
			now = run_now(r);
			continue;
		}
		if (now - tl->wait_since >= st->timeout_ns) {
			char lim[32];
			units_format_duration(st->timeout_ns, lim, sizeof lim);
			tl->result[k] = RUN_STEP_TIMED_OUT;
			tl->ran_at[k] = now;
			char note[sizeof tl->note[k]];
			snprintf(note, sizeof note, "%s%s%s did not hold within %s", st->when,
				 st->when_arg[0] ? " " : "", st->when_arg, lim);
			memcpy(tl->note[k], note, sizeof note);
			run_error(r, "timeline step %zu: %s: the scenario did not run as written",
				  k + 1, tl->note[k]);
			tl->next++;
			tl->wait_since = -1;
			continue;
		}
		return now + POLL_NS;
	}
	return INT64_MAX;
}

void run_timeline_end(struct run *r)
{
	struct run_timeline *tl = &r->tl;
	for (size_t k = tl->next; k < r->spec.nemesis.nsteps; k++)
		if (tl->result[k] == RUN_STEP_PENDING) {
			snprintf(tl->note[k], sizeof tl->note[k], "the main phase ended first");
			run_log(r, "timeline step %zu: not reached (the main phase ended first)", k + 1);
		}
	run_timeline_free(r);
}

bool run_timeline_as_written(const struct run *r)
{
	for (size_t k = 0; k < r->spec.nemesis.nsteps; k++)
		if (r->tl.result[k] != RUN_STEP_RAN)
			return false;
	return true;
}

void run_timeline_json(const struct run *r, struct sbuf *b)
{
	sbuf_addc(b, '[');
	for (size_t k = 0; k < r->spec.nemesis.nsteps; k++) {
		const struct spec_step *st = &r->spec.nemesis.steps[k];
		enum run_step_result res = r->tl.result[k];
		sbuf_addf(b, "%s{\"step\":%zu,\"id\":", k ? "," : "", k + 1);
		if (st->name[0])
			sbuf_add_json_string(b, st->name, strlen(st->name));
		else
			sbuf_lit(b, "null");
		sbuf_addf(b, ",\"result\":\"%s\",\"at_s\":", result_names[res]);
		if (res == RUN_STEP_PENDING)
			sbuf_lit(b, "null");
		else
			sbuf_addf(b, "%.6f", (double)r->tl.ran_at[k] / 1e9);
		sbuf_lit(b, ",\"fault\":");
		if (r->tl.act[k] != SIZE_MAX)
			sbuf_addf(b, "%llu", (unsigned long long)r->acts[r->tl.act[k]].id);
		else
			sbuf_lit(b, "null");
		sbuf_lit(b, ",\"note\":");
		if (r->tl.note[k][0])
			sbuf_add_json_string(b, r->tl.note[k], strlen(r->tl.note[k]));
		else
			sbuf_lit(b, "null");
		sbuf_addc(b, '}');
	}
	sbuf_addc(b, ']');
}

void run_timeline_print(const struct spec *s, FILE *out)
{
	if (!s->nemesis.nsteps)
		return;
	fprintf(out, "# timeline: %zu steps, in order\n", s->nemesis.nsteps);
	for (size_t k = 0; k < s->nemesis.nsteps; k++) {
		const struct spec_step *st = &s->nemesis.steps[k];
		char when[600], lim[32];
		units_format_duration(st->timeout_ns, lim, sizeof lim);
		if (st->at_ns >= 0 && !st->when[0]) {
			char at[32];
			units_format_duration(st->at_ns, at, sizeof at);
			snprintf(when, sizeof when, "at %s", at);
		} else {
			snprintf(when, sizeof when, "when %s%s%s (within %s)", st->when,
				 !strcmp(st->when, "commit") ? ">=" : !strcmp(st->when, "log") ? "~" : "",
				 st->when_arg, lim);
		}
		fprintf(out, "  step %zu%s%s%s: %s: ", k + 1, st->name[0] ? " (" : "", st->name,
			st->name[0] ? ")" : "", when);
		if (st->heal) {
			fprintf(out, "heal every active fault\n");
			continue;
		}
		const struct spec_fault *f = &st->action;
		fprintf(out, "%s%s%s", f->kind, f->target[0] ? " " : "", f->target);
		if (f->point[0])
			fprintf(out, " point %s", f->point);
		if (f->shape[0])
			fprintf(out, " shape %s", f->shape);
		if (f->duration_ns) {
			units_format_duration(f->duration_ns, lim, sizeof lim);
			fprintf(out, " for %s", lim);
		}
		if (f->restart_after_ns) {
			units_format_duration(f->restart_after_ns, lim, sizeof lim);
			fprintf(out, ", restart after %s", lim);
		}
		fputc('\n', out);
	}
}
