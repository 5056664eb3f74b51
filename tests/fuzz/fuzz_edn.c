/* Fuzz target: the EDN history reader (hreader_open_mem, HFMT_EDN), and format detection.
 *
 * Parsed values are formatted as JSON and hashed; errors must name the input. The same bytes
 * are also read with HFMT_AUTO, which must not crash either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
