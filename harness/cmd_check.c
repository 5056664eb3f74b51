/* cmd_check — `splitbrain check`: decide histories with the checker library (checker.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker/checker.h"
#include "lib/err.h"

int cmd_check(int argc, char **argv);

static const char usage_text[] =
	"usage: splitbrain check [--model M] [--initial V] [--timeout S] [--key-timeout S]\n"
	"                        [--threads N] [--memory MB] [--json FILE] HISTORY...\n"
	"\n"
	"Decides whether each history (JSON Lines or Jepsen/Knossos EDN, '-' = stdin) is\n"
	"linearizable per key, or for --model set whether acknowledged adds were lost.\n"
	"\n"
	"  --model M      register, cas-register (default), kv, list, set, mutex, multi-register\n"
	"  --initial V    initial value as JSON (default null = absent); multi-register takes\n"
	"                 an object {\"x\":0,\"y\":0} or one value for every register\n"
	"  --timeout S    time limit per history in seconds (keys not decided: unknown)\n"
	"  --key-timeout S  time limit of one key's search (that key: unknown, others go on)\n"
	"  --threads N    worker threads (default: all cores)\n"
	"  --memory MB    cap on the search's memory (keys over it: unknown); default: half\n"
	"                 of the machine's physical memory\n"
	"  --json FILE    write the verdicts, counts and counterexamples as JSON ('-' = stdout);\n"
	"                 a history that could not be checked has \"verdict\":\"error\"\n"
	"\n"
	"One verdict line per history; exit code: 0 valid, 1 invalid, 2 unknown (the worst over\n"
	"all histories), 254 bad arguments or input (names the line), 255 internal error.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "splitbrain check: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage_text);
	return SB_EXIT_BADINPUT;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || d < 0)
		return -1;
	*out = d;
	return 0;
}

static int exit_rank(int code)
{
	switch (code) {
	case SB_EXIT_BADINPUT:
		return 5;
	case SB_EXIT_INTERNAL:
		return 4;
	case SB_EXIT_INVALID:
		return 3;
	case SB_EXIT_UNKNOWN:
		return 2;
	default:
		return 1;
	}
}

int cmd_check(int argc, char **argv)
{
	struct chk_options opt = {.model = CHK_MODEL_CAS_REGISTER};
	/* Without a cap a hard history would grow the memo until the kernel kills the process;
	 * by default the searches may use half of the machine's memory, then say unknown. */
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psize > 0)
		opt.memory_limit = (size_t)pages * (size_t)psize / 2;
	const char *json_path = NULL;
	struct hval *initial = NULL;
	char err[1024];
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			chk_value_free(initial);
			return 0;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !strcmp(a, "-"))
			break;
		if (i + 1 >= argc) {
			chk_value_free(initial);
			return bad_usage("option %s needs a value", a);
		}
		const char *v = argv[++i];
		double d;
		if (!strcmp(a, "--model")) {
			if (chk_model_parse(v, &opt.model, err, sizeof err))
				return chk_value_free(initial), bad_usage("%s", err);
		} else if (!strcmp(a, "--initial")) {
			chk_value_free(initial);
			initial = NULL;
			if (chk_value_parse(v, &initial, err, sizeof err))
				return bad_usage("--initial: %s", err);
		} else if (!strcmp(a, "--timeout")) {
			if (parse_double(v, &d) || d <= 0)
				return chk_value_free(initial),
				       bad_usage("--timeout wants a positive number of seconds, not '%s'",
						 v);
			opt.timeout_s = d;
		} else if (!strcmp(a, "--key-timeout")) {
			if (parse_double(v, &d) || d <= 0)
				return chk_value_free(initial),
				       bad_usage("--key-timeout wants a positive number of seconds, "
						 "not '%s'",
						 v);
			opt.key_timeout_s = d;
		} else if (!strcmp(a, "--threads")) {
			if (parse_double(v, &d) || d < 1 || d > 1024 || d != (int)d)
				return chk_value_free(initial),
				       bad_usage("--threads wants an integer from 1 to 1024, not '%s'", v);
			opt.threads = (int)d;
		} else if (!strcmp(a, "--memory")) {
			if (parse_double(v, &d) || d <= 0)
				return chk_value_free(initial),
				       bad_usage("--memory wants a positive number of MB, not '%s'", v);
			opt.memory_limit = (size_t)(d * 1024 * 1024);
			if (!opt.memory_limit)
				opt.memory_limit = 1;
		} else if (!strcmp(a, "--json")) {
			json_path = v;
		} else {
			return chk_value_free(initial), bad_usage("unknown option %s", a);
		}
	}
	if (i >= argc)
		return chk_value_free(initial), bad_usage("%s", "no history given");
	opt.initial = initial;

	FILE *jf = NULL;
	if (json_path) {
		jf = !strcmp(json_path, "-") ? stdout : fopen(json_path, "w");
		if (!jf) {
			fprintf(stderr, "splitbrain check: --json %s: %s\n", json_path,
				strerror(errno));
			chk_value_free(initial);
			return SB_EXIT_BADINPUT;
		}
		fprintf(jf, "{\"results\":[");
	}
	int worst = SB_EXIT_VALID;
	enum chk_verdict verdict = CHK_VALID;
	int njson = 0;
	for (; i < argc; i++) {
		const char *path = argv[i];
		int code;
		struct chk_result *r = NULL;
		err[0] = '\0';
		if (strcmp(path, "-") && access(path, R_OK)) {
			snprintf(err, sizeof err, "%s: %s", path, strerror(errno));
			fprintf(stdout, "%s: error: %s\n", path, strerror(errno));
			fprintf(stderr, "splitbrain check: %s\n", err);
			code = SB_EXIT_BADINPUT;
		} else {
			err[0] = '\0';
			int rc = chk_check_file(path, &opt, &r, err, sizeof err);
			if (rc) {
				code = err_exit_code(rc);
				if (code != SB_EXIT_INTERNAL)
					code = SB_EXIT_BADINPUT;
				fprintf(stdout, "%s: error: %s\n", path, err);
				fprintf(stderr, "splitbrain check: %s\n", err);
			} else {
				err[0] = '\0';
				chk_result_print(r, stdout);
				verdict = chk_verdict_worst(verdict, r->verdict);
				code = (int)r->verdict;
				if (jf) {
					if (njson++)
						fputc(',', jf);
					chk_result_write_json(r, jf);
				}
				chk_result_free(r);
			}
		}
		if (jf && err[0]) { /* the history could not be checked: say why */
			if (njson++)
				fputc(',', jf);
			fputs("{\"file\":", jf);
			json_write_string(jf, path, strlen(path));
			fprintf(jf, ",\"verdict\":\"error\",\"exit\":%d,\"error\":", code);
			json_write_string(jf, err, strlen(err));
			fputc('}', jf);
		}
		if (exit_rank(code) > exit_rank(worst))
			worst = code;
		fflush(stdout);
	}
	if (jf) {
		fprintf(jf, "],\"verdict\":\"%s\",\"exit\":%d}\n", chk_verdict_name(verdict), worst);
		if ((jf != stdout && fclose(jf)) || (jf == stdout && fflush(jf))) {
			fprintf(stderr, "splitbrain check: --json %s: write failed\n", json_path);
			if (exit_rank(SB_EXIT_INTERNAL) > exit_rank(worst))
				worst = SB_EXIT_INTERNAL;
		}
	}
	chk_value_free(initial);
	return worst;
}
