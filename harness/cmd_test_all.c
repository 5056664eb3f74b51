/* splitbrain test-all — a matrix of specs × seeds, one run each, a table and the worst exit
 * (matrix.h for the matrix and its shards). Each run is a child `splitbrain run`, so a run
 * that fails in any way leaves the others alone. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/matrix/matrix.h"
#include "harness/spec/spec.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_test_all(int argc, char **argv);

static const char test_all_usage[] =
	"usage: splitbrain test-all DIR|SPEC... [options]\n"
	"\n"
	"Runs every spec (a directory gives its *.yaml and *.yml files) with test-count seeds\n"
	"each, one `splitbrain run` after the other, prints a table (spec, seed, verdict, time,\n"
	"store) and exits with the worst exit code. A spec with `expect:` passes when its\n"
	"expectation held (its run exits 0). Seeds: a spec's `seed:`, else --seed, else one\n"
	"derived from its path; then the next test-count - 1.\n"
	"\n"
	"  --test-count N       seeds per spec (default 1)\n"
	"  --seed S             first seed of the specs that have none (give every CI shard the\n"
	"                       same one, e.g. the pipeline's number, for new seeds per pipeline)\n"
	"  --shard I/N          run only shard I of N: the (spec, seed) pairs whose hash of path\n"
	"                       and seed is I - 1 modulo N; shards 1/N .. N/N run each pair once\n"
	"  --list               print the pairs of this shard and run nothing\n"
	"  --nodes lab|FILE     the hosts of every run\n"
	"  --store DIR          the store root (default ./store)\n"
	"  --time-limit D       the main phase of every run\n"
	"  --bug NAME           raftnode: every run with this bug switch (repeatable; as\n"
	"                       `splitbrain run --bug`)\n"
	"  --expect V           valid, invalid or none: replaces every spec's `expect:`\n"
	"  --failed FILE        write the store directory of every run that did not pass, one\n"
	"                       per line (for CI artifacts); empty when all passed\n"
	"  --progress           progress lines of the runs even when stderr is not a terminal;\n"
	"  --no-progress        none at all\n"
	"\n"
	"The runs' own output goes to stderr; the table to stdout. Ctrl-C stops the run in\n"
	"progress (it heals and checks what it recorded) and starts no other. Exit: the worst of\n"
	"the runs (254 a bad spec, 255 an environment failure, 1 invalid, 2 unknown, 0 when all\n"
	"passed).\n";

/* The signal that asked the matrix to stop (0: none): set by the handler, read between
 * runs and while waiting for one. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct entry {
	const char *path;      /* borrowed from the expanded list */
	uint64_t seed;
	char test[SPEC_NAME_MAX];
	char error[512];       /* the spec does not load */
	int exit;
	double seconds;
	char verdict[32];
	char store[4096];
	bool ran;
};

#define MAX_BUGS 8

struct options {
	const char *nodes, *store, *time_limit, *failed, *expect;
	const char *bugs[MAX_BUGS]; /* --bug, passed on to every run */
	size_t nbugs;
	long long seed;
	int test_count, list, progress, no_progress;
	unsigned shard_i, shard_n;
};

/* Build this shard's entries from the spec files. */
static int build(char **paths, size_t np, const struct options *op, struct entry **out,
		 size_t *nout)
{
	struct entry *e = calloc(np * (size_t)op->test_count + 1, sizeof *e);
	struct spec *s = malloc(sizeof *s);
	size_t n = 0;
	if (!e || !s) {
		free(e);
		free(s);
		return SB_ENOMEM;
	}
	for (size_t i = 0; i < np; i++) {
		char err[512] = "";
		uint64_t base;
		int rc = spec_load(s, paths[i], err, sizeof err);
		if (!rc && s->seed_given)
			base = s->seed;
		else
			base = op->seed >= 0 ? (uint64_t)op->seed : matrix_default_seed(paths[i]);
		for (int k = 0; k < op->test_count; k++) {
			uint64_t seed = base + (uint64_t)k;
			if (matrix_shard(paths[i], seed, op->shard_n) != op->shard_i)
				continue;
			struct entry *x = &e[n++];
			x->path = paths[i];
			x->seed = seed;
			snprintf(x->test, sizeof x->test, "%s", rc ? "" : s->name);
			if (rc)
				snprintf(x->error, sizeof x->error, "%s", err);
		}
	}
	free(s);
	*out = e;
	*nout = n;
	return 0;
}

