/* checks — election safety, replica agreement and availability of a run (checks.h). */
#include "harness/check/checks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"

#define MAX_LOG_FILES 8

/* Append a string literal. */
#define LIT(b, s) sbuf_lit(b, s)

static void json_s(struct sbuf *b, const char *s)
{
	if (!s)
		LIT(b, "null");
	else
		sbuf_add_json_string(b, s, strlen(s));
}

/* ---- running them ------------------------------------------------------------------------ */

void checks_agreement(struct checks *c, struct db *db, const char *skip_reason,
		      int64_t timeout_ns)
{
	c->agreement_ran = true;
	if (skip_reason)
		agree_skip(&c->agreement, "%s", skip_reason);
	else if (!db)
		agree_skip(&c->agreement, "no cluster was set up");
	else
		agree_run(db, timeout_ns > 0 ? timeout_ns : AGREE_DEFAULT_TIMEOUT_NS, &c->agreement);
}

static void election_skip(struct checks *c, const char *why)
{
	c->election_status = ELECTION_SKIPPED;
	snprintf(c->election_reason, sizeof c->election_reason, "%s", why);
}

static void safety_skip(struct checks *c, const char *why)
{
	c->safety_status = ELECTION_SKIPPED;
	snprintf(c->safety_reason, sizeof c->safety_reason, "%s", why);
}

/* Scan every collected log file of node i, <store>/<node>/<basename of each log file>, with
 * each scanner that is not NULL. */
static int scan_node(struct checks *c, struct election *e, struct nodesafety *ns, struct db *db,
		     size_t i, const char *store_dir, char *err, size_t errlen)
{
	char remote[MAX_LOG_FILES][CONTROL_PATH_MAX];
	size_t n = db->ops->log_files ? db->ops->log_files(db, i, remote, MAX_LOG_FILES) : 0;
	for (size_t k = 0; k < n; k++) {
		const char *base = strrchr(remote[k], '/');
		base = base ? base + 1 : remote[k];
		char path[2 * CONTROL_PATH_MAX], label[ELECTION_WHERE_MAX - 32];
		snprintf(path, sizeof path, "%s/%s/%s", store_dir, db->nodes[i].name, base);
		snprintf(label, sizeof label, "%s/%s", db->nodes[i].name, base);
		if (access(path, F_OK) != 0 && errno == ENOENT)
			continue; /* not collected (a node that never started, a failed download) */
		int rc = e ? election_scan_file(e, path, label, err, errlen) : 0;
		if (!rc && ns)
			rc = nodesafety_scan_file(ns, path, label, err, errlen);
		if (rc)
			return rc;
		c->election_files++;
	}
	return 0;
}

/* Election safety and node safety over the collected logs: one walk over the files, each
 * file read once per scanner (logs are small; the scanners keep their own patterns). */
static void run_log_checks(struct checks *c, const struct checks_input *in)
{
	struct db *db = in->db;
	char err[512], serr[512];
	struct election *e = NULL;
	struct nodesafety *ns = NULL;
	if (!db || !in->store_dir || !in->store_dir[0]) {
		safety_skip(c, "no cluster was set up");
		return election_skip(c, "no cluster was set up");
	}
	if (!db->ops->leader_pattern) {
		snprintf(err, sizeof err, "the %s db kind has no leader pattern", db->ops->kind);
		election_skip(c, err);
	} else if (election_new(&e, db->ops->leader_pattern, err, sizeof err)) {
		election_skip(c, err);
	}
	if (!db->ops->safety_pattern) {
		snprintf(serr, sizeof serr, "the %s db kind has no safety pattern", db->ops->kind);
		safety_skip(c, serr);
	} else if (nodesafety_new(&ns, db->ops->safety_pattern, serr, sizeof serr)) {
		safety_skip(c, serr);
	}
	if (!e && !ns)
		return;
	int rc = 0;
	for (size_t i = 0; i < db->n && !rc; i++)
		rc = scan_node(c, e, ns, db, i, in->store_dir, err, sizeof err);
	const char *why = rc ? err : !c->election_files ? "no node's log was collected" : NULL;
	if (e && why) {
		election_skip(c, why);
	} else if (e) {
		size_t n;
		const struct election_claim *claims = election_claims(e, &n);
		election_judge(claims, n, &c->election);
		c->election_status = c->election.nviolations ? ELECTION_VIOLATED : ELECTION_OK;
	}
	if (ns && why) {
		safety_skip(c, why);
	} else if (ns) {
		c->safety = *nodesafety_result(ns);
		c->safety_status = c->safety.nlines ? ELECTION_VIOLATED : ELECTION_OK;
	}
	election_free(e);
	nodesafety_free(ns);
}

