/* lab — see lab.h. The pure parts (names, subnets) come first, then the commands that
 * create and remove kernel objects, each run as a child process (ip, iptables, ssh-keygen,
 * sshd) with its output captured for messages. */
#include "harness/lab/lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/control/control.h"
#include "harness/control/impl.h"
#include "harness/control/nodes.h"
#include "harness/db/db.h"
#include "harness/store/store.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/hash.h"

#define PATHLEN CONTROL_PATH_MAX

/* Paths inside the lab dir are built with snprintf into PATHLEN buffers; lab_dir_resolve
 * keeps the dir at most PATHLEN - 64 bytes, which leaves room for every name used here, so
 * gcc's truncation warnings (which cannot see that bound) are silenced for this file. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- pure: directory, names, subnets ---- */

/* The canonical form of the absolute path `abs` into out: realpath() of its longest prefix
 * that exists, then the remaining components with "." dropped and ".." taking back the one
 * before it. So "/tmp//lab", "/tmp/lab/.", "/tmp/x/../lab" and a symlink to /tmp/lab all give
 * "/tmp/lab", also before the directory exists. -1 when it does not fit. */
static int canon_path(const char *abs, char *out, size_t len)
{
	char copy[PATHLEN], prefix[PATHLEN];
	const char *parts[PATHLEN / 2];
	size_t np = 0;
	char *save = NULL;
	if (snprintf(copy, sizeof copy, "%s", abs) >= (int)sizeof copy)
		return -1;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		parts[np++] = t;
	for (size_t k = np + 1; k-- > 0;) {
		size_t o = 0;
		prefix[o++] = '/';
		prefix[o] = '\0';
		for (size_t j = 0; j < k; j++)
			o += (size_t)snprintf(prefix + o, sizeof prefix - o, "%s%s", j ? "/" : "",
					      parts[j]);
		char *r = realpath(prefix, NULL);
		if (!r)
			continue;
		int n = snprintf(out, len, "%s", r);
		free(r);
		if (n < 0 || (size_t)n >= len)
			return -1;
		for (size_t j = k; j < np; j++) {
			if (!strcmp(parts[j], "."))
				continue;
			char *slash = strrchr(out, '/');
			if (!strcmp(parts[j], "..")) {
				slash[slash == out ? 1 : 0] = '\0';
				continue;
			}
			size_t l = strlen(out);
			n = snprintf(out + l, len - l, "%s%s", l > 1 ? "/" : "", parts[j]);
			if (n < 0 || (size_t)n >= len - l)
				return -1;
		}
		return 0;
	}
	return -1;
}

int lab_dir_resolve(const char *opt, char *buf, size_t len, char *err, size_t errlen)
{
	const char *d = opt && opt[0] ? opt : getenv("SPLITBRAIN_LAB_DIR");
	if (!d || !d[0])
		d = "lab";
	char abs[PATHLEN];
	int n;
	if (d[0] == '/') {
		n = snprintf(abs, sizeof abs, "%s", d);
	} else {
		char cwd[PATHLEN];
		if (!getcwd(cwd, sizeof cwd))
			return err_set(err, errlen, SB_EIO, "getcwd: %s", strerror(errno));
		n = snprintf(abs, sizeof abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", d);
	}
	/* One directory, one lab: every spelling of it ("//", "/.", a symlink) gives the same
	 * path and so the same names. */
	if (n < 0 || (size_t)n >= sizeof abs || canon_path(abs, buf, len) ||
	    strlen(buf) > PATHLEN - 64)
		return err_set(err, errlen, SB_EINVAL, "lab dir %s: path too long", d);
	for (const char *q = buf; *q; q++)
		if (*q <= ' ' || *q == '"' || *q == '\'' || *q == '=' || *q == '#' || *q == '\\' ||
		    *q == 0x7f)
			return err_set(err, errlen, SB_EINVAL,
				       "lab dir %s: may not contain whitespace, quotes, '=', '#' or "
				       "backslashes (it is written into sshd and nodes files)",
				       buf);
	return 0;
}

/* The names of the lab whose hash is h (only its low 24 bits, the tag, name objects). */
static void names_fill(uint32_t h, struct lab_names *out)
{
	memset(out, 0, sizeof *out);
	out->hash = h;
	snprintf(out->tag, sizeof out->tag, "%06x", (unsigned)(h & 0xffffff));
	snprintf(out->bridge, sizeof out->bridge, "sbbr%s", out->tag);
	for (int i = 0; i < LAB_MAX_HOSTS; i++) {
		snprintf(out->ns[i], sizeof out->ns[i], "sb%sn%d", out->tag, i + 1);
		snprintf(out->veth[i], sizeof out->veth[i], "sbv%s%d", out->tag, i + 1);
		snprintf(out->peer[i], sizeof out->peer[i], "sbp%s%d", out->tag, i + 1);
	}
}

void lab_names_make(const char *absdir, struct lab_names *out)
{
	names_fill(hash_str32(absdir), out);
}

int lab_subnet_parse(const char *s, struct lab_subnet *out, char *err, size_t errlen)
{
	char ip[32];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash - s >= (long)sizeof ip)
		return err_set(err, errlen, SB_EINVAL, "subnet '%s': expected a.b.c.d/prefix",
			       s ? s : "");
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return err_set(err, errlen, SB_EINVAL, "subnet '%s': '%s' is not an IPv4 address", s,
			       ip);
	char *end = NULL;
	errno = 0;
	long p = strtol(slash + 1, &end, 10);
	if (errno || !slash[1] || *end || p < 16 || p > 27)
		return err_set(err, errlen, SB_EINVAL,
			       "subnet '%s': prefix must be 16..27 (room for the bridge and 9 hosts)",
			       s);
	uint32_t net = ntohl(a.s_addr);
	uint32_t mask = 0xffffffffu << (32 - p);
	if (net & ~mask)
		return err_set(err, errlen, SB_EINVAL, "subnet '%s': host bits are set (try %u.%u.%u.%u/%ld)",
			       s, (net & mask) >> 24, ((net & mask) >> 16) & 255,
			       ((net & mask) >> 8) & 255, (net & mask) & 255, p);
	out->net = net;
	out->prefix = (int)p;
	return 0;
}

void lab_addr_format(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

void lab_subnet_format(struct lab_subnet s, char *buf, size_t len)
{
	char a[20];
	lab_addr_format(s.net, a, sizeof a);
	snprintf(buf, len, "%s/%d", a, s.prefix);
}

int lab_subnet_overlaps(struct lab_subnet a, const struct lab_subnet *used, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int p = a.prefix < used[i].prefix ? a.prefix : used[i].prefix;
		uint32_t mask = p ? 0xffffffffu << (32 - p) : 0;
		if ((a.net & mask) == (used[i].net & mask))
			return 1;
	}
	return 0;
}

