/* spectool — the spec's field reference and resolved specs, from the field tables.
 *
 *   spectool reference          print the field reference (Markdown)
 *   spectool update README      replace the generated part of README (between the markers)
 *   spectool resolve SPEC       load SPEC and print it resolved (spec_write)
 *
 * workloads/README.md carries the reference between SPEC_REF_BEGIN and SPEC_REF_END lines;
 * tests/unit/harness/test_spec.c fails when it differs from what `reference` prints.
 * Exit 0, 254 on bad arguments or a bad spec, 255 on an I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/spec/spec.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define SPEC_REF_BEGIN "<!-- spec-reference: generated from harness/spec/ by `build/tools/spectool update workloads/README.md`; do not edit by hand -->"
#define SPEC_REF_END "<!-- end of spec-reference -->"

static int update(const char *path)
{
	char *text = NULL, *gen = NULL, err[512];
	size_t len, genlen;
	int rc = file_read_all(path, 0, &text, &len, NULL, err, sizeof err);
	if (rc) {
		fprintf(stderr, "spectool: %s\n", err);
		return err_exit_code(rc);
	}
	char *b = strstr(text, SPEC_REF_BEGIN), *e = strstr(text, SPEC_REF_END);
	if (!b || !e || e < b) {
		fprintf(stderr, "spectool: %s has no %s ... %s markers\n", path, SPEC_REF_BEGIN,
			SPEC_REF_END);
		free(text);
		return SB_EXIT_BADINPUT;
	}
	FILE *m = open_memstream(&gen, &genlen);
	if (!m) {
		free(text);
		return SB_EXIT_INTERNAL;
	}
	b += strlen(SPEC_REF_BEGIN);
	fwrite(text, 1, (size_t)(b - text), m);
	fputs("\n\n", m);
	spec_write_reference(m);
	fputs(e, m);
	fclose(m);
	rc = file_replace(path, gen, genlen, 0644, err, sizeof err);
	if (rc)
		fprintf(stderr, "spectool: %s\n", err);
	free(gen);
	free(text);
	return rc ? err_exit_code(rc) : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "reference"))
		return spec_write_reference(stdout) ? SB_EXIT_INTERNAL : 0;
	if (argc == 3 && !strcmp(argv[1], "update"))
		return update(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "resolve")) {
		static struct spec s; /* large: not on the stack */
		char err[1024];
		int rc = spec_load(&s, argv[2], err, sizeof err);
		if (rc) {
			fprintf(stderr, "%s\n", err);
			return err_exit_code(rc);
		}
		return spec_write(&s, stdout) ? SB_EXIT_INTERNAL : 0;
	}
	fprintf(stderr, "usage: spectool reference | update README | resolve SPEC\n");
	return SB_EXIT_BADINPUT;
}
