/* spec/write — the resolved spec as YAML (spec_write) and the field reference in Markdown
 * (spec_write_reference), both from the field tables. */
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "harness/nemesis/nemesis.h"
#include "harness/spec/impl.h"
#include "harness/workload/workload.h"
#include "lib/err.h"
#include "lib/units.h"

/* Words any YAML reader would take for null or a boolean: always quoted. */
static bool reserved(const char *s)
{
	static const char *const words[] = {"null", "true", "false", "yes", "no", "on", "off",
					    "y", "n", "~"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

/* Plain (unquoted) only when no YAML reader could read it as anything else. */
static bool plain_ok(const char *s)
{
	if (!*s || reserved(s))
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '/' || *s == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,+=@-",
			    *p))
			return false;
	return true;
}

/* Decode the UTF-8 sequence at s; returns its length (0: not valid). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
	if (!n)
		return 0;
	uint32_t v = s[0] & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	*cp = v;
	return n;
}

void spec_write_string(FILE *out, const char *s)
{
	if (plain_ok(s)) {
		fputs(s, out);
		return;
	}
	/* Double-quoted, ASCII only: what is read back is exactly these bytes. */
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		uint32_t cp;
		size_t n;
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (*p < 0x80)
			fputc(*p, out);
		else if ((n = utf8_decode(p, &cp)) != 0) {
			fprintf(out, cp > 0xFFFF ? "\\U%08x" : "\\u%04x", (unsigned)cp);
			p += n - 1;
		} else
			fprintf(out, "\\x%02x", *p);
	}
	fputc('"', out);
}

/* The shortest text that reads back as the same double. */
static void format_double(double v, char *buf, size_t n)
{
	if (fabs(v) < 1e15 && v == (double)(long long)v) { /* whole numbers as written: 500 */
		snprintf(buf, n, "%.0f", v);
		if (strtod(buf, NULL) == v && !signbit(v))
			return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* "5s", "1.5s", "250ms", or nanoseconds when the short form would not read back exactly. */
static void format_duration(int64_t ns, char *buf, size_t n)
{
	int64_t back = -1;
	units_format_duration(ns, buf, n);
	if (units_duration(buf, 1000000000LL, INT64_MAX / 4, &back, NULL, 0) || back != ns)
		snprintf(buf, n, "%lldns", (long long)ns);
}

static void format_size(uint64_t b, char *buf, size_t n)
{
	static const char units[] = "TGMK";
	if (b == 0) {
		snprintf(buf, n, "0");
		return;
	}
	for (int i = 0; i < 4; i++) {
		int shift = 40 - 10 * i;
		if (b % (1ull << shift) == 0) {
			snprintf(buf, n, "%llu%c", (unsigned long long)(b >> shift), units[i]);
			return;
		}
	}
	snprintf(buf, n, "%lluB", (unsigned long long)b);
}

static const char *choice(const char *choices, int index, char *buf, size_t n)
{
	const char *p = choices;
	for (int i = 0; i < index && p; i++) {
		p = strchr(p, '|');
		if (p)
			p++;
	}
	if (!p)
		p = "";
	snprintf(buf, n, "%.*s", (int)strcspn(p, "|"), p);
	return buf;
}

void spec_write_scalar(FILE *out, const struct spec_field *f, const void *base)
{
	const char *v = (const char *)base + f->off;
	char buf[64];
	int64_t ns;
	switch (f->type) {
	case SPEC_T_ENUM:
		if (f->flags & SPEC_F_INDEX) {
			spec_write_string(out, choice(f->choices, *(const int *)v, buf, sizeof buf));
			return;
		}
		/* fall through */
	case SPEC_T_STR:
	case SPEC_T_NAME:
	case SPEC_T_WORD:
	case SPEC_T_CPATH:
	case SPEC_T_RPATH:
		spec_write_string(out, v);
		return;
	case SPEC_T_LPATH:
		spec_write_string(out, !*v && (f->flags & SPEC_F_AGENT) ? "agent" : v);
		return;
	case SPEC_T_INT:
		fprintf(out, "%d", *(const int *)v);
		return;
	case SPEC_T_U32:
		fprintf(out, "%u", *(const uint32_t *)v);
		return;
	case SPEC_T_U64:
		fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)v);
		return;
	case SPEC_T_DOUBLE:
		format_double(*(const double *)v, buf, sizeof buf);
		fputs(buf, out);
		return;
	case SPEC_T_DURATION:
	case SPEC_T_SDURATION:
		ns = *(const int64_t *)v;
		format_duration(ns < 0 ? -ns : ns, buf, sizeof buf);
		fprintf(out, "%s%s", ns < 0 ? "-" : "", buf);
		return;
	case SPEC_T_SIZE:
		format_size(*(const uint64_t *)v, buf, sizeof buf);
		fputs(buf, out);
		return;
	case SPEC_T_BOOL:
		fputs(*(const bool *)v ? "true" : "false", out);
		return;
	default:
		return;
	}
}