static void avail_skip(struct checks *c, const char *why)
{
	avail_result_free(&c->availability);
	memset(&c->availability, 0, sizeof c->availability);
	c->availability.verdict = AVAIL_SKIPPED;
	snprintf(c->availability.reason, sizeof c->availability.reason, "%s", why);
}

static void run_availability(struct checks *c, const struct checks_input *in)
{
	char err[512];
	struct avail_op *ops = NULL;
	struct avail_nemesis *nem = NULL;
	size_t nops = 0, nnem = 0;
	if (!in->ran || !in->history_path || !in->history_path[0])
		return avail_skip(c, "the workload did not run");
	if (avail_read_history(in->history_path, &ops, &nops, &nem, &nnem, err, sizeof err))
		return avail_skip(c, err);
	struct avail_fault *f = in->nfaults ? calloc(in->nfaults, sizeof *f) : NULL;
	const char **start_f = in->nfaults ? calloc(in->nfaults, sizeof *start_f) : NULL;
	if (in->nfaults && (!f || !start_f)) {
		free(ops);
		free(nem);
		free(f);
		free(start_f);
		return avail_skip(c, "out of memory");
	}
	for (size_t i = 0; i < in->nfaults; i++) {
		const struct nemesis_act *a = &in->faults[i];
		f[i] = (struct avail_fault){.start_ns = a->started,
					    .end_ns = a->healed ? a->healed_at : -1};
		start_f[i] = a->kind ? a->kind->start_f : a->fault ? a->fault->kind : NULL;
	}
	/* The history says when each start was done: recovery counts from there. */
	avail_match_starts(nem, nnem, start_f, f, in->nfaults);
	free(nem);
	free(start_f);
	const struct spec_availability *sa = &in->spec->availability;
	struct avail_limits lim = {.recover_within_ns = sa->recover_within_ns,
				   .min_ok_share = sa->min_ok_share,
				   .min_recovery_ok_share = sa->min_recovery_ok_share};
	if (avail_compute(ops, nops, f, in->nfaults, in->end_ns, &lim, &c->availability))
		avail_skip(c, "out of memory");
	free(f);
	free(ops);
}

void checks_after_run(struct checks *c, const struct checks_input *in)
{
	c->faults = in->faults;
	c->nfaults = in->nfaults;
	run_log_checks(c, in);
	run_availability(c, in);
	if (!c->agreement_ran)
		agree_skip(&c->agreement, in->ran ? "the workload was stopped"
						  : "the workload did not run");
}

size_t checks_anomalies(const struct checks *c)
{
	size_t n = c->election.nviolations < ELECTION_MAX_SHOWN ? c->election.nviolations
							       : ELECTION_MAX_SHOWN;
	if (c->election_status != ELECTION_VIOLATED)
		n = 0;
	if (c->safety_status == ELECTION_VIOLATED)
		n += c->safety.nlines < NODESAFETY_MAX_SHOWN ? c->safety.nlines : NODESAFETY_MAX_SHOWN;
	n += c->agreement.status == AGREE_DIVERGED;
	if (c->availability.verdict == AVAIL_FAILED)
		for (size_t i = 0; i < c->availability.n; i++)
			n += (size_t)__builtin_popcount(c->availability.w[i].failed);
	return n;
}

void checks_free(struct checks *c)
{
	avail_result_free(&c->availability);
}

/* ---- describing them --------------------------------------------------------------------- */

static const char *fault_desc(const struct checks *c, size_t i)
{
	return i < c->nfaults && c->faults[i].desc[0] ? c->faults[i].desc : "fault";
}

static uint64_t fault_id(const struct checks *c, size_t i)
{
	return i < c->nfaults ? c->faults[i].id : (uint64_t)i;
}