int lab_subnet_pick(uint32_t hash, const struct lab_subnet *used, size_t n,
		    struct lab_subnet *out)
{
	/* 10.64.0.0/10 holds 16384 /24s; start where the hash says and walk. */
	uint32_t start = (hash ^ (hash >> 14)) & 16383;
	for (uint32_t k = 0; k < 16384; k++) {
		uint32_t idx = (start + k * 7919u) & 16383; /* a stride coprime to 2^14 */
		struct lab_subnet s = {.net = (10u << 24) | (64u << 16) | (idx << 8), .prefix = 24};
		if (!lab_subnet_overlaps(s, used, n)) {
			*out = s;
			return 0;
		}
	}
	return SB_EIO;
}

uint32_t lab_addr(struct lab_subnet s, int i)
{
	return s.net + (i == 0 ? 1u : 10u + (uint32_t)i);
}

/* ---- running commands ---- */

/* Run argv (no shell, no time limit), capturing stdout (into *out if out != NULL, caller
 * frees) and stderr. Non-zero exit: SB_EIO with "CMD: exit N: first line of stderr". */
static int run(char *const argv[], char **out, char *err, size_t errlen)
{
	struct control_result res = {0};
	struct control_spawn_opts so = {.max_out = 1 << 20, .max_err = 65536};
	if (out)
		*out = NULL;
	int rc = control_local_spawn(argv, &so, &res, err, errlen);
	if (rc < 0)
		goto out;
	if (res.exit_status != 0) {
		char line[300] = "";
		const char *src = res.err_len ? res.err : res.out;
		size_t l = strcspn(src, "\n");
		snprintf(line, sizeof line, "%.*s", (int)(l > 250 ? 250 : l), src);
		char cmd[200] = "";
		size_t o = 0;
		for (int i = 0; argv[i] && o < sizeof cmd - 1; i++) {
			int k = snprintf(cmd + o, sizeof cmd - o, "%s%s", i ? " " : "", argv[i]);
			if (k < 0)
				break;
			o += (size_t)k;
		}
		if (res.exit_status > 0)
			rc = err_set(err, errlen, SB_EIO, "%s: exit %d%s%s", cmd, res.exit_status,
				     line[0] ? ": " : "", line);
		else
			rc = err_set(err, errlen, SB_EIO, "%s: killed by a signal", cmd);
		goto out;
	}
	if (out) {
		*out = res.out;
		res.out = NULL;
	}
out:
	control_result_free(&res);
	return rc;
}

#define RUN(err, errlen, ...) run((char *const[]){__VA_ARGS__, NULL}, NULL, err, errlen)

static bool link_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/sys/class/net/%s", name);
	return access(path, F_OK) == 0;
}

static bool ns_exists(const char *name)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

/* The pids of processes in a namespace (`ip netns pids`); *n gets the count. */
static int ns_pids(const char *ns, pid_t *pids, size_t max, size_t *n)
{
	*n = 0;
	char *out = NULL;
	char e[256];
	if (!ns_exists(ns))
		return 0;
	if (run((char *const[]){"ip", "netns", "pids", (char *)ns, NULL}, &out, e, sizeof e))
		return -1;
	for (char *q = out; q && *q;) {
		char *end;
		long v = strtol(q, &end, 10);
		if (end == q)
			break;
		if (v > 1 && *n < max)
			pids[(*n)++] = (pid_t)v;
		q = end;
		while (*q == '\n' || *q == ' ')
			q++;
	}
	free(out);
	return 0;
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long v = -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v > 1 ? (pid_t)v : -1;
}

static bool alive(pid_t pid)
{
	return pid > 1 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Is `pid` a member of network namespace `ns`? (Same inode as /run/netns/<ns>.) */
static bool pid_in_ns(pid_t pid, const char *ns)
{
	char a[64], b[128];
	struct stat sa, sb;
	snprintf(a, sizeof a, "/proc/%ld/ns/net", (long)pid);
	snprintf(b, sizeof b, "/run/netns/%s", ns);
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
	       sa.st_dev == sb.st_dev;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* TERM, wait up to 2 s, then KILL. */
static void stop_pids(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (int t = 0; t < 100; t++) {
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (alive(pids[i]))
				any = true;
		if (!any)
			return;
		sleep_ms(20);
	}
	for (size_t i = 0; i < n; i++)
		if (alive(pids[i]))
			kill(pids[i], SIGKILL);
	for (int t = 0; t < 100; t++) {
		bool any = false;
		for (size_t i = 0; i < n; i++)
			if (alive(pids[i]))
				any = true;
		if (!any)
			return;
		sleep_ms(20);
	}
}

/* Does a TCP connection to addr:22 get an SSH banner within ms? */
static bool ssh_answers(uint32_t addr, int ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(22),
				 .sin_addr.s_addr = htonl(addr)};
	bool ok = false;
	long long deadline = clock_mono_ms() + ms;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
		goto out;
	char buf[8];
	size_t got = 0;
	while (got < 4) {
		long long left = deadline - clock_mono_ms();
		if (left <= 0)
			goto out;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(fd, buf + got, 4 - got);
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			goto out;
		}
		got += (size_t)r;
	}
	ok = !memcmp(buf, "SSH-", 4);
out:
	close(fd);
	return ok;
}

/* ---- state file ---- */

struct lab_state {
	char dir[PATHLEN];
	struct lab_names names;
	struct lab_subnet subnet;
	int n;
	/* Read from a state file: where and in which directory (device, inode) it was made. */
	char made_in[PATHLEN];
	bool have_ident;
	unsigned long long dev, ino;
};

