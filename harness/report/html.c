/* report/html — report.html for a run's store directory, and the key view of
 * `splitbrain check --html` (see html.h). html_data.c reads, html_svg.c draws; this file
 * lays out the page: the summary at the top, the charts over time, the invalid keys.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/report/html.h"
#include "harness/report/html_data.h"
#include "harness/report/html_svg.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/sbuf.h"

#define ADD(b, lit) sbuf_lit(b, lit)
#define RESULTS_MAX (256u << 20) /* a results.json larger than this is not read */
#define MAX_NODES 64
#define MAX_LINKS 400

static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:0 auto;"
	"max-width:1100px;padding:12px 20px 60px;color:#1d232b;background:#fff}"
	"h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:26px 0 6px;border-bottom:1px "
	"solid #dde3ea;padding-bottom:3px}h3{font-size:14px;margin:14px 0 2px;color:#3b4654}"
	".verdict{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff;"
	"font-weight:600;margin-right:8px}.v-valid{background:#1f8a4c}.v-invalid{background:#c62828}"
	".v-unknown{background:#a66a00}.v-error{background:#555}"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}"
	"dl.meta dt{color:#5b6775}dl.meta dd{margin:0}"
	"table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #dde3ea;padding:2px 8px;"
	"text-align:left;vertical-align:top}th{background:#f4f6f8}td.n{text-align:right}"
	"ul.anomalies li{margin:3px 0}.kind{font-family:monospace;background:#f4f6f8;padding:0 4px;"
	"border-radius:3px}.note{color:#5b6775;font-size:12px}"
	"svg.chart{width:100%;height:auto;display:block;font-size:11px}"
	".axis line{stroke:#8a96a3}.axis text{fill:#5b6775}line.grid{stroke:#eef1f4}"
	".fault{opacity:.16}.f-kill{fill:#d32f2f}.f-part{fill:#6a1b9a}.f-pause{fill:#1565c0}"
	".f-other{fill:#616161}.flabel{fill:#4a148c;font-size:10px}"
	".line{fill:none;stroke-width:1.6}.line.ok{stroke:#2e7d32}.line.fail{stroke:#c62828}"
	".line.info{stroke:#ef6c00}.line.p50{stroke:#1565c0}.line.p95{stroke:#6a1b9a}"
	".line.p99{stroke:#000;stroke-dasharray:4 2}.pts.ok{fill:#66bb6a}.pts.fail{fill:#e57373}"
	".pts.info{fill:#ffa726}.seg rect{stroke:#fff;stroke-width:.5}.r-leader rect{fill:#1565c0}"
	".r-leader text{fill:#fff}.r-candidate rect{fill:#ffb74d}.r-follower rect{fill:#cfd8dc}"
	".r-down rect{fill:#fff;stroke:#b0bec5;stroke-dasharray:3 2}.seg text{font-size:10px}"
	".nname{fill:#37474f;font-family:monospace}"
	".op rect{stroke:#37474f;stroke-width:.6}.op.ok rect{fill:#90caf9}.op.fail rect{fill:#e0e0e0}"
	".op.info rect{fill:#ffe0b2}.op.open rect{fill:#fff3e0;stroke-dasharray:4 2}"
	".op.conc rect{fill:#fff59d;stroke:#f9a825;stroke-width:2}"
	".op.bad rect{fill:#ef9a9a;stroke:#b71c1c;stroke-width:3}.op text{font-size:11px;"
	"font-family:monospace;pointer-events:none}.op:hover rect{stroke:#000;stroke-width:2}"
	".badspan{fill:#ffcdd2;opacity:.35}.ord{fill:#263238}.ordn{fill:#fff;font-size:9px;"
	"font-family:monospace}.op{cursor:pointer}"
	"pre.oplines{background:#f4f6f8;padding:6px 8px;min-height:3em;white-space:pre-wrap;"
	"word-break:break-all;font-size:12px}"
	".legend .sw{display:inline-block;width:12px;height:10px;margin:0 3px 0 8px}"
	".sw.ok{background:#2e7d32}.sw.fail{background:#c62828}.sw.info{background:#ef6c00}"
	".sw.p50{background:#1565c0}.sw.p95{background:#6a1b9a}.sw.p99{background:#000}"
	"#tip{position:absolute;display:none;max-width:640px;background:#263238;color:#fff;"
	"padding:6px 8px;border-radius:4px;font:12px monospace;white-space:pre-wrap;"
	"word-break:break-all;pointer-events:none;z-index:9}"
	".why{font-size:15px;background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px}";

