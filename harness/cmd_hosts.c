/* splitbrain hosts check — a preflight over every host of a nodes file: can we connect and
 * authenticate, are we root (or have password-less sudo), how far is the host's clock from
 * ours, and are the tools the faults need present. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness/control/control.h"
#include "harness/control/impl.h"
#include "harness/control/nodes.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_hosts(int argc, char **argv);

static const char hosts_usage[] =
	"usage: splitbrain hosts check [--nodes lab|FILE]\n"
	"       splitbrain hosts run [--nodes lab|FILE] [--timeout D] [--] COMMAND...\n"
	"\n"
	"run: runs COMMAND (its words joined by spaces, as ssh does) on every host in parallel\n"
	"and prints each host's output; exit 0 when it exits 0 everywhere, else 255 naming the\n"
	"hosts where it failed. --timeout limits the command on each host: 30s, 5m (a bare\n"
	"number: seconds; default 60s).\n"
	"\n"
	"check: connects to every host (in parallel) and prints a table: reachable, auth, root or\n"
	"password-less sudo, clock offset to this machine, and the tools the faults need\n"
	"(iptables, tc, kill, setsid). Exit 0 when every host passes; 255 naming the failing\n"
	"hosts otherwise. --nodes defaults to 'lab' (the nodes file of `splitbrain lab up`).\n";

static const char *const tools[] = {"iptables", "tc", "kill", "setsid"};
#define NTOOLS (sizeof tools / sizeof tools[0])

struct host_report {
	bool reachable, auth;
	enum control_failure failure;
	char why[512];
	char priv[8];      /* "root", "sudo", "no", "?" */
	bool clock_ok;
	double offset_ms;  /* host clock minus ours, at the midpoint of the exchange */
	double uncert_ms;  /* half the round trip */
	int tool[NTOOLS];  /* 1 present, 0 missing, -1 unknown */
	bool ok;
};

/* Fixed script: no value from the nodes file reaches it. */
static const char probe_cmd[] =
	"if [ \"$(id -u)\" = 0 ]; then echo priv root; "
	"elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then echo priv sudo; "
	"else echo priv no; fi; "
	"for t in iptables tc kill setsid; do "
	"if command -v \"$t\" >/dev/null 2>&1 || [ -x \"/usr/sbin/$t\" ] || [ -x \"/sbin/$t\" ]; "
	"then echo \"tool $t 1\"; else echo \"tool $t 0\"; fi; done";

