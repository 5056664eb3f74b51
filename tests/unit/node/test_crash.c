/* Crash points: known names only, the hit-th pass kills the process with status 86 after
 * logging event=crashpoint-hit, CLEAR disarms. Each firing is observed in a forked child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "node/crash.h"
#include "node/log.h"

static const struct crash_info extra[] = {{"core-point", "a point registered by the core"}};

static void count(const struct crash_info *ci, void *arg)
{
	(*(int *)arg)++;
}

static void test_names(void **state)
{
	char err[128];
	int n0 = 0, n1 = 0;
	crash_foreach(count, &n0);
	assert_true(n0 >= 6);
	assert_int_equal(crash_arm("core-point", 1, err, sizeof err), SB_EINVAL);
	assert_non_null(strstr(err, "unknown crash point 'core-point'"));
	assert_int_equal(crash_register(extra, 1), 0);
	assert_int_equal(crash_register(extra, 1), 0); /* registering twice adds nothing */
	crash_foreach(count, &n1);
	assert_int_equal(n1, n0 + 1);
	assert_int_equal(crash_arm("core-point", 0, err, sizeof err), SB_EINVAL);
	assert_int_equal(crash_arm("core-point", 2, err, sizeof err), 0);
	assert_string_equal(crash_armed(), "core-point");
	crash_clear();
	assert_null(crash_armed());
	crash_point("core-point"); /* disarmed: nothing happens */
}

/* Run `passes` passes of `name` in a child with the point armed at `hit`; returns the child's
 * wait status and fills log with what it logged. */
static int run_child(const char *name, uint64_t hit, int passes, char *logbuf, size_t n)
{
	char path[] = "/tmp/sb-test-crash-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[128];
		log_set_node("t1");
		if (log_open(path, err, sizeof err) || crash_arm(name, hit, err, sizeof err))
			_exit(3);
		for (int i = 0; i < passes; i++) {
			crash_point("storage-before-fsync"); /* another point never fires */
			crash_point(name);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	ssize_t r = pread(fd, logbuf, n - 1, 0);
	logbuf[r > 0 ? r : 0] = '\0';
	close(fd);
	unlink(path);
	return st;
}

static void test_fires_on_hit(void **state)
{
	char logbuf[1024];
	int st = run_child(CRASH_SNAPSHOT_MID_WRITE, 3, 5, logbuf, sizeof logbuf);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), CRASH_EXIT_CODE);
	assert_non_null(strstr(logbuf, "node=t1"));
	assert_non_null(strstr(logbuf, "event=crashpoint-hit name=snapshot-mid-write hit=3"));
	/* fewer passes than hit: the process lives */
	st = run_child(CRASH_SNAPSHOT_MID_WRITE, 3, 2, logbuf, sizeof logbuf);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_null(strstr(logbuf, "crashpoint-hit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fires_on_hit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
