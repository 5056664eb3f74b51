/* splitbrain lab up|down|status — the local lab cluster (lab.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/lab/lab.h"
#include "lib/err.h"

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
	"everything `up` made (processes in the namespaces, namespaces, veths, bridge).\n"
	"`status` prints each host's address, whether its sshd answers, processes and\n"
	"partition rules left; exit 0 only when the lab is up and healthy.\n";

int cmd_lab(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(lab_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? SB_EXIT_BADINPUT : 0;
	}
	const char *verb = argv[1];
	struct lab_opts o = {.log = stdout};
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(lab_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "--dir") || !strcmp(a, "--subnet")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "splitbrain lab: %s needs a value\n%s", a, lab_usage);
				return SB_EXIT_BADINPUT;
			}
			val = argv[++i];
		} else if (!strncmp(a, "--dir=", 6)) {
			val = a + 6;
			a = "--dir";
		} else if (!strncmp(a, "--subnet=", 9)) {
			val = a + 9;
			a = "--subnet";
		} else {
			fprintf(stderr, "splitbrain lab: unknown option '%s'\n%s", a, lab_usage);
			return SB_EXIT_BADINPUT;
		}
		if (!strcmp(a, "-n")) {
			char *end = NULL;
			long n = strtol(val, &end, 10);
			if (!*val || *end || n < LAB_MIN_HOSTS || n > LAB_MAX_HOSTS) {
				fprintf(stderr, "splitbrain lab: -n '%s': a lab has 3 to 9 hosts\n", val);
				return SB_EXIT_BADINPUT;
			}
			o.n = (int)n;
		} else if (!strcmp(a, "--dir")) {
			o.dir = val;
		} else {
			o.subnet = val;
		}
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
		fprintf(stderr, "splitbrain lab: unknown action '%s' (up, down, status)\n%s", verb,
			lab_usage);
		return SB_EXIT_BADINPUT;
	}
	if (rc) {
		fprintf(stderr, "splitbrain lab %s: %s\n", verb, err);
		return err_exit_code(rc);
	}
	return 0;
}
