/* bench_ssh — SSH control-plane latency on the lab: connect+auth time, command round trip
 * on an open session, and one command on all hosts in parallel (median, p99). Prints
 * figures; never fails on a time.
 *
 *   bench_ssh [--nodes FILE] [-c COMMANDS] [-k CONNECTS]
 * Without --nodes it brings up its own 5-host lab in $BUILD/lab-bench-ssh (root needed;
 * otherwise it says so and exits 0) and takes it down afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/control/control.h"
#include "harness/lab/lab.h"
#include "harness/control/nodes.h"
#include "lib/clock.h"
#include "lib/err.h"

static double now_ms(void)
{
	return (double)clock_mono_ns() / 1e6;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmpd);
	int p99 = (int)((n - 1) * 0.99 + 0.5);
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	printf("%-34s n=%-4d median %8.3f ms  p99 %8.3f ms  min %8.3f ms  max %8.3f ms  mean %8.3f ms\n",
	       what, n, v[n / 2], v[p99], v[0], v[n - 1], sum / n);
}

int main(int argc, char **argv)
{
	const char *nodes_arg = NULL;
	int ncmd = 200, nconn = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
			nodes_arg = argv[++i];
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			ncmd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-k") && i + 1 < argc)
			nconn = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_ssh [--nodes FILE] [-c COMMANDS] [-k CONNECTS]\n");
			return 254;
		}
	}
	if (ncmd < 1 || nconn < 1) {
		fprintf(stderr, "bench_ssh: -c and -k must be positive\n");
		return 254;
	}
	char err[1024];
	struct nodes nodes = {0};
	char labdir[1024] = "", nodes_path[1100];
	struct lab_opts lo = {.n = 5, .log = NULL};
	if (!nodes_arg) {
		if (geteuid() != 0) {
			printf("bench_ssh: skipped: needs root to bring up a lab (or give --nodes)\n");
			return 0;
		}
		const char *build = getenv("BUILD");
		snprintf(labdir, sizeof labdir, "%s/lab-bench-ssh", build && *build ? build : "build");
		lo.dir = labdir;
		lab_down(&lo, err, sizeof err); /* leftovers of an interrupted run */
		double t0 = now_ms();
		if (lab_up(&lo, err, sizeof err)) {
			fprintf(stderr, "bench_ssh: lab up: %s\n", err);
			return 255;
		}
		printf("bench_ssh: lab of %d hosts up in %.0f ms (%s)\n", lo.n, now_ms() - t0, labdir);
		snprintf(nodes_path, sizeof nodes_path, "%s/nodes", labdir);
		nodes_arg = nodes_path;
	}
	if (nodes_resolve(nodes_arg, &nodes, err, sizeof err)) {
		fprintf(stderr, "bench_ssh: %s\n", err);
		if (labdir[0])
			lab_down(&lo, err, sizeof err);
		return 255;
	}
	const struct control_host *h = &nodes.hosts[0];
	double *conn = calloc((size_t)nconn, sizeof *conn), *rt = calloc((size_t)ncmd, sizeof *rt);
	int rc = 0;
	struct control *c = NULL;
	if (!conn || !rt) {
		fprintf(stderr, "bench_ssh: out of memory\n");
		rc = 255;
		goto out;
	}
	printf("bench_ssh: host %s (%s:%d), %d connects, %d commands on one session\n", h->name,
	       h->address, h->port, nconn, ncmd);
	for (int i = 0; i < nconn; i++) {
		if (control_new(h, &c, err, sizeof err)) {
			fprintf(stderr, "bench_ssh: %s\n", err);
			rc = 255;
			goto out;
		}
		double t0 = now_ms();
		if (control_connect(c, err, sizeof err)) {
			fprintf(stderr, "bench_ssh: %s\n", err);
			rc = 255;
			goto out;
		}
		conn[i] = now_ms() - t0;
		if (i + 1 < nconn) {
			control_close(c);
			c = NULL;
		}
	}
	for (int i = 0; i < ncmd; i++) {
		struct control_result r;
		double t0 = now_ms();
		int e = control_exec(c, "true", NULL, &r, err, sizeof err);
		rt[i] = now_ms() - t0;
		control_result_free(&r);
		if (e || r.exit_status != 0) {
			fprintf(stderr, "bench_ssh: command %d: %s\n", i, e ? err : "non-zero exit");
			rc = 255;
			goto out;
		}
	}
	report("connect + handshake + auth", conn, nconn);
	report("command round trip ('true')", rt, ncmd);

	/* All hosts: connect in parallel, then the same command on all of them at once. */
	struct control_pool pool;
	double t0 = now_ms();
	if (control_pool_open(&pool, nodes.hosts, nodes.n, err, sizeof err)) {
		fprintf(stderr, "bench_ssh: %s\n", err);
		rc = 255;
		goto out;
	}
	printf("%-34s n=%-4zu %8.3f ms\n", "connect all hosts in parallel", nodes.n, now_ms() - t0);
	int npar = ncmd / 4 > 0 ? ncmd / 4 : 1;
	double *par = calloc((size_t)npar, sizeof *par);
	struct control_result *res = calloc(nodes.n, sizeof *res);
	for (int i = 0; par && res && i < npar; i++) {
		double t1 = now_ms();
		int e = control_pool_exec(&pool, "true", NULL, res, err, sizeof err);
		par[i] = now_ms() - t1;
		for (size_t k = 0; k < nodes.n; k++)
			control_result_free(&res[k]);
		if (e) {
			fprintf(stderr, "bench_ssh: %s\n", err);
			rc = 255;
			break;
		}
	}
	if (!rc && par && res) {
		char what[64];
		snprintf(what, sizeof what, "'true' on %zu hosts in parallel", nodes.n);
		report(what, par, npar);
	}
	free(par);
	free(res);
	control_pool_close(&pool);
out:
	control_close(c);
	nodes_free(&nodes);
	free(conn);
	free(rt);
	if (labdir[0] && lab_down(&lo, err, sizeof err)) {
		fprintf(stderr, "bench_ssh: lab down: %s\n", err);
		rc = 255;
	}
	return rc;
}
