/* histgen — write a random history of a simulated linearizable register or list store.
 *
 *   histgen [options] [-o FILE]
 *
 * See checker/histgen.h for what the history contains. The report (operations, processes,
 * completions, and the injected change) goes to standard error. Exit 0, or 254 on bad
 * arguments, 255 on an I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker/histgen.h"
#include "lib/err.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: histgen [options] [-o FILE]\n"
		"  --shape S          preset: etcd (1 key, values 0-4, 80 ops, ~20 processes, 20%%\n"
		"                     of writes/cas indeterminate), unique (1 key, unique values),\n"
		"                     multi (1000 keys, unique values, concurrency 20, 1M ops);\n"
		"                     later options override it\n"
		"  --workload W       register (read, write, cas; default) or list (read, append:\n"
		"                     unique elements; --mix R,A weighs reads and appends)\n"
		"  --seed N           random seed (default 1)\n"
		"  --keys N           registers (default 1: no key field)\n"
		"  --concurrency N    client processes in flight (default 5)\n"
		"  --ops N            operations (default 1000)\n"
		"  --crash P          share of writes, cas and appends that complete info\n"
		"                     (default 0.05)\n"
		"  --fail P           share of operations that plainly fail (default 0.05)\n"
		"  --values N|unique  write values 0..N-1, or unique values (default 5)\n"
		"  --mix R,W[,C]      weights of read, write, cas (default 0.5,0.3,0.2)\n"
		"  --initial V        registers start at V (default: absent, reads give null)\n"
		"  --nemesis N        a nemesis event every N operations\n"
		"  --inject I         make the history not linearizable: stale-read (registers,\n"
		"                     lists); lost-append, duplicate, order, future-read,\n"
		"                     never-appended (lists; see checker/histgen.h)\n"
		"  --string-keys      keys are \"k0\", \"k1\", ... instead of integers\n"
		"  --leave-open       cut the history at the last invocation: operations in\n"
		"                     flight never complete\n"
		"  -o FILE            output (default standard output)\n"
		"  -q                 no report on standard error\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_prob(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct histgen_opts o;
	histgen_opts_default(&o);
	const char *out = "-";
	int quiet = 0;
	enum { O_SHAPE = 256, O_SEED, O_KEYS, O_CONC, O_OPS, O_CRASH, O_FAIL, O_VALUES, O_MIX,
	       O_INITIAL, O_NEMESIS, O_INJECT, O_OPEN, O_SKEYS, O_WORKLOAD };
	static const struct option lo[] = {
		{"shape", required_argument, NULL, O_SHAPE},
		{"seed", required_argument, NULL, O_SEED},
		{"keys", required_argument, NULL, O_KEYS},
		{"concurrency", required_argument, NULL, O_CONC},
		{"ops", required_argument, NULL, O_OPS},
		{"crash", required_argument, NULL, O_CRASH},
		{"fail", required_argument, NULL, O_FAIL},
		{"values", required_argument, NULL, O_VALUES},
		{"mix", required_argument, NULL, O_MIX},
		{"initial", required_argument, NULL, O_INITIAL},
		{"nemesis", required_argument, NULL, O_NEMESIS},
		{"inject", required_argument, NULL, O_INJECT},
		{"leave-open", no_argument, NULL, O_OPEN},
		{"string-keys", no_argument, NULL, O_SKEYS},
		{"workload", required_argument, NULL, O_WORKLOAD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t u;
	while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		const char *a = optarg;
		switch (c) {
		case O_SHAPE:
			if (!strcmp(a, "etcd")) {
				histgen_opts_etcd(&o, o.seed);
			} else if (!strcmp(a, "unique")) {
				o.keys = 1;
				o.values = 0;
			} else if (!strcmp(a, "multi")) {
				o.keys = 1000;
				o.values = 0;
				o.concurrency = 20;
				o.ops = 1000000;
			} else {
				fprintf(stderr, "histgen: --shape: unknown shape '%s'\n", a);
				return SB_EXIT_BADINPUT;
			}
			break;
		case O_SEED:
			if (parse_u64(a, &o.seed))
				goto bad;
			break;
		case O_KEYS:
			if (parse_u64(a, &u) || u < 1 || u > 100000000)
				goto bad;
			o.keys = (uint32_t)u;
			break;
		case O_CONC:
			if (parse_u64(a, &u) || u < 1 || u > 1000000)
				goto bad;
			o.concurrency = (uint32_t)u;
			break;
		case O_OPS:
			if (parse_u64(a, &o.ops))
				goto bad;
			break;
		case O_CRASH:
			if (parse_prob(a, &o.crash_rate))
				goto bad;
			break;
		case O_FAIL:
			if (parse_prob(a, &o.fail_rate))
				goto bad;
			break;
		case O_VALUES:
			if (!strcmp(a, "unique"))
				o.values = 0;
			else if (parse_u64(a, &u) || u < 1 || u > UINT32_MAX)
				goto bad;
			else
				o.values = (uint32_t)u;
			break;
		case O_MIX: {
			char *e1, *e2, *e3;
			o.mix_read = strtod(a, &e1);
			if (*e1 != ',')
				goto bad;
			o.mix_write = strtod(e1 + 1, &e2);
			if (*e2 == '\0') {
				o.mix_cas = 0; /* R,W (lists: R,A) */
				break;
			}
			if (*e2 != ',')
				goto bad;
			o.mix_cas = strtod(e2 + 1, &e3);
			if (*e3)
				goto bad;
			break;
		}
		case O_INITIAL: {
			char *e;
			errno = 0;
			o.initial = strtoll(a, &e, 10);
			if (errno || e == a || *e)
				goto bad;
			o.has_initial = 1;
			break;
		}
		case O_NEMESIS:
			if (parse_u64(a, &u) || u > UINT32_MAX)
				goto bad;
			o.nemesis_every = (uint32_t)u;
			break;
		case O_INJECT: {
			int i = histgen_inject_parse(a);
			if (i <= 0)
				goto bad;
			o.inject = (enum histgen_inject)i;
			break;
		}
		case O_WORKLOAD:
			if (!strcmp(a, "register"))
				o.workload = HISTGEN_REGISTER;
			else if (!strcmp(a, "list"))
				o.workload = HISTGEN_LIST;
			else
				goto bad;
			break;
		case O_OPEN:
			o.leave_open = 1;
			break;
		case O_SKEYS:
			o.string_keys = 1;
			break;
		case 'o':
			out = a;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return SB_EXIT_BADINPUT;
		bad:
			fprintf(stderr, "histgen: bad value '%s' for --%s\n", a,
				lo[c - O_SHAPE].name);
			return SB_EXIT_BADINPUT;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "histgen: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return SB_EXIT_BADINPUT;
	}
	char err[512];
	struct histgen_report rep;
	int rc = histgen_write_file(&o, out, &rep, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return err_exit_code(rc);
	}
	if (!quiet) {
		fprintf(stderr,
			"histgen: %llu events, %llu operations, %llu processes; %llu ok, %llu fail "
			"(%llu cas mismatch), %llu info\n",
			(unsigned long long)rep.events, (unsigned long long)rep.ops,
			(unsigned long long)rep.processes, (unsigned long long)rep.ok,
			(unsigned long long)rep.fail, (unsigned long long)rep.mismatch,
			(unsigned long long)rep.info);
		if (rep.injected)
			fprintf(stderr, "histgen: injected: %s\n", rep.inj_what);
	}
	return 0;
}