/* Run one entry as a child `splitbrain run`, its stdout sent to our stderr. */
static int run_child(const struct entry *x, const struct options *op)
{
	char seed[32];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)x->seed);
	const char *av[20 + 2 * MAX_BUGS];
	int n = 0;
	av[n++] = "splitbrain";
	av[n++] = "run";
	av[n++] = x->path;
	av[n++] = "--seed";
	av[n++] = seed;
	av[n++] = "--store";
	av[n++] = op->store;
	if (op->nodes) {
		av[n++] = "--nodes";
		av[n++] = op->nodes;
	}
	if (op->time_limit) {
		av[n++] = "--time-limit";
		av[n++] = op->time_limit;
	}
	for (size_t i = 0; i < op->nbugs; i++) {
		av[n++] = "--bug";
		av[n++] = op->bugs[i];
	}
	if (op->expect) {
		av[n++] = "--expect";
		av[n++] = op->expect;
	}
	if (op->progress)
		av[n++] = "--progress";
	if (op->no_progress)
		av[n++] = "--no-progress";
	av[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "splitbrain test-all: fork: %s\n", strerror(errno));
		return SB_EXIT_INTERNAL;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execv("/proc/self/exe", (char *const *)av);
		fprintf(stderr, "splitbrain test-all: exec: %s\n", strerror(errno));
		_exit(SB_EXIT_INTERNAL);
	}
	int status = 0, forwarded = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return SB_EXIT_INTERNAL;
		/* A signal for us alone (a terminal's Ctrl-C reaches the child by itself): pass it
		 * on once, so the run heals and stops. */
		if (stop_signal && !forwarded) {
			kill(pid, stop_signal);
			forwarded = 1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return SB_EXIT_INTERNAL;
}

/* The run directory the test's `latest` link names now (caller frees), or NULL. */
static char *latest_run(const struct entry *x, const struct options *op)
{
	char latest[8192];
	snprintf(latest, sizeof latest, "%s/%s/latest", op->store, x->test);
	return realpath(latest, NULL);
}

/* Verdict and store of the run just made; `before` is what `latest` named before it (a run
 * that failed before it opened its store leaves the link alone). */
static void finish_entry(struct entry *x, const struct options *op, const char *before)
{
	char err[512];
	char *real = latest_run(x, op);
	struct matrix_result res;
	if (real && before && !strcmp(real, before)) {
		free(real);
		real = NULL;
	}
	if (real && matrix_result_read(real, &res, err, sizeof err) == 0) {
		snprintf(x->store, sizeof x->store, "%s", real);
		if (res.expect_held >= 0)
			snprintf(x->verdict, sizeof x->verdict, "%s (%s)", res.verdict,
				 res.expect_held ? "expected" : "NOT expected");
		else
			snprintf(x->verdict, sizeof x->verdict, "%s", res.verdict);
	} else {
		snprintf(x->verdict, sizeof x->verdict, "%s", x->exit == SB_EXIT_BADINPUT ? "bad-spec"
								 : "error");
	}
	free(real);
}

static void print_table(const struct entry *e, size_t n, const struct options *op, int worst,
			size_t total)
{
	size_t w = 4, passed = 0, ran = 0;
	for (size_t i = 0; i < n; i++)
		if (strlen(e[i].path) > w)
			w = strlen(e[i].path);
	printf("%-*s  %20s  %-20s  %4s  %8s  %s\n", (int)w, "spec", "seed", "verdict", "exit",
	       "time", "store");
	for (size_t i = 0; i < n; i++) {
		if (!e[i].ran)
			continue;
		ran++;
		passed += e[i].exit == 0;
		printf("%-*s  %20llu  %-20s  %4d  %7.1fs  %s\n", (int)w, e[i].path,
		       (unsigned long long)e[i].seed, e[i].verdict, e[i].exit, e[i].seconds,
		       e[i].store[0] ? e[i].store : "-");
	}
	printf("# %zu of %zu runs (shard %u/%u of %zu): %zu passed, %zu failed%s; exit %d\n", ran,
	       n, op->shard_i, op->shard_n, total, passed, ran - passed,
	       ran < n ? ", stopped early" : "", worst);
}

static int write_failed(const struct entry *e, size_t n, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "splitbrain test-all: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (e[i].ran && e[i].exit != 0 && e[i].store[0])
			fprintf(f, "%s\n", e[i].store);
	return fclose(f) ? -1 : 0;
}

