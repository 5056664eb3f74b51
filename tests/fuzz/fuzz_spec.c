/* libFuzzer target: the spec parser (harness/spec/, spec_load_mem). Any bytes: parse them as a
 * spec; the result is 0 or SB_EINVAL with a message naming the file, never a crash. When they
 * parse, write the resolved spec (spec_write) and read it back: the same struct must come out
 * (positions and the file's name aside), so the written test.yaml of a run always replays it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/spec/spec.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct spec a, b; /* large: not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024], *text = NULL;
	size_t len = 0;
	/* A private copy, so that reading past the input is caught by ASan. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int rc = spec_load_mem(&a, "fuzz.yaml", "/fuzz", buf, size, err, sizeof err);
	free(buf);
	if (rc == SB_ENOMEM)
		return 0;
	if (rc == SB_EINVAL) {
		if (strncmp(err, "fuzz.yaml:", 10))
			abort(); /* every message names the file */
		return 0;
	}
	if (rc)
		abort();
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return 0;
	if (spec_write(&a, m))
		abort();
	fclose(m);
	rc = spec_load_mem(&b, "again.yaml", "/elsewhere", text, len, err, sizeof err);
	if (rc) {
		fprintf(stderr, "written spec does not load: %s\n%s", err, text);
		abort();
	}
	spec_normalise(&a);
	spec_normalise(&b);
	if (memcmp(&a, &b, sizeof a)) {
		fprintf(stderr, "written spec reads back differently:\n%s", text);
		abort();
	}
	free(text);
	return 0;
}
