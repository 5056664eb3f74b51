/* cmd_report — `splitbrain report STORE_DIR [--out FILE]`: (re)write a run's report.html. */
#include <stdio.h>

#include "harness/report/html.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_report(int argc, char **argv);

static const char usage_text[] =
	"usage: splitbrain report STORE_DIR [--out FILE]\n"
	"\n"
	"Writes the report of the run in STORE_DIR (a run directory of the store, e.g.\n"
	"store/latest): STORE_DIR/report.html, or FILE with --out. One self-contained HTML file:\n"
	"open it in any browser, offline.\n"
	"\n"
	"  --out FILE   write the report here instead\n"
	"\n"
	"exit code: 0 written, 254 bad arguments, 255 the run or the file could not be read or\n"
	"written.\n";

int cmd_report(int argc, char **argv)
{
	const char *out = NULL;
	const struct opt opts[] = {
		OPT_STRING("out", 'o', &out),
		OPT_END,
	};
	char err[1024];
	struct opt_args args;
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		fputs(usage_text, stdout);
		opt_args_free(&args);
		return 0;
	}
	if (!rc && args.npos + args.nrest != 1)
		rc = err_set(err, sizeof err, SB_EINVAL, "give one run directory");
	if (rc) {
		opt_args_free(&args);
		fprintf(stderr, "splitbrain report: %s\n(see 'splitbrain report --help')\n", err);
		return SB_EXIT_BADINPUT;
	}
	const char *dir = args.npos ? args.pos[0] : args.rest[0];
	rc = out ? report_html_write_to(dir, out, err, sizeof err)
		 : report_html_write(dir, err, sizeof err);
	if (rc) {
		fprintf(stderr, "splitbrain report: %s\n", err);
		opt_args_free(&args);
		return err_exit_code(rc) == SB_EXIT_BADINPUT ? SB_EXIT_BADINPUT : SB_EXIT_INTERNAL;
	}
	printf("%s/report.html\n", out ? "" : dir);
	opt_args_free(&args);
	return 0;
}
