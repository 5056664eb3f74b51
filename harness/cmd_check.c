/* cmd_check — `splitbrain check`: decide histories with the checker library (checker.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker/checker.h"
#include "harness/report/html.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/opt.h"

int cmd_check(int argc, char **argv);

/* Time limits beyond 30 days are mistakes, not limits. */
#define CHECK_MAX_TIMEOUT_NS (30LL * 86400 * 1000000000LL)

static const char usage_text[] =
	"usage: splitbrain check [--model M] [--initial V] [--timeout D] [--key-timeout D]\n"
	"                        [--threads N] [--memory SIZE] [--min-ops N] [--json FILE]\n"
	"                        [--html FILE] HISTORY...\n"
	"\n"
	"Decides whether each history (JSON Lines or Jepsen/Knossos EDN, '-' = stdin) is\n"
	"linearizable per key, or for --model set whether acknowledged adds were lost.\n"
	"\n"
	"  --model M      register, cas-register (default), kv, list, set, mutex, multi-register\n"
	"  --initial V    initial value as JSON (default null = absent); multi-register takes\n"
	"                 an object {\"x\":0,\"y\":0} or one value for every register\n"
	"  --timeout D    time limit per history: 500ms, 20s, 5m (a bare number: seconds),\n"
	"                 reading included (a stalled pipe too); keys not decided by then:\n"
	"                 unknown\n"
	"  --key-timeout D  time limit of one key's search (that key: unknown, others go on)\n"
	"  --threads N    worker threads (default: all cores)\n"
	"  --memory SIZE  cap on the search's memory: 512M, 4G (a bare number: MiB); keys\n"
	"                 over it: unknown; default: half of the machine's physical memory\n"
	"  --min-ops N    a history with fewer than N operations is unknown (exit 2) at best:\n"
	"                 a truncated or empty history does not pass (an empty one always\n"
	"                 gets the warning \"no operations: nothing was checked\")\n"
	"  --json FILE    write the verdicts, counts and counterexamples as JSON; FILE is\n"
	"                 replaced once complete and may not be one of the histories; '-' =\n"
	"                 stdout, and the verdict lines then go to stderr. A history that\n"
	"                 could not be checked has \"verdict\":\"error\", and then so has the\n"
	"                 top level\n"
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

static int parse_model(const struct opt *o, const char *v, char *err, size_t errlen)
{
	return chk_model_parse(v, o->dst, err, errlen);
}

static int parse_initial(const struct opt *o, const char *v, char *err, size_t errlen)
{
	struct hval **dst = o->dst;
	chk_value_free(*dst); /* a later --initial replaces an earlier one */
	*dst = NULL;
	return chk_value_parse(v, dst, err, errlen);
}

/* ---- --json: where the JSON goes ----------------------------------------------------------- */

/* The JSON report's destination. A regular file is written to a temporary file that replaces
 * it at the end (file_stage): opening it with "w" emptied it at once, and with it a history
 * of the same name before it was read. */
struct json_out {
	FILE *f;          /* NULL: no --json */
	int to_stdout;
	struct file_stage stage; /* stage.f == f for a regular file */
};

/* 0 unless `path` (or standard input for "-") is the file st names. */
static int same_file(const char *path, const struct stat *st)
{
	struct stat in;
	int rc = strcmp(path, "-") ? stat(path, &in) : fstat(0, &in);
	return rc == 0 && in.st_dev == st->st_dev && in.st_ino == st->st_ino;
}

/* Refuse an output file (--json, --html) that is one of the histories: it would replace the
 * history (a hard or symbolic link, or standard input redirected from it, included). */
static int output_not_input(const char *opt, const char *path, char **files, int nfiles,
			    char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	for (int i = 0; i < nfiles; i++)
		if (same_file(files[i], &st))
			return err_set(err, errlen, SB_EINVAL,
				       "--%s %s is also a history to read (%s): it would be "
				       "overwritten; write the %s elsewhere",
				       opt, path, files[i], !strcmp(opt, "html") ? "page" : "JSON");
	return 0;
}

