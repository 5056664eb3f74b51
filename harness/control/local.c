/* control_local — the local backend: /bin/sh -c on this machine, files copied in place.
 *
 * The command runs in its own process group so that a time limit can kill it and its
 * children (not processes that called setsid, as with the SSH backend). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/control/control.h"
#include "harness/control/impl.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileutil.h"

static int local_connect(struct control *c, char *err, size_t errlen)
{
	return 0;
}

/* Stop the child: its whole process group when it has one. */
static void stop(pid_t pid, bool group)
{
	kill(group ? -pid : pid, SIGKILL);
}

int control_local_spawn(char *const argv[], const struct control_spawn_opts *o,
			struct control_result *res, char *err, size_t errlen)
{
	int rc = 0;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	pid_t pid = -1;
	struct control_text tout = {.max = o->max_out}, terr = {.max = o->max_err};
	bool limited = o->timeout_ms > 0;
	const char *file = o->file ? o->file : argv[0];

	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		rc = err_set(err, errlen, SB_EIO, "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = err_set(err, errlen, SB_EIO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (o->own_group)
			setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(outp[1], 1);
		dup2(errp[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(file, argv);
		fprintf(stderr, "cannot run %s: %s\n", file, strerror(errno));
		_exit(127);
	}
	if (o->own_group)
		setpgid(pid, pid); /* also from here, so the group exists before any kill */
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	long long deadline = limited ? clock_mono_ms() + o->timeout_ms : 0;
	struct pollfd pf[2] = {{.fd = outp[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
	int open_fds = 2;
	while (open_fds > 0) {
		int wait_ms = -1;
		if (limited) {
			long long left = deadline - clock_mono_ms();
			if (left <= 0) {
				res->timed_out = true;
				break;
			}
			wait_ms = (int)(left > 1000 ? 1000 : left);
		}
		int n = poll(pf, 2, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(err, errlen, SB_EIO, "poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[16384];
			ssize_t r = read(pf[i].fd, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			int k = control_text_add(i == 0 ? &tout : &terr, buf, (size_t)r);
			if (k < 0) {
				rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
				res->timed_out = false;
				goto kill;
			}
		}
	}
	if (res->timed_out || rc) {
	kill:
		stop(pid, o->own_group);
	}
	/* The output is closed; wait for the program (bounded by the remaining time, then kill;
	 * without a limit, as long as it takes). */
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, limited ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		if (!limited)
			continue;
		if (clock_mono_ms() >= deadline && !res->timed_out) {
			res->timed_out = true;
			stop(pid, o->own_group);
		}
		usleep(2000);
	}
	pid = -1;
	if (rc)
		goto out;
	if (control_text_take(&tout, &res->out, &res->out_len) < 0 ||
	    control_text_take(&terr, &res->err, &res->err_len) < 0) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	if (res->timed_out) {
		res->exit_status = -1;
		snprintf(res->signal, sizeof res->signal, "KILL");
		rc = err_set(err, errlen, SB_ETIMEOUT, "command timed out after %d ms",
			     o->timeout_ms);
		goto out;
	}
	if (status != -1 && WIFEXITED(status)) {
		res->exit_status = WEXITSTATUS(status);
	} else if (status != -1 && WIFSIGNALED(status)) {
		res->exit_status = -1;
		const char *name = sigabbrev_np(WTERMSIG(status));
		snprintf(res->signal, sizeof res->signal, "%s", name ? name : "?");
	}
out:
	control_text_free(&tout);
	control_text_free(&terr);
	if (pid > 0) {
		stop(pid, o->own_group);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return rc;
}

static int local_exec(struct control *c, const char *cmd, const struct control_exec_opts *o,
		      struct control_result *res, char *err, size_t errlen)
{
	char *const argv[] = {"sh", "-c", (char *)cmd, NULL};
	struct control_spawn_opts so = {
		.file = "/bin/sh",
		.timeout_ms = o->timeout_ms,
		.own_group = true,
		.max_out = o->max_output,
		.max_err = o->max_output,
	};
	int rc = control_local_spawn(argv, &so, res, err, errlen);
	if (rc == SB_ETIMEOUT)
		c->failure = CONTROL_FAIL_TIMEOUT;
	else if (rc < 0)
		c->failure = CONTROL_FAIL_LOCAL;
	else
		c->failure = CONTROL_FAIL_NONE;
	return rc;
}

static int local_put(struct control *c, const void *data, size_t len, const char *remote_path,
		     int mode, int timeout_ms, char *err, size_t errlen)
{
	char *tmp = control_upload_tmp(remote_path);
	if (!tmp) {
		c->failure = CONTROL_FAIL_LOCAL;
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	int rc = file_replace_via(remote_path, tmp, data, len, mode, err, errlen);
	free(tmp);
	if (rc)
		c->failure = CONTROL_FAIL_LOCAL;
	return rc;
}

static int local_get(struct control *c, const char *remote_path, size_t max, void **data,
		     size_t *len, int timeout_ms, char *err, size_t errlen)
{
	char *buf = NULL;
	int rc = file_read_all(remote_path, max, &buf, len, NULL, err, errlen);
	if (rc)
		c->failure = CONTROL_FAIL_LOCAL;
	else
		*data = buf;
	return rc;
}

static void local_disconnect(struct control *c)
{
}

static void local_destroy(struct control *c)
{
}

const struct control_ops control_local_ops = {
	.name = "local",
	.connect = local_connect,
	.exec = local_exec,
	.put = local_put,
	.get = local_get,
	.disconnect = local_disconnect,
	.destroy = local_destroy,
};
