#define PCRE2_CODE_UNIT_WIDTH 8
#include "harness/db/logscan.h"

#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"

/* Backtracking bound per line: a pathological pattern fails with a message instead of
 * spinning (PCRE2's default is 10 000 000). */
#define MATCH_LIMIT 1000000
/* Capture groups (the whole match included) kept per match, for logscan_group(). */
#define LOGSCAN_MAX_GROUPS 16

struct pattern {
	char name[LOGSCAN_NAME_MAX];
	pcre2_code *code;
};

struct logscan {
	struct pattern pats[LOGSCAN_MAX_PATTERNS];
	size_t n;
};

struct default_pattern {
	const char *name;
	const char *regex;
};

static const struct default_pattern defaults[] = {
	{"leader", "(?:^|\\s)event=became-leader(?:\\s|$)"},
	{"panic", "(?i)\\bpanic(?:ked|king|s)?\\b"},
	{"assertion", "Assertion [`'].*' failed|(?i:\\bassert(?:ion)? failed\\b)"},
	{"fatal", "(?:^|\\s)(?:level=(?i:fatal)|FATAL)(?:\\s|$)|(?:^|\\s)event=(?:crash|fatal)(?:\\s|$)"
		  "|ERROR: (?:AddressSanitizer|LeakSanitizer)|\\bruntime error:"
		  "|Segmentation fault|\\bAborted\\b"},
};

const char *const logscan_failure_patterns = "panic,assertion,fatal";

int logscan_new(struct logscan **out, char *err, size_t errlen)
{
	struct logscan *ls = calloc(1, sizeof *ls);
	if (!ls)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	*out = ls;
	return 0;
}

void logscan_free(struct logscan *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n; i++)
		pcre2_code_free(ls->pats[i].code);
	free(ls);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= LOGSCAN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static int compile(const char *name, const char *regex, pcre2_code **out, char *err,
		   size_t errlen)
{
	int ec = 0;
	PCRE2_SIZE off = 0;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0, &ec, &off,
					 NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "error %d", ec);
		return err_set(err, errlen, SB_EINVAL, "pattern '%s' at offset %zu: %s", name,
			       (size_t)off, (char *)msg);
	}
	*out = code;
	return 0;
}

int logscan_add(struct logscan *ls, const char *name, const char *regex, char *err,
		size_t errlen)
{
	if (!name || !valid_name(name))
		return err_set(err, errlen, SB_EINVAL,
			       "pattern name '%s': use 1..%d characters of [A-Za-z0-9_.-]",
			       name ? name : "(null)", LOGSCAN_NAME_MAX - 1);
	if (!regex)
		return err_set(err, errlen, SB_EINVAL, "pattern '%s': no expression", name);
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->pats[i].name, name))
			return err_set(err, errlen, SB_EINVAL, "pattern '%s' given twice", name);
	if (ls->n == LOGSCAN_MAX_PATTERNS)
		return err_set(err, errlen, SB_ELIMIT, "pattern '%s': more than %d patterns", name,
			       LOGSCAN_MAX_PATTERNS);
	pcre2_code *code = NULL;
	int rc = compile(name, regex, &code, err, errlen);
	if (rc)
		return rc;
	snprintf(ls->pats[ls->n].name, sizeof ls->pats[ls->n].name, "%s", name);
	ls->pats[ls->n].code = code;
	ls->n++;
	return 0;
}

