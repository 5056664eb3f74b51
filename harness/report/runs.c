/* report/runs — the store's runs and the index page (see runs.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checker/checker.h"
#include "harness/report/html_data.h"
#include "harness/report/html_svg.h"
#include "harness/report/runs.h"
#include "lib/array.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define ADD(b, lit) sbuf_lit(b, lit)
#define RESULTS_MAX (256u << 20)

int runs_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 127 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int is_real_dir(const char *path)
{
	struct stat st;
	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

static void read_results(struct run_info *ri, const char *dir)
{
	char path[4096 + 300], err[256];
	snprintf(path, sizeof path, "%s/results.json", dir);
	snprintf(ri->verdict, sizeof ri->verdict, "none");
	ri->duration_s = -1;
	ri->ops = ri->faults = -1;
	char *text = NULL;
	size_t len;
	if (file_read_all(path, RESULTS_MAX, &text, &len, NULL, err, sizeof err))
		return;
	struct hval *r = NULL;
	if (rep_json_parse(text, len, &r, err, sizeof err) == 0) {
		const char *v = rep_jstr(rep_jget(r, "verdict"));
		if (v && (!strcmp(v, "valid") || !strcmp(v, "invalid") || !strcmp(v, "unknown") ||
			  !strcmp(v, "error")))
			snprintf(ri->verdict, sizeof ri->verdict, "%s", v);
		const char *s = rep_jstr(rep_jget(r, "started"));
		if (s)
			snprintf(ri->started, sizeof ri->started, "%s", s);
		double d;
		if (!rep_jnum(rep_jget(r, "duration_s"), &d))
			ri->duration_s = d;
		if (!rep_jnum(rep_jget(rep_jget(r, "ops"), "total"), &d))
			ri->ops = (long)d;
		const struct hval *f = rep_jget(r, "faults");
		if (f && f->kind == HVAL_ARRAY)
			ri->faults = (long)f->len;
	}
	chk_value_free(r);
	free(text);
}

static int cmp_run(const void *pa, const void *pb)
{
	const struct run_info *a = pa, *b = pb;
	int c = strcmp(b->stamp, a->stamp);
	return c ? c : strcmp(a->test, b->test);
}

static int add_runs_of(const char *root, const char *test, struct run_info **out, size_t *n,
		       size_t *cap)
{
	char tdir[4096];
	snprintf(tdir, sizeof tdir, "%s/%s", root, test);
	DIR *d = opendir(tdir);
	if (!d)
		return 0;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		char rdir[4096 + 256];
		snprintf(rdir, sizeof rdir, "%s/%s", tdir, de->d_name);
		if (!runs_name_ok(de->d_name) || !strcmp(de->d_name, "latest") || !is_real_dir(rdir))
			continue;
		if (array_grow((void **)out, cap, *n + 1, sizeof **out, 16)) {
			rc = SB_ENOMEM;
			break;
		}
		struct run_info *ri = &(*out)[(*n)++];
		memset(ri, 0, sizeof *ri);
		/* both are store names (runs_name_ok): at most 127 bytes */
		memcpy(ri->test, test, strlen(test) + 1);
		memcpy(ri->stamp, de->d_name, strlen(de->d_name) + 1);
		char rep[4096 + 300];
		snprintf(rep, sizeof rep, "%s/report.html", rdir);
		struct stat st;
		ri->has_report = !stat(rep, &st) && S_ISREG(st.st_mode);
		read_results(ri, rdir);
	}
	closedir(d);
	return rc;
}

int runs_list(const char *root, struct run_info **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	DIR *d = opendir(root);
	if (!d)
		return err_set(err, errlen, SB_EIO, "open store %s: %m", root);
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		char tdir[4096];
		snprintf(tdir, sizeof tdir, "%s/%s", root, de->d_name);
		if (!runs_name_ok(de->d_name) || !strcmp(de->d_name, "latest") || !is_real_dir(tdir))
			continue;
		rc = add_runs_of(root, de->d_name, out, n, &cap);
	}
	closedir(d);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return err_set(err, errlen, rc, "out of memory");
	}
	if (*n)
		qsort(*out, *n, sizeof **out, cmp_run);
	return 0;
}

static const char css[] =
	"body{font:14px/1.45 system-ui,'DejaVu Sans',sans-serif;margin:0 auto;max-width:1200px;"
	"padding:12px 20px;color:#1d232b}h1{font-size:20px}table{border-collapse:collapse;"
	"width:100%}td,th{border-bottom:1px solid #dde3ea;padding:4px 8px;text-align:left}"
	"th{background:#f4f6f8}td.n{text-align:right}.verdict{padding:1px 8px;border-radius:4px;"
	"color:#fff;font-weight:600}.v-valid{background:#1f8a4c}.v-invalid{background:#c62828}"
	".v-unknown{background:#a66a00}.v-error,.v-none{background:#777}form{margin:8px 0 14px}"
	"form *{margin-right:8px}.note{color:#5b6775}";

