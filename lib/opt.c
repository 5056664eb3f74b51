#include "lib/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/units.h"

static const struct opt *find_long(const struct opt *opts, const char *name, size_t len)
{
	for (const struct opt *o = opts; o->type != OPT_END_; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static const struct opt *find_alias(const struct opt *opts, char c)
{
	for (const struct opt *o = opts; o->type != OPT_END_; o++)
		if (o->alias && o->alias == c)
			return o;
	return NULL;
}

/* Store one value; the message names the option as the user wrote it (`shown`). */
static int store(const struct opt *o, const char *shown, const char *v, char *err,
		 size_t errlen)
{
	char msg[512] = "";
	int rc = 0;
	long long ll;
	switch (o->type) {
	case OPT_STR:
		if (!*v && !(o->flags & OPT_ALLOW_EMPTY))
			return err_set(err, errlen, SB_EINVAL, "%s: the value may not be empty",
				       shown);
		*(const char **)o->dst = v;
		return 0;
	case OPT_INT:
	case OPT_LLONG:
		rc = units_int(v, o->min, o->max, &ll, msg, sizeof msg);
		if (!rc) {
			if (o->type == OPT_INT)
				*(int *)o->dst = (int)ll;
			else
				*(long long *)o->dst = ll;
		}
		break;
	case OPT_DOUBLE:
		rc = units_double(v, o->dmin, o->dmax, (double *)o->dst, msg, sizeof msg);
		break;
	case OPT_DURATION: {
		int64_t ns;
		rc = units_duration(v, 1000000000LL, o->max, &ns, msg, sizeof msg);
		if (!rc && ns < o->min) {
			char lim[32];
			units_format_duration(o->min, lim, sizeof lim);
			rc = err_set(msg, sizeof msg, SB_EINVAL, "'%s': at least %s", v, lim);
		}
		if (!rc)
			*(int64_t *)o->dst = ns;
		break;
	}
	case OPT_SIZE: {
		uint64_t b;
		rc = units_size(v, o->unit ? o->unit : 1, (uint64_t)o->max, &b, msg, sizeof msg);
		if (!rc && b == 0)
			rc = err_set(msg, sizeof msg, SB_EINVAL, "'%s': must be more than 0", v);
		if (!rc)
			*(uint64_t *)o->dst = b;
		break;
	}
	case OPT_LIST:
		if (!*v && !(o->flags & OPT_ALLOW_EMPTY))
			return err_set(err, errlen, SB_EINVAL, "%s: the value may not be empty",
				       shown);
		if (*o->count >= o->cap)
			return err_set(err, errlen, SB_EINVAL, "%s: given more than %zu times",
				       shown, o->cap);
		((const char **)o->dst)[(*o->count)++] = v;
		return 0;
	case OPT_FN:
		rc = o->fn(o, v, msg, sizeof msg);
		break;
	default:
		return err_set(err, errlen, SB_EINVAL, "%s: internal: bad option type", shown);
	}
	if (rc)
		return err_set(err, errlen, SB_EINVAL, "%s %s", shown, msg);
	return 0;
}

int opt_parse(const struct opt *opts, int argc, char **argv, struct opt_args *args, char *err,
	      size_t errlen)
{
	return opt_parse_head(opts, argc, argv, -1, args, err, errlen);
}

int opt_parse_head(const struct opt *opts, int argc, char **argv, int max_pos,
		   struct opt_args *args, char *err, size_t errlen)
{
	memset(args, 0, sizeof *args);
	args->pos = calloc((size_t)argc + 1, sizeof *args->pos);
	if (!args->pos)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--")) {
			args->rest = argv + i + 1;
			args->nrest = argc - i - 1;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			rc = OPT_HELP;
			continue;
		}
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (max_pos >= 0 && args->npos == max_pos) {
				args->rest = argv + i;
				args->nrest = argc - i;
				break;
			}
			args->pos[args->npos++] = a;
			continue;
		}
		const struct opt *o;
		const char *val = NULL;
		char shown[80];
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(opts, a + 2, len);
			if (eq)
				val = eq + 1;
			snprintf(shown, sizeof shown, "--%.*s", (int)(len > 60 ? 60 : len), a + 2);
		} else {
			o = a[2] ? NULL : find_alias(opts, a[1]);
			snprintf(shown, sizeof shown, "%.60s", a);
		}
		if (!o) {
			rc = err_set(err, errlen, SB_EINVAL, "unknown option '%s'", shown);
			goto out;
		}
		if (o->type == OPT_FLAG) {
			if (val) {
				rc = err_set(err, errlen, SB_EINVAL, "%s takes no value", shown);
				goto out;
			}
			*(int *)o->dst = 1;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				rc = err_set(err, errlen, SB_EINVAL, "%s needs a value", shown);
				goto out;
			}
			val = argv[++i];
		}
		int src = store(o, shown, val, err, errlen);
		if (src) {
			rc = src;
			goto out;
		}
	}
out:
	return rc;
}

void opt_args_free(struct opt_args *args)
{
	free(args->pos);
	args->pos = NULL;
	args->npos = 0;
}
