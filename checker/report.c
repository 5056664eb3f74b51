/* report — the human summary and the JSON form of a result. */
#include <stdlib.h>
#include <string.h>

#include "checker/internal.h"
#include "lib/err.h"

#define PRINT_MAX_KEYS 10
#define PRINT_MAX_CONCURRENT 8

static void print_when(FILE *f, int64_t t, uint64_t line)
{
	if (t >= 0)
		fprintf(f, "%.3f s (line %llu)", (double)t / 1e9, (unsigned long long)line);
	else
		fprintf(f, "line %llu", (unsigned long long)line);
}

static void print_op(FILE *f, const struct chk_op_info *o)
{
	fprintf(f, "process %lld %s %s -> %s, invoked ", (long long)o->process, o->f, o->value,
		o->type);
	print_when(f, o->time, o->line);
	if (o->ret_line) {
		fprintf(f, ", completed ");
		print_when(f, o->ret_time, o->ret_line);
	} else {
		fprintf(f, ", never completed");
	}
	fputc('\n', f);
}

/* All the operations concurrent with the bad one (the result lists only the first ones). */
static size_t concurrent_total(const struct chk_key_result *k)
{
	return k->nconcurrent_total > k->nconcurrent ? k->nconcurrent_total : k->nconcurrent;
}

static const char *key_label(const struct chk_key_result *k)
{
	return k->key ? k->key : "(single key)";
}

/* Where the searches of undecided keys stopped (the first PRINT_MAX_KEYS of them). */
static void print_stalled(FILE *f, const struct chk_result *r)
{
	size_t shown = 0, n = 0;
	for (size_t i = 0; i < r->nkeys; i++) {
		const struct chk_key_result *k = &r->keys[i];
		if (k->verdict != CHK_UNKNOWN || !k->stalled)
			continue;
		if (shown == PRINT_MAX_KEYS) {
			n++;
			continue;
		}
		shown++;
		if (r->nkeys > 1)
			fprintf(f, "    key %s:\n  ", key_label(k));
		fprintf(f, "    no order the search tried got past: ");
		print_op(f, k->stalled);
		size_t total = concurrent_total(k);
		fprintf(f, "%s    concurrent with it: %zu operation%s\n", r->nkeys > 1 ? "  " : "",
			total, total == 1 ? "" : "s");
		if (k->nstates) {
			fprintf(f, "%s    states the search reached before it:", r->nkeys > 1 ? "  " : "");
			for (size_t s = 0; s < k->nstates; s++)
				fprintf(f, " %s", k->states[s]);
			fputc('\n', f);
		}
	}
	if (n)
		fprintf(f, "    ... and %zu more undecided keys with a point the search stopped at "
			   "(see --json)\n", n);
}

