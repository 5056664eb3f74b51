/* commands — the subcommands of `splitbrain`, one file each (cmd_<name>.c).
 *
 * A handler gets argv with argv[0] = the subcommand's name and returns the process exit code
 * (docs/exit-codes.md: 0 valid, 1 invalid, 2 unknown, 254 bad input, 255 internal/environment).
 * Each handler prints its own usage for -h/--help and on bad arguments (exit 254).
 */
#ifndef SB_COMMANDS_H
#define SB_COMMANDS_H

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for `splitbrain help` */
};

#endif
