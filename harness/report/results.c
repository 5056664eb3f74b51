/* results — results.json, junit.xml and the closing summary of a run. */
#include "harness/report/results.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/sbuf.h"

#define SPLITBRAIN_VERSION "0.2.0"

/* Append a string literal. */
#define LIT(b, s) sbuf_lit(b, s)

static const char *const phase_names[REPORT_NPHASE] = {"main", "heal", "recovery", "final"};

void report_verdict(struct report_run *r)
{
	if (!r->check) {
		/* Nothing to judge the history by; an anomaly the other checks found still
		 * stands. */
		bool found = r->checks && checks_anomalies(r->checks);
		r->verdict = found ? "invalid" : "error";
		r->exit = found ? SB_EXIT_INVALID : SB_EXIT_INTERNAL;
		goto expect;
	}
	r->verdict = chk_verdict_name(r->check->verdict);
	r->exit = (int)r->check->verdict;
	if (r->checks && checks_anomalies(r->checks)) {
		r->verdict = "invalid";
		r->exit = SB_EXIT_INVALID;
	}
	/* A run cut short found nothing wrong in what it did, which is not a pass: a CI gate
	 * must not go green on a campaign that was stopped. Anomalies found still count. */
	if (r->interrupted && r->exit == SB_EXIT_VALID) {
		r->verdict = "unknown";
		r->exit = SB_EXIT_UNKNOWN;
	}
	/* Likewise a scripted scenario that did not run as written: nothing was found, but what
	 * it was meant to provoke may never have happened. */
	if (r->as_written == 0 && r->exit == SB_EXIT_VALID) {
		r->verdict = "unknown";
		r->exit = SB_EXIT_UNKNOWN;
	}
expect:
	r->expect_held = -1;
	if (r->spec->expect[0]) {
		r->expect_held = !strcmp(r->spec->expect, r->verdict);
		/* A reproduction that finds what it expects passes; one that does not fails. A
		 * run that could not be completed or checked stays an error (255). */
		if (r->exit != SB_EXIT_INTERNAL)
			r->exit = r->expect_held ? SB_EXIT_VALID : SB_EXIT_INVALID;
	}
}

static uint64_t ops_total(const struct report_run *r, int outcome)
{
	uint64_t t = 0;
	for (int f = 0; f < OP_NF; f++)
		t += r->ops[f][outcome];
	return t;
}

static void json_s(struct sbuf *b, const char *s)
{
	if (!s)
		LIT(b, "null");
	else
		sbuf_add_json_string(b, s, strlen(s));
}

/* The checker's sentence for a key that is not valid (NULL if it has none); for an undecided
 * key, with the operation its search could not get past. Owned by the caller. */
static char *key_text(const struct chk_key_result *k)
{
	if (!k->why)
		return NULL;
	struct sbuf t = {0};
	sbuf_addf(&t, "%s", k->why);
	const struct chk_op_info *o = k->stalled;
	if (k->verdict == CHK_UNKNOWN && o) {
		sbuf_addf(&t, "; no order the search tried got past the %s of process %lld (line %llu",
			  o->f ? o->f : "operation", (long long)o->process,
			  (unsigned long long)o->line);
		if (o->ret_line)
			sbuf_addf(&t, ", completed at line %llu", (unsigned long long)o->ret_line);
		sbuf_addc(&t, ')');
	}
	return sbuf_take(&t);
}