/* Hovering a bar (or anything with data-h) shows its history lines next to the pointer and
 * in the key view's box below the chart. */
static const char script[] =
	"(function(){var t=document.getElementById('tip');"
	"document.addEventListener('mouseover',function(e){"
	"var g=e.target.closest?e.target.closest('[data-h]'):null;"
	"if(!g){t.style.display='none';return;}"
	"t.textContent=g.getAttribute('data-h');t.style.display='block';"
	"var s=g.closest('section.key');if(s){var p=s.querySelector('pre.oplines');"
	"if(p)p.textContent=g.getAttribute('data-h');}});"
	"document.addEventListener('mousemove',function(e){"
	"t.style.left=(e.pageX+14)+'px';t.style.top=(e.pageY+14)+'px';});})();";

/* ---- the summary ---- */

static void dd_text(struct sbuf *b, const char *dt, const char *text)
{
	sbuf_addf(b, "<dt>%s</dt><dd>", dt);
	rep_esc(b, text);
	ADD(b, "</dd>");
}

static void dd_json(struct sbuf *b, const char *dt, const struct hval *v)
{
	if (!v || v->kind == HVAL_NULL)
		return;
	struct sbuf t = {0};
	if (v->kind == HVAL_STR)
		sbuf_addf(&t, "%s", v->u.s);
	else
		rep_jformat(v, &t);
	dd_text(b, dt, t.p ? t.p : "");
	sbuf_free(&t);
}

static void verdict_badge(struct sbuf *b, const char *verdict)
{
	const char *v = verdict ? verdict : "unknown";
	const char *cls = !strcmp(v, "valid") || !strcmp(v, "invalid") || !strcmp(v, "unknown") ?
				  v : "error";
	sbuf_addf(b, "<span class=\"verdict v-%s\" id=\"verdict\">", cls);
	rep_esc(b, v);
	ADD(b, "</span>");
}

static double jnum_or(const struct hval *v, double dflt)
{
	double d;
	return rep_jnum(v, &d) ? dflt : d;
}

static void ops_table(struct sbuf *b, const struct hval *ops, const struct rep_hist *h)
{
	ADD(b, "<table class=\"ops\"><tr><th>operation</th><th>total</th><th>ok</th>"
	       "<th>fail</th><th>info</th></tr>");
	if (ops) {
		sbuf_addf(b, "<tr><th>all</th><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>"
			     "<td class=\"n\">%.0f</td><td class=\"n\">%.0f</td></tr>",
			  jnum_or(rep_jget(ops, "total"), 0), jnum_or(rep_jget(ops, "ok"), 0),
			  jnum_or(rep_jget(ops, "fail"), 0), jnum_or(rep_jget(ops, "info"), 0));
		const struct hval *byf = rep_jget(ops, "by_f");
		for (uint32_t i = 0; byf && byf->kind == HVAL_MAP && i < byf->len; i++) {
			const struct hval *k = &byf->u.items[2 * i], *v = &byf->u.items[2 * i + 1];
			double ok = jnum_or(rep_jget(v, "ok"), 0), fl = jnum_or(rep_jget(v, "fail"), 0),
			       in = jnum_or(rep_jget(v, "info"), 0);
			ADD(b, "<tr><th>");
			rep_esc(b, rep_jstr(k));
			sbuf_addf(b, "</th><td class=\"n\">%.0f</td><td class=\"n\">%.0f</td>"
				     "<td class=\"n\">%.0f</td><td class=\"n\">%.0f</td></tr>",
				  ok + fl + in, ok, fl, in);
		}
	} else {
		sbuf_addf(b, "<tr><th>all</th><td class=\"n\">%zu</td><td class=\"n\">%llu</td>"
			     "<td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>",
			  h->nops, (unsigned long long)h->n_ok, (unsigned long long)h->n_fail,
			  (unsigned long long)(h->n_info + h->n_open));
	}
	ADD(b, "</table>");
}