static int path_in(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int state_write(const struct lab_state *s, char *err, size_t errlen)
{
	char path[PATHLEN], tmp[PATHLEN + 8], sub[40];
	struct stat st;
	path_in(path, sizeof path, s->dir, "state");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	lab_subnet_format(s->subnet, sub, sizeof sub);
	if (stat(s->dir, &st) < 0)
		return err_set(err, errlen, SB_EIO, "stat %s: %s", s->dir, strerror(errno));
	FILE *f = fopen(tmp, "we");
	if (!f)
		return err_set(err, errlen, SB_EIO, "create %s: %s", tmp, strerror(errno));
	fprintf(f, "# splitbrain lab state: what 'lab up' made; read by 'lab down'\n");
	fprintf(f, "tag %s\nsubnet %s\nhosts %d\nbridge %s\n", s->names.tag, sub, s->n,
		s->names.bridge);
	/* The directory it was made in, by path and identity: a copy of the directory (whose
	 * state names the original's lab) is told apart from this one, moved. */
	fprintf(f, "dir %s\nident %llu:%llu\n", s->dir, (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino);
	for (int i = 0; i < s->n; i++) {
		char a[20];
		lab_addr_format(lab_addr(s->subnet, i + 1), a, sizeof a);
		fprintf(f, "host n%d %s %s %s\n", i + 1, s->names.ns[i], s->names.veth[i], a);
	}
	int bad = fflush(f) || ferror(f);
	if (fclose(f) || bad || rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* Read <dir>/state. s->names are those of the lab it records (its tag), which differ from
 * the directory's own when the state was made under another path (see state_is_ours).
 * SB_EINVAL if absent (nothing recorded), SB_EIO if unreadable. */
static int state_read(const char *dir, struct lab_state *s, char *err, size_t errlen)
{
	char path[PATHLEN];
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	lab_names_make(dir, &s->names);
	path_in(path, sizeof path, dir, "state");
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? SB_EINVAL
				       : err_set(err, errlen, SB_EIO, "open %s: %s", path,
						 strerror(errno));
	char line[PATHLEN + 64];
	int lineno = 0, rc = 0;
	bool have_subnet = false;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		char k[32], v[PATHLEN];
		if (line[0] == '#' || !line[0])
			continue;
		if (sscanf(line, "%31s %1023s", k, v) != 2)
			continue;
		if (!strcmp(k, "subnet")) {
			if (lab_subnet_parse(v, &s->subnet, err, errlen)) {
				rc = SB_EIO;
				err_prefix(err, errlen, "%s:%d", path, lineno);
				break;
			}
			have_subnet = true;
		} else if (!strcmp(k, "hosts")) {
			s->n = atoi(v);
		} else if (!strcmp(k, "tag")) {
			char *end = NULL;
			unsigned long t = strtoul(v, &end, 16);
			if (strlen(v) != 6 || *end) {
				rc = err_set(err, errlen, SB_EIO, "%s:%d: bad tag '%s'", path, lineno,
					     v);
				break;
			}
			names_fill((uint32_t)t, &s->names);
		} else if (!strcmp(k, "dir")) {
			snprintf(s->made_in, sizeof s->made_in, "%s", v);
		} else if (!strcmp(k, "ident")) {
			s->have_ident = sscanf(v, "%llu:%llu", &s->dev, &s->ino) == 2;
		}
	}
	fclose(f);
	if (!rc && (!have_subnet || s->n < LAB_MIN_HOSTS || s->n > LAB_MAX_HOSTS))
		rc = err_set(err, errlen, SB_EIO, "%s: incomplete lab state", path);
	return rc;
}

/* Is the lab a state records this directory's lab? Yes when its tag is the directory's, or
 * when it records this very directory's identity (the directory was moved, or the lab was
 * made under another spelling of its path by a version that did not resolve it), or when it
 * is an older state without an identity. No for a copy of a lab directory: its state names
 * the original's lab, which only the original may take down. */
static bool state_is_ours(const struct lab_state *s, const char *dir)
{
	struct lab_names own;
	lab_names_make(dir, &own);
	if (!strcmp(own.tag, s->names.tag) || !s->have_ident)
		return true;
	struct stat st;
	return stat(dir, &st) == 0 && (unsigned long long)st.st_dev == s->dev &&
	       (unsigned long long)st.st_ino == s->ino;
}

/* ---- up / down / status ---- */

static void logf_(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(FILE *log, const char *fmt, ...)
{
	if (!log)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fflush(log);
}

static int need_root(const char *what, char *err, size_t errlen)
{
	if (geteuid() == 0)
		return 0;
	return err_set(err, errlen, SB_EIO,
		       "lab %s needs root: it creates network namespaces, a bridge and veth pairs "
		       "and starts sshd in them (CAP_NET_ADMIN and CAP_SYS_ADMIN); run it with sudo",
		       what);
}

/* Subnets in use on this machine: every IPv4 address and route in the root namespace. */
static int used_subnets(struct lab_subnet *used, size_t max, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	char *outs[2] = {NULL, NULL};
	int rc = run((char *const[]){"ip", "-4", "-o", "addr", "show", NULL}, &outs[0], err, errlen);
	if (!rc)
		rc = run((char *const[]){"ip", "-4", "route", "show", "table", "all", NULL}, &outs[1],
			 err, errlen);
	for (int k = 0; k < 2 && !rc; k++) {
		/* Every token that parses as a.b.c.d/p or a bare address (a /32) counts. */
		char *save = NULL;
		for (char *t = strtok_r(outs[k], " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
			char ip[32];
			int prefix = 32;
			const char *slash = strchr(t, '/');
			size_t l = slash ? (size_t)(slash - t) : strlen(t);
			if (l >= sizeof ip)
				continue;
			memcpy(ip, t, l);
			ip[l] = '\0';
			struct in_addr a;
			if (inet_pton(AF_INET, ip, &a) != 1)
				continue;
			if (slash)
				prefix = atoi(slash + 1);
			if (prefix < 1 || prefix > 32) /* "default" routes are not tokens we see */
				continue;
			uint32_t v = ntohl(a.s_addr);
			uint32_t mask = 0xffffffffu << (32 - prefix);
			if (*n < max)
				used[(*n)++] = (struct lab_subnet){.net = v & mask, .prefix = prefix};
		}
	}
	free(outs[0]);
	free(outs[1]);
	return rc;
}

/* Is anything of this lab present (bridge, a namespace, a live sshd)? */
static bool anything_present(const char *dir, const struct lab_names *nm, int n)
{
	if (link_exists(nm->bridge))
		return true;
	for (int i = 0; i < LAB_MAX_HOSTS; i++) {
		if (ns_exists(nm->ns[i]) || link_exists(nm->veth[i]))
			return true;
		if (i < n) {
			char pidf[PATHLEN];
			snprintf(pidf, sizeof pidf, "%s/h%d/sshd.pid", dir, i + 1);
			if (alive(read_pid(pidf)) && pid_in_ns(read_pid(pidf), nm->ns[i]))
				return true;
		}
	}
	return false;
}

/* Delete a link if it exists. Deleting a namespace removes its veth pair asynchronously, so
 * the root-side end may vanish on its own at any moment: wait a little for that, and do not
 * count "not found" as a failure. */
static int del_link(const char *name, char *err, size_t errlen)
{
	for (int t = 0; t < 50 && link_exists(name); t++)
		sleep_ms(10);
	if (!link_exists(name))
		return 0;
	int rc = RUN(err, errlen, "ip", "link", "del", (char *)name);
	return rc && link_exists(name) ? rc : 0;
}

/* Remove everything of this lab (names from the directory's hash, so also leftovers of an
 * interrupted `up`). Errors are collected; the first is returned. */
static int teardown_all(const char *dir, const struct lab_names *nm, FILE *log, char *err,
			size_t errlen)
{
	int rc = 0;
	char e[512];
	for (int i = 0; i < LAB_MAX_HOSTS; i++) {
		char pidf[PATHLEN];
		snprintf(pidf, sizeof pidf, "%s/h%d/sshd.pid", dir, i + 1);
		pid_t sp = read_pid(pidf);
		/* Only a pid that is in our namespace: a stale pid file must not kill a stranger. */
		if (sp > 1 && ns_exists(nm->ns[i]) && pid_in_ns(sp, nm->ns[i])) {
			logf_(log, "  stopping sshd of n%d (pid %ld)\n", i + 1, (long)sp);
			stop_pids(&sp, 1);
		}
		unlink(pidf);
		if (ns_exists(nm->ns[i])) {
			pid_t pids[1024];
			size_t np = 0;
			for (int round = 0; round < 3; round++) {
				if (ns_pids(nm->ns[i], pids, 1024, &np) || !np)
					break;
				logf_(log, "  stopping %zu process(es) in %s\n", np, nm->ns[i]);
				stop_pids(pids, np);
			}
			logf_(log, "  deleting namespace %s\n", nm->ns[i]);
			if (RUN(e, sizeof e, "ip", "netns", "del", (char *)nm->ns[i]) && !rc)
				rc = err_set(err, errlen, SB_EIO, "%s", e);
		}
		if (del_link(nm->veth[i], e, sizeof e) && !rc)
			rc = err_set(err, errlen, SB_EIO, "%s", e);
		if (del_link(nm->peer[i], e, sizeof e) && !rc)
			rc = err_set(err, errlen, SB_EIO, "%s", e);
	}
	if (link_exists(nm->bridge)) {
		logf_(log, "  deleting bridge %s\n", nm->bridge);
		if (del_link(nm->bridge, e, sizeof e) && !rc)
			rc = err_set(err, errlen, SB_EIO, "%s", e);
	}
	char p[PATHLEN];
	path_in(p, sizeof p, dir, "state");
	unlink(p);
	path_in(p, sizeof p, dir, "nodes");
	unlink(p);
	return rc;
}

/* ---- node data: what `splitbrain db` left on the lab's hosts ---- */

/* The hosts share this machine's file system, so the nodes' directories that `splitbrain db`
 * made on them (<base dir>/<run id>/<node>/) are here, and a later lab in the same directory
 * would deploy onto them. <dir>/runs lists the run directories (<base dir>/<run id>) used on
 * this lab, one a line (lab_record_run); the lab's default one, DB_BASE_DIR_DEFAULT/lab-<tag>,
 * is always included. */
#define RUNS_FILE_MAX ((size_t)1 << 20)

/* An absolute path of at least two plain components (none empty, "." or "..", no control
 * characters) whose last one is a run id: only such a directory is ever removed from. */
static bool run_dir_ok(const char *p, size_t n)
{
	if (n < 4 || n > PATHLEN - 80 || strlen(p) != n || p[0] != '/' || p[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
	    !strcmp(p + n - 2, "/.") || (n >= 3 && !strcmp(p + n - 3, "/..")))
		return false;
	const char *last = strrchr(p, '/');
	return last > p && store_name_ok(last + 1);
}

/* Remove the entry `name` of the directory dfd and, if it is a directory, all it holds,
 * never following a symbolic link (a link is removed, not what it points to). 0 or -errno. */
static int rm_tree_at(int dfd, const char *name, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (depth > 64)
		return -ELOOP;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int r = rm_tree_at(fd, e->d_name, depth + 1);
		if (r && !rc)
			rc = r;
	}
	closedir(d);
	if (!rc && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

/* Remove <run_dir>/n1 .. n9 (the names a lab's hosts have), then run_dir itself if that left
 * it empty. Nothing else in it is touched, and run_dir must not be a symbolic link. */
static int remove_run(const char *run_dir, FILE *log, char *err, size_t errlen)
{
	char parent[PATHLEN];
	const char *slash = strrchr(run_dir, '/');
	snprintf(parent, sizeof parent, "%.*s", (int)(slash - run_dir), run_dir);
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return errno == ENOENT ? 0 : err_set(err, errlen, SB_EIO, "open %s: %s", parent,
						     strerror(errno));
	int rc = 0;
	int rfd = openat(pfd, slash + 1, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0) {
		if (errno != ENOENT)
			rc = err_set(err, errlen, SB_EIO, "open %s: %s (left alone)", run_dir,
				     strerror(errno));
		goto out;
	}
	bool logged = false;
	for (int i = 1; i <= LAB_MAX_HOSTS && !rc; i++) {
		char name[8];
		struct stat st;
		snprintf(name, sizeof name, "n%d", i);
		if (fstatat(rfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!logged)
			logf_(log, "  removing node data in %s\n", run_dir);
		logged = true;
		int r = rm_tree_at(rfd, name, 0);
		if (r)
			rc = err_set(err, errlen, SB_EIO, "remove %s/%s: %s", run_dir, name,
				     strerror(-r));
	}
	close(rfd);
	if (!rc)
		unlinkat(pfd, slash + 1, AT_REMOVEDIR); /* only if empty: anything else stays */
out:
	close(pfd);
	return rc;
}

/* Remove the node data of every run of this lab: those in <dir>/runs and the default run
 * of each of tags[0..ntags); then <dir>/runs goes. A line of runs that is not a run
 * directory is skipped with a warning, never acted on. */
static int remove_node_data(const char *dir, const char *const *tags, size_t ntags, FILE *log,
			    char *err, size_t errlen)
{
	char path[PATHLEN], run[PATHLEN];
	char *text = NULL;
	size_t len = 0;
	bool missing = false;
	path_in(path, sizeof path, dir, "runs");
	int rc = file_read_regular(path, RUNS_FILE_MAX, &text, &len, &missing, err, errlen);
	if (rc)
		return rc;
	for (size_t t = 0; t < ntags && !rc; t++) {
		snprintf(run, sizeof run, "%s/lab-%s", DB_BASE_DIR_DEFAULT, tags[t]);
		rc = remove_run(run, log, err, errlen);
	}
	int lineno = 0;
	for (size_t i = 0; !rc && i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - text - i) : len - i;
		lineno++;
		if (l && l < sizeof run) {
			memcpy(run, text + i, l);
			run[l] = '\0';
			if (run_dir_ok(run, l))
				rc = remove_run(run, log, err, errlen);
			else if (run[0] != '#')
				logf_(log, "warning: %s:%d: not a run directory, ignored\n", path,
				      lineno);
		}
		i += l + 1;
	}
	if (!rc && !missing)
		unlink(path);
	free(text);
	return rc;
}

int lab_record_run(const char *dir, const char *run_dir, char *err, size_t errlen)
{
	if (!run_dir_ok(run_dir, strlen(run_dir)))
		return err_set(err, errlen, SB_EINVAL,
			       "run directory '%s': not an absolute path of plain names ending in "
			       "a run id",
			       run_dir);
	char path[PATHLEN];
	char *text = NULL;
	size_t len = 0;
	int rc = 0;
	path_in(path, sizeof path, dir, "runs");
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	/* Serialise writers (two `db install`s at once); readers see whole lines anyway. */
	if (flock(fd, LOCK_EX) < 0) {
		rc = err_set(err, errlen, SB_EIO, "lock %s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = file_read_regular(path, RUNS_FILE_MAX, &text, &len, NULL, err, errlen)))
		goto out;
	size_t rl = strlen(run_dir);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - text - i) : len - i;
		if (l == rl && !memcmp(text + i, run_dir, rl))
			goto out; /* recorded already */
		i += l + 1;
	}
	char line[PATHLEN + 2];
	int n = snprintf(line, sizeof line, "%s%s\n", len && text[len - 1] != '\n' ? "\n" : "",
			 run_dir);
	int e = fd_write_all(fd, line, (size_t)n, NULL);
	if (e)
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(e));
out:
	free(text);
	close(fd);
	return rc;
}

int lab_dir_of_nodes(const char *nodes_path, char *dir, size_t len)
{
	char *r = realpath(nodes_path, NULL);
	if (!r)
		return 0;
	size_t n = strlen(r);
	int yes = 0;
	if (n > 6 && !strcmp(r + n - 6, "/nodes") && n - 6 < len && n < PATHLEN) {
		char state[PATHLEN + 8];
		struct stat st;
		snprintf(dir, len, "%.*s", (int)(n - 6), r);
		snprintf(state, sizeof state, "%s/state", dir);
		yes = stat(state, &st) == 0 && S_ISREG(st.st_mode);
	}
	free(r);
	return yes;
}

static int write_text(const char *path, const char *text, int mode, char *err, size_t errlen)
{
	char tmp[PATHLEN + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "create %s: %s", tmp, strerror(errno));
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int bad = w != (ssize_t)len;
	if (close(fd) < 0 || bad || rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(errno));
	}
	return 0;
}

/* Read a one-line public key file "TYPE BASE64 [comment]" into type and b64. */
static int read_pub(const char *path, char *type, size_t tl, char *b64, size_t bl, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return err_set(err, errlen, SB_EIO, "open %s: %s", path, strerror(errno));
	char line[2048];
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	char t[64], b[1500];
	if (!ok || sscanf(line, "%63s %1499s", t, b) != 2 || strlen(t) >= tl || strlen(b) >= bl)
		return err_set(err, errlen, SB_EIO, "%s: not a public key file", path);
	snprintf(type, tl, "%s", t);
	snprintf(b64, bl, "%s", b);
	return 0;
}

static int keygen(const char *path, const char *comment, FILE *log, char *err, size_t errlen)
{
	if (access(path, F_OK) == 0)
		return 0;
	logf_(log, "  generating key %s\n", path);
	return RUN(err, errlen, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
		   (char *)comment, "-f", (char *)path);
}

static int host_up(const struct lab_state *s, int i, FILE *log, char *err, size_t errlen)
{
	const struct lab_names *nm = &s->names;
	char *ns = (char *)nm->ns[i], *veth = (char *)nm->veth[i], *peer = (char *)nm->peer[i];
	char addr[20], cidr[24], br[20], hdir[PATHLEN], cfg[PATHLEN], key[PATHLEN], pidf[PATHLEN],
		logp[PATHLEN], ak[PATHLEN], comment[64];
	lab_addr_format(lab_addr(s->subnet, i + 1), addr, sizeof addr);
	snprintf(cidr, sizeof cidr, "%s/%d", addr, s->subnet.prefix);
	lab_addr_format(lab_addr(s->subnet, 0), br, sizeof br);
	snprintf(hdir, sizeof hdir, "%s/h%d", s->dir, i + 1);
	snprintf(cfg, sizeof cfg, "%s/sshd_config", hdir);
	snprintf(key, sizeof key, "%s/ssh_host_ed25519_key", hdir);
	snprintf(pidf, sizeof pidf, "%s/sshd.pid", hdir);
	snprintf(logp, sizeof logp, "%s/sshd.log", hdir);
	snprintf(ak, sizeof ak, "%s/authorized_keys", s->dir);
	snprintf(comment, sizeof comment, "splitbrain-lab-%s-n%d", nm->tag, i + 1);

	if (mkdir(hdir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errlen, SB_EIO, "mkdir %s: %s", hdir, strerror(errno));
	int rc = keygen(key, comment, log, err, errlen);
	if (rc)
		return rc;
	logf_(log, "  n%d: namespace %s, %s\n", i + 1, ns, addr);
	if ((rc = RUN(err, errlen, "ip", "netns", "add", ns)) ||
	    (rc = RUN(err, errlen, "ip", "link", "add", veth, "type", "veth", "peer", "name", peer)) ||
	    (rc = RUN(err, errlen, "ip", "link", "set", peer, "netns", ns)) ||
	    (rc = RUN(err, errlen, "ip", "link", "set", veth, "master", (char *)nm->bridge)) ||
	    (rc = RUN(err, errlen, "ip", "link", "set", veth, "up")) ||
	    (rc = RUN(err, errlen, "ip", "-n", ns, "link", "set", peer, "name", "eth0")) ||
	    (rc = RUN(err, errlen, "ip", "-n", ns, "addr", "add", cidr, "dev", "eth0")) ||
	    (rc = RUN(err, errlen, "ip", "-n", ns, "link", "set", "eth0", "up")) ||
	    (rc = RUN(err, errlen, "ip", "-n", ns, "link", "set", "lo", "up")))
		return rc;
	/* The host's own partition chain, and SSH with the controller (the bridge address)
	 * accepted before it so that no partition rule can cut the control path. */
	char *ipt[] = {"ip", "netns", "exec", ns, "iptables", "-w"};
#define IPT(...) RUN(err, errlen, ipt[0], ipt[1], ipt[2], ipt[3], ipt[4], ipt[5], __VA_ARGS__)
	if ((rc = IPT("-N", "SPLITBRAIN")) ||
	    (rc = IPT("-A", "INPUT", "-s", br, "-p", "tcp", "--dport", "22", "-j", "ACCEPT")) ||
	    (rc = IPT("-A", "INPUT", "-j", "SPLITBRAIN")) ||
	    (rc = IPT("-A", "OUTPUT", "-d", br, "-p", "tcp", "--sport", "22", "-j", "ACCEPT")) ||
	    (rc = IPT("-A", "OUTPUT", "-j", "SPLITBRAIN")))
		return rc;
#undef IPT
	char conf[4 * PATHLEN + 1024];
	snprintf(conf, sizeof conf,
		 "# sshd of lab host n%d (written by splitbrain lab up)\n"
		 "ListenAddress %s\n"
		 "Port 22\n"
		 "HostKey %s\n"
		 "PidFile %s\n"
		 "AuthorizedKeysFile %s\n"
		 "PubkeyAuthentication yes\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "PermitRootLogin prohibit-password\n"
		 "UsePAM no\n"
		 "StrictModes no\n"
		 "PrintMotd no\n"
		 "UseDNS no\n"
		 "MaxStartups 200\n"
		 "MaxSessions 100\n"
		 "Subsystem sftp internal-sftp\n"
		 /* bash reads ~/.bashrc for commands run over ssh when SHLVL < 2; a user's
		  * interactive setup must not run (and cost seconds) on every command. */
		 "SetEnv SHLVL=1\n",
		 i + 1, addr, key, pidf, ak);
	if ((rc = write_text(cfg, conf, 0600, err, errlen)))
		return rc;
	unlink(pidf);
	logf_(log, "  n%d: starting sshd\n", i + 1);
	return RUN(err, errlen, "ip", "netns", "exec", ns, "/usr/sbin/sshd", "-f", cfg, "-E", logp);
}

int lab_up(const struct lab_opts *o, char *err, size_t errlen)
{
	int rc = need_root("up", err, errlen);
	if (rc)
		return rc;
	struct lab_state s;
	memset(&s, 0, sizeof s);
	rc = lab_dir_resolve(o->dir, s.dir, sizeof s.dir, err, errlen);
	if (rc)
		return rc;
	s.n = o->n ? o->n : LAB_DEFAULT_HOSTS;
	if (s.n < LAB_MIN_HOSTS || s.n > LAB_MAX_HOSTS)
		return err_set(err, errlen, SB_EINVAL, "-n %d: a lab has 3 to 9 hosts", s.n);
	lab_names_make(s.dir, &s.names);
	FILE *log = o->log;
	int lockfd = -1;
	bool made = false;

	if (mkdir(s.dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errlen, SB_EIO, "mkdir %s: %s", s.dir, strerror(errno));
	char p[PATHLEN];
	path_in(p, sizeof p, s.dir, "lock");
	lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0)
		return err_set(err, errlen, SB_EIO, "open %s: %s", p, strerror(errno));
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		rc = err_set(err, errlen, SB_EIO, "another 'lab up' or 'lab down' is running on %s",
			     s.dir);
		goto out;
	}
	struct lab_state old;
	int have_state = state_read(s.dir, &old, err, errlen) == 0;
	bool foreign = have_state && strcmp(old.names.tag, s.names.tag);
	bool ours = !have_state || state_is_ours(&old, s.dir);
	if (foreign && anything_present(s.dir, &old.names, LAB_MAX_HOSTS)) {
		/* The state names a lab made under another path, and it runs. */
		if (ours)
			rc = err_set(err, errlen, SB_EIO,
				     "a lab is already running in %s, made as %s (bridge %s); run "
				     "'splitbrain lab down' first",
				     s.dir, old.made_in[0] ? old.made_in : "another path",
				     old.names.bridge);
		else
			rc = err_set(err, errlen, SB_EIO,
				     "the state in %s names the lab of %s (bridge %s), which is "
				     "running: this directory is a copy of that one; bring that lab "
				     "down there, or use another directory",
				     s.dir, old.made_in, old.names.bridge);
		goto out;
	}
	if (anything_present(s.dir, &s.names, LAB_MAX_HOSTS)) {
		if (have_state && !foreign) {
			rc = err_set(err, errlen, SB_EIO,
				     "a lab is already running in %s (bridge %s, %d hosts); run "
				     "'splitbrain lab down' first",
				     s.dir, s.names.bridge, old.n);
			goto out;
		}
		logf_(log, "removing leftovers of an interrupted lab in %s\n", s.dir);
		if ((rc = teardown_all(s.dir, &s.names, log, err, errlen)))
			goto out;
	}
	/* Node data an earlier lab here left behind must not meet this lab's nodes. */
	const char *tags[] = {s.names.tag, old.names.tag};
	if ((rc = remove_node_data(s.dir, tags, foreign && ours ? 2 : 1, log, err, errlen))) {
		err_prefix(err, errlen, "removing the node data of an earlier lab");
		goto out;
	}
	/* Tools first, so that a missing one fails before anything is made. */
	const char *tools[] = {"/usr/sbin/sshd", NULL};
	for (int i = 0; tools[i]; i++)
		if (access(tools[i], X_OK) < 0) {
			rc = err_set(err, errlen, SB_EIO, "%s not found (apt-get install openssh-server)",
				     tools[i]);
			goto out;
		}
	struct lab_subnet used[512];
	size_t nused = 0;
	if ((rc = used_subnets(used, 512, &nused, err, errlen))) {
		err_prefix(err, errlen, "listing addresses in use");
		goto out;
	}
	if (o->subnet) {
		if ((rc = lab_subnet_parse(o->subnet, &s.subnet, err, errlen)))
			goto out;
		if (lab_subnet_overlaps(s.subnet, used, nused)) {
			rc = err_set(err, errlen, SB_EINVAL,
				     "subnet %s overlaps an address or route already on this machine",
				     o->subnet);
			goto out;
		}
	} else if (lab_subnet_pick(s.names.hash, used, nused, &s.subnet)) {
		rc = err_set(err, errlen, SB_EIO, "no free /24 in 10.64.0.0/10; use --subnet");
		goto out;
	}
	char sub[40], br[20];
	lab_subnet_format(s.subnet, sub, sizeof sub);
	lab_addr_format(lab_addr(s.subnet, 0), br, sizeof br);
	logf_(log, "lab up: %d hosts in %s, subnet %s, bridge %s (%s)\n", s.n, s.dir, sub,
	      s.names.bridge, br);

	/* Keys. */
	char idk[PATHLEN], idpub[PATHLEN + 8], ak[PATHLEN];
	path_in(idk, sizeof idk, s.dir, "id_ed25519");
	snprintf(idpub, sizeof idpub, "%s.pub", idk);
	path_in(ak, sizeof ak, s.dir, "authorized_keys");
	char comment[64];
	snprintf(comment, sizeof comment, "splitbrain-lab-%s", s.names.tag);
	if ((rc = keygen(idk, comment, log, err, errlen)))
		goto out;
	char t[64], b64[1600], line[1800];
	if ((rc = read_pub(idpub, t, sizeof t, b64, sizeof b64, err, errlen)))
		goto out;
	snprintf(line, sizeof line, "%s %s %s\n", t, b64, comment);
	if ((rc = write_text(ak, line, 0600, err, errlen)))
		goto out;

	if (mkdir("/run/sshd", 0755) < 0 && errno != EEXIST) {
		rc = err_set(err, errlen, SB_EIO, "mkdir /run/sshd: %s", strerror(errno));
		goto out;
	}
	/* From here on, failures undo everything. */
	if ((rc = state_write(&s, err, errlen)))
		goto out;
	made = true;
	char brcidr[32];
	snprintf(brcidr, sizeof brcidr, "%s/%d", br, s.subnet.prefix);
	char *brn = s.names.bridge;
	if ((rc = RUN(err, errlen, "ip", "link", "add", brn, "type", "bridge")) ||
	    (rc = RUN(err, errlen, "ip", "addr", "add", brcidr, "dev", brn)) ||
	    (rc = RUN(err, errlen, "ip", "link", "set", brn, "up")))
		goto out;
	for (int i = 0; i < s.n; i++) {
		if (o->interrupted && *o->interrupted) {
			rc = err_set(err, errlen, SB_EIO, "interrupted");
			goto out;
		}
		if ((rc = host_up(&s, i, log, err, errlen))) {
			if (o->interrupted && *o->interrupted)
				rc = err_set(err, errlen, SB_EIO, "interrupted");
			err_prefix(err, errlen, "host n%d", i + 1);
			goto out;
		}
	}

	/* known_hosts and the nodes file. */
	struct control_host hosts[LAB_MAX_HOSTS];
	char kh[PATHLEN], khtext[LAB_MAX_HOSTS * 200 + 64] = "";
	path_in(kh, sizeof kh, s.dir, "known_hosts");
	for (int i = 0; i < s.n; i++) {
		char pub[PATHLEN], a[20];
		snprintf(pub, sizeof pub, "%s/h%d/ssh_host_ed25519_key.pub", s.dir, i + 1);
		if ((rc = read_pub(pub, t, sizeof t, b64, sizeof b64, err, errlen)))
			goto out;
		lab_addr_format(lab_addr(s.subnet, i + 1), a, sizeof a);
		size_t l = strlen(khtext);
		snprintf(khtext + l, sizeof khtext - l, "%s %s %s\n", a, t, b64);
		control_host_defaults(&hosts[i]);
		snprintf(hosts[i].name, sizeof hosts[i].name, "n%d", i + 1);
		snprintf(hosts[i].address, sizeof hosts[i].address, "%s", a);
		snprintf(hosts[i].key_file, sizeof hosts[i].key_file, "%s", idk);
		snprintf(hosts[i].known_hosts, sizeof hosts[i].known_hosts, "%s", kh);
	}
	if ((rc = write_text(kh, khtext, 0644, err, errlen)))
		goto out;
	struct nodes nn = {.hosts = hosts, .n = (size_t)s.n};
	path_in(p, sizeof p, s.dir, "nodes");
	if ((rc = nodes_write(&nn, p, err, errlen)))
		goto out;

	/* Wait until every sshd answers with its banner. */
	long long deadline = clock_mono_ms() + 10000;
	for (int i = 0; i < s.n; i++) {
		while (!ssh_answers(lab_addr(s.subnet, i + 1), 500)) {
			if (o->interrupted && *o->interrupted) {
				rc = err_set(err, errlen, SB_EIO, "interrupted");
				goto out;
			}
			if (clock_mono_ms() > deadline) {
				char hl[PATHLEN];
				snprintf(hl, sizeof hl, "%s/h%d/sshd.log", s.dir, i + 1);
				rc = err_set(err, errlen, SB_EIO,
					     "host n%d: sshd does not answer on port 22 after 10 s "
					     "(see %s)",
					     i + 1, hl);
				goto out;
			}
			sleep_ms(20);
		}
	}
	logf_(log, "lab up: ready; nodes file %s (use --nodes lab or nodes: lab)\n", p);
out:
	if (rc && made) {
		char e2[512];
		logf_(log, "lab up failed; removing what was made\n");
		teardown_all(s.dir, &s.names, log, e2, sizeof e2);
	}
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

int lab_down(const struct lab_opts *o, char *err, size_t errlen)
{
	int rc = need_root("down", err, errlen);
	if (rc)
		return rc;
	char dir[PATHLEN];
	if ((rc = lab_dir_resolve(o->dir, dir, sizeof dir, err, errlen)))
		return rc;
	struct lab_names nm;
	lab_names_make(dir, &nm);
	char p[PATHLEN];
	path_in(p, sizeof p, dir, "lock");
	int lockfd = open(p, O_RDWR | O_CLOEXEC);
	if (lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		close(lockfd);
		return err_set(err, errlen, SB_EIO, "another 'lab up' or 'lab down' is running on %s",
			       dir);
	}
	struct lab_state s;
	int st = state_read(dir, &s, err, errlen);
	if (st == SB_EIO) {
		/* Unreadable state: the names are still ours, so remove by name. */
		if (o->log)
			fprintf(o->log, "warning: %s; removing by name\n", err);
	}
	/* The state may name a lab made under another path: this directory's, moved (taken
	 * down here), or the original of a copy (refused: only the original may). */
	bool foreign = st == 0 && strcmp(s.names.tag, nm.tag);
	if (foreign && !state_is_ours(&s, dir)) {
		rc = err_set(err, errlen, SB_EIO,
			     "the state in %s names the lab of %s (bridge %s): this directory is a "
			     "copy of that one; run 'splitbrain lab down --dir %s'",
			     dir, s.made_in, s.names.bridge, s.made_in);
		goto out;
	}
	const char *tags[] = {nm.tag, s.names.tag};
	size_t ntags = foreign ? 2 : 1;
	bool present = anything_present(dir, &nm, LAB_MAX_HOSTS) ||
		       (foreign && anything_present(dir, &s.names, LAB_MAX_HOSTS));
	if (st != 0 && !present) {
		if (o->log)
			fprintf(o->log, "lab down: no lab running in %s\n", dir);
		path_in(p, sizeof p, dir, "state");
		unlink(p);
		rc = remove_node_data(dir, tags, 1, o->log, err, errlen);
		goto out;
	}
	if (o->log)
		fprintf(o->log, "lab down: %s (bridge %s)\n", dir, (foreign ? &s.names : &nm)->bridge);
	if (foreign)
		rc = teardown_all(dir, &s.names, o->log, err, errlen);
	if (!rc)
		rc = teardown_all(dir, &nm, o->log, err, errlen);
	if (!rc && (anything_present(dir, &nm, LAB_MAX_HOSTS) ||
		    (foreign && anything_present(dir, &s.names, LAB_MAX_HOSTS))))
		rc = err_set(err, errlen, SB_EIO, "lab down: objects of %s remain (see lab status)",
			     dir);
	/* The nodes' processes died with the namespaces: now their data can go. */
	if (!rc)
		rc = remove_node_data(dir, tags, ntags, o->log, err, errlen);
	if (!rc && o->log)
		fprintf(o->log, "lab down: done\n");
out:
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

/* Lines of `iptables -S SPLITBRAIN` in the namespace other than the chain itself. */
static int chain_rules(const char *ns)
{
	char *out = NULL, e[256];
	if (run((char *const[]){"ip", "netns", "exec", (char *)ns, "iptables", "-w", "-S",
				"SPLITBRAIN", NULL},
		&out, e, sizeof e))
		return -1;
	int n = 0;
	for (char *q = out; q && *q;) {
		if (strncmp(q, "-N ", 3))
			n++;
		char *nl = strchr(q, '\n');
		q = nl ? nl + 1 : NULL;
	}
	free(out);
	return n;
}

int lab_status(const struct lab_opts *o, FILE *out, char *err, size_t errlen)
{
	int rc = need_root("status", err, errlen);
	if (rc)
		return rc;
	char dir[PATHLEN];
	if ((rc = lab_dir_resolve(o->dir, dir, sizeof dir, err, errlen)))
		return rc;
	struct lab_state s;
	int st = state_read(dir, &s, err, errlen);
	if (st) {
		struct lab_names nm;
		lab_names_make(dir, &nm);
		if (anything_present(dir, &nm, LAB_MAX_HOSTS)) {
			fprintf(out, "lab %s: no state, but leftovers exist:", dir);
			if (link_exists(nm.bridge))
				fprintf(out, " bridge %s", nm.bridge);
			for (int i = 0; i < LAB_MAX_HOSTS; i++) {
				if (ns_exists(nm.ns[i]))
					fprintf(out, " namespace %s", nm.ns[i]);
				if (link_exists(nm.veth[i]))
					fprintf(out, " veth %s", nm.veth[i]);
			}
			fprintf(out, "\nrun 'splitbrain lab down' to remove them\n");
			return err_set(err, errlen, SB_EIO, "lab %s: leftovers without state", dir);
		}
		fprintf(out, "lab %s: not running\n", dir);
		return st == SB_EIO ? SB_EIO
				    : err_set(err, errlen, SB_EIO, "lab %s: not running", dir);
	}
	if (!state_is_ours(&s, dir)) {
		fprintf(out, "lab %s: a copy of %s, whose lab (bridge %s) its state names\n", dir,
			s.made_in, s.names.bridge);
		return err_set(err, errlen, SB_EIO,
			       "lab %s: the state names the lab of %s; see 'splitbrain lab status "
			       "--dir %s'",
			       dir, s.made_in, s.made_in);
	}
	char sub[40], br[20];
	lab_subnet_format(s.subnet, sub, sizeof sub);
	lab_addr_format(lab_addr(s.subnet, 0), br, sizeof br);
	fprintf(out, "lab %s\n  subnet %s, bridge %s (%s, %s)\n\n", dir, sub, s.names.bridge, br,
		link_exists(s.names.bridge) ? "present" : "MISSING");
	fprintf(out, "%-5s %-14s %-15s %-9s %-10s %-9s %s\n", "host", "namespace", "address",
		"ns", "sshd", "procs", "SPLITBRAIN rules");
	bool healthy = link_exists(s.names.bridge);
	for (int i = 0; i < s.n; i++) {
		char a[20], pidf[PATHLEN];
		lab_addr_format(lab_addr(s.subnet, i + 1), a, sizeof a);
		snprintf(pidf, sizeof pidf, "%s/h%d/sshd.pid", dir, i + 1);
		bool nsok = ns_exists(s.names.ns[i]);
		bool answers = nsok && ssh_answers(lab_addr(s.subnet, i + 1), 1000);
		pid_t pids[1024];
		size_t np = 0;
		if (nsok)
			ns_pids(s.names.ns[i], pids, 1024, &np);
		int rules = nsok ? chain_rules(s.names.ns[i]) : -1;
		char procs[16], rl[32];
		snprintf(procs, sizeof procs, "%zu", np);
		if (rules < 0)
			snprintf(rl, sizeof rl, "no chain");
		else
			snprintf(rl, sizeof rl, "%d", rules);
		fprintf(out, "n%-4d %-14s %-15s %-9s %-10s %-9s %s\n", i + 1, s.names.ns[i], a,
			nsok ? "present" : "MISSING", answers ? "answers" : "DOWN", procs, rl);
		if (!nsok || !answers)
			healthy = false;
	}
	/* Namespaces beyond n are leftovers of an earlier, larger lab. */
	for (int i = s.n; i < LAB_MAX_HOSTS; i++)
		if (ns_exists(s.names.ns[i]) || link_exists(s.names.veth[i])) {
			fprintf(out, "leftover: %s / %s\n", s.names.ns[i], s.names.veth[i]);
			healthy = false;
		}
	fprintf(out, "\nprocs: processes in the host's namespace (sshd included); "
		     "SPLITBRAIN rules: partition rules in force\n");
	if (!healthy)
		return err_set(err, errlen, SB_EIO, "lab %s: not healthy", dir);
	return 0;
}