/* One anomaly per finding of the checker, in the order of its keys (invalid first). */
static void anomalies_json(struct sbuf *b, const struct chk_result *c)
{
	static const enum chk_set_anomaly shown[] = {CHK_SET_LOST, CHK_SET_STALE,
						     CHK_SET_UNEXPECTED, CHK_SET_NEVER_READ};
	int first = 1;
	for (size_t i = 0; c && i < c->nkeys; i++) {
		const struct chk_key_result *k = &c->keys[i];
		if (k->verdict == CHK_VALID)
			continue;
		if (c->model == CHK_MODEL_SET) {
			for (size_t a = 0; a < sizeof shown / sizeof shown[0]; a++) {
				size_t n = k->set_count[shown[a]];
				if (!n || (shown[a] == CHK_SET_NEVER_READ && k->verdict == CHK_INVALID))
					continue;
				sbuf_addf(b, "%s{\"kind\":\"%s\",\"key\":%s,\"count\":%zu,\"elements\":%s,"
					  "\"text\":", first ? "" : ",",
					  chk_set_anomaly_name(shown[a]), k->key ? k->key : "null", n,
					  k->set_sample[shown[a]] ? k->set_sample[shown[a]] : "[]");
				struct sbuf t = {0};
				sbuf_addf(&t, "%zu %s element(s) of key %s: %s", n,
					  chk_set_anomaly_name(shown[a]), k->key ? k->key : "(single)",
					  k->set_sample[shown[a]] ? k->set_sample[shown[a]] : "[]");
				json_s(b, t.p);
				sbuf_free(&t);
				sbuf_addc(b, '}');
				first = 0;
			}
			if (k->verdict == CHK_INVALID || !k->why)
				continue;
		}
		sbuf_addf(b, "%s{\"kind\":\"%s\",\"key\":%s,\"text\":", first ? "" : ",",
			  k->verdict == CHK_INVALID ? "nonlinearizable" : "unknown",
			  k->key ? k->key : "null");
		char *text = key_text(k);
		json_s(b, text);
		free(text);
		sbuf_addc(b, '}');
		first = 0;
	}
}

static void nodes_json(struct sbuf *b, const struct report_run *r)
{
	sbuf_addc(b, '[');
	for (size_t i = 0; i < r->nnodes; i++) {
		if (i)
			sbuf_addc(b, ',');
		json_s(b, r->nodes[i]);
	}
	sbuf_addc(b, ']');
}

static void faults_json(struct sbuf *b, const struct report_run *r)
{
	sbuf_addc(b, '[');
	for (size_t i = 0; i < r->nfaults; i++) {
		const struct nemesis_act *a = &r->faults[i];
		sbuf_addf(b, "%s{\"id\":%llu,\"kind\":", i ? "," : "", (unsigned long long)a->id);
		json_s(b, a->kind ? a->kind->name : "?");
		LIT(b, ",\"desc\":");
		json_s(b, a->desc);
		LIT(b, ",\"nodes\":[");
		int first = 1;
		for (size_t n = 0; n < r->nnodes; n++)
			if (a->nodes[n]) {
				sbuf_addf(b, "%s", first ? "" : ",");
				json_s(b, r->nodes[n]);
				first = 0;
			}
		sbuf_addf(b, "],\"start_s\":%.6f,\"end_s\":", (double)a->started / 1e9);
		if (a->healed)
			sbuf_addf(b, "%.6f", (double)a->healed_at / 1e9);
		else
			LIT(b, "null");
		sbuf_addf(b, ",\"value\":%s,\"heal\":", a->value[0] ? a->value : "null");
		json_s(b, a->heal_desc[0] ? a->heal_desc : NULL);
		LIT(b, ",\"error\":");
		json_s(b, a->error[0] ? a->error : NULL);
		sbuf_addc(b, '}');
	}
	sbuf_addc(b, ']');
}