void chk_result_print(const struct chk_result *r, FILE *f)
{
	fprintf(f, "%s: %s (%s; %zu op%s, %zu key%s", r->name, chk_verdict_name(r->verdict),
		chk_model_name(r->model), r->ops, r->ops == 1 ? "" : "s", r->nkeys,
		r->nkeys == 1 ? "" : "s");
	if (r->ninvalid)
		fprintf(f, ", %zu invalid", r->ninvalid);
	if (r->nunknown)
		fprintf(f, ", %zu unknown", r->nunknown);
	fprintf(f, "; %.3f s)\n", r->seconds);
	if (r->warning)
		fprintf(f, "  warning: %s\n", r->warning);
	size_t shown = 0;
	for (size_t i = 0; i < r->nkeys && i < r->ninvalid; i++) {
		const struct chk_key_result *k = &r->keys[i];
		if (shown++ == PRINT_MAX_KEYS) {
			fprintf(f, "  ... and %zu more invalid keys (see --json)\n",
				r->ninvalid - PRINT_MAX_KEYS);
			break;
		}
		if (r->nkeys > 1)
			fprintf(f, "  key %s:\n", key_label(k));
		fprintf(f, "    %s\n", k->why ? k->why : "invalid");
		if (k->bad) {
			fprintf(f, "    cannot linearize: ");
			print_op(f, k->bad);
			size_t total = concurrent_total(k);
			size_t show = k->nconcurrent < PRINT_MAX_CONCURRENT ? k->nconcurrent
									   : PRINT_MAX_CONCURRENT;
			fprintf(f, "    concurrent with it: %zu operation%s", total,
				total == 1 ? "" : "s");
			if (show < total)
				fprintf(f, " (showing %zu of %zu)", show, total);
			fputc('\n', f);
			for (size_t c = 0; c < show; c++) {
				fprintf(f, "      ");
				print_op(f, &k->concurrent[c]);
			}
			if (k->nstates) { /* none when decided without a search */
				fprintf(f, "    states the search reached before it:");
				for (size_t s = 0; s < k->nstates; s++)
					fprintf(f, " %s", k->states[s]);
				fputc('\n', f);
			}
		}
	}
	if (r->nunknown) {
		fprintf(f, "  undecided key%s:", r->nunknown == 1 ? "" : "s");
		size_t n = 0;
		const char *why = NULL;
		for (size_t i = 0; i < r->nkeys; i++) {
			const struct chk_key_result *k = &r->keys[i];
			if (k->verdict != CHK_UNKNOWN)
				continue;
			if (!why)
				why = k->why;
			if (n++ < 50)
				fprintf(f, " %s", key_label(k));
		}
		if (n > 50)
			fprintf(f, " ... (%zu in all)", n);
		fprintf(f, "\n    %s\n", why ? why : "not decided");
		print_stalled(f, r);
	}
	if (r->model == CHK_MODEL_SET) {
		size_t tot[CHK_SET_NANOMALY] = {0}, acked = 0;
		for (size_t i = 0; i < r->nkeys; i++) {
			acked += r->keys[i].set_acked;
			for (int c = 0; c < CHK_SET_NANOMALY; c++)
				tot[c] += r->keys[i].set_count[c];
		}
		fprintf(f, "  set: %zu acknowledged adds", acked);
		for (int c = 0; c < CHK_SET_NANOMALY; c++)
			fprintf(f, ", %zu %s", tot[c], chk_set_anomaly_name(c));
		fputc('\n', f);
	}
}

/* ---- JSON -------------------------------------------------------------------------------------- */

static void json_str(struct sbuf *b, const char *s)
{
	if (!s)
		sbuf_lit(b, "null");
	else
		sbuf_add_json_string(b, s, strlen(s));
}

static void json_op(struct sbuf *b, const struct chk_op_info *o)
{
	sbuf_addf(b, "{\"line\":%llu,\"process\":%lld,\"type\":\"%s\",\"f\":",
		  (unsigned long long)o->line, (long long)o->process, o->type);
	json_str(b, o->f);
	sbuf_addf(b, ",\"value\":%s", o->value && o->value[0] ? o->value : "null");
	if (o->time >= 0)
		sbuf_addf(b, ",\"time\":%lld", (long long)o->time);
	if (o->ret_line)
		sbuf_addf(b, ",\"completed_line\":%llu", (unsigned long long)o->ret_line);
	if (o->ret_time >= 0)
		sbuf_addf(b, ",\"completed_time\":%lld", (long long)o->ret_time);
	sbuf_addc(b, '}');
}

/* ,"concurrent_total":N,"concurrent":[...],"states":[...] of a counterexample or of the
 * point where an undecided search stopped. */
static void json_concurrent(struct sbuf *b, const struct chk_key_result *k)
{
	sbuf_addf(b, ",\"concurrent_total\":%zu,\"concurrent\":[", concurrent_total(k));
	for (size_t c = 0; c < k->nconcurrent; c++) {
		if (c)
			sbuf_addc(b, ',');
		json_op(b, &k->concurrent[c]);
	}
	sbuf_lit(b, "],\"states\":[");
	for (size_t s = 0; s < k->nstates; s++)
		sbuf_addf(b, "%s%s", s ? "," : "", k->states[s]);
	sbuf_addc(b, ']');
}