static void election_text(struct sbuf *t, const struct election_violation *v)
{
	sbuf_addf(t, "two leaders in term %llu: %s (%s: %s) and %s (%s: %s)",
		  (unsigned long long)v->term, v->a.node, v->a.where, v->a.text, v->b.node,
		  v->b.where, v->b.text);
	if (v->nnodes > 2)
		sbuf_addf(t, "; %zu nodes in all claimed the term", v->nnodes);
}

/* "n1, n2: 1a2b...; n3: 3c4d..." for the nodes at index `at`. */
static void digests_text(struct sbuf *t, const struct agree_result *a, uint64_t at)
{
	bool done[DB_MAX_NODES] = {false};
	int groups = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (done[i] || !a->nodes[i].answered || a->nodes[i].applied != at)
			continue;
		sbuf_addf(t, "%s%s", groups++ ? "; " : "", a->nodes[i].node);
		for (size_t j = i + 1; j < a->n; j++)
			if (!done[j] && a->nodes[j].answered && a->nodes[j].applied == at &&
			    !strcmp(a->nodes[j].digest, a->nodes[i].digest)) {
				done[j] = true;
				sbuf_addf(t, ", %s", a->nodes[j].node);
			}
		sbuf_addf(t, " digest %s", a->nodes[i].digest);
	}
}

static void avail_texts(const struct checks *c, size_t i, unsigned bit, struct sbuf *t)
{
	const struct avail_result *r = &c->availability;
	const struct avail_window *w = &r->w[i];
	sbuf_addf(t, "%s (fault %llu, %.3f s to %.3f s): ", fault_desc(c, w->fault),
		  (unsigned long long)fault_id(c, w->fault), (double)w->during.start_ns / 1e9,
		  (double)w->during.end_ns / 1e9);
	const char *what = r->by_writes ? "write" : "operation";
	if (bit == AVAIL_FAIL_RECOVER) {
		if (w->recover_ns < 0)
			sbuf_addf(t, "no %s invoked after it began was acknowledged (recover_within "
				     "%.3f s)",
				  what, (double)r->limits.recover_within_ns / 1e9);
		else
			sbuf_addf(t, "the first acknowledged %s came %.3f s after it began "
				     "(recover_within %.3f s)",
				  what, (double)w->recover_ns / 1e9,
				  (double)r->limits.recover_within_ns / 1e9);
	} else if (bit == AVAIL_FAIL_DURING) {
		sbuf_addf(t, "%llu of %llu operations invoked during it succeeded (%.1f%%, "
			     "min_ok_share %.1f%%)",
			  (unsigned long long)w->during.ok, (unsigned long long)w->during.ops,
			  100 * avail_share(&w->during), 100 * r->limits.min_ok_share);
	} else {
		sbuf_addf(t, "%llu of %llu operations invoked in the %.3f s after its heal "
			     "succeeded (%.1f%%, min_recovery_ok_share %.1f%%)",
			  (unsigned long long)w->after.ok, (unsigned long long)w->after.ops,
			  (double)(w->after.end_ns - w->after.start_ns) / 1e9,
			  100 * avail_share(&w->after), 100 * r->limits.min_recovery_ok_share);
	}
}

static const char *const fail_names[] = {"recover_within", "min_ok_share",
					 "min_recovery_ok_share"};

