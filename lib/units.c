#include "lib/units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

/* A plain decimal number: digits, at most one '.', an optional exponent. No sign (callers
 * that accept one handle it), no "inf"/"nan"/hex: what strtod would also take but people do
 * not mean. Returns the number of bytes used, 0 if none. */
static size_t scan_number(const char *s, double *out)
{
	size_t i = 0;
	int digits = 0;
	while (isdigit((unsigned char)s[i]))
		i++, digits++;
	if (s[i] == '.') {
		i++;
		while (isdigit((unsigned char)s[i]))
			i++, digits++;
	}
	if (!digits)
		return 0;
	if ((s[i] == 'e' || s[i] == 'E') &&
	    (isdigit((unsigned char)s[i + 1]) ||
	     ((s[i + 1] == '+' || s[i + 1] == '-') && isdigit((unsigned char)s[i + 2])))) {
		i += 2;
		while (isdigit((unsigned char)s[i]))
			i++;
	}
	char buf[64];
	if (i >= sizeof buf)
		return 0;
	memcpy(buf, s, i);
	buf[i] = '\0';
	errno = 0;
	double d = strtod(buf, NULL);
	if (errno == ERANGE && d != 0)
		d = HUGE_VAL;
	*out = d;
	return i;
}

static const struct {
	const char *name;
	int64_t ns;
} dur_units[] = {
	{"ns", 1}, {"us", 1000}, {"µs", 1000}, {"ms", 1000000}, {"s", 1000000000LL},
	{"m", 60 * 1000000000LL}, {"min", 60 * 1000000000LL}, {"h", 3600 * 1000000000LL},
};

int units_duration(const char *s, int64_t unit_ns, int64_t max_ns, int64_t *out, char *err,
		   size_t errlen)
{
	double v;
	size_t n = scan_number(s, &v);
	if (!n)
		return err_set(err, errlen, SB_EINVAL,
			       "'%s' is not a duration (a number and a unit: 500ms, 5s, 2m)", s);
	const char *u = s + n;
	double mul = (double)unit_ns;
	if (*u) {
		mul = 0;
		for (size_t i = 0; i < sizeof dur_units / sizeof dur_units[0]; i++)
			if (!strcmp(u, dur_units[i].name))
				mul = (double)dur_units[i].ns;
		if (!mul)
			return err_set(err, errlen, SB_EINVAL,
				       "'%s': unknown unit '%s' (ns, us, ms, s, m, h)", s, u);
	}
	double ns = v * mul;
	if (!isfinite(ns) || ns > (double)max_ns) {
		char lim[32];
		units_format_duration(max_ns, lim, sizeof lim);
		return err_set(err, errlen, SB_EINVAL, "'%s': a duration of at most %s", s, lim);
	}
	*out = (int64_t)llround(ns);
	return 0;
}

static const struct {
	const char *name;
	int shift;
} size_units[] = {
	{"", 0},     {"b", 0},	 {"B", 0},     {"K", 10},   {"k", 10},	{"KB", 10},
	{"KiB", 10}, {"M", 20},	 {"MB", 20},   {"MiB", 20}, {"G", 30},	{"GB", 30},
	{"GiB", 30}, {"T", 40},	 {"TB", 40},   {"TiB", 40},
};

int units_size(const char *s, uint64_t unit, uint64_t max, uint64_t *out, char *err,
	       size_t errlen)
{
	double v;
	size_t n = scan_number(s, &v);
	if (!n)
		return err_set(err, errlen, SB_EINVAL,
			       "'%s' is not a size (a number and an optional unit: 64K, 512M, 2G)",
			       s);
	const char *u = s + n;
	double mul = -1;
	for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
		if (!strcmp(u, size_units[i].name))
			mul = *u ? (double)(1ull << size_units[i].shift) : (double)unit;
	if (mul < 0)
		return err_set(err, errlen, SB_EINVAL, "'%s': unknown unit '%s' (K, M, G, T)", s, u);
	double b = v * mul;
	if (!isfinite(b) || b > (double)max)
		return err_set(err, errlen, SB_EINVAL, "'%s': a size of at most %llu bytes", s,
			       (unsigned long long)max);
	*out = (uint64_t)b;
	return 0;
}

int units_int(const char *s, long long lo, long long hi, long long *out, char *err,
	      size_t errlen)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			goto bad;
	errno = 0;
	long long v = strtoll(s, NULL, 10);
	if (errno == ERANGE || v < lo || v > hi)
		return err_set(err, errlen, SB_EINVAL, "'%s': expected an integer from %lld to %lld",
			       s, lo, hi);
	*out = v;
	return 0;
bad:
	return err_set(err, errlen, SB_EINVAL, "'%s' is not an integer", s);
}

int units_double(const char *s, double lo, double hi, double *out, char *err, size_t errlen)
{
	const char *p = s;
	int neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	double v;
	size_t n = scan_number(p, &v);
	if (!n || p[n])
		return err_set(err, errlen, SB_EINVAL, "'%s' is not a number", s);
	if (neg)
		v = -v;
	if (!isfinite(v) || v < lo || v > hi)
		return err_set(err, errlen, SB_EINVAL, "'%s': expected a number from %g to %g", s,
			       lo, hi);
	*out = v;
	return 0;
}

void units_format_duration(int64_t ns, char *buf, size_t n)
{
	const int64_t S = 1000000000LL;
	if (ns == 0) {
		snprintf(buf, n, "0s");
		return;
	}
	if (ns != 0 && ns % (3600 * S) == 0)
		snprintf(buf, n, "%lldh", (long long)(ns / (3600 * S)));
	else if (ns != 0 && ns % (60 * S) == 0)
		snprintf(buf, n, "%lldm", (long long)(ns / (60 * S)));
	else if (ns >= S && ns % 1000000 == 0) /* 5s, 1.5s, 90s */
		snprintf(buf, n, "%.10gs", (double)ns / (double)S);
	else if (ns % 1000000 == 0)
		snprintf(buf, n, "%lldms", (long long)(ns / 1000000));
	else if (ns % 1000 == 0)
		snprintf(buf, n, "%lldus", (long long)(ns / 1000));
	else
		snprintf(buf, n, "%lldns", (long long)ns);
}
