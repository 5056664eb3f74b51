/* cmd_check — `splitbrain check`: decide histories with the checker library (checker.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker/checker.h"
#include "harness/report/html.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_check(int argc, char **argv);

/* Time limits beyond 30 days are mistakes, not limits. */
#define CHECK_MAX_TIMEOUT_NS (30LL * 86400 * 1000000000LL)

static const char usage_text[] =
	"usage: splitbrain check [--model M] [--initial V] [--timeout D] [--key-timeout D]\n"
	"                        [--threads N] [--memory SIZE] [--json FILE] [--html FILE]\n"
	"                        HISTORY...\n"
	"\n"
	"Decides whether each history (JSON Lines or Jepsen/Knossos EDN, '-' = stdin) is\n"
	"linearizable per key, or for --model set whether acknowledged adds were lost.\n"
	"\n"
	"  --model M      register, cas-register (default), kv, list, set, mutex, multi-register\n"
	"  --initial V    initial value as JSON (default null = absent); multi-register takes\n"
	"                 an object {\"x\":0,\"y\":0} or one value for every register\n"
	"  --timeout D    time limit per history: 500ms, 20s, 5m (a bare number: seconds);\n"
	"                 keys not decided by then: unknown\n"
	"  --key-timeout D  time limit of one key's search (that key: unknown, others go on)\n"
	"  --threads N    worker threads (default: all cores)\n"
	"  --memory SIZE  cap on the search's memory: 512M, 4G (a bare number: MiB); keys\n"
	"                 over it: unknown; default: half of the machine's physical memory\n"
	"  --json FILE    write the verdicts, counts and counterexamples as JSON ('-' = stdout);\n"
	"                 a history that could not be checked has \"verdict\":\"error\"\n"
	"  --html FILE    write a page to read in a browser: per invalid key its operations\n"
	"                 around the counterexample and the order the search reached\n"
	"\n"
	"One verdict line per history; exit code: 0 valid, 1 invalid, 2 unknown (the worst over\n"
	"all histories), 254 bad arguments or input (names the line), 255 internal error.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "splitbrain check: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see 'splitbrain check --help')\n");
	return SB_EXIT_BADINPUT;
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

static int parse_model(const struct opt *o, const char *v, char *err, size_t errlen)
{
	return chk_model_parse(v, o->dst, err, errlen);
}

static int parse_initial(const struct opt *o, const char *v, char *err, size_t errlen)
{
	return chk_value_parse(v, o->dst, err, errlen);
}

/* --html: add a checked history to the page (made on first use). Returns 0 or -1. */
static int html_page(struct report_check **page, const char *html_path, const char *path,
		     const struct chk_result *r)
{
	char err[512];
	if (!html_path)
		return 0;
	if ((!*page && report_check_new(page, err, sizeof err)) ||
	    report_check_add(*page, path, r, err, sizeof err)) {
		fprintf(stderr, "splitbrain check: --html: %s\n", err);
		return -1;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct chk_options opt = {.model = CHK_MODEL_CAS_REGISTER};
	/* Without a cap a hard history would grow the memo until the kernel kills the process;
	 * by default the searches may use half of the machine's memory, then say unknown. */
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t memory = 0;
	if (pages > 0 && psize > 0)
		memory = (uint64_t)pages * (uint64_t)psize / 2;
	const char *json_path = NULL, *html_path = NULL;
	struct report_check *html = NULL;
	struct hval *initial = NULL;
	int64_t timeout_ns = 0, key_timeout_ns = 0;
	const struct opt opts[] = {
		{.type = OPT_FN, .name = "model", .dst = &opt.model, .fn = parse_model},
		{.type = OPT_FN, .name = "initial", .dst = &initial, .fn = parse_initial},
		{.type = OPT_DURATION, .name = "timeout", .dst = &timeout_ns, .min = 1000000,
		 .max = CHECK_MAX_TIMEOUT_NS},
		{.type = OPT_DURATION, .name = "key-timeout", .dst = &key_timeout_ns, .min = 1000000,
		 .max = CHECK_MAX_TIMEOUT_NS},
		{.type = OPT_INT, .name = "threads", .dst = &opt.threads, .min = 1, .max = 1024},
		{.type = OPT_SIZE, .name = "memory", .dst = &memory, .unit = 1 << 20,
		 .max = 1ll << 50},
		OPT_STRING("json", 0, &json_path),
		OPT_STRING("html", 0, &html_path),
		OPT_END,
	};
	char err[1024];
	struct opt_args args;
	int prc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (prc == OPT_HELP) {
		fputs(usage_text, stdout);
		opt_args_free(&args);
		chk_value_free(initial);
		return 0;
	}
	if (!prc && args.npos + args.nrest == 0)
		prc = err_set(err, sizeof err, SB_EINVAL, "no history given");
	int nstdin = 0;
	for (int k = 0; k < args.npos; k++)
		nstdin += !strcmp(args.pos[k], "-");
	if (!prc && nstdin > 1)
		prc = err_set(err, sizeof err, SB_EINVAL,
			      "'-' (standard input) given %d times: it can be read only once", nstdin);
	if (prc) {
		opt_args_free(&args);
		chk_value_free(initial);
		return bad_usage("%s", err);
	}
	opt.initial = initial;
	opt.timeout_s = (double)timeout_ns / 1e9;
	opt.key_timeout_s = (double)key_timeout_ns / 1e9;
	opt.memory_limit = (size_t)memory;
	/* Histories: the positional arguments, then any after `--` (names that begin with '-'). */
	int nfiles = args.npos + args.nrest;
	char **files = calloc((size_t)nfiles, sizeof *files);
	if (!files) {
		opt_args_free(&args);
		chk_value_free(initial);
		fprintf(stderr, "splitbrain check: out of memory\n");
		return SB_EXIT_INTERNAL;
	}
	for (int k = 0; k < args.npos; k++)
		files[k] = args.pos[k];
	for (int k = 0; k < args.nrest; k++)
		files[args.npos + k] = args.rest[k];
	opt_args_free(&args);

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
	for (int i = 0; i < nfiles; i++) {
		const char *path = files[i];
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
				if (html_page(&html, html_path, path, r) &&
				    exit_rank(SB_EXIT_INTERNAL) > exit_rank(worst))
					worst = SB_EXIT_INTERNAL;
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
	if (html) {
		err[0] = '\0';
		if (report_check_write(html, html_path, err, sizeof err)) {
			fprintf(stderr, "splitbrain check: --html %s\n", err);
			if (exit_rank(SB_EXIT_INTERNAL) > exit_rank(worst))
				worst = SB_EXIT_INTERNAL;
		}
		report_check_free(html);
	}
	free(files);
	chk_value_free(initial);
	return worst;
}
