/* splitbrain — the controller's entry point: a git-shaped table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "lib/err.h"

#define SPLITBRAIN_VERSION "0.1.0"

/* Subcommand handlers, each in harness/cmd_<name>.c. */

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
int cmd_check(int argc, char **argv);

int cmd_lab(int argc, char **argv);
int cmd_hosts(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_repro(int argc, char **argv);
int cmd_test_all(int argc, char **argv);

static const struct command commands[] = {
	{"help", cmd_help, "show this list"},
	{"run", cmd_run, "run a test from its YAML spec: faults, history, verdict"},
	{"repro", cmd_repro, "run a stored campaign again: same seed, spec and fault schedule"},
	{"test-all", cmd_test_all, "run a matrix of specs x seeds (or one shard of it); a table"},
	{"version", cmd_version, "print the version"},
	{"lab", cmd_lab, "bring the local lab cluster up or down, or show its status"},
	{"hosts", cmd_hosts, "preflight: check SSH, root, clock and tools on every host"},
	{"db", cmd_db, "install, start, stop, kill, pause the nodes; find the leader; get logs"},
	{"check", cmd_check, "check histories for linearizability and lost writes"},
	{"report", cmd_report, "write a run's report.html (verdict, charts, counterexample)"},
	{"serve", cmd_serve, "serve the store's runs and reports over HTTP (read-only)"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: splitbrain <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`splitbrain <command> --help` describes a command.\n"
		   "exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad input, 255 internal error\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	printf("splitbrain %s\n", SPLITBRAIN_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return SB_EXIT_BADINPUT;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help"))
		name = "help";
	if (!strcmp(name, "--version"))
		name = "version";
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "splitbrain: '%s' is not a command; see 'splitbrain help'\n", argv[1]);
	return SB_EXIT_BADINPUT;
}