size_t checks_anomalies_json(const struct checks *c, struct sbuf *b, bool comma)
{
	size_t n = 0;
	struct sbuf t = {0};
	for (size_t i = 0; c->election_status == ELECTION_VIOLATED && i < c->election.nviolations &&
			   i < ELECTION_MAX_SHOWN;
	     i++) {
		const struct election_violation *v = &c->election.v[i];
		sbuf_addf(b, "%s{\"kind\":\"election-safety\",\"key\":null,\"term\":%llu,\"nodes\":[",
			  comma || n ? "," : "", (unsigned long long)v->term);
		json_s(b, v->a.node);
		sbuf_addc(b, ',');
		json_s(b, v->b.node);
		LIT(b, "],\"lines\":[");
		sbuf_reset(&t);
		sbuf_addf(&t, "%s: %s", v->a.where, v->a.text);
		json_s(b, t.p);
		sbuf_addc(b, ',');
		sbuf_reset(&t);
		sbuf_addf(&t, "%s: %s", v->b.where, v->b.text);
		json_s(b, t.p);
		LIT(b, "],\"text\":");
		sbuf_reset(&t);
		election_text(&t, v);
		json_s(b, t.p);
		sbuf_addc(b, '}');
		n++;
	}
	for (size_t i = 0; c->safety_status == ELECTION_VIOLATED && i < c->safety.nlines &&
			   i < NODESAFETY_MAX_SHOWN;
	     i++) {
		const struct nodesafety_line *l = &c->safety.shown[i];
		sbuf_addf(b, "%s{\"kind\":\"node-safety\",\"key\":null,\"lines\":[",
			  comma || n ? "," : "");
		sbuf_reset(&t);
		sbuf_addf(&t, "%s: %s", l->where, l->text);
		json_s(b, t.p);
		LIT(b, "],\"text\":");
		sbuf_reset(&t);
		sbuf_addf(&t, "a node reports a broken safety property: %s: %s", l->where, l->text);
		json_s(b, t.p);
		sbuf_addc(b, '}');
		n++;
	}
	const struct agree_result *a = &c->agreement;
	if (a->status == AGREE_DIVERGED) {
		sbuf_addf(b, "%s{\"kind\":\"replica-disagreement\",\"key\":null,\"applied_index\":%llu,"
			     "\"text\":",
			  comma || n ? "," : "", (unsigned long long)a->applied);
		sbuf_reset(&t);
		sbuf_addf(&t, "replicas at applied index %llu hold different states: ",
			  (unsigned long long)a->applied);
		digests_text(&t, a, a->applied);
		json_s(b, t.p);
		sbuf_addc(b, '}');
		n++;
	}
	const struct avail_result *r = &c->availability;
	for (size_t i = 0; r->verdict == AVAIL_FAILED && i < r->n; i++)
		for (unsigned k = 0; k < 3; k++) {
			if (!(r->w[i].failed & (1u << k)))
				continue;
			sbuf_addf(b, "%s{\"kind\":\"availability\",\"key\":null,\"fault\":%llu,"
				     "\"threshold\":\"%s\",\"text\":",
				  comma || n ? "," : "", (unsigned long long)fault_id(c, r->w[i].fault),
				  fail_names[k]);
			sbuf_reset(&t);
			avail_texts(c, i, 1u << k, &t);
			json_s(b, t.p);
			sbuf_addc(b, '}');
			n++;
		}
	sbuf_free(&t);
	return n;
}

static void num_or_null(struct sbuf *b, bool have, double v)
{
	if (have)
		sbuf_addf(b, "%.6g", v);
	else
		LIT(b, "null");
}

static void election_json(const struct checks *c, struct sbuf *b)
{
	static const char *const names[] = {"skipped", "ok", "violated"};
	sbuf_addf(b, "\"election\":{\"status\":\"%s\",\"reason\":", names[c->election_status]);
	json_s(b, c->election_status == ELECTION_SKIPPED ? c->election_reason : NULL);
	sbuf_addf(b, ",\"files\":%zu,\"leaders\":%zu,\"terms\":%zu,\"violations\":%zu}",
		  c->election_files, c->election.claims, c->election.terms,
		  c->election.nviolations);
}

static void safety_json(const struct checks *c, struct sbuf *b)
{
	static const char *const names[] = {"skipped", "ok", "violated"};
	sbuf_addf(b, "\"node_safety\":{\"status\":\"%s\",\"reason\":", names[c->safety_status]);
	json_s(b, c->safety_status == ELECTION_SKIPPED ? c->safety_reason : NULL);
	sbuf_addf(b, ",\"files\":%zu,\"lines\":%zu}",
		  c->safety_status == ELECTION_SKIPPED ? 0 : c->election_files, c->safety.nlines);
}

