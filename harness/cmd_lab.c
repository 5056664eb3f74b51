/* splitbrain lab up|down|status — the local lab cluster (lab.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/lab/lab.h"
#include "lib/err.h"
#include "lib/opt.h"

int cmd_lab(int argc, char **argv);

/* Set by SIGINT/SIGTERM during `lab up`, which then removes what it made (the one piece of
 * global state here: a signal flag). */
static volatile sig_atomic_t lab_interrupted;

static void on_signal(int sig)
{
	lab_interrupted = 1;
}

static const char lab_usage[] =
	"usage: splitbrain lab up [-n N] [--dir DIR] [--subnet CIDR]\n"
	"       splitbrain lab down [--dir DIR]\n"
	"       splitbrain lab status [--dir DIR]\n"
	"\n"
	"A cluster of N hosts (3..9, default 5) on this machine: network namespaces on a bridge,\n"
	"each with its own address, iptables and sshd. Needs root.\n"
	"\n"
	"  -n N           number of hosts (up)\n"
	"  --dir DIR      lab directory (default $SPLITBRAIN_LAB_DIR or ./lab)\n"
	"  --subnet CIDR  IPv4 subnet, prefix 16..27 (default: a free /24 in 10.64.0.0/10\n"
	"                 derived from the lab directory)\n"
	"\n"
	"`up` writes DIR/nodes, used by `--nodes lab` and `nodes: lab`. `down` removes\n"
	"everything `up` made (processes in the namespaces, namespaces, veths, bridge) and the\n"
	"node directories `splitbrain db` made on the hosts (/var/lib/splitbrain/lab-<tag>/ and\n"
	"the run ids it recorded in DIR/runs). DIR is resolved (symlinks, '//', '/.') first, so\n"
	"each spelling of one directory means one lab.\n"
	"`status` prints each host's address, whether its sshd answers, processes and\n"
	"partition rules left; exit 0 only when the lab is up and healthy.\n";

int cmd_lab(int argc, char **argv)
{
	struct lab_opts o = {.log = stdout};
	const struct opt opts[] = {
		{.type = OPT_INT, .name = "n", .alias = 'n', .dst = &o.n, .min = LAB_MIN_HOSTS,
		 .max = LAB_MAX_HOSTS},
		OPT_STRING("dir", 0, &o.dir),
		OPT_STRING("subnet", 0, &o.subnet),
		OPT_END,
	};
	struct opt_args args;
	char perr[512];
	int prc = opt_parse(opts, argc, argv, &args, perr, sizeof perr);
	const char *verb = args.npos ? args.pos[0] : NULL;
	int extra = args.npos > 1 ? 1 : 0;
	const char *extra_arg = extra ? args.pos[1] : args.nrest ? args.rest[0] : NULL;
	opt_args_free(&args);
	if (prc == OPT_HELP) {
		fputs(lab_usage, stdout);
		return 0;
	}
	if (!prc && !verb)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "no action given (up, down, status)");
	if (!prc && extra_arg)
		prc = err_set(perr, sizeof perr, SB_EINVAL, "unexpected argument '%s'", extra_arg);
	if (prc) {
		fprintf(stderr, "splitbrain lab: %s\n(see 'splitbrain lab --help')\n", perr);
		return SB_EXIT_BADINPUT;
	}
	char err[1024] = "";
	int rc;
	if (!strcmp(verb, "up")) {
		struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		o.interrupted = &lab_interrupted;
		rc = lab_up(&o, err, sizeof err);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	} else if (!strcmp(verb, "down")) {
		if (o.n || o.subnet) {
			fprintf(stderr, "splitbrain lab down: -n and --subnet apply to 'up' only\n");
			return SB_EXIT_BADINPUT;
		}
		rc = lab_down(&o, err, sizeof err);
	} else if (!strcmp(verb, "status")) {
		if (o.n || o.subnet) {
			fprintf(stderr, "splitbrain lab status: -n and --subnet apply to 'up' only\n");
			return SB_EXIT_BADINPUT;
		}
		rc = lab_status(&o, stdout, err, sizeof err);
	} else {
		fprintf(stderr, "splitbrain lab: unknown action '%s' (up, down, status)\n", verb);
		return SB_EXIT_BADINPUT;
	}
	if (rc) {
		fprintf(stderr, "splitbrain lab %s: %s\n", verb, err);
		return err_exit_code(rc);
	}
	return 0;
}
