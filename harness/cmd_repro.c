/* splitbrain repro — run a stored campaign again from its test.yaml (the resolved spec with
 * its seed), so that a failure seen elsewhere (CI) replays here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/matrix/matrix.h"
#include "harness/run/run.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_repro(int argc, char **argv);

static const char repro_usage[] =
	"usage: splitbrain repro STORE_DIR [options]\n"
	"\n"
	"Runs a stored campaign again. STORE_DIR is a run's directory (store/<test>/<stamp>, or a\n"
	"`latest` link to one; a test's directory means its latest run). Its test.yaml is the\n"
	"resolved spec with the seed, so the new run gets the same operations and the same fault\n"
	"schedule: faults at the same times (give or take scheduling), on the same targets while\n"
	"the leader is the same, with the same draws where the target is random. The new run gets\n"
	"its own store directory; the original is left alone.\n"
	"\n"
	"  --nodes lab|FILE     run it on other hosts (default: the recorded ones); a cluster of\n"
	"                       another size changes the targets and the workers\n"
	"  --store DIR          the store root of the new run (default ./store)\n"
	"  --binary PATH        the node binary, when the recorded path does not exist here (a\n"
	"                       run stored by CI on another machine)\n"
	"  --dry-run            print the schedule the seed gives, touch no host\n"
	"  --ops N              operations a dry run prints (default 20)\n"
	"  --progress           a progress line even when stderr is not a terminal;\n"
	"  --no-progress        none at all\n"
	"\n"
	"Exit: the new run's (0 valid, 1 invalid, 2 unknown; with `expect:` in the spec, 0 when\n"
	"the verdict is the expected one), 254 a bad argument or a directory without test.yaml,\n"
	"255 the cluster or a host failed.\n";

/* The run directory of STORE_DIR: itself when it holds test.yaml, else its `latest`. */
static int find_run(const char *arg, char *dir, size_t dirlen, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/test.yaml", arg);
	if (access(path, R_OK) == 0) {
		snprintf(dir, dirlen, "%s", arg);
		return 0;
	}
	snprintf(path, sizeof path, "%s/latest/test.yaml", arg);
	if (access(path, R_OK) == 0) {
		snprintf(dir, dirlen, "%s/latest", arg);
		return 0;
	}
	return err_set(err, errlen, SB_EINVAL,
		       "%s: no test.yaml in it (a run's directory is store/<test>/<stamp>)", arg);
}

/* The recorded spec with the overrides must name a binary that exists here. */
static int check_spec(const char *spec_path, const struct spec_overrides *ov, char *err,
		      size_t errlen)
{
	struct spec *s = malloc(sizeof *s);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = spec_load(s, spec_path, err, errlen);
	if (!rc)
		rc = spec_override(s, ov, err, errlen);
	if (!rc && access(s->db.binary, R_OK) != 0)
		rc = err_set(err, errlen, SB_EINVAL,
			     "the recorded binary %s: %s (give --binary PATH, e.g. build/raftnode)",
			     s->db.binary, strerror(errno));
	free(s);
	return rc;
}

int cmd_repro(int argc, char **argv)
{
	struct run_opts o = {.store_root = "store", .test_count = 1, .progress = -1};
	const char *store = NULL, *nodes = NULL, *binary = NULL;
	long long dry_ops = 20;
	int dry = 0, progress = 0, no_progress = 0;
	const struct opt opts[] = {
		OPT_STRING("nodes", 0, &nodes),
		OPT_STRING("store", 0, &store),
		OPT_STRING("binary", 0, &binary),
		OPT_BOOL("dry-run", 0, &dry),
		{.type = OPT_LLONG, .name = "ops", .dst = &dry_ops, .min = 1, .max = 1000000},
		OPT_BOOL("progress", 0, &progress),
		OPT_BOOL("no-progress", 0, &no_progress),
		OPT_END,
	};
	struct opt_args args;
	char err[1024], dir[4096], spec_path[4096 + 16];
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		opt_args_free(&args);
		fputs(repro_usage, stdout);
		return 0;
	}
	if (!rc && args.npos != 1)
		rc = err_set(err, sizeof err, SB_EINVAL,
			     args.npos ? "one run directory at a time (got %d)"
				       : "no run directory given%.0d",
			     args.npos);
	if (!rc && args.nrest)
		rc = err_set(err, sizeof err, SB_EINVAL, "unexpected argument '%s'", args.rest[0]);
	if (!rc)
		rc = find_run(args.pos[0], dir, sizeof dir, err, sizeof err);
	opt_args_free(&args);
	if (rc) {
		fprintf(stderr, "splitbrain repro: %s\n(see 'splitbrain repro --help')\n", err);
		return SB_EXIT_BADINPUT;
	}
	snprintf(spec_path, sizeof spec_path, "%s/test.yaml", dir);
	o.spec_path = spec_path;
	o.ov.nodes = nodes;
	o.ov.binary = binary;
	if (store)
		o.store_root = store;
	o.dry_run = dry;
	o.dry_ops = (size_t)dry_ops;
	if (progress)
		o.progress = 1;
	if (no_progress)
		o.progress = 0;
	if ((rc = check_spec(spec_path, &o.ov, err, sizeof err))) {
		fprintf(stderr, "splitbrain repro: %s\n", err);
		return err_exit_code(rc);
	}

	struct matrix_result before, after;
	bool have_before = matrix_result_read(dir, &before, err, sizeof err) == 0;
	if (have_before)
		fprintf(stderr, "splitbrain repro: replaying %s: %s, seed %llu, verdict %s\n", dir,
			before.test, (unsigned long long)before.seed, before.verdict);
	else
		fprintf(stderr, "splitbrain repro: replaying %s (%s)\n", dir, err);
	int code = run_main(&o);
	if (dry || !have_before)
		return code;
	char latest[4096 + 256];
	snprintf(latest, sizeof latest, "%s/%s/latest", o.store_root, before.test);
	if (matrix_result_read(latest, &after, err, sizeof err) == 0)
		fprintf(stderr, "splitbrain repro: the original run was %s; the replay is %s (%s)\n",
			before.verdict, after.verdict,
			strcmp(before.verdict, after.verdict) ? "a different verdict"
							      : "the same verdict");
	return code;
}