static void agreement_json(const struct checks *c, struct sbuf *b)
{
	const struct agree_result *a = &c->agreement;
	sbuf_addf(b, "\"agreement\":{\"status\":\"%s\",\"reason\":", agree_status_name(a->status));
	json_s(b, a->reason[0] ? a->reason : NULL);
	LIT(b, ",\"applied_index\":");
	if (a->status == AGREE_AGREED || a->status == AGREE_DIVERGED)
		sbuf_addf(b, "%llu", (unsigned long long)a->applied);
	else
		LIT(b, "null");
	sbuf_addf(b, ",\"waited_s\":%.3f,\"rounds\":%u,\"nodes\":[", a->waited_s, a->rounds);
	for (size_t i = 0; a->status != AGREE_SKIPPED && i < a->n; i++) {
		const struct agree_node *nd = &a->nodes[i];
		sbuf_addf(b, "%s{\"node\":", i ? "," : "");
		json_s(b, nd->node);
		if (nd->answered) {
			sbuf_addf(b, ",\"applied_index\":%llu,\"digest\":",
				  (unsigned long long)nd->applied);
			json_s(b, nd->digest);
		} else {
			LIT(b, ",\"error\":");
			json_s(b, nd->error);
		}
		sbuf_addc(b, '}');
	}
	LIT(b, "]}");
}

static void span_json(struct sbuf *b, const struct avail_span *s)
{
	double share = avail_share(s);
	sbuf_addf(b, "\"start_s\":%.6f,\"end_s\":%.6f,\"ops\":%llu,\"ok\":%llu,\"ok_share\":",
		  (double)s->start_ns / 1e9, (double)s->end_ns / 1e9, (unsigned long long)s->ops,
		  (unsigned long long)s->ok);
	num_or_null(b, share >= 0, share);
}

static void window_json(const struct checks *c, struct sbuf *b, const struct avail_window *w)
{
	sbuf_addf(b, "{\"fault\":%llu,\"desc\":", (unsigned long long)fault_id(c, w->fault));
	json_s(b, fault_desc(c, w->fault));
	sbuf_addc(b, ',');
	span_json(b, &w->during);
	sbuf_addf(b, ",\"in_force_s\":%.6f,\"recover_s\":", (double)w->in_force_ns / 1e9);
	num_or_null(b, w->recover_ns >= 0, (double)w->recover_ns / 1e9);
	LIT(b, ",\"after\":");
	if (w->after.start_ns < 0) {
		LIT(b, "null");
	} else {
		sbuf_addc(b, '{');
		span_json(b, &w->after);
		sbuf_addc(b, '}');
	}
	LIT(b, ",\"failed\":[");
	int first = 1;
	for (unsigned k = 0; k < 3; k++)
		if (w->failed & (1u << k)) {
			sbuf_addf(b, "%s\"%s\"", first ? "" : ",", fail_names[k]);
			first = 0;
		}
	LIT(b, "]}");
}

static void availability_json(const struct checks *c, struct sbuf *b)
{
	const struct avail_result *r = &c->availability;
	const struct avail_limits *l = &r->limits;
	sbuf_addf(b, "\"availability\":{\"verdict\":\"%s\",\"reason\":", avail_verdict_name(r->verdict));
	json_s(b, r->verdict == AVAIL_SKIPPED ? r->reason : NULL);
	LIT(b, ",\"thresholds\":{\"recover_within_s\":");
	num_or_null(b, l->recover_within_ns > 0, (double)l->recover_within_ns / 1e9);
	LIT(b, ",\"min_ok_share\":");
	num_or_null(b, l->min_ok_share > 0, l->min_ok_share);
	LIT(b, ",\"min_recovery_ok_share\":");
	num_or_null(b, l->min_recovery_ok_share > 0, l->min_recovery_ok_share);
	sbuf_addf(b, "},\"recovery_by\":\"%s\",\"max_recover_s\":", r->by_writes ? "writes" : "any");
	num_or_null(b, r->n && r->max_recover_ns >= 0, (double)r->max_recover_ns / 1e9);
	LIT(b, ",\"all\":{");
	span_json(b, &r->all);
	LIT(b, "},\"windows\":[");
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			sbuf_addc(b, ',');
		window_json(c, b, &r->w[i]);
	}
	LIT(b, "]}");
}

void checks_sections_json(const struct checks *c, struct sbuf *b)
{
	election_json(c, b);
	sbuf_addc(b, ',');
	safety_json(c, b);
	sbuf_addc(b, ',');
	agreement_json(c, b);
	sbuf_addc(b, ',');
	availability_json(c, b);
}

/* ---- summary and junit ------------------------------------------------------------------- */