int report_results_json(const struct report_run *r, FILE *f)
{
	struct sbuf b = {0};
	char when[32];
	struct tm tm;
	gmtime_r(&r->started, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	const struct spec *s = r->spec;
	LIT(&b, "{\"splitbrain\":\"" SPLITBRAIN_VERSION "\",\"test\":");
	json_s(&b, s->name);
	LIT(&b, ",\"store\":");
	json_s(&b, r->store_dir);
	sbuf_addf(&b, ",\"seed\":%llu,\"started\":\"%s\",\"duration_s\":%.3f,\"verdict\":\"%s\","
		      "\"exit\":%d,\"interrupted\":%s,\"expect\":",
		  (unsigned long long)s->seed, when, r->duration_s, r->verdict, r->exit,
		  r->interrupted ? "true" : "false");
	json_s(&b, s->expect[0] ? s->expect : NULL);
	sbuf_addf(&b, ",\"expect_held\":%s,\"detected_s\":",
		  r->expect_held < 0 ? "null" : r->expect_held ? "true" : "false");
	if (r->detected_by)
		sbuf_addf(&b, "%.3f", r->detected_s);
	else
		LIT(&b, "null");
	LIT(&b, ",\"detected_by\":");
	json_s(&b, r->detected_by);
	LIT(&b, ",\"nodes\":");
	nodes_json(&b, r);
	sbuf_addf(&b,
		  ",\"controller\":{\"cpu_run_s\":%.3f,\"cpu_workload_s\":%.3f,"
		  "\"cpu_check_s\":%.3f}",
		  r->cpu_run_s, r->cpu_workload_s, r->cpu_check_s);
	LIT(&b, ",\"db\":{\"kind\":");
	json_s(&b, s->db.kind);
	LIT(&b, "},\"workload\":{\"kind\":");
	json_s(&b, s->workload.kind);
	LIT(&b, ",\"model\":");
	json_s(&b, r->model);
	sbuf_addf(&b, ",\"keys\":%u,\"concurrency\":%u,\"rate\":%g},\"phases\":{", s->workload.keys,
		  r->concurrency, s->workload.rate);
	for (int p = 0; p < REPORT_NPHASE; p++) {
		sbuf_addf(&b, "%s\"%s\":", p ? "," : "", phase_names[p]);
		if (r->phase[p][0] < 0)
			LIT(&b, "null");
		else
			sbuf_addf(&b, "[%.6f,%.6f]", r->phase[p][0], r->phase[p][1]);
	}
	sbuf_addf(&b, "},\"ops\":{\"total\":%llu,\"ok\":%llu,\"fail\":%llu,\"info\":%llu,\"by_f\":{",
		  (unsigned long long)(ops_total(r, 0) + ops_total(r, 1) + ops_total(r, 2)),
		  (unsigned long long)ops_total(r, 0), (unsigned long long)ops_total(r, 1),
		  (unsigned long long)ops_total(r, 2));
	int first = 1;
	for (int op = 0; op < OP_NF; op++) {
		if (!(r->ops[op][0] | r->ops[op][1] | r->ops[op][2]))
			continue;
		sbuf_addf(&b, "%s\"%s\":{\"ok\":%llu,\"fail\":%llu,\"info\":%llu}", first ? "" : ",",
			  op_f_name(op), (unsigned long long)r->ops[op][0],
			  (unsigned long long)r->ops[op][1], (unsigned long long)r->ops[op][2]);
		first = 0;
	}
	LIT(&b, "}},\"faults\":");
	faults_json(&b, r);
	if (r->timeline_json)
		sbuf_addf(&b, ",\"timeline\":%s,\"as_written\":%s", r->timeline_json,
			  r->as_written ? "true" : "false");
	LIT(&b, ",\"anomalies\":[");
	size_t before = b.len;
	anomalies_json(&b, r->check);
	if (r->checks) {
		checks_anomalies_json(r->checks, &b, b.len > before);
		LIT(&b, "],");
		checks_sections_json(r->checks, &b);
		LIT(&b, ",\"errors\":[");
	} else {
		LIT(&b, "],\"errors\":[");
	}
	for (size_t i = 0; i < r->nerrors; i++) {
		if (i)
			sbuf_addc(&b, ',');
		json_s(&b, r->errors[i]);
	}
	if (r->check_error) {
		if (r->nerrors)
			sbuf_addc(&b, ',');
		json_s(&b, r->check_error);
	}
	LIT(&b, "],\"checker\":");
	int rc = 0;
	if (b.oom || fwrite(b.p, 1, b.len, f) != b.len)
		rc = b.oom ? SB_ENOMEM : SB_EIO;
	sbuf_free(&b);
	if (rc)
		return rc;
	if (r->check)
		rc = chk_result_write_json(r->check, f);
	else
		fputs("null", f);
	if (!rc && (fputs("}\n", f) == EOF || ferror(f)))
		rc = SB_EIO;
	return rc;
}

/* XML text: escape the five special characters; drop control characters XML 1.0 forbids. */
static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			if (c >= 0x20 || c == '\n' || c == '\t')
				fputc(c, f);
		}
	}
}