static void faults_table(struct sbuf *b, const struct rep_hist *h, const struct hval *faults)
{
	sbuf_addf(b, "<h2>Faults injected (%zu)</h2>", h->nfaults);
	if (!h->nfaults) {
		ADD(b, "<p>None.</p>");
		return;
	}
	ADD(b, "<table class=\"faults\"><tr><th>#</th><th>fault</th><th>from (s)</th>"
	       "<th>healed (s)</th><th>error</th></tr>");
	for (size_t i = 0; i < h->nfaults; i++) {
		const struct rep_fault *f = &h->faults[i];
		sbuf_addf(b, "<tr class=\"fault-row\"><td>%zu</td><td>", i + 1);
		rep_esc(b, f->label);
		sbuf_addf(b, "</td><td class=\"n\">%.3f</td><td class=\"n\">", f->start);
		if (f->end >= 0)
			sbuf_addf(b, "%.3f", f->end);
		else
			ADD(b, "not healed");
		ADD(b, "</td><td>");
		const struct hval *fj = faults && faults->kind == HVAL_ARRAY && i < faults->len ?
						&faults->u.items[i] : NULL;
		rep_esc(b, rep_jstr(rep_jget(fj, "error")));
		ADD(b, "</td></tr>");
	}
	ADD(b, "</table>");
	if (!h->faults_given)
		ADD(b, "<p class=\"note\">From the history's nemesis events.</p>");
}

/* One sentence per anomaly: results.json's list when there is one (any kind), else the
 * checker's invalid keys. */
static void anomalies(struct sbuf *b, const struct hval *list, const struct rep_hist *h)
{
	ADD(b, "<h2>Anomalies</h2>");
	size_t n = list && list->kind == HVAL_ARRAY ? list->len : 0;
	if (n) {
		ADD(b, "<ul class=\"anomalies\">");
		for (size_t i = 0; i < n && i < 500; i++) {
			const struct hval *a = &list->u.items[i];
			const char *kind = rep_jstr(rep_jget(a, "kind"));
			const struct hval *key = rep_jget(a, "key");
			ADD(b, "<li class=\"anomaly\" data-kind=\"");
			rep_esc(b, kind ? kind : "anomaly");
			ADD(b, "\"><span class=\"kind\">");
			rep_esc(b, kind ? kind : "anomaly");
			ADD(b, "</span> ");
			if (key && key->kind != HVAL_NULL) {
				struct sbuf k = {0};
				rep_jformat(key, &k);
				ADD(b, "key ");
				rep_esc(b, k.p);
				ADD(b, ": ");
				sbuf_free(&k);
			}
			const char *text = rep_jstr(rep_jget(a, "text"));
			if (text) {
				rep_esc(b, text);
			} else { /* an unknown shape: show it whole */
				struct sbuf t = {0};
				rep_jformat(a, &t);
				rep_esc(b, t.p);
				sbuf_free(&t);
			}
			ADD(b, "</li>");
		}
		if (n > 500)
			sbuf_addf(b, "<li>... and %zu more (results.json)</li>", n - 500);
		ADD(b, "</ul>");
		return;
	}
	size_t ninv = 0;
	for (size_t i = 0; i < h->nkv; i++)
		ninv += !h->kv[i].undecided;
	if (!ninv) {
		ADD(b, "<p>None found.</p>");
		return;
	}
	ADD(b, "<ul class=\"anomalies\">");
	for (size_t i = 0; i < h->nkv; i++) {
		if (h->kv[i].undecided)
			continue;
		ADD(b, "<li class=\"anomaly\" data-kind=\"nonlinearizable\"><span class=\"kind\">"
		       "nonlinearizable</span> ");
		if (h->kv[i].key) {
			ADD(b, "key ");
			rep_esc(b, h->kv[i].key);
			ADD(b, ": ");
		}
		rep_esc(b, h->kv[i].why);
		ADD(b, "</li>");
	}
	ADD(b, "</ul>");
}

