/* clock — the project's one reader of the clocks, and a seam to replace them in tests.
 *
 * Time for durations, deadlines and history timestamps comes from the monotonic clock
 * (clock_mono_ns); wall-clock time (clock_wall_ns) only names things (store directories,
 * log lines). Code that must be testable without waiting takes a `const struct clock *` and
 * calls clock_now(): NULL means the real monotonic clock, a test passes a fake one.
 *
 * Thread-safe; libc only.
 */
#ifndef SB_CLOCK_H
#define SB_CLOCK_H

#include <stdint.h>

#define CLOCK_NS_PER_MS 1000000LL
#define CLOCK_NS_PER_S 1000000000LL

/* Nanoseconds on the monotonic clock (CLOCK_MONOTONIC; an arbitrary start). */
int64_t clock_mono_ns(void);
/* Milliseconds, and seconds as a double, on the same clock. */
int64_t clock_mono_ms(void);
double clock_mono_s(void);
/* Nanoseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ns(void);

/* A replaceable clock. now() returns nanoseconds on a monotonic scale. */
struct clock {
	int64_t (*now)(const struct clock *c);
	void *arg; /* the implementation's own data (a fake clock's current time, ...) */
};

/* c->now(c), or clock_mono_ns() when c is NULL. */
int64_t clock_now(const struct clock *c);

/* Sleep for ns nanoseconds on the real clock, resuming after signals (an interrupted sleep
 * goes on for the rest of the time unless *stop becomes non-zero; stop may be NULL). */
void clock_sleep_ns(int64_t ns, const volatile int *stop);

#endif
