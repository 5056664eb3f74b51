#include "lib/clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * CLOCK_NS_PER_S + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
	return clock_mono_ns() / CLOCK_NS_PER_MS;
}

double clock_mono_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

int64_t clock_wall_ns(void)
{
	return read_clock(CLOCK_REALTIME);
}

int64_t clock_now(const struct clock *c)
{
	return c ? c->now(c) : clock_mono_ns();
}

void clock_sleep_ns(int64_t ns, const volatile int *stop)
{
	if (ns <= 0)
		return;
	int64_t until = clock_mono_ns() + ns;
	struct timespec ts = {.tv_sec = until / CLOCK_NS_PER_S, .tv_nsec = until % CLOCK_NS_PER_S};
	/* An absolute deadline: a signal does not stretch the sleep. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		if (stop && *stop)
			return;
}