static void link_file(struct sbuf *b, const char *rel, const char *label)
{
	ADD(b, "<li><a href=\"");
	rep_esc(b, rel);
	ADD(b, "\">");
	rep_esc(b, label ? label : rel);
	ADD(b, "</a></li>");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted (caller frees each and the array). */
static size_t list_dir(const char *dir, char ***out)
{
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < MAX_LINKS) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof *nn);
			if (!nn)
				break;
			*out = nn;
		}
		if (!((*out)[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(*out, n, sizeof **out, cmp_str);
	return n;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void files_section(struct sbuf *b, const char *dir)
{
	ADD(b, "<h2>Files</h2><ul class=\"files\">");
	char **names;
	size_t n = list_dir(dir, &names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st))
			continue;
		if (!S_ISDIR(st.st_mode)) {
			link_file(b, names[i], NULL);
			continue;
		}
		ADD(b, "<li>");
		rep_esc(b, names[i]);
		ADD(b, "/: <ul class=\"inline\">");
		char **sub;
		size_t m = list_dir(path, &sub);
		for (size_t j = 0; j < m; j++) {
			char rel[4096];
			snprintf(rel, sizeof rel, "%s/%s", names[i], sub[j]);
			link_file(b, rel, sub[j]);
		}
		free_list(sub, m);
		ADD(b, "</ul></li>");
	}
	free_list(names, n);
	ADD(b, "</ul>");
}

/* ---- the key views ---- */

/* One key view: its heading, the checker's sentence, what the colours mean, the bars. */
static void key_section(struct sbuf *b, const struct rep_hist *h, const struct rep_keyview *kv,
			size_t id)
{
	sbuf_addf(b, "<section class=\"key%s\" id=\"key-%zu\"><h3>",
		  kv->undecided ? " undecided" : "", id);
	if (kv->key) {
		ADD(b, "key ");
		rep_esc(b, kv->key);
	} else {
		ADD(b, "the register");
	}
	ADD(b, "</h3><p class=\"why\">");
	rep_esc(b, kv->why ? kv->why : kv->undecided ? "not decided" : "not linearizable");
	ADD(b, "</p><p class=\"note\">Bars: each operation of this key from its invocation "
	       "to its completion, one row per process. <b>Red</b>: ");
	if (kv->undecided)
		ADD(b, "the operation whose completion no order the checker's search tried got "
		       "past before it stopped (line ");
	else
		ADD(b, "the operation that cannot be linearized (line ");
	sbuf_addf(b, "%llu", (unsigned long long)kv->bad_line);
	if (kv->nconc_total > kv->nconc)
		sbuf_addf(b, "); <b>yellow</b>: the first %zu of the %zu operations concurrent with it",
			  kv->nconc, kv->nconc_total);
	else
		sbuf_addf(b, "); <b>yellow</b>: the %zu operations concurrent with it",
			  kv->nconc_total);
	if (!kv->undecided)
		ADD(b, "; numbered: the order of the deepest path the checker's search reached");
	if (kv->states) {
		if (kv->undecided)
			ADD(b, "; the states the search reached there: ");
		else
			ADD(b, ", after which the state was ");
		rep_esc(b, kv->states);
	}
	if (!kv->undecided && !kv->nlin)
		ADD(b, " (none: this verdict needed no search)");
	if (kv->undecided)
		ADD(b, ". This proves nothing: it is where to look first");
	ADD(b, ". Hover a bar for its lines in the history.</p>");
	rep_svg_keyview(b, h, kv, id);
	ADD(b, "<pre class=\"oplines\">(hover an operation)</pre></section>");
}

/* The invalid keys, then the undecided ones that have a point where their search stopped;
 * views are numbered from first_id (ids stay unique on a page of several histories). */
static void key_sections(struct sbuf *b, const struct rep_hist *h, size_t first_id)
{
	size_t ninv = 0, nund = 0;
	for (size_t i = 0; i < h->nkv; i++) {
		ninv += !h->kv[i].undecided;
		nund += h->kv[i].undecided;
	}
	if (h->ninvalid) {
		sbuf_addf(b, "<h2>Invalid key%s (%zu)</h2>", h->ninvalid == 1 ? "" : "s",
			  h->ninvalid);
		for (size_t i = 0; i < h->nkv; i++)
			if (!h->kv[i].undecided)
				key_section(b, h, &h->kv[i], first_id + i);
		if (h->ninvalid > ninv)
			sbuf_addf(b, "<p class=\"note\">%zu more invalid keys are not drawn; "
				     "results.json lists them.</p>", h->ninvalid - ninv);
	}
	if (nund) {
		sbuf_addf(b, "<h2>Undecided key%s (%zu)</h2>", h->nundecided == 1 ? "" : "s",
			  h->nundecided);
		for (size_t i = 0; i < h->nkv; i++)
			if (h->kv[i].undecided)
				key_section(b, h, &h->kv[i], first_id + i);
		if (h->nundecided > nund)
			sbuf_addf(b, "<p class=\"note\">%zu more undecided keys are not drawn; "
				     "results.json lists them.</p>", h->nundecided - nund);
	}
}

/* ---- the page ---- */

static void page_start(struct sbuf *b, const char *title)
{
	ADD(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	       "<meta name=\"generator\" content=\"splitbrain\"><title>");
	rep_esc(b, title);
	ADD(b, "</title><style>");
	sbuf_add(b, css, sizeof css - 1);
	ADD(b, "</style></head><body>\n");
}

static void page_end(struct sbuf *b)
{
	ADD(b, "\n<div id=\"tip\"></div><script>");
	sbuf_add(b, script, sizeof script - 1);
	ADD(b, "</script></body></html>\n");
}

static int write_page(struct sbuf *b, const char *out, char *err, size_t errlen)
{
	if (b->oom)
		return err_set(err, errlen, SB_ENOMEM, "out of memory building the report");
	return file_replace(out, b->p, b->len, 0644, err, errlen);
}

static const struct hval *checker_of(const struct hval *v)
{
	/* results.json's "checker" is one history's result; accept the whole --json output too */
	const struct hval *res = rep_jget(v, "results");
	if (res && res->kind == HVAL_ARRAY && res->len)
		return &res->u.items[0];
	return v;
}

struct run_page {
	const char *dir;
	struct hval *results; /* results.json, or NULL */
	char *results_note;   /* why results.json is missing or unreadable */
	struct rep_hist h;
	struct rep_node *nodes;
	size_t nnodes;
};

static int load_results(struct run_page *rp, char *err, size_t errlen)
{
	char path[4096], e2[512];
	snprintf(path, sizeof path, "%s/results.json", rp->dir);
	char *text = NULL;
	size_t len = 0;
	bool missing = false;
	int rc = file_read_all(path, RESULTS_MAX, &text, &len, &missing, e2, sizeof e2);
	if (rc == SB_ENOMEM)
		return err_set(err, errlen, rc, "out of memory");
	if (rc || missing) {
		rp->results_note = strdup(missing ? "results.json is missing: the run did not "
						     "finish, or its check did not run" : e2);
		return 0;
	}
	if (rep_json_parse(text, len, &rp->results, e2, sizeof e2)) {
		struct sbuf n = {0};
		sbuf_addf(&n, "results.json could not be read: %s", e2);
		rp->results_note = sbuf_take(&n);
	}
	free(text);
	return 0;
}

static int load_run(struct run_page *rp, char *err, size_t errlen)
{
	int rc = load_results(rp, err, errlen);
	if (rc)
		return rc;
	struct rep_hist *h = &rp->h;
	struct sbuf p = {0};
	sbuf_addf(&p, "%s/history.jsonl", rp->dir);
	h->path = sbuf_take(&p);
	h->name = strdup("history.jsonl");
	if (!h->path || !h->name)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	const struct hval *chk = checker_of(rep_jget(rp->results, "checker"));
	if (chk && chk->kind == HVAL_MAP) {
		/* the history keeps its own copy, freed with it */
		struct sbuf t = {0};
		rep_jformat(chk, &t);
		rc = t.oom ? SB_ENOMEM : rep_json_parse(t.p, t.len, &h->chk, err, errlen);
		sbuf_free(&t);
		if (rc)
			return rc;
	}
	if ((rc = rep_keys_from_checker(h, err, errlen)))
		return rc;
	const struct hval *faults = rep_jget(rp->results, "faults");
	if (faults && faults->kind == HVAL_ARRAY && rep_faults_from_json(h, faults))
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	if ((rc = rep_history_read(h, err, errlen))) {
		err_prefix(err, errlen, "%s", h->path);
		return rc;
	}
	/* the nodes: results.json's list, else the run directory's subdirectories */
	const char *names[MAX_NODES];
	size_t n = 0;
	const struct hval *nl = rep_jget(rp->results, "nodes");
	for (uint32_t i = 0; nl && nl->kind == HVAL_ARRAY && i < nl->len && n < MAX_NODES; i++)
		if (rep_jstr(&nl->u.items[i]))
			names[n++] = rep_jstr(&nl->u.items[i]);
	char **dirs = NULL;
	size_t nd = 0;
	if (!n) {
		nd = list_dir(rp->dir, &dirs);
		for (size_t i = 0; i < nd && n < MAX_NODES; i++) {
			char sub[4096];
			struct stat st;
			snprintf(sub, sizeof sub, "%s/%s", rp->dir, dirs[i]);
			if (!stat(sub, &st) && S_ISDIR(st.st_mode))
				names[n++] = dirs[i];
		}
	}
	double started = 0;
	const char *st = rep_jstr(rep_jget(rp->results, "started"));
	if (st)
		rep_parse_utc(st, &started);
	rc = rep_nodes_read(rp->dir, names, n, started, h, &rp->nodes, err, errlen);
	rp->nnodes = n;
	free_list(dirs, nd);
	return rc;
}

static void run_summary(struct sbuf *b, const struct run_page *rp)
{
	const struct hval *r = rp->results;
	const char *test = rep_jstr(rep_jget(r, "test"));
	const char *verdict = rep_jstr(rep_jget(r, "verdict"));
	if (!verdict)
		verdict = rep_jstr(rep_jget(rp->h.chk, "verdict"));
	ADD(b, "<header><h1>");
	verdict_badge(b, verdict);
	ADD(b, "<span id=\"test\">");
	rep_esc(b, test ? test : "run");
	ADD(b, "</span></h1>");
	if (rp->results_note) {
		ADD(b, "<p class=\"note\" id=\"results-note\">");
		rep_esc(b, rp->results_note);
		ADD(b, "</p>");
	}
	ADD(b, "<dl class=\"meta\">");
	dd_json(b, "seed", rep_jget(r, "seed"));
	dd_json(b, "started", rep_jget(r, "started"));
	double dur;
	if (!rep_jnum(rep_jget(r, "duration_s"), &dur)) {
		char t[64];
		snprintf(t, sizeof t, "%.1f s", dur);
		dd_text(b, "duration", t);
	}
	dd_json(b, "exit code", rep_jget(r, "exit"));
	const struct hval *expect = rep_jget(r, "expect");
	if (expect && expect->kind != HVAL_NULL) {
		dd_json(b, "expected", expect);
		dd_json(b, "as expected", rep_jget(r, "expect_held"));
	}
	dd_json(b, "nodes", rep_jget(r, "nodes"));
	dd_json(b, "db", rep_jget(rep_jget(r, "db"), "kind"));
	dd_json(b, "workload", rep_jget(r, "workload"));
	dd_json(b, "checker model", rep_jget(rp->h.chk, "model"));
	dd_json(b, "store", rep_jget(r, "store"));
	ADD(b, "</dl></header>");
	ADD(b, "<h2>Operations</h2>");
	ops_table(b, rep_jget(r, "ops"), &rp->h);
	anomalies(b, rep_jget(r, "anomalies"), &rp->h);
	const struct hval *errors = rep_jget(r, "errors");
	if (errors && errors->kind == HVAL_ARRAY && errors->len) {
		ADD(b, "<h2>Errors during the run</h2><ul class=\"errors\">");
		for (uint32_t i = 0; i < errors->len && i < 200; i++) {
			ADD(b, "<li>");
			rep_esc(b, rep_jstr(&errors->u.items[i]));
			ADD(b, "</li>");
		}
		ADD(b, "</ul>");
	}
	faults_table(b, &rp->h, rep_jget(r, "faults"));
}

static void history_note(struct sbuf *b, const struct rep_hist *h)
{
	if (!h->note)
		return;
	ADD(b, "<p class=\"note history-note\">The history could not be read to its end; what "
	       "is shown stops before: ");
	rep_esc(b, h->note);
	ADD(b, "</p>");
}

int report_html_write_to(const char *store_dir, const char *out_path, char *err,
			 size_t errlen)
{
	struct run_page rp = {.dir = store_dir};
	struct sbuf b = {0};
	struct stat st;
	int rc;
	if (stat(store_dir, &st) || !S_ISDIR(st.st_mode)) {
		rc = err_set(err, errlen, SB_EIO, "%s: not a run directory (%s)", store_dir,
			     errno ? strerror(errno) : "not a directory");
		goto out;
	}
	if ((rc = load_run(&rp, err, errlen)))
		goto out;
	const char *test = rep_jstr(rep_jget(rp.results, "test"));
	const char *verdict = rep_jstr(rep_jget(rp.results, "verdict"));
	char title[512];
	snprintf(title, sizeof title, "splitbrain: %s \u2014 %s", test ? test : store_dir,
		 verdict ? verdict : "no verdict");
	page_start(&b, title);
	run_summary(&b, &rp);
	files_section(&b, store_dir);
	ADD(&b, "<h2>Over time</h2>");
	history_note(&b, &rp.h);
	rep_svg_timeline(&b, &rp.h, rp.nodes, rp.nnodes);
	key_sections(&b, &rp.h, 0);
	page_end(&b);
	rc = write_page(&b, out_path, err, errlen);
out:
	sbuf_free(&b);
	rep_hist_free(&rp.h);
	rep_nodes_free(rp.nodes, rp.nnodes);
	chk_value_free(rp.results);
	free(rp.results_note);
	return rc;
}

int report_html_write(const char *store_dir, char *err, size_t errlen)
{
	char out[4096];
	if ((size_t)snprintf(out, sizeof out, "%s/report.html", store_dir) >= sizeof out)
		return err_set(err, errlen, SB_EINVAL, "%s: path too long", store_dir);
	return report_html_write_to(store_dir, out, err, errlen);
}

/* ---- splitbrain check --html ---- */

struct report_check {
	struct rep_hist *h;
	size_t n;
};

int report_check_new(struct report_check **out, char *err, size_t errlen)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : err_set(err, errlen, SB_ENOMEM, "out of memory");
}