static int check_one(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct host_report *r = &((struct host_report *)arg)[i];
	for (size_t t = 0; t < NTOOLS; t++)
		r->tool[t] = -1;
	snprintf(r->priv, sizeof r->priv, "?");
	int rc = control_connect(c, err, errlen);
	r->failure = control_failure(c);
	if (rc) {
		r->reachable = r->failure == CONTROL_FAIL_AUTH || r->failure == CONTROL_FAIL_HOSTKEY;
		snprintf(r->why, sizeof r->why, "%s", control_failure_name(r->failure));
		return rc;
	}
	r->reachable = r->auth = true;

	/* Clock: the best of three short exchanges (smallest round trip). */
	double best_rtt = -1;
	for (int k = 0; k < 3; k++) {
		struct control_result res;
		struct control_exec_opts o = {.timeout_ms = 5000};
		long long t0 = clock_wall_ns();
		rc = control_exec(c, "date +%s%N", &o, &res, err, errlen);
		long long t1 = clock_wall_ns();
		if (!rc && res.exit_status == 0) {
			long long remote = atoll(res.out);
			double rtt = (double)(t1 - t0) / 1e6;
			if (remote > 0 && (best_rtt < 0 || rtt < best_rtt)) {
				best_rtt = rtt;
				r->offset_ms = (double)(remote - (t0 + (t1 - t0) / 2)) / 1e6;
				r->uncert_ms = rtt / 2;
				r->clock_ok = true;
			}
		}
		control_result_free(&res);
		if (rc)
			break;
	}
	if (rc) {
		snprintf(r->why, sizeof r->why, "%s", control_failure_name(control_failure(c)));
		return rc;
	}

	struct control_result res;
	struct control_exec_opts o = {.timeout_ms = 10000};
	rc = control_exec(c, probe_cmd, &o, &res, err, errlen);
	if (!rc) {
		char *save = NULL;
		for (char *l = strtok_r(res.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char a[8], b[16];
			int v;
			if (sscanf(l, "priv %7s", a) == 1)
				snprintf(r->priv, sizeof r->priv, "%s", a);
			else if (sscanf(l, "tool %15s %d", b, &v) == 2)
				for (size_t t = 0; t < NTOOLS; t++)
					if (!strcmp(b, tools[t]))
						r->tool[t] = v;
		}
	}
	control_result_free(&res);
	if (rc) {
		snprintf(r->why, sizeof r->why, "%s", control_failure_name(control_failure(c)));
		return rc;
	}
	char missing[128] = "";
	for (size_t t = 0; t < NTOOLS; t++)
		if (r->tool[t] != 1) {
			size_t l = strlen(missing);
			snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", tools[t]);
		}
	bool priv_ok = !strcmp(r->priv, "root") || !strcmp(r->priv, "sudo");
	if (!priv_ok || missing[0]) {
		snprintf(r->why, sizeof r->why, "%s%s%s%s", priv_ok ? "" : "not root and no sudo",
			 !priv_ok && missing[0] ? "; " : "", missing[0] ? "missing " : "", missing);
		return err_set(err, errlen, SB_EIO, "host %s: %s", c->host.name, r->why);
	}
	r->ok = true;
	return 0;
}

struct run_args {
	const char *cmd;
	int timeout_ms;
	struct control_result *res;
};

static int run_one(struct control *c, size_t i, void *arg, char *err, size_t errlen)
{
	struct run_args *a = arg;
	struct control_exec_opts o = {.timeout_ms = a->timeout_ms};
	int rc = control_exec(c, a->cmd, &o, &a->res[i], err, errlen);
	if (!rc && a->res[i].exit_status != 0) {
		if (a->res[i].signal[0])
			rc = err_set(err, errlen, SB_EIO, "host %s: killed by SIG%s", c->host.name,
				     a->res[i].signal);
		else
			rc = err_set(err, errlen, SB_EIO, "host %s: exit %d", c->host.name,
				     a->res[i].exit_status);
	}
	return rc;
}

static int hosts_run(const struct nodes *nodes, const char *cmd, int timeout_ms)
{
	char err[4096] = "";
	struct control_pool pool = {0};
	struct control_result *res = calloc(nodes->n, sizeof *res);
	int rc;
	if (!res) {
		rc = err_set(err, sizeof err, SB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = control_pool_new(&pool, nodes->hosts, nodes->n, err, sizeof err)))
		goto out;
	struct run_args a = {.cmd = cmd, .timeout_ms = timeout_ms, .res = res};
	rc = control_pool_each(&pool, run_one, &a, NULL, err, sizeof err);
	for (size_t i = 0; i < nodes->n; i++) {
		printf("== %s", nodes->hosts[i].name);
		if (res[i].out)
			printf(" (exit %d%s%s)\n", res[i].exit_status, res[i].signal[0] ? ", SIG" : "",
			       res[i].signal);
		else
			printf(" (did not run)\n");
		if (res[i].out_len)
			fwrite(res[i].out, 1, res[i].out_len, stdout);
		if (res[i].out_len && res[i].out[res[i].out_len - 1] != '\n')
			putchar('\n');
		if (res[i].err_len) {
			fflush(stdout);
			fwrite(res[i].err, 1, res[i].err_len, stderr);
			fflush(stderr);
		}
	}
out:
	if (rc)
		fprintf(stderr, "splitbrain hosts run: %s\n", err);
	for (size_t i = 0; res && i < nodes->n; i++)
		control_result_free(&res[i]);
	free(res);
	control_pool_close(&pool);
	return rc ? err_exit_code(rc) == SB_EXIT_BADINPUT ? SB_EXIT_BADINPUT : SB_EXIT_INTERNAL : 0;
}

int cmd_hosts(int argc, char **argv)
{
	const char *nodes_arg = "lab";
	int64_t timeout_ns = 60 * CLOCK_NS_PER_S;
	const struct opt opts[] = {
		OPT_STRING("nodes", 0, &nodes_arg),
		{.type = OPT_DURATION, .name = "timeout", .dst = &timeout_ns,
		 .min = CLOCK_NS_PER_MS, .max = 86400 * CLOCK_NS_PER_S},
		OPT_END,
	};
	struct opt_args args;
	char perr[512];
	/* `run` passes its command on: the first word after the action starts it. */
	int prc = opt_parse_head(opts, argc, argv, 1, &args, perr, sizeof perr);
	const char *action = args.npos ? args.pos[0] : NULL;
	char **words = args.rest;
	int nwords = args.nrest;
	opt_args_free(&args);
	if (prc == OPT_HELP) {
		fputs(hosts_usage, stdout);
		return 0;
	}
	if (!prc && !action)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "no action given (check, run)");
	bool run = action && !strcmp(action, "run");
	if (!prc && strcmp(action, "check") && !run)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "unknown action '%s' (check, run)",
			      action);
	if (!prc && run && nwords == 0)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "run: no command given");
	if (!prc && !run && nwords > 0)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "check: unexpected argument '%s'",
			      words[0]);
	if (prc) {
		fprintf(stderr, "splitbrain hosts: %s\n(see 'splitbrain hosts --help')\n", perr);
		return SB_EXIT_BADINPUT;
	}
	char err[4096] = "";
	struct nodes nodes = {0};
	struct control_pool pool = {0};
	struct host_report *rep = NULL;
	int rc = nodes_resolve(nodes_arg, &nodes, err, sizeof err);
	if (rc) {
		fprintf(stderr, "splitbrain hosts %s: %s\n", action, err);
		return err_exit_code(rc);
	}
	if (run) {
		/* The words are the user's own command: joined, not quoted (like ssh). */
		size_t len = 1;
		for (int i = 0; i < nwords; i++)
			len += strlen(words[i]) + 1;
		char *cmd = calloc(1, len);
		if (!cmd) {
			nodes_free(&nodes);
			fprintf(stderr, "splitbrain hosts run: out of memory\n");
			return SB_EXIT_INTERNAL;
		}
		for (int i = 0; i < nwords; i++) {
			if (i)
				strcat(cmd, " ");
			strcat(cmd, words[i]);
		}
		rc = hosts_run(&nodes, cmd, (int)(timeout_ns / CLOCK_NS_PER_MS));
		free(cmd);
		nodes_free(&nodes);
		return rc;
	}
	rep = calloc(nodes.n, sizeof *rep);
	if (!rep) {
		rc = err_set(err, sizeof err, SB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = control_pool_new(&pool, nodes.hosts, nodes.n, err, sizeof err)))
		goto out;
	prc = control_pool_each(&pool, check_one, rep, NULL, err, sizeof err);

	printf("%-8s %-22s %-9s %-5s %-5s %-20s", "host", "address", "reachable", "auth", "root",
	       "clock offset");
	for (size_t t = 0; t < NTOOLS; t++)
		printf(" %-8s", tools[t]);
	printf(" %s\n", "result");
	for (size_t i = 0; i < nodes.n; i++) {
		const struct host_report *r = &rep[i];
		const struct control_host *h = &nodes.hosts[i];
		char addr[64], clk[40];
		if (h->backend == CONTROL_BACKEND_LOCAL)
			snprintf(addr, sizeof addr, "(local)");
		else
			snprintf(addr, sizeof addr, "%.40s:%d", h->address, h->port);
		if (r->clock_ok)
			snprintf(clk, sizeof clk, "%+.1f ms ±%.1f", r->offset_ms, r->uncert_ms);
		else
			snprintf(clk, sizeof clk, "?");
		printf("%-8s %-22s %-9s %-5s %-5s %-20s", h->name, addr, r->reachable ? "yes" : "NO",
		       r->auth ? "yes" : (r->reachable ? "NO" : "?"), r->priv, clk);
		for (size_t t = 0; t < NTOOLS; t++)
			printf(" %-8s", r->tool[t] == 1 ? "yes" : r->tool[t] == 0 ? "MISSING" : "?");
		printf(" %s\n", r->ok ? "ok" : r->why[0] ? r->why : "FAILED");
		if (r->clock_ok && (r->offset_ms > 1000 || r->offset_ms < -1000))
			fprintf(stderr, "warning: host %s: clock is %.0f ms off this machine's\n",
				h->name, r->offset_ms);
	}
	rc = prc;
out:
	if (rc)
		fprintf(stderr, "splitbrain hosts check: %s\n", err);
	control_pool_close(&pool);
	nodes_free(&nodes);
	free(rep);
	return rc ? err_exit_code(rc) == SB_EXIT_BADINPUT ? SB_EXIT_BADINPUT : SB_EXIT_INTERNAL : 0;
}