static void election_line(const struct checks *c, FILE *f)
{
	fprintf(f, "  election safety: ");
	if (c->election_status == ELECTION_SKIPPED) {
		fprintf(f, "skipped (%s)\n", c->election_reason);
		return;
	}
	if (c->election_status == ELECTION_OK) {
		size_t cl = c->election.claims, tm = c->election.terms, fl = c->election_files;
		fprintf(f, "ok (%zu leader election%s in %zu term%s, %zu log file%s)\n", cl,
			cl == 1 ? "" : "s", tm, tm == 1 ? "" : "s", fl, fl == 1 ? "" : "s");
		return;
	}
	fprintf(f, "VIOLATED in %zu term(s)\n", c->election.nviolations);
	for (size_t i = 0; i < c->election.nviolations && i < ELECTION_MAX_SHOWN; i++) {
		const struct election_violation *v = &c->election.v[i];
		fprintf(f, "    term %llu: %s and %s both became leader\n      %s: %s\n      %s: %s\n",
			(unsigned long long)v->term, v->a.node, v->b.node, v->a.where, v->a.text,
			v->b.where, v->b.text);
	}
}

static void safety_line(const struct checks *c, FILE *f)
{
	fprintf(f, "  node safety: ");
	if (c->safety_status == ELECTION_SKIPPED) {
		fprintf(f, "skipped (%s)\n", c->safety_reason);
		return;
	}
	if (c->safety_status == ELECTION_OK) {
		size_t fl = c->election_files;
		fprintf(f, "ok (no node reported a broken safety property, %zu log file%s)\n", fl,
			fl == 1 ? "" : "s");
		return;
	}
	fprintf(f, "VIOLATED: %zu log line(s) report a broken safety property\n", c->safety.nlines);
	for (size_t i = 0; i < c->safety.nlines && i < NODESAFETY_MAX_SHOWN; i++)
		fprintf(f, "    %s: %s\n", c->safety.shown[i].where, c->safety.shown[i].text);
}

static void agreement_line(const struct checks *c, FILE *f)
{
	const struct agree_result *a = &c->agreement;
	fprintf(f, "  replica agreement: ");
	switch (a->status) {
	case AGREE_AGREED:
		fprintf(f, "agreed: %zu nodes at applied index %llu, digest %s\n", a->n,
			(unsigned long long)a->applied, a->n ? a->nodes[0].digest : "");
		break;
	case AGREE_DIVERGED: {
		struct sbuf t = {0};
		digests_text(&t, a, a->applied);
		fprintf(f, "DIVERGED at applied index %llu: %s\n", (unsigned long long)a->applied,
			t.p ? t.p : "");
		sbuf_free(&t);
		break;
	}
	case AGREE_UNCONVERGED:
		fprintf(f, "unconverged after %.1f s: %s\n", a->waited_s, a->reason);
		break;
	default:
		fprintf(f, "skipped (%s)\n", a->reason);
	}
}

static void availability_line(const struct checks *c, FILE *f)
{
	const struct avail_result *r = &c->availability;
	fprintf(f, "  availability: ");
	if (r->verdict == AVAIL_SKIPPED) {
		fprintf(f, "skipped (%s)\n", r->reason);
		return;
	}
	struct avail_span during = {0}, after = {0};
	for (size_t i = 0; i < r->n; i++) {
		during.ops += r->w[i].during.ops;
		during.ok += r->w[i].during.ok;
		after.ops += r->w[i].after.ops;
		after.ok += r->w[i].after.ok;
	}
	double s = avail_share(&r->all);
	fprintf(f, "%.1f%% of %llu operations succeeded", s < 0 ? 0 : 100 * s,
		(unsigned long long)r->all.ops);
	if (r->n) {
		if (during.ops)
			fprintf(f, "; during faults %.1f%%", 100 * avail_share(&during));
		if (after.ops)
			fprintf(f, ", after them %.1f%%", 100 * avail_share(&after));
		if (r->max_recover_ns >= 0)
			fprintf(f, "; slowest recovery %.3f s", (double)r->max_recover_ns / 1e9);
		else
			fprintf(f, "; a fault after which no %s was acknowledged",
				r->by_writes ? "write" : "operation");
	}
	if (r->verdict == AVAIL_NOT_CHECKED) {
		fprintf(f, " (no thresholds)\n");
		return;
	}
	fprintf(f, "; thresholds %s\n", r->verdict == AVAIL_MET ? "met" : "FAILED");
	for (size_t i = 0; r->verdict == AVAIL_FAILED && i < r->n; i++)
		for (unsigned k = 0; k < 3; k++)
			if (r->w[i].failed & (1u << k)) {
				struct sbuf t = {0};
				avail_texts(c, i, 1u << k, &t);
				fprintf(f, "    %s\n", t.p ? t.p : "");
				sbuf_free(&t);
			}
}