int logscan_add_defaults(struct logscan *ls, const char *which, char *err, size_t errlen)
{
	size_t nd = sizeof defaults / sizeof defaults[0];
	if (!which) {
		for (size_t i = 0; i < nd; i++) {
			int rc = logscan_add(ls, defaults[i].name, defaults[i].regex, err, errlen);
			if (rc)
				return rc;
		}
		return 0;
	}
	const char *p = which;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		size_t i;
		for (i = 0; i < nd; i++)
			if (strlen(defaults[i].name) == l && !strncmp(defaults[i].name, p, l))
				break;
		if (i == nd)
			return err_set(err, errlen, SB_EINVAL,
				       "no default pattern '%.*s' (known: leader, panic, assertion, "
				       "fatal)",
				       (int)l, p);
		int rc = logscan_add(ls, defaults[i].name, defaults[i].regex, err, errlen);
		if (rc)
			return rc;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

size_t logscan_count(const struct logscan *ls)
{
	return ls->n;
}

const char *logscan_name(const struct logscan *ls, size_t i)
{
	return i < ls->n ? ls->pats[i].name : NULL;
}

/* ---- scanning -------------------------------------------------------------------------- */

struct scan {
	const struct logscan *ls;
	const char *label;
	logscan_fn fn;
	void *arg;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	unsigned long lineno;
	unsigned long nmatches;
	char line[LOGSCAN_MAX_LINE + 1];
	size_t len;
	bool truncated;
};

/* Match the line held in s->line against every pattern. */
static int scan_line(struct scan *s, char *err, size_t errlen)
{
	s->lineno++;
	size_t len = s->len;
	if (len > 0 && s->line[len - 1] == '\r')
		len--;
	s->line[len] = '\0';
	for (size_t i = 0; i < s->ls->n; i++) {
		int r = pcre2_match(s->ls->pats[i].code, (PCRE2_SPTR)s->line, len, 0, 0, s->md,
				    s->mctx);
		if (r == PCRE2_ERROR_NOMATCH)
			continue;
		if (r < 0) {
			PCRE2_UCHAR msg[256];
			if (pcre2_get_error_message(r, msg, sizeof msg) < 0)
				snprintf((char *)msg, sizeof msg, "error %d", r);
			return err_set(err, errlen, SB_EINVAL, "%s:%lu: pattern '%s': %s", s->label,
				       s->lineno, s->ls->pats[i].name, (char *)msg);
		}
		s->nmatches++;
		if (s->fn) {
			struct logscan_match m = {.pattern = s->ls->pats[i].name,
						  .file = s->label,
						  .line = s->lineno,
						  .text = s->line,
						  .len = len,
						  .md_ = s->md};
			int stop = s->fn(&m, s->arg);
			if (stop)
				return stop;
		}
	}
	s->len = 0;
	s->truncated = false;
	return 0;
}

/* Feed bytes; complete lines are matched as they end. */
static int scan_feed(struct scan *s, const char *data, size_t n, char *err, size_t errlen)
{
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(data + pos, '\n', n - pos);
		size_t seg = nl ? (size_t)(nl - (data + pos)) : n - pos;
		size_t room = LOGSCAN_MAX_LINE - s->len;
		size_t take = seg < room ? seg : room;
		memcpy(s->line + s->len, data + pos, take);
		s->len += take;
		if (take < seg)
			s->truncated = true;
		pos += seg;
		if (nl) {
			pos++;
			int rc = scan_line(s, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int scan_init(struct scan *s, const struct logscan *ls, const char *label, logscan_fn fn,
		     void *arg, char *err, size_t errlen)
{
	s->ls = ls;
	s->label = label;
	s->fn = fn;
	s->arg = arg;
	/* Room for the groups logscan_group() reads (a pattern with more still matches; only
	 * its later groups are not available). */
	s->md = pcre2_match_data_create(LOGSCAN_MAX_GROUPS, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->md || !s->mctx)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
	return 0;
}

static void scan_fini(struct scan *s)
{
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
}

static int scan_finish(struct scan *s, char *err, size_t errlen)
{
	if (s->len > 0 || s->truncated)
		return scan_line(s, err, errlen);
	return 0;
}

int logscan_buffer(const struct logscan *ls, const char *label, const char *data, size_t len,
		   logscan_fn fn, void *arg, unsigned long *nmatches, char *err, size_t errlen)
{
	struct scan *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = scan_init(s, ls, label, fn, arg, err, errlen);
	if (rc)
		goto out;
	if ((rc = scan_feed(s, data, len, err, errlen)))
		goto out;
	rc = scan_finish(s, err, errlen);
out:
	if (nmatches)
		*nmatches = s->nmatches;
	scan_fini(s);
	free(s);
	return rc;
}

int logscan_file(const struct logscan *ls, const char *path, logscan_fn fn, void *arg,
		 unsigned long *nmatches, char *err, size_t errlen)
{
	int fd = -1, rc = 0;
	char *chunk = NULL;
	struct scan *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	if ((rc = scan_init(s, ls, path, fn, arg, err, errlen)))
		goto out;
	if (!(chunk = malloc(65536))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(err, errlen, SB_EIO, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if ((rc = scan_feed(s, chunk, (size_t)r, err, errlen)))
			goto out;
	}
	rc = scan_finish(s, err, errlen);
out:
	if (nmatches)
		*nmatches = s->nmatches;
	if (fd >= 0)
		close(fd);
	free(chunk);
	scan_fini(s);
	free(s);
	return rc;
}

int logscan_group(const struct logscan_match *m, const char *group, char *out, size_t outlen)
{
	if (!m->md_ || !outlen)
		return -1;
	PCRE2_SIZE len = outlen;
	if (pcre2_substring_copy_byname((pcre2_match_data *)m->md_, (PCRE2_SPTR)group,
					(PCRE2_UCHAR *)out, &len) != 0)
		return -1;
	return (int)len;
}

int logscan_has_group(const struct logscan *ls, const char *pattern, const char *group)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->pats[i].name, pattern))
			return pcre2_substring_number_from_name(ls->pats[i].code,
								(PCRE2_SPTR)group) > 0;
	return 0;
}

int logscan_print_fn(const struct logscan_match *m, void *arg)
{
	FILE *f = arg;
	fprintf(f, "%s:%lu: [%s] %s\n", m->file, m->line, m->pattern, m->text);
	return 0;
}

/* ---- leader lines ---------------------------------------------------------------------- */

/* The leader pattern, compiled once for the process: immutable after pthread_once, so it is
 * shared by all threads (the one piece of static state in this module). */
static pcre2_code *leader_re;
static pthread_once_t leader_once = PTHREAD_ONCE_INIT;

static void leader_init(void)
{
	static const char re[] = "^(?=.*(?:^|\\s)event=became-leader(?:\\s|$))"
				 "(?=.*(?:^|\\s)node=(?<node>[^\\s]+))"
				 "(?=.*(?:^|\\s)term=(?<term>[0-9]+)(?:\\s|$))";
	int ec = 0;
	PCRE2_SIZE off = 0;
	leader_re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
}

int logscan_parse_leader_line(const char *line, size_t len, struct logscan_leader *out)
{
	pthread_once(&leader_once, leader_init);
	if (!leader_re)
		return 0;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(leader_re, NULL);
	if (!md)
		return 0;
	int found = 0;
	int r = pcre2_match(leader_re, (PCRE2_SPTR)line, len, 0, 0, md, NULL);
	if (r > 0) {
		PCRE2_SIZE nl = 0, tl = 0;
		PCRE2_UCHAR nbuf[LOGSCAN_NAME_MAX], tbuf[32];
		nl = sizeof nbuf;
		tl = sizeof tbuf;
		if (pcre2_substring_copy_byname(md, (PCRE2_SPTR) "node", nbuf, &nl) == 0 &&
		    pcre2_substring_copy_byname(md, (PCRE2_SPTR) "term", tbuf, &tl) == 0 &&
		    tl <= 19) {
			uint64_t t = 0;
			for (size_t i = 0; i < tl; i++)
				t = t * 10 + (uint64_t)(tbuf[i] - '0');
			memset(out, 0, sizeof *out);
			memcpy(out->node, nbuf, nl + 1);
			out->term = t;
			found = 1;
		}
	}
	pcre2_match_data_free(md);
	return found;
}

struct leader_scan {
	struct logscan_leader best;
	bool have;
};

static int leader_fn(const struct logscan_match *m, void *arg)
{
	struct leader_scan *ls = arg;
	struct logscan_leader cand;
	if (!logscan_parse_leader_line(m->text, m->len, &cand))
		return 0;
	if (!ls->have || cand.term >= ls->best.term) {
		ls->best = cand;
		snprintf(ls->best.file, sizeof ls->best.file, "%s", m->file);
		ls->best.line = m->line;
		ls->have = true;
	}
	return 0;
}

int logscan_latest_leader(const char *const *files, size_t n, struct logscan_leader *out,
			  char *err, size_t errlen)
{
	struct logscan *ls = NULL;
	struct leader_scan st = {0};
	int rc = logscan_new(&ls, err, errlen);
	if (rc)
		return rc;
	if ((rc = logscan_add_defaults(ls, "leader", err, errlen)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (access(files[i], F_OK) != 0 && errno == ENOENT)
			continue;
		if ((rc = logscan_file(ls, files[i], leader_fn, &st, NULL, err, errlen)))
			goto out;
	}
	memset(out, 0, sizeof *out);
	if (st.have)
		*out = st.best;
out:
	logscan_free(ls);
	return rc;
}
