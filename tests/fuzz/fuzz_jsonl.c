/* Fuzz target: the JSON Lines history reader (hreader_open_mem, HFMT_JSONL).
 *
 * Every event that parses must survive a round trip: formatted with hevent_format() and read
 * again, it gives an equal event, and the line written is valid UTF-8. Values are also
 * formatted and hashed, to exercise those paths on whatever the parser produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/history.h"
#include "lib/sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hreader *r;
	struct hevent ev;
	char err[512];
	if (hreader_open_mem(&r, (const char *)data, size, "fuzz", HFMT_JSONL, err, sizeof err))
		abort();
	static char line[1 << 17];
	int rc;
	while ((rc = hreader_next(r, &ev, err, sizeof err)) == 1) {
		char small[64];
		hval_format(small, sizeof small, &ev.value);
		(void)hval_hash(&ev.value);
		if (!hval_equal(&ev.value, &ev.value) && ev.value.kind != HVAL_FLOAT &&
		    ev.value.kind != HVAL_ARRAY && ev.value.kind != HVAL_MAP)
			abort();
		if (ev.index < 0)
			ev.index = 0;
		size_t n = hevent_format(line, sizeof line, &ev);
		if (n > sizeof line)
			continue;
		if (!utf8_valid(line, n))
			abort(); /* the writer's JSON is valid whatever bytes the strings hold */
		struct hreader *r2;
		struct hevent ev2;
		char err2[512];
		if (hreader_open_mem(&r2, line, n, "again", HFMT_JSONL, err2, sizeof err2))
			abort();
		if (hreader_next(r2, &ev2, err2, sizeof err2) != 1)
			abort(); /* what the writer writes, the reader reads */
		if (ev2.index != ev.index || ev2.time != ev.time || ev2.process != ev.process ||
		    ev2.type != ev.type || strcmp(ev2.f, ev.f) || ev2.has_key != ev.has_key ||
		    ev2.has_value != ev.has_value || !same_str(ev2.node, ev.node) ||
		    !same_str(ev2.error, ev.error))
			abort();
		if (ev.has_key && !hval_equal(&ev.key, &ev2.key))
			abort();
		if (ev.has_value && !hval_equal(&ev.value, &ev2.value))
			abort();
		hreader_close(r2);
	}
	if (rc < 0 && strncmp(err, "fuzz:", 5))
		abort(); /* every reader error names the input */
	hreader_close(r);
	return 0;
}
