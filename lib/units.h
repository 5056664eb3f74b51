/* units — parsing the quantities people type: durations, sizes, rates.
 *
 * One syntax everywhere (command-line options and specs):
 *   duration  a number and a unit: 250us, 500ms, 5s, 2m, 1h (also 1.5s). A bare number is in
 *             the caller's default unit (seconds for every command-line option).
 *   size      a number and an optional unit: 512, 64K, 512M, 2G, 1T (powers of 1024; KB, KiB,
 *             MB, MiB... accepted); a bare number is in the caller's default unit.
 * Values must be finite, not negative, and at most the caller's maximum: "inf", "nan",
 * "1e400" and anything that would overflow are refused with a message that says why.
 *
 * Pure and thread-safe; libc only.
 */
#ifndef SB_UNITS_H
#define SB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Parse a duration into nanoseconds. `unit_ns` is the unit of a bare number (e.g.
 * 1000000000 for seconds); `max_ns` the largest accepted value. Returns 0, or SB_EINVAL with
 * a message like "'5x' is not a duration (a number and a unit: 500ms, 5s, 2m)". */
int units_duration(const char *s, int64_t unit_ns, int64_t max_ns, int64_t *out, char *err,
		   size_t errlen);

/* Parse a size into bytes; `unit` is the multiplier of a bare number (1 for bytes, 1<<20 for
 * MiB). Returns 0 or SB_EINVAL. */
int units_size(const char *s, uint64_t unit, uint64_t max, uint64_t *out, char *err,
	       size_t errlen);

/* Parse an integer in [lo, hi] (decimal, optional sign, nothing else). 0 or SB_EINVAL. */
int units_int(const char *s, long long lo, long long hi, long long *out, char *err,
	      size_t errlen);

/* Parse a finite number in [lo, hi] (strtod syntax, but no inf/nan/hex). 0 or SB_EINVAL. */
int units_double(const char *s, double lo, double hi, double *out, char *err, size_t errlen);

/* Format a duration the way people write it ("1.5s", "250ms", "2m", "0s") into buf. */
void units_format_duration(int64_t ns, char *buf, size_t n);

#endif
