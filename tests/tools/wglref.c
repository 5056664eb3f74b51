/* wglref — check histories with the plain reference search (tests/support/wglref.h), for
 * benchmarks that set `splitbrain check` beside the classic algorithm.
 *
 *   wglref [--model M] [--initial V] [--timeout S] [--memory MB] HISTORY...
 *
 * One line per history: "FILE: VERDICT (N ops, K keys; S s; C configurations; read R s)",
 * R being the part of S spent reading the history and pairing its events. Exit 0
 * (all valid), 1 (an invalid one), 2 (an unknown one, none invalid), 254 bad arguments or
 * input, 255 out of memory. Defaults: cas-register, no initial value, no time limit, a memo
 * cap of half the machine's memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/history.h"
#include "tests/support/wglref.h"

static int usage(void)
{
	fprintf(stderr, "usage: wglref [--model M] [--initial V] [--timeout S] [--memory MB] "
			"HISTORY...\n");
	return SB_EXIT_BADINPUT;
}

/* --initial V: parsed by the history reader, wrapped in a one-event line. */
static int parse_initial(const char *text, struct hreader **rd, struct hval *out)
{
	static char line[4096];
	char err[256];
	int n = snprintf(line, sizeof line,
			 "{\"process\":0,\"type\":\"invoke\",\"f\":\"v\",\"value\":%s}\n", text);
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	struct hevent ev;
	if (hreader_open_mem(rd, line, (size_t)n, "--initial", HFMT_JSONL, err, sizeof err) ||
	    hreader_next(*rd, &ev, err, sizeof err) != 1 || !ev.has_value)
		return -1;
	*out = ev.value; /* valid while *rd is open */
	return 0;
}

int main(int argc, char **argv)
{
	struct wglref_opts o = {.model = "cas-register"};
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psize > 0)
		o.memory_limit = (size_t)pages * (size_t)psize / 2;
	struct hreader *ird = NULL;
	struct hval initial;
	int i = 1;
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--model")) {
			o.model = v;
		} else if (!strcmp(a, "--initial")) {
			if (ird || parse_initial(v, &ird, &initial)) {
				fprintf(stderr, "wglref: bad --initial '%s'\n", v);
				return SB_EXIT_BADINPUT;
			}
			o.initial = &initial;
		} else if (!strcmp(a, "--timeout")) {
			o.timeout_s = atof(v);
		} else if (!strcmp(a, "--memory")) {
			o.memory_limit = (size_t)(atof(v) * 1024 * 1024);
		} else {
			return usage();
		}
	}
	if (i >= argc)
		return usage();
	int worst = 0;
	for (; i < argc; i++) {
		struct wglref_result res;
		char err[1024];
		int rc = wglref_check_file(argv[i], &o, &res, err, sizeof err);
		if (rc) {
			fprintf(stderr, "wglref: %s: %s\n", argv[i], err);
			hreader_close(ird);
			return err_exit_code(rc);
		}
		static const char *const names[] = {"valid", "invalid", "unknown"};
		printf("%s: %s (%zu ops, %zu keys; %.6f s; %llu configurations; read %.6f s)\n",
		       argv[i], names[res.verdict], res.ops, res.keys, res.seconds, res.configs,
		       res.read_seconds);
		if (res.verdict == 1 || (res.verdict == 2 && worst == 0))
			worst = res.verdict;
	}
	hreader_close(ird);
	return worst;
}