static int json_open(struct json_out *j, const char *path, char **files, int nfiles, char *err,
		     size_t errlen)
{
	memset(j, 0, sizeof *j);
	if (!strcmp(path, "-")) {
		j->f = stdout;
		j->to_stdout = 1;
		return 0;
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return err_set(err, errlen, SB_EINVAL, "--json %s: is a directory", path);
		if (!S_ISREG(st.st_mode)) { /* a device or a pipe: nothing to replace */
			if (!(j->f = fopen(path, "w")))
				return err_set(err, errlen, SB_EINVAL, "--json %s: %s", path,
					       strerror(errno));
			return 0;
		}
		if (output_not_input("json", path, files, nfiles, err, errlen))
			return SB_EINVAL;
	}
	/* Replace a symbolic link's target, not the link. */
	char *real = realpath(path, NULL), why[512];
	int rc = file_stage_open(&j->stage, real ? real : path, -1, why, sizeof why);
	free(real);
	if (rc)
		return err_set(err, errlen, SB_EINVAL, "--json %s: %s", path, why);
	j->f = j->stage.f;
	return 0;
}

/* Finish the JSON: the top-level verdict says "error" when the exit code does. Returns 0 or
 * SB_EIO (then nothing replaced the old file). */
static int json_close(struct json_out *j, enum chk_verdict verdict, int worst, char *err,
		      size_t errlen)
{
	int failed = worst == SB_EXIT_BADINPUT || worst == SB_EXIT_INTERNAL;
	fprintf(j->f, "],\"verdict\":\"%s\",\"exit\":%d}\n",
		failed ? "error" : chk_verdict_name(verdict), worst);
	if (j->stage.f)
		return file_stage_commit(&j->stage, err, errlen);
	int bad = j->to_stdout ? fflush(j->f) : fclose(j->f);
	return bad ? err_set(err, errlen, SB_EIO, "write failed: %s", strerror(errno)) : 0;
}

static void json_error_entry(FILE *jf, const char *path, int code, const char *msg)
{
	fputs("{\"file\":", jf);
	json_write_string(jf, path, strlen(path));
	fprintf(jf, ",\"verdict\":\"error\",\"exit\":%d,\"error\":", code);
	json_write_string(jf, msg, strlen(msg));
	fputc('}', jf);
}

/* ---- one history ------------------------------------------------------------------------- */

/* What the histories of one command share. */
struct check_run {
	const struct chk_options *opt;
	FILE *human;      /* the verdict lines: stdout, or stderr with --json - */
	FILE *jf;         /* the JSON report, or NULL */
	int njson;        /* entries written to jf */
	enum chk_verdict verdict; /* worst over the histories checked */
	const char *html_path;    /* --html, or NULL */
	struct report_check *html; /* the page, made on first use */
};

/* --html: add a checked history to the page (made on first use). Returns 0 or -1. */
static int html_page(struct check_run *cr, const char *path, const struct chk_result *r)
{
	char err[512];
	if (!cr->html_path)
		return 0;
	if ((!cr->html && report_check_new(&cr->html, err, sizeof err)) ||
	    report_check_add(cr->html, path, r, err, sizeof err)) {
		fprintf(stderr, "splitbrain check: --html: %s\n", err);
		return -1;
	}
	return 0;
}

/* Check one history: its verdict lines go to cr->human, messages to stderr (once, when human
 * is stderr), its JSON entry to cr->jf. Returns the history's exit code. */
