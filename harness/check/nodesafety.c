/* nodesafety — a node's own report of a broken safety property, from its log (nodesafety.h). */
#include "harness/check/nodesafety.h"

#include <stdio.h>
#include <stdlib.h>

#include "harness/db/logscan.h"
#include "lib/err.h"

struct nodesafety {
	struct logscan *ls;
	struct nodesafety_result r;
	const char *label; /* names the file being scanned in `where`, or NULL: its path */
};

int nodesafety_new(struct nodesafety **out, const char *pattern, char *err, size_t errlen)
{
	struct nodesafety *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = logscan_new(&s->ls, err, errlen);
	if (!rc)
		rc = logscan_add(s->ls, "safety", pattern ? pattern : "", err, errlen);
	if (rc) {
		err_prefix(err, errlen, "node safety check");
		nodesafety_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void nodesafety_free(struct nodesafety *s)
{
	if (!s)
		return;
	logscan_free(s->ls);
	free(s);
}

static int on_match(const struct logscan_match *m, void *arg)
{
	struct nodesafety *s = arg;
	if (s->r.nlines < NODESAFETY_MAX_SHOWN) {
		struct nodesafety_line *l = &s->r.shown[s->r.nlines];
		snprintf(l->where, sizeof l->where, "%s:%lu", s->label ? s->label : m->file,
			 m->line);
		snprintf(l->text, sizeof l->text, "%.*s",
			 (int)(m->len < sizeof l->text ? m->len : sizeof l->text - 1), m->text);
	}
	s->r.nlines++;
	return 0;
}

int nodesafety_scan_buffer(struct nodesafety *s, const char *label, const char *data, size_t len,
			   char *err, size_t errlen)
{
	return logscan_buffer(s->ls, label ? label : "(buffer)", data, len, on_match, s, NULL, err,
			      errlen);
}

int nodesafety_scan_file(struct nodesafety *s, const char *path, const char *label, char *err,
			 size_t errlen)
{
	s->label = label;
	int rc = logscan_file(s->ls, path, on_match, s, NULL, err, errlen);
	s->label = NULL;
	return rc;
}

const struct nodesafety_result *nodesafety_result(const struct nodesafety *s)
{
	return &s->r;
}