void checks_summary(const struct checks *c, FILE *f)
{
	election_line(c, f);
	safety_line(c, f);
	agreement_line(c, f);
	availability_line(c, f);
}

void checks_junit_count(const struct checks *c, size_t *tests, size_t *failures, size_t *skipped)
{
	*tests += 3 + (c->availability.verdict == AVAIL_MET || c->availability.verdict == AVAIL_FAILED);
	*failures += (c->election_status == ELECTION_VIOLATED) +
		     (c->safety_status == ELECTION_VIOLATED) +
		     (c->agreement.status == AGREE_DIVERGED) +
		     (c->availability.verdict == AVAIL_FAILED);
	*skipped += (c->election_status == ELECTION_SKIPPED) +
		    (c->safety_status == ELECTION_SKIPPED) +
		    (c->agreement.status == AGREE_SKIPPED || c->agreement.status == AGREE_UNCONVERGED);
}

static void junit_case(FILE *f, const char *name, int state, const char *msg,
		       void (*xml_text)(FILE *, const char *))
{
	fprintf(f, "  <testcase classname=\"splitbrain.checks\" name=\"%s\"", name);
	if (state == 0) {
		fprintf(f, "/>\n");
		return;
	}
	fprintf(f, ">\n    <%s message=\"", state > 0 ? "failure" : "skipped");
	xml_text(f, msg);
	fprintf(f, "\"%s/>\n  </testcase>\n", state > 0 ? " type=\"invalid\"" : "");
}

void checks_junit(const struct checks *c, FILE *f, void (*xml_text)(FILE *, const char *))
{
	struct sbuf t = {0};
	if (c->election_status == ELECTION_VIOLATED)
		election_text(&t, &c->election.v[0]);
	junit_case(f, "election safety",
		   c->election_status == ELECTION_VIOLATED ? 1
		   : c->election_status == ELECTION_SKIPPED ? -1
							   : 0,
		   c->election_status == ELECTION_SKIPPED ? c->election_reason : t.p, xml_text);
	sbuf_reset(&t);
	if (c->safety_status == ELECTION_VIOLATED)
		sbuf_addf(&t, "%s: %s", c->safety.shown[0].where, c->safety.shown[0].text);
	junit_case(f, "node safety",
		   c->safety_status == ELECTION_VIOLATED ? 1
		   : c->safety_status == ELECTION_SKIPPED ? -1
							 : 0,
		   c->safety_status == ELECTION_SKIPPED ? c->safety_reason : t.p, xml_text);
	const struct agree_result *a = &c->agreement;
	sbuf_reset(&t);
	if (a->status == AGREE_DIVERGED) {
		sbuf_addf(&t, "replicas at applied index %llu hold different states: ",
			  (unsigned long long)a->applied);
		digests_text(&t, a, a->applied);
	}
	junit_case(f, "replica agreement",
		   a->status == AGREE_DIVERGED ? 1
		   : a->status == AGREE_AGREED ? 0
					       : -1,
		   a->status == AGREE_DIVERGED ? t.p : a->reason, xml_text);
	const struct avail_result *r = &c->availability;
	if (r->verdict == AVAIL_MET || r->verdict == AVAIL_FAILED) {
		sbuf_reset(&t);
		for (size_t i = 0; r->verdict == AVAIL_FAILED && i < r->n && !t.len; i++)
			for (unsigned k = 0; k < 3 && !t.len; k++)
				if (r->w[i].failed & (1u << k))
					avail_texts(c, i, 1u << k, &t);
		junit_case(f, "availability", r->verdict == AVAIL_FAILED ? 1 : 0, t.p, xml_text);
	}
	sbuf_free(&t);
}