static int check_one(struct check_run *cr, const char *path)
{
	char err[1024] = "";
	int code;
	struct chk_result *r = NULL;
	int rc = 0;
	if (strcmp(path, "-") && access(path, R_OK))
		rc = err_set(err, sizeof err, SB_EINVAL, "%s: %s", path, strerror(errno));
	else
		rc = chk_check_file(path, cr->opt, &r, err, sizeof err);
	if (cr->jf && cr->njson++)
		fputc(',', cr->jf);
	if (rc) {
		code = err_exit_code(rc) == SB_EXIT_INTERNAL ? SB_EXIT_INTERNAL : SB_EXIT_BADINPUT;
		fprintf(cr->human, "%s: error: %s\n", path, err);
		if (cr->human != stderr)
			fprintf(stderr, "splitbrain check: %s\n", err);
		if (cr->jf)
			json_error_entry(cr->jf, path, code, err);
		return code;
	}
	chk_result_print(r, cr->human);
	if (r->warning && cr->human != stderr)
		fprintf(stderr, "splitbrain check: warning: %s: %s\n", path, r->warning);
	cr->verdict = chk_verdict_worst(cr->verdict, r->verdict);
	code = (int)r->verdict;
	if (cr->jf)
		chk_result_write_json(r, cr->jf);
	if (html_page(cr, path, r))
		code = err_exit_worst(code, SB_EXIT_INTERNAL);
	chk_result_free(r);
	return code;
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
	struct hval *initial = NULL;
	int64_t timeout_ns = 0, key_timeout_ns = 0;
	long long min_ops = 0;
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
		{.type = OPT_LLONG, .name = "min-ops", .dst = &min_ops, .min = 0,
		 .max = (long long)UINT32_MAX},
		OPT_STRING("json", 0, &json_path),
		OPT_STRING("html", 0, &html_path),
		OPT_END,
	};
	char err[1024];
	struct opt_args args;
	char **files = NULL;
	struct json_out json = {0};
	struct check_run cr = {.opt = &opt};
	int worst = SB_EXIT_VALID;
	int prc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (prc == OPT_HELP) {
		fputs(usage_text, stdout);
		goto out;
	}
	if (!prc && args.npos + args.nrest == 0)
		prc = err_set(err, sizeof err, SB_EINVAL, "no history given");
	int nstdin = 0;
	for (int k = 0; !prc && k < args.npos; k++)
		nstdin += !strcmp(args.pos[k], "-");
	if (!prc && nstdin > 1)
		prc = err_set(err, sizeof err, SB_EINVAL,
			      "'-' (standard input) given %d times: it can be read only once", nstdin);
	if (prc) {
		worst = bad_usage("%s", err);
		goto out;
	}
	opt.initial = initial;
	opt.timeout_s = (double)timeout_ns / 1e9;
	opt.key_timeout_s = (double)key_timeout_ns / 1e9;
	opt.memory_limit = (size_t)memory;
	opt.min_ops = (size_t)min_ops;
	/* Histories: the positional arguments, then any after `--` (names that begin with '-'). */
	int nfiles = args.npos + args.nrest;
	if (!(files = calloc((size_t)nfiles, sizeof *files))) {
		fprintf(stderr, "splitbrain check: out of memory\n");
		worst = SB_EXIT_INTERNAL;
		goto out;
	}
	for (int k = 0; k < args.npos; k++)
		files[k] = args.pos[k];
	for (int k = 0; k < args.nrest; k++)
		files[args.npos + k] = args.rest[k];
	if ((html_path && output_not_input("html", html_path, files, nfiles, err, sizeof err)) ||
	    (json_path && json_open(&json, json_path, files, nfiles, err, sizeof err))) {
		fprintf(stderr, "splitbrain check: %s\n", err);
		worst = SB_EXIT_BADINPUT;
		goto out;
	}
	if (json.f)
		fprintf(json.f, "{\"results\":[");
	/* With --json - standard output holds the JSON alone. */
	cr.human = json.to_stdout ? stderr : stdout;
	cr.jf = json.f;
	cr.html_path = html_path;
	for (int i = 0; i < nfiles; i++) {
		int code = check_one(&cr, files[i]);
		worst = err_exit_worst(worst, code);
		fflush(cr.human);
	}
	if (json.f && json_close(&json, cr.verdict, worst, err, sizeof err)) {
		fprintf(stderr, "splitbrain check: --json %s: %s\n", json_path, err);
		worst = err_exit_worst(worst, SB_EXIT_INTERNAL);
	}
	err[0] = '\0';
	if (cr.html && report_check_write(cr.html, html_path, err, sizeof err)) {
		fprintf(stderr, "splitbrain check: --html %s\n", err);
		worst = err_exit_worst(worst, SB_EXIT_INTERNAL);
	}
out:
	report_check_free(cr.html);
	file_stage_abort(&json.stage); /* after a commit: nothing left to do */
	free(files);
	opt_args_free(&args);
	chk_value_free(initial);
	return worst;
}
