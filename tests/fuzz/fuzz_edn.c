/* Fuzz target: the EDN history reader (hreader_open_mem, HFMT_EDN), and format detection.
 *
 * Parsed values are formatted as JSON and hashed; errors must name the input. Every event
 * read is written as a JSON line and read again: it must come back the same (values that
 * JSON cannot carry, NaN, infinity and non-string map keys, are not compared). The same bytes
 * are also read with HFMT_AUTO, which must not crash either.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values JSON can carry unchanged: no NaN or infinity, only string map keys. */
static int json_safe(const struct hval *v)
{
	switch (v->kind) {
	case HVAL_FLOAT:
		return isfinite(v->u.d);
	case HVAL_ARRAY:
		for (uint32_t i = 0; i < v->len; i++)
			if (!json_safe(&v->u.items[i]))
				return 0;
		return 1;
	case HVAL_MAP:
		for (uint32_t i = 0; i < v->len; i++)
			if (v->u.items[2 * i].kind != HVAL_STR || !json_safe(&v->u.items[2 * i + 1]))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* An EDN event written as a JSON line reads back the same (keywords become strings). */
static void to_json_and_back(struct hevent *ev)
{
	static char line[1 << 17];
	if (ev->index < 0)
		ev->index = 0;
	size_t n = hevent_format(line, sizeof line, ev);
	if (n > sizeof line)
		return;
	struct hreader *r;
	struct hevent e2;
	char err[512];
	if (hreader_open_mem(&r, line, n, "json", HFMT_JSONL, err, sizeof err))
		abort();
	if (hreader_next(r, &e2, err, sizeof err) != 1)
		abort();
	if (e2.process != ev->process || e2.type != ev->type || strcmp(e2.f, ev->f) ||
	    e2.time != ev->time || e2.index != ev->index || e2.has_key != ev->has_key ||
	    e2.has_value != ev->has_value)
		abort();
	if (ev->has_key && !hval_equal(&e2.key, &ev->key))
		abort();
	if (ev->has_value && json_safe(&ev->value) && !hval_equal(&e2.value, &ev->value))
		abort();
	if ((ev->error == NULL) != (e2.error == NULL) || (ev->error && strcmp(ev->error, e2.error)))
		abort();
	hreader_close(r);
}

static void read_all(const uint8_t *data, size_t size, enum hformat fmt)
{
	struct hreader *r;
	struct hevent ev;
	char err[512];
	if (hreader_open_mem(&r, (const char *)data, size, "fuzz", fmt, err, sizeof err))
		abort();
	int rc;
	while ((rc = hreader_next(r, &ev, err, sizeof err)) == 1) {
		char small[48];
		size_t need = hval_format(small, sizeof small, &ev.value);
		if (strlen(small) >= sizeof small || (need < sizeof small && strlen(small) != need))
			abort();
		(void)hval_hash(&ev.value);
		if (ev.has_key)
			(void)hval_hash(&ev.key);
		if (!ev.f)
			abort();
		if (fmt == HFMT_EDN)
			to_json_and_back(&ev);
	}
	if (rc < 0 && strncmp(err, "fuzz:", 5))
		abort();
	hreader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size, HFMT_EDN);
	read_all(data, size, HFMT_AUTO);
	return 0;
}