int chk_result_write_json(const struct chk_result *r, FILE *f)
{
	struct sbuf b = {0};
	sbuf_lit(&b, "{\"file\":");
	json_str(&b, r->name);
	if (r->warning) {
		sbuf_lit(&b, ",\"warning\":");
		json_str(&b, r->warning);
	}
	sbuf_addf(&b,
		  ",\"model\":\"%s\",\"verdict\":\"%s\",\"events\":%zu,\"ops\":%zu,"
		  "\"seconds\":%.6f,\"read_seconds\":%.6f,\"keys_total\":%zu,\"keys_valid\":%zu,"
		  "\"keys_invalid\":%zu,\"keys_unknown\":%zu,\"keys\":[",
		  chk_model_name(r->model), chk_verdict_name(r->verdict), r->events, r->ops,
		  r->seconds, r->read_seconds, r->nkeys, r->nvalid, r->ninvalid, r->nunknown);
	for (size_t i = 0; i < r->nkeys; i++) {
		const struct chk_key_result *k = &r->keys[i];
		if (i)
			sbuf_addc(&b, ',');
		sbuf_addf(&b, "{\"key\":%s,\"verdict\":\"%s\",\"ops\":%zu", k->key ? k->key : "null",
			  chk_verdict_name(k->verdict), k->ops);
		if (k->why) {
			sbuf_lit(&b, ",\"why\":");
			json_str(&b, k->why);
		}
		if (k->bad) {
			sbuf_lit(&b, ",\"counterexample\":{\"op\":");
			json_op(&b, k->bad);
			json_concurrent(&b, k);
			sbuf_addf(&b, ",\"linearized\":[");
			for (size_t l = 0; l < k->nlinearized; l++)
				sbuf_addf(&b, "%s%llu", l ? "," : "",
					  (unsigned long long)k->linearized[l]);
			sbuf_addc(&b, ']');
			if (k->linearized_skipped)
				sbuf_addf(&b, ",\"linearized_skipped\":%zu", k->linearized_skipped);
			sbuf_addc(&b, '}');
		}
		if (k->stalled) {
			sbuf_addf(&b, ",\"stalled\":{\"op\":");
			json_op(&b, k->stalled);
			json_concurrent(&b, k);
			sbuf_addc(&b, '}');
		}
		if (r->model == CHK_MODEL_SET) {
			sbuf_addf(&b, ",\"set\":{\"acknowledged\":%zu", k->set_acked);
			for (int c = 0; c < CHK_SET_NANOMALY; c++)
				sbuf_addf(&b, ",\"%s\":{\"count\":%zu,\"sample\":%s}",
					  chk_set_anomaly_name(c), k->set_count[c],
					  k->set_sample[c] ? k->set_sample[c] : "[]");
			sbuf_addc(&b, '}');
		}
		sbuf_addc(&b, '}');
		if (b.len > (1u << 20)) { /* flush large outputs as they grow */
			if (fwrite(b.p, 1, b.len, f) != b.len) {
				sbuf_free(&b);
				return SB_EIO;
			}
			sbuf_reset(&b);
		}
	}
	sbuf_lit(&b, "]}");
	int rc = 0;
	if (b.oom || fwrite(b.p, 1, b.len, f) != b.len)
		rc = b.oom ? SB_ENOMEM : SB_EIO;
	sbuf_free(&b);
	return rc;
}

static void op_info_free(struct chk_op_info *o)
{
	free(o->f);
	free(o->value);
}

void chk_result_free_keys(struct chk_result *r)
{
	for (size_t i = 0; i < r->nkeys; i++) {
		struct chk_key_result *k = &r->keys[i];
		free(k->key);
		free(k->why);
		if (k->bad)
			op_info_free(k->bad);
		free(k->bad);
		if (k->stalled)
			op_info_free(k->stalled);
		free(k->stalled);
		for (size_t c = 0; c < k->nconcurrent; c++)
			op_info_free(&k->concurrent[c]);
		free(k->concurrent);
		for (size_t s = 0; s < k->nstates; s++)
			free(k->states[s]);
		free(k->states);
		free(k->linearized);
		for (int c = 0; c < CHK_SET_NANOMALY; c++)
			free(k->set_sample[c]);
	}
	free(r->keys);
	r->keys = NULL;
	r->nkeys = 0;
}

void chk_result_free(struct chk_result *r)
{
	if (!r)
		return;
	chk_result_free_keys(r);
	free(r->warning);
	free(r->name);
	free(r);
}