void spec_write_section(FILE *out, const struct spec_section *sec, const void *base, int indent,
			bool item)
{
	uint64_t set = sec->set_off >= 0 ? *(const uint64_t *)((const char *)base + sec->set_off)
					 : ~0ull;
	bool first = true;
	for (size_t i = 0; i < sec->nfields; i++) {
		const struct spec_field *f = &sec->fields[i];
		if (!(set & (1ull << i)) || (f->present && !f->present(base)))
			continue;
		if (item && first)
			fprintf(out, "%*s- %s:", indent - 2, "", f->name);
		else
			fprintf(out, "%*s%s:", indent, "", f->name);
		first = false;
		if (f->type == SPEC_T_MAP) {
			fputc('\n', out);
			spec_write_section(out, f->sub, (const char *)base + f->off, indent + 2, false);
		} else if (f->type == SPEC_T_LIST) {
			size_t n = *(const size_t *)((const char *)base + f->count_off);
			fputs(n ? "\n" : " []\n", out);
			for (size_t j = 0; j < n; j++)
				spec_write_section(out, f->sub,
						   (const char *)base + f->off + j * f->sub->size,
						   indent + 4, true);
		} else if (f->type == SPEC_T_CUSTOM) {
			f->custom->write(out, f, base, indent);
		} else {
			fputc(' ', out);
			spec_write_scalar(out, f, base);
			fputc('\n', out);
		}
	}
}

int spec_write(const struct spec *s, FILE *f)
{
	fputs("# The resolved spec: every default filled in. `splitbrain run` of this file runs\n"
	      "# the same test (same operations and fault schedule for the same seed).\n",
	      f);
	spec_write_section(f, &spec_sec_top, s, 0, false);
	if (!s->seed_given)
		fputs("# seed: not chosen yet (a run picks one and records it here)\n", f);
	return fflush(f) || ferror(f) ? SB_EIO : 0;
}

/* ---- the field reference ---- */

/* Text inside a Markdown table cell: '|' would end the cell, and '<' outside a code span
 * start an HTML tag. */
static void cell(FILE *out, const char *s)
{
	bool code = false;
	for (; *s; s++) {
		if (*s == '`')
			code = !code;
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '<' && !code)
			fputs("&lt;", out);
		else if (*s == '>' && !code)
			fputs("&gt;", out);
		else
			fputc(*s, out);
	}
}

static void reference_section(FILE *out, const char *title, const char *intro,
			      const struct spec_section *sec)
{
	char tb[160];
	fprintf(out, "### %s\n\n%s\n\n", title, intro);
	fputs("| field | type | default | example | meaning |\n|---|---|---|---|---|\n", out);
	for (size_t i = 0; i < sec->nfields; i++) {
		const struct spec_field *f = &sec->fields[i];
		fprintf(out, "| `%s` | ", f->name);
		cell(out, spec_type_doc(f, tb, sizeof tb));
		fputs(" | ", out);
		if (f->flags & SPEC_F_REQUIRED)
			fputs("**required**", out);
		else if (f->def)
			fprintf(out, "`%s`", *f->def ? f->def : "\"\"");
		else if (f->type == SPEC_T_MAP)
			fputs("its fields' defaults", out);
		else
			cell(out, f->def_doc ? f->def_doc : "none");
		if (f->example)
			fprintf(out, " | `%s` | ", f->example); /* code span: no escaping needed */
		else
			fputs(" | (below) | ", out);
		cell(out, f->doc ? f->doc : "");
		fputs(" |\n", out);
	}
	fputc('\n', out);
}

