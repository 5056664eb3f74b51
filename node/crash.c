#include "node/crash.h"

#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "node/log.h"

static const struct crash_info shell_points[] = {
	{CRASH_FOLLOWER_AFTER_APPEND,
	 "follower wrote AppendEntries entries to its log but did not fsync them"},
	{CRASH_FOLLOWER_AFTER_FSYNC, "follower fsynced appended entries but did not ack them"},
	{CRASH_STORAGE_BEFORE_FSYNC, "any node, log records written but before their fsync"},
	{CRASH_STORAGE_AFTER_FSYNC, "any node, right after a log fsync, before acting on it"},
	{CRASH_SNAPSHOT_MID_WRITE, "half of a snapshot written to its temp file"},
	{CRASH_SNAPSHOT_AFTER_RENAME, "snapshot renamed into place, log not yet compacted"},
};

#define MAX_POINTS 64

/* The known points and the armed one (see crash.h for why this is global). */
static struct {
	const struct crash_info *points[MAX_POINTS];
	size_t n;
	int builtins_added;
	const char *armed;
	uint64_t hit;
	uint64_t passes;
} reg;

static void add_builtins(void)
{
	if (reg.builtins_added)
		return;
	reg.builtins_added = 1;
	for (size_t i = 0; i < sizeof shell_points / sizeof shell_points[0]; i++)
		reg.points[reg.n++] = &shell_points[i];
}

int crash_register(const struct crash_info *points, size_t n)
{
	add_builtins();
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < reg.n; j++)
			if (!strcmp(reg.points[j]->name, points[i].name))
				dup = 1;
		if (dup)
			continue;
		if (reg.n == MAX_POINTS)
			return SB_ELIMIT;
		reg.points[reg.n++] = &points[i];
	}
	return 0;
}

void crash_foreach(void (*fn)(const struct crash_info *ci, void *arg), void *arg)
{
	add_builtins();
	for (size_t i = 0; i < reg.n; i++)
		fn(reg.points[i], arg);
}

int crash_arm(const char *name, uint64_t hit, char *err, size_t errlen)
{
	add_builtins();
	if (hit == 0)
		return err_set(err, errlen, SB_EINVAL, "crash point hit count must be >= 1");
	for (size_t i = 0; i < reg.n; i++) {
		if (!strcmp(reg.points[i]->name, name)) {
			reg.armed = reg.points[i]->name;
			reg.hit = hit;
			reg.passes = 0;
			return 0;
		}
	}
	return err_set(err, errlen, SB_EINVAL, "unknown crash point '%s'", name);
}

void crash_clear(void)
{
	reg.armed = NULL;
	reg.hit = reg.passes = 0;
}

const char *crash_armed(void)
{
	return reg.armed;
}

void crash_point(const char *name)
{
	if (!reg.armed || strcmp(reg.armed, name))
		return;
	if (++reg.passes < reg.hit)
		return;
	log_event(LOG_WARN, "crashpoint-hit", "name=%s hit=%llu", name,
		  (unsigned long long)reg.passes);
	_exit(CRASH_EXIT_CODE);
}