static int run_matrix(struct entry *e, size_t n, const struct options *op)
{
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	stop_signal = 0;
	int worst = SB_EXIT_VALID;
	for (size_t i = 0; i < n && !stop_signal; i++) {
		struct entry *x = &e[i];
		fprintf(stderr, "splitbrain test-all: [%zu/%zu] %s seed %llu\n", i + 1, n, x->path,
			(unsigned long long)x->seed);
		int64_t t0 = clock_mono_ns();
		char *before = NULL;
		if (x->error[0]) {
			fprintf(stderr, "splitbrain test-all: %s\n", x->error);
			x->exit = SB_EXIT_BADINPUT;
		} else {
			before = latest_run(x, op);
			x->exit = run_child(x, op);
		}
		x->seconds = (double)(clock_mono_ns() - t0) / 1e9;
		x->ran = true;
		if (!x->error[0])
			finish_entry(x, op, before);
		else
			snprintf(x->verdict, sizeof x->verdict, "bad-spec");
		free(before);
		worst = matrix_worse_exit(worst, x->exit);
	}
	if (stop_signal)
		worst = matrix_worse_exit(worst, SB_EXIT_UNKNOWN);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	return worst;
}

int cmd_test_all(int argc, char **argv)
{
	struct options op = {.store = "store", .seed = -1, .test_count = 1, .shard_i = 1,
			     .shard_n = 1};
	const char *shard = NULL;
	int64_t tl = 0;
	const struct opt opts[] = {
		{.type = OPT_INT, .name = "test-count", .dst = &op.test_count, .min = 1, .max = 100000},
		{.type = OPT_LLONG, .name = "seed", .dst = &op.seed, .min = 0, .max = INT64_MAX},
		OPT_STRING("shard", 0, &shard),
		OPT_BOOL("list", 0, &op.list),
		OPT_STRING("nodes", 0, &op.nodes),
		OPT_STRING("store", 0, &op.store),
		{.type = OPT_DURATION, .name = "time-limit", .dst = &tl, .min = CLOCK_NS_PER_S,
		 .max = 7 * 86400 * CLOCK_NS_PER_S},
		OPT_STRING("failed", 0, &op.failed),
		{.type = OPT_LIST, .name = "bug", .dst = op.bugs, .cap = MAX_BUGS, .count = &op.nbugs},
		OPT_STRING("expect", 0, &op.expect),
		OPT_BOOL("progress", 0, &op.progress),
		OPT_BOOL("no-progress", 0, &op.no_progress),
		OPT_END,
	};
	struct opt_args args;
	char err[1024], tlbuf[32];
	char **paths = NULL;
	size_t np = 0;
	int rc = opt_parse(opts, argc, argv, &args, err, sizeof err);
	if (rc == OPT_HELP) {
		opt_args_free(&args);
		fputs(test_all_usage, stdout);
		return 0;
	}
	if (!rc && !args.npos)
		rc = err_set(err, sizeof err, SB_EINVAL, "no spec or directory given");
	if (!rc && args.nrest)
		rc = err_set(err, sizeof err, SB_EINVAL, "unexpected argument '%s'", args.rest[0]);
	if (!rc && shard)
		rc = matrix_parse_shard(shard, &op.shard_i, &op.shard_n, err, sizeof err);
	if (!rc)
		rc = matrix_expand((const char *const *)args.pos, (size_t)args.npos, &paths, &np, err,
				   sizeof err);
	opt_args_free(&args);
	if (rc) {
		fprintf(stderr, "splitbrain test-all: %s\n(see 'splitbrain test-all --help')\n", err);
		return err_exit_code(rc);
	}
	if (tl) {
		snprintf(tlbuf, sizeof tlbuf, "%lldms", (long long)(tl / CLOCK_NS_PER_MS));
		op.time_limit = tlbuf;
	}
	struct entry *e = NULL;
	size_t n = 0;
	if (build(paths, np, &op, &e, &n)) {
		fprintf(stderr, "splitbrain test-all: out of memory\n");
		matrix_paths_free(paths, np);
		return SB_EXIT_INTERNAL;
	}
	size_t total = np * (size_t)op.test_count;
	int worst = SB_EXIT_VALID;
	if (op.list) {
		for (size_t i = 0; i < n; i++)
			printf("%s %llu%s%s\n", e[i].path, (unsigned long long)e[i].seed,
			       e[i].error[0] ? " # " : "", e[i].error);
		printf("# shard %u/%u: %zu of %zu runs\n", op.shard_i, op.shard_n, n, total);
	} else {
		worst = run_matrix(e, n, &op);
		print_table(e, n, &op, worst, total);
		if (op.failed && write_failed(e, n, op.failed))
			worst = matrix_worse_exit(worst, SB_EXIT_INTERNAL);
	}
	free(e);
	matrix_paths_free(paths, np);
	return worst;
}