static void reference_workloads(FILE *out)
{
	fputs("### Workloads\n\n"
	      "`workload.kind` is one of these (the table comes from `harness/workload/`; one file "
	      "and one row per workload).\n\n"
	      "| kind | operations (default mix) | keys | checker model | final read | what it does |\n"
	      "|---|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; workload_kinds[i]; i++) {
		const struct workload_kind *k = workload_kinds[i];
		char w[32];
		bool first = true;
		fprintf(out, "| `%s` | ", k->name);
		for (size_t op = 0; op < OP_NF && op < spec_sec_mix.nfields; op++) {
			if (!(k->ops & (1u << op)))
				continue;
			format_double(k->mix[op], w, sizeof w);
			fprintf(out, "%s%s %s", first ? "" : ", ", spec_sec_mix.fields[op].name, w);
			first = false;
		}
		if (k->keyed)
			fprintf(out, " | %u | `%s` | ", k->default_keys, chk_model_name(k->model));
		else
			fprintf(out, " | one register | `%s` | ", chk_model_name(k->model));
		fputs(k->final_read ? "every key | " : "no | ", out);
		cell(out, k->summary ? k->summary : "");
		fputs(" |\n", out);
	}
	fputc('\n', out);
}

/* "a,b" as `a`, `b`; "nothing" when empty. */
static void words(FILE *out, const char *list)
{
	if (!list || !*list) {
		fputs("nothing", out);
		return;
	}
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		fprintf(out, "%s`%.*s`", p == list ? "" : ", ", (int)l, p);
		p += l + (p[l] == ',');
	}
}

static void reference_faults(FILE *out)
{
	fputs("### Fault kinds\n\n"
	      "`kind` in `nemesis.faults` and in a timeline step's `do` is one of these (the table "
	      "comes from `harness/nemesis/`; one file and one row per kind, so this list grows "
	      "as kinds are added). A fault may give only the fields its kind takes; `weight` "
	      "belongs to every entry of `nemesis.faults`.\n\n"
	      "| kind | takes | requires | default target | what it does |\n"
	      "|---|---|---|---|---|\n",
	      out);
	for (size_t i = 0; nemesis_kinds[i]; i++) {
		const struct nemesis_kind *k = nemesis_kinds[i];
		fprintf(out, "| `%s` | ", k->name);
		words(out, k->fields);
		fputs(" | ", out);
		words(out, k->required);
		fputs(" | ", out);
		cell(out, k->default_target && *k->default_target ? k->default_target : "none");
		fputs(" | ", out);
		cell(out, k->summary ? k->summary : "");
		fputs(" |\n", out);
	}
	fputc('\n', out);
}

int spec_write_reference(FILE *out)
{
	reference_section(out, "Top level", "The fields of the spec's top-level mapping.",
			  &spec_sec_top);
	reference_section(out, "`nodes:` as a list of hosts",
			  "Each entry of a `nodes:` list is a mapping; what it does not say comes "
			  "from `ssh:`.",
			  &spec_sec_host);
	reference_section(out, "`ssh`",
			  "Defaults for hosts given as a list (a nodes file has its own "
			  "`defaults` line; see the README).",
			  &spec_sec_ssh);
	reference_section(out, "`db`", "The system under test and where it lives on the hosts.",
			  &spec_sec_db);
	reference_section(out, "`workload`", "What the clients do.", &spec_sec_workload);
	reference_section(out, "`workload.mix`",
			  "Relative weights (any non-negative numbers); only the workload's own "
			  "operations may be above 0. Without `mix:`, the workload's default mix.",
			  &spec_sec_mix);
	reference_section(out, "`nemesis`",
			  "The faults: a random schedule drawn from `faults`, a `timeline`, or "
			  "both.",
			  &spec_sec_nemesis);
	reference_section(out, "`nemesis.faults[]`",
			  "One fault. Defaults apply only to the fields its kind takes; giving a "
			  "field the kind does not take is an error.",
			  &spec_sec_fault);
	reference_section(out, "`nemesis.timeline[]`",
			  "One step; steps run in order, each after the previous one.",
			  &spec_sec_step);
	reference_section(out, "`checker`", "How the history is checked.", &spec_sec_checker);
	reference_section(out, "`availability`",
			  "Thresholds on how the cluster serves clients around faults. The "
			  "figures are in results.json either way; a threshold that fails is an "
			  "anomaly of kind `availability` and the run is invalid (exit 1).",
			  &spec_sec_availability);
	reference_workloads(out);
	reference_faults(out);
	return fflush(out) || ferror(out) ? SB_EIO : 0;
}
