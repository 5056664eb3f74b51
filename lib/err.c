#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

void err_prefix(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	char ctx[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(ctx, sizeof ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t clen = strlen(ctx);
	size_t mlen = strnlen(err, errlen - 1);
	/* Shift the message right by clen + 2 (truncating its end) and write the context. */
	size_t shift = clen + 2;
	if (shift >= errlen) {
		snprintf(err, errlen, "%s", ctx);
		return;
	}
	size_t keep = mlen;
	if (keep + shift > errlen - 1)
		keep = errlen - 1 - shift;
	memmove(err + shift, err, keep);
	err[shift + keep] = '\0';
	memcpy(err, ctx, clen);
	err[clen] = ':';
	err[clen + 1] = ' ';
}

int err_exit_code(int code)
{
	switch (code) {
	case SB_OK:
		return SB_EXIT_VALID;
	case SB_EINVAL:
	case SB_ELIMIT:
		return SB_EXIT_BADINPUT;
	default:
		return SB_EXIT_INTERNAL;
	}
}

static int exit_rank(int code)
{
	switch (code) {
	case SB_EXIT_BADINPUT:
		return 5;
	case SB_EXIT_INTERNAL:
		return 4;
	case SB_EXIT_INVALID:
		return 3;
	case SB_EXIT_UNKNOWN:
		return 2;
	default:
		return 1;
	}
}

int err_exit_worst(int a, int b)
{
	return exit_rank(b) > exit_rank(a) ? b : a;
}