int report_check_add(struct report_check *rc, const char *history_path,
		     const struct chk_result *r, char *err, size_t errlen)
{
	struct rep_hist *nh = realloc(rc->h, (rc->n + 1) * sizeof *nh);
	if (!nh)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	rc->h = nh;
	struct rep_hist *h = &rc->h[rc->n++];
	memset(h, 0, sizeof *h);
	h->path = strdup(history_path);
	h->name = strdup(history_path);
	char *json = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);
	if (!h->path || !h->name || !f || chk_result_write_json(r, f)) {
		if (f)
			fclose(f);
		free(json);
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	fclose(f);
	int e = rep_json_parse(json, len, &h->chk, err, errlen);
	free(json);
	if (e)
		return e;
	if ((e = rep_keys_from_checker(h, err, errlen)))
		return e;
	if (!strcmp(history_path, "-")) { /* standard input was read by the check */
		h->note = strdup("the history came from standard input and cannot be read again");
		return 0;
	}
	if ((e = rep_history_read(h, err, errlen)))
		err_prefix(err, errlen, "%s", history_path);
	return e;
}

int report_check_write(const struct report_check *rc, const char *out_path, char *err,
		       size_t errlen)
{
	struct sbuf b = {0};
	page_start(&b, "splitbrain check");
	size_t kid = 0;
	for (size_t i = 0; i < rc->n; i++) {
		const struct rep_hist *h = &rc->h[i];
		ADD(&b, "<section class=\"history\"><h1>");
		verdict_badge(&b, rep_jstr(rep_jget(h->chk, "verdict")));
		rep_esc(&b, h->name);
		ADD(&b, "</h1><dl class=\"meta\">");
		dd_json(&b, "model", rep_jget(h->chk, "model"));
		dd_json(&b, "keys", rep_jget(h->chk, "keys_total"));
		dd_json(&b, "invalid keys", rep_jget(h->chk, "keys_invalid"));
		dd_json(&b, "undecided keys", rep_jget(h->chk, "keys_unknown"));
		ADD(&b, "</dl>");
		ops_table(&b, NULL, h);
		anomalies(&b, NULL, h);
		if (h->events) {
			faults_table(&b, h, NULL);
			ADD(&b, "<h2>Over time</h2>");
			history_note(&b, h);
			rep_svg_timeline(&b, h, NULL, 0);
		} else {
			history_note(&b, h);
		}
		key_sections(&b, h, kid);
		kid += h->nkv;
		ADD(&b, "</section>");
	}
	page_end(&b);
	int e = write_page(&b, out_path, err, errlen);
	sbuf_free(&b);
	return e;
}

void report_check_free(struct report_check *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->n; i++)
		rep_hist_free(&rc->h[i]);
	free(rc->h);
	free(rc);
}