int report_junit(const struct report_run *r, FILE *f)
{
	const struct chk_result *c = r->check;
	size_t tests = c ? (c->ninvalid + c->nunknown + 1) : 1;
	size_t failures = c ? c->ninvalid : 0, skipped = c ? c->nunknown : 0;
	size_t errors = c ? 0 : 1;
	if (r->checks)
		checks_junit_count(r->checks, &tests, &failures, &skipped);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
	fprintf(f, "<testsuite name=\"");
	xml_text(f, r->spec->name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		tests, failures, errors, skipped, r->duration_s);
	fprintf(f, "  <properties><property name=\"seed\" value=\"%llu\"/>"
		   "<property name=\"store\" value=\"",
		(unsigned long long)r->spec->seed);
	xml_text(f, r->store_dir);
	fprintf(f, "\"/><property name=\"verdict\" value=\"%s\"/></properties>\n", r->verdict);
	if (!c) {
		fprintf(f, "  <testcase classname=\"splitbrain\" name=\"check\">\n    <error message=\"");
		xml_text(f, r->check_error ? r->check_error : "the run could not be checked");
		fprintf(f, "\"/>\n  </testcase>\n");
	} else {
		/* One case for the whole history, then one per key that is not valid. */
		fprintf(f, "  <testcase classname=\"splitbrain.%s\" name=\"%s: %zu keys, %zu ops\" "
			   "time=\"%.3f\"/>\n",
			r->model, r->model, c->nkeys, c->ops, c->seconds);
		for (size_t i = 0; i < c->nkeys; i++) {
			const struct chk_key_result *k = &c->keys[i];
			if (k->verdict == CHK_VALID)
				continue;
			fprintf(f, "  <testcase classname=\"splitbrain.%s\" name=\"key ", r->model);
			xml_text(f, k->key ? k->key : "(single)");
			fprintf(f, "\">\n");
			if (k->verdict == CHK_INVALID) {
				fprintf(f, "    <failure message=\"");
				xml_text(f, k->why ? k->why : "invalid");
				fprintf(f, "\" type=\"invalid\"/>\n");
			} else {
				fprintf(f, "    <skipped message=\"");
				char *text = key_text(k);
				xml_text(f, text ? text : "unknown");
				free(text);
				fprintf(f, "\"/>\n");
			}
			fprintf(f, "  </testcase>\n");
		}
	}
	if (r->checks)
		checks_junit(r->checks, f, xml_text);
	fprintf(f, "</testsuite>\n</testsuites>\n");
	return ferror(f) ? SB_EIO : 0;
}

void report_summary(const struct report_run *r, FILE *f)
{
	fprintf(f, "%s: %s%s (seed %llu, %.1f s%s)\n", r->spec->name, r->verdict,
		r->expect_held < 0 ? ""
		: r->expect_held ? ", as expected"
				 : ", NOT as expected",
		(unsigned long long)r->spec->seed, r->duration_s,
		r->interrupted ? ", interrupted" : "");
	uint64_t ok = ops_total(r, 0), fail = ops_total(r, 1), info = ops_total(r, 2);
	fprintf(f, "  operations: %llu (ok %llu, fail %llu, info %llu)",
		(unsigned long long)(ok + fail + info), (unsigned long long)ok,
		(unsigned long long)fail, (unsigned long long)info);
	for (int op = 0; op < OP_NF; op++) {
		uint64_t t = r->ops[op][0] + r->ops[op][1] + r->ops[op][2];
		if (t)
			fprintf(f, "%s %s %llu", op ? "," : ":", op_f_name(op), (unsigned long long)t);
	}
	fputc('\n', f);
	fprintf(f, "  faults: %zu", r->nfaults);
	for (size_t i = 0; i < r->nfaults && i < 8; i++)
		fprintf(f, "%s %s%s", i ? "," : ":", r->faults[i].desc,
			r->faults[i].error[0] ? " (failed)" : "");
	if (r->nfaults > 8)
		fprintf(f, ", ...");
	fputc('\n', f);
	const struct chk_result *c = r->check;
	if (c && c->verdict != CHK_VALID) {
		fprintf(f, "  anomalies:\n");
		chk_result_print(c, f);
	}
	if (r->detected_by)
		fprintf(f, "  detected at %.3f s: %s\n", r->detected_s, r->detected_by);
	if (r->as_written == 0)
		fprintf(f, "  scenario: did not run as written (see the timeline in results.json)\n");
	if (r->checks)
		checks_summary(r->checks, f);
	for (size_t i = 0; i < r->nerrors; i++)
		fprintf(f, "  error: %s\n", r->errors[i]);
	if (r->check_error)
		fprintf(f, "  error: %s\n", r->check_error);
	fprintf(f, "  store: %s\n", r->store_dir);
}