static void option(struct sbuf *b, const char *v, const char *cur)
{
	sbuf_addf(b, "<option value=\"%s\"%s>%s</option>", v,
		  cur && !strcmp(cur, v) ? " selected" : "", *v ? v : "any verdict");
}

void runs_index_html(struct sbuf *b, const char *root_label, const struct run_info *runs,
		     size_t n, const char *verdict, const char *test)
{
	ADD(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	       "<title>splitbrain runs</title><style>");
	sbuf_add(b, css, sizeof css - 1);
	ADD(b, "</style></head><body><h1>splitbrain runs in <code>");
	rep_esc(b, root_label);
	ADD(b, "</code></h1><form method=\"get\" action=\"/\" id=\"filter\">"
	       "<select name=\"verdict\">");
	static const char *vs[] = {"", "valid", "invalid", "unknown", "error", "none"};
	for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
		option(b, vs[i], verdict ? verdict : "");
	ADD(b, "</select><input name=\"test\" placeholder=\"test name contains\" value=\"");
	rep_esc(b, test ? test : "");
	ADD(b, "\"><button type=\"submit\">filter</button><a href=\"/\">all runs</a></form>"
	       "<table id=\"runs\"><tr><th>test</th><th>started (UTC)</th><th>verdict</th>"
	       "<th>ops</th><th>faults</th><th>duration</th><th>report</th><th>files</th></tr>");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct run_info *r = &runs[i];
		if (verdict && *verdict && strcmp(verdict, r->verdict))
			continue;
		if (test && *test && !strstr(r->test, test))
			continue;
		shown++;
		/* names are store names (runs_name_ok): safe in a URL path as they are */
		sbuf_addf(b, "<tr class=\"run\" data-verdict=\"%s\"><td>", r->verdict);
		rep_esc(b, r->test);
		ADD(b, "</td><td>");
		rep_esc(b, r->started[0] ? r->started : r->stamp);
		sbuf_addf(b, "</td><td><span class=\"verdict v-%s\">%s</span></td>", r->verdict,
			  r->verdict);
		if (r->ops >= 0)
			sbuf_addf(b, "<td class=\"n\">%ld</td>", r->ops);
		else
			ADD(b, "<td></td>");
		if (r->faults >= 0)
			sbuf_addf(b, "<td class=\"n\">%ld</td>", r->faults);
		else
			ADD(b, "<td></td>");
		if (r->duration_s >= 0)
			sbuf_addf(b, "<td class=\"n\">%.1f s</td>", r->duration_s);
		else
			ADD(b, "<td></td>");
		if (r->has_report)
			sbuf_addf(b, "<td><a class=\"report\" href=\"/%s/%s/report.html\">report</a></td>",
				  r->test, r->stamp);
		else
			ADD(b, "<td class=\"note\">none</td>");
		sbuf_addf(b, "<td><a class=\"files\" href=\"/%s/%s/\">files</a></td></tr>", r->test,
			  r->stamp);
	}
	ADD(b, "</table>");
	sbuf_addf(b, "<p class=\"note\" id=\"count\">%zu of %zu runs shown, newest first.</p>",
		  shown, n);
	ADD(b, "</body></html>\n");
}

void runs_dir_html(struct sbuf *b, const char *dir, const char *rel)
{
	ADD(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
	rep_esc(b, rel);
	ADD(b, "</title><style>");
	sbuf_add(b, css, sizeof css - 1);
	ADD(b, "</style></head><body><h1>");
	rep_esc(b, rel);
	ADD(b, "</h1><p><a href=\"/\">all runs</a> \u00b7 <a href=\"../\">up</a></p><ul>");
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	while (d && (de = readdir(d))) {
		if (!runs_name_ok(de->d_name) || n == 10000)
			continue; /* a name the server would refuse is not linked */
		if (array_grow((void **)&names, &cap, n + 1, sizeof *names, 16))
			break;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	if (d)
		closedir(d);
	for (size_t i = 1; i < n; i++) /* insertion sort: listings are short */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		char path[4096 + 256];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		int isdir = is_real_dir(path);
		sbuf_addf(b, "<li><a href=\"%s%s\">%s%s</a></li>", names[i], isdir ? "/" : "",
			  names[i], isdir ? "/" : "");
		free(names[i]);
	}
	free(names);
	ADD(b, "</ul></body></html>\n");
}
