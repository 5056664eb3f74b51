/* splitbrain run — one command from a YAML test to a verdict (run.h). */
#include <stdio.h>
#include <string.h>

#include "harness/run/run.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_run(int argc, char **argv);

static const char run_usage[] =
	"usage: splitbrain run SPEC.yaml [options]\n"
	"\n"
	"Sets up the cluster the spec names, runs its workload while the nemesis injects faults,\n"
	"records every operation in the store's history.jsonl, heals every fault, checks the\n"
	"history and prints the verdict. The fields of a spec: workloads/README.md.\n"
	"\n"
	"  --nodes lab|FILE     the hosts (overrides the spec's nodes:)\n"
	"  --time-limit D       length of the main phase: 30s, 2m\n"
	"  --concurrency N|Nn   worker processes (Nn: N per node)\n"
	"  --rate R             operations per second over all workers (0: as fast as they go)\n"
	"  --seed S             the seed of the schedule (default: the spec's, or a new one)\n"
	"  --bug NAME           raftnode: run with this bug switch on (repeatable; adds\n"
	"                       `--bug NAME` to db.args; names: raftnode --help)\n"
	"  --expect V           valid, invalid or none: replaces the spec's `expect:`\n"
	"  --test-count N       run N campaigns, seeds S, S+1, ...; exit with the worst\n"
	"  --store DIR          the store root (default ./store)\n"
	"  --dry-run            print the first operations and every fault the generator\n"
	"                       schedules, touch no host\n"
	"  --ops N              operations a dry run prints (default 20)\n"
	"  --progress           a progress line even when stderr is not a terminal;\n"
	"  --no-progress        none at all\n"
	"\n"
	"Faults are healed on every way out, Ctrl-C and SIGTERM included. Exit: 0 valid, 1\n"
	"invalid, 2 unknown (with `expect:` in the spec, 0 when the verdict is the expected one),\n"
	"254 a bad spec or option, 255 the cluster or a host failed.\n";

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {.store_root = "store", .test_count = 1, .progress = -1};
	const char *concurrency = NULL, *store = NULL, *nodes = NULL, *expect = NULL;
	const char *bugs[8];
	size_t nbugs = 0;
	long long seed = -1, dry_ops = 20;
	int test_count = 1, dry = 0, progress = 0, no_progress = 0;
	int64_t time_limit = 0;
	double rate = -1;
	const struct opt opts[] = {
		OPT_STRING("nodes", 0, &nodes),
		{.type = OPT_DURATION, .name = "time-limit", .dst = &time_limit,
		 .min = CLOCK_NS_PER_S, .max = 7 * 86400 * CLOCK_NS_PER_S},
		OPT_STRING("concurrency", 0, &concurrency),
		{.type = OPT_DOUBLE, .name = "rate", .dst = &rate, .dmin = 0, .dmax = 1e7},
		{.type = OPT_LLONG, .name = "seed", .dst = &seed, .min = 0, .max = INT64_MAX},
		{.type = OPT_LIST, .name = "bug", .dst = bugs, .cap = 8, .count = &nbugs},
		OPT_STRING("expect", 0, &expect),
		{.type = OPT_INT, .name = "test-count", .dst = &test_count, .min = 1, .max = 100000},
		OPT_STRING("store", 0, &store),
		OPT_BOOL("dry-run", 0, &dry),
		{.type = OPT_LLONG, .name = "ops", .dst = &dry_ops, .min = 1, .max = 1000000},
		OPT_BOOL("progress", 0, &progress),
		OPT_BOOL("no-progress", 0, &no_progress),
		OPT_END,
	};
	struct opt_args args;
	char err[512];
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		opt_args_free(&args);
		fputs(run_usage, stdout);
		return 0;
	}
	if (!rc && args.npos != 1)
		rc = err_set(err, sizeof err, SB_EINVAL,
			     args.npos ? "one spec at a time (got %d)" : "no spec given%.0d",
			     args.npos);
	if (!rc && args.nrest)
		rc = err_set(err, sizeof err, SB_EINVAL, "unexpected argument '%s'", args.rest[0]);
	if (rc) {
		opt_args_free(&args);
		fprintf(stderr, "splitbrain run: %s\n(see 'splitbrain run --help')\n", err);
		return SB_EXIT_BADINPUT;
	}
	o.spec_path = args.pos[0];
	opt_args_free(&args);
	o.ov.nodes = nodes;
	o.ov.time_limit_ns = time_limit;
	o.ov.concurrency = concurrency;
	o.ov.bugs = bugs;
	o.ov.nbugs = nbugs;
	o.ov.expect = expect;
	if (rate >= 0) {
		o.ov.rate = rate;
		o.ov.rate_given = true;
	}
	if (seed >= 0) {
		o.ov.seed = (uint64_t)seed;
		o.ov.seed_given = true;
	}
	if (store)
		o.store_root = store;
	o.test_count = (unsigned)test_count;
	o.dry_run = dry;
	o.dry_ops = (size_t)dry_ops;
	if (progress)
		o.progress = 1;
	if (no_progress)
		o.progress = 0;
	return run_main(&o);
}
