/* db_raftnode — the db vtable for raftnode (docs/node-protocol.md).
 *
 * Each node lives in its own directory on its host, <base>/<run-id>/<node>/:
 *
 *   raftnode        the binary (the control layer uploads to a temporary name and renames,
 *                   so a running node's executable is never written to)
 *   raftnode.args   the config: the command line it is started with, as a quoted
 *                   `set -- ./raftnode --id ...` line that the start command sources;
 *                   rewritten when arguments are given, reused when they are not
 *   data/           its data directory (--data)
 *   raftnode.log    its event log (--log)
 *   stdout.log      its stdout and stderr (assertion messages, sanitizer reports)
 *   pid             the pid of the running node
 *   .sbup.*         an upload in progress, or left by a killed one (removed by install)
 *
 * The lab's hosts share one process table, so a process is only ever addressed through its
 * pid file, and a pid is believed only if /proc/<pid>/exe is this directory's raftnode (a
 * recycled pid, or a zombie, is not ours). Nothing is ever signalled by name.
 *
 * Every value in a remote command goes through shquote (%q), including the node's own
 * directory, name and arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/db/db.h"
#include "harness/client/resp.h"
#include "harness/control/shquote.h"
#include "lib/err.h"

/* Shell functions shared by every command. `alive` sets $p to the node's pid and succeeds
 * only if that process runs this directory's binary; `waitgone N` waits up to N * 20 ms for
 * it to be gone. $b is the binary's canonical path, as /proc/<pid>/exe shows it. */
static const char prelude[] =
	"b=$(cd \"$d\" 2>/dev/null && pwd -P)/raftnode\n"
	"alive() {\n"
	"  p=$(cat \"$d/pid\" 2>/dev/null) || return 1\n"
	"  case $p in ''|*[!0-9]*) return 1;; esac\n"
	"  e=$(readlink \"/proc/$p/exe\" 2>/dev/null) || return 1\n"
	"  [ \"$e\" = \"$b\" ] || [ \"$e\" = \"$b (deleted)\" ]\n"
	"}\n"
	"waitgone() {\n"
	"  i=0\n"
	"  while alive; do i=$((i+1)); [ $i -gt $1 ] && return 1; sleep 0.02; done\n"
	"  return 0\n"
	"}\n";

/* Build "d=<quoted dir>\n<prelude><body>" (body is trusted text or was built with %q). */
static char *script(const struct db *db, size_t i, const char *body)
{
	char *head = shquote_fmt("d=%q\n", db->nodes[i].dir);
	if (!head)
		return NULL;
	size_t n = strlen(head) + sizeof prelude + strlen(body) + 1;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s%s", head, prelude, body);
	free(head);
	return s;
}

/* Run a script on node i; fail unless it exits 0. *out (may be NULL) gets stdout. */
static int run(struct db *db, size_t i, const char *body, char **out, char *err, size_t errlen)
{
	char *s = script(db, i, body);
	if (!s)
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	int rc = control_run(db_control(db, i), s, db->op_timeout_ms, out, err, errlen);
	free(s);
	return rc;
}

/* The node's full command line as an argv (NULL-terminated); free with free_argv. */
static char **node_argv(const struct db *db, size_t i)
{
	const struct db_node *me = &db->nodes[i];
	size_t nextra = 0;
	while (db->args && db->args[nextra])
		nextra++;
	char **av = calloc(16 + nextra, sizeof *av);
	if (!av)
		return NULL;
	size_t k = 0;
	/* --peers n1=host:port,n2=... (every node, this one included) */
	size_t plen = 1;
	for (size_t j = 0; j < db->n; j++)
		plen += strlen(db->nodes[j].name) + strlen(db->nodes[j].listen_host) + 12;
	char *peers = malloc(plen);
	char client[CONTROL_ADDR_MAX + 16], data[CONTROL_PATH_MAX + 8], log[CONTROL_PATH_MAX + 16];
	if (!peers)
		goto fail;
	size_t o = 0;
	for (size_t j = 0; j < db->n; j++) {
		const struct db_node *d = &db->nodes[j];
		const char *fmt = strchr(d->listen_host, ':') ? "%s%s=[%s]:%d" : "%s%s=%s:%d";
		o += (size_t)snprintf(peers + o, plen - o, fmt, j ? "," : "", d->name, d->listen_host,
				      d->peer_port);
	}
	snprintf(client, sizeof client, strchr(me->listen_host, ':') ? "[%s]:%d" : "%s:%d",
		 me->listen_host, me->client_port);
	snprintf(data, sizeof data, "%s/data", me->dir);
	snprintf(log, sizeof log, "%s/raftnode.log", me->dir);
	const char *fixed[] = {"./raftnode", "--id", me->name, "--peers", peers, "--client",
			       client, "--data", data, "--log", log};
	for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++)
		if (!(av[k++] = strdup(fixed[f])))
			goto fail;
	for (size_t e = 0; e < nextra; e++)
		if (!(av[k++] = strdup(db->args[e])))
			goto fail;
	free(peers);
	return av;
fail:
	free(peers);
	for (size_t f = 0; f < k; f++)
		free(av[f]);
	free(av);
	return NULL;
}

static void free_argv(char **av)
{
	for (size_t i = 0; av && av[i]; i++)
		free(av[i]);
	free(av);
}

/* Shell text that writes the node's config file, raftnode.args: a comment and one line
 * `set -- './raftnode' '--id' 'n1' ...` that the start command sources. Written to a temporary
 * name and renamed. With `only_if_missing` an existing file is kept (the opts gave no args:
 * reuse what was recorded). Caller frees. */
static char *config_block(const struct db *db, size_t i, bool only_if_missing)
{
	char **av = node_argv(db, i);
	char *words = av ? shquote_argv((const char *const *)av) : NULL;
	char *line = NULL, *block = NULL;
	free_argv(av);
	if (!words)
		return NULL;
	size_t n = strlen(words) + 8;
	if ((line = malloc(n)))
		snprintf(line, n, "set -- %s", words);
	free(words);
	if (!line)
		return NULL;
	block = shquote_fmt("%s{ printf '%%s\\n' %q; printf '%%s\\n' %q; } > \"$d/raftnode.args.tmp\" "
			    "&& mv -f -- \"$d/raftnode.args.tmp\" \"$d/raftnode.args\" || exit 3\n%s",
			    only_if_missing ? "if [ ! -f \"$d/raftnode.args\" ]; then\n" : "",
			    "# raftnode's command line (splitbrain db); sourced by its start command",
			    line, only_if_missing ? "fi\n" : "");
	free(line);
	return block;
}

static int rn_install(struct db *db, size_t i, char *err, size_t errlen)
{
	const struct db_node *me = &db->nodes[i];
	char *cfg = NULL, *body = NULL;
	char path[CONTROL_PATH_MAX + 16];
	int rc = 0;
	if (!db->binary[0])
		return err_set(err, errlen, SB_EINVAL, "node %s: install needs a binary (--binary)",
			       me->name);
	/* One command makes the directories, removes what killed uploads left (their temporary
	 * files, named by the control layer; two installs of one node at once are not supported,
	 * so none of them is a live upload) and writes the config file. */
	static const char head[] = "mkdir -p -- \"$d/data\" || exit 3\n"
				   "rm -f -- \"$d\"/" CONTROL_UPLOAD_TMP_PREFIX "* || exit 3\n";
	if (!(cfg = config_block(db, i, !db->args_given)) ||
	    !(body = malloc(sizeof head + strlen(cfg)))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(body, "%s%s", head, cfg);
	if ((rc = run(db, i, body, NULL, err, errlen)))
		goto out;
	/* Both control backends write a temporary file and rename it into place, so a running
	 * node's binary is replaced, never written to (no ETXTBSY, no half-written binary). */
	snprintf(path, sizeof path, "%s/raftnode", me->dir);
	rc = control_upload(db_control(db, i), db->binary, path, 0755, err, errlen);
out:
	free(cfg);
	free(body);
	if (rc)
		err_prefix(err, errlen, "node %s: install", me->name);
	return rc;
}

/* db_opts.faketime: run the node under libfaketime so that the clock fault can skew its wall
 * clock while it runs. The preload and its settings go to the node alone (through env(1)), not
 * to this script's own commands. The node reads faketime.rc on every wall-clock read
 * (FAKETIME_NO_CACHE; about 5 us a read, and raftnode reads the wall clock only to stamp log
 * lines); its monotonic clock is left real (FAKETIME_DONT_FAKE_MONOTONIC), as an NTP step
 * never moves CLOCK_MONOTONIC either. A missing faketime.rc is created neutral; an existing
 * one is kept, so a node restarted during a clock fault stays skewed, like its host's clock
 * would. ASan must otherwise be the first library loaded: verify_asan_link_order=0 lets a
 * sanitizer build run preloaded. The block prefixes the node's command line ("$@", from
 * raftnode.args) with env(1) and the settings; env execs the node, so the pid file still
 * names raftnode itself. */
static const char faketime_block[] =
	"ft=\n"
	"for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \\\n"
	"         /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \\\n"
	"         /usr/local/lib/faketime/libfaketimeMT.so.1; do\n"
	"  [ -f \"$f\" ] && { ft=$f; break; }\n"
	"done\n"
	"[ -n \"$ft\" ] || { echo 'libfaketime is not installed on this host (Debian: apt-get "
	"install faketime); the clock fault needs it' >&2; exit 3; }\n"
	"[ -f faketime.rc ] || { echo '+0 x1' > faketime.rc.tmp && mv -f faketime.rc.tmp faketime.rc; } "
	"|| exit 3\n"
	"set -- env \"LD_PRELOAD=$ft\" \"FAKETIME_TIMESTAMP_FILE=$d/faketime.rc\" FAKETIME_NO_CACHE=1 \\\n"
	"  FAKETIME_DONT_FAKE_MONOTONIC=1 \"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
	"verify_asan_link_order=0\" \"$@\"\n";

static int rn_start(struct db *db, size_t i, char *err, size_t errlen)
{
	char *cfg = config_block(db, i, !db->args_given);
	char *body = NULL;
	int rc = 0;
	if (!cfg) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	static const char fmt[] =
		"[ -x \"$d/raftnode\" ] || { echo \"not installed: $d/raftnode missing\" >&2; exit 3; }\n"
		"if alive; then echo \"running pid=$p\"; exit 0; fi\n"
		"cd \"$d\" || exit 3\n"
		"%s"
		". ./raftnode.args || exit 3\n"
		"%s"
		"rm -f pid\n"
		"setsid \"$@\" >>stdout.log 2>&1 </dev/null &\n"
		"q=$!\n"
		"echo $q > pid.tmp && mv -f pid.tmp pid || exit 3\n"
		/* Wait until the child has exec'd raftnode (pid file trustworthy) or died. */
		"i=0\n"
		"while :; do\n"
		"  e=$(readlink \"/proc/$q/exe\" 2>/dev/null)\n"
		"  [ \"$e\" = \"$b\" ] && break\n"
		"  i=$((i+1))\n"
		"  if [ $i -gt 250 ] || ! kill -0 $q 2>/dev/null || [ -z \"$e\" ]; then\n"
		"    sleep 0.05\n"
		"    e=$(readlink \"/proc/$q/exe\" 2>/dev/null)\n"
		"    [ \"$e\" = \"$b\" ] && break\n"
		"    rm -f pid\n"
		"    echo \"exited at once: $(tail -n 3 stdout.log | tr '\\n' ' ')\" >&2\n"
		"    exit 4\n"
		"  fi\n"
		"  sleep 0.02\n"
		"done\n"
		"echo \"started pid=$q\"\n";
	const char *pre = db->faketime ? faketime_block : "";
	size_t n = sizeof fmt + strlen(cfg) + strlen(pre);
	if (!(body = malloc(n))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(body, n, fmt, cfg, pre);
	rc = run(db, i, body, NULL, err, errlen);
out:
	free(body);
	free(cfg);
	if (rc)
		err_prefix(err, errlen, "node %s: start", db->nodes[i].name);
	return rc;
}

static int rn_signal_op(struct db *db, size_t i, const char *body, const char *what, char *err,
			size_t errlen)
{
	int rc = run(db, i, body, NULL, err, errlen);
	if (rc)
		err_prefix(err, errlen, "node %s: %s", db->nodes[i].name, what);
	return rc;
}

static const char kill_body[] =
	"if alive; then\n"
	"  kill -KILL \"$p\" 2>/dev/null\n"
	"  waitgone 250 || { echo \"pid $p still alive after SIGKILL\" >&2; exit 4; }\n"
	"fi\n"
	"rm -f -- \"$d/pid\"\n";

static int rn_kill(struct db *db, size_t i, char *err, size_t errlen)
{
	return rn_signal_op(db, i, kill_body, "kill", err, errlen);
}

static int rn_stop(struct db *db, size_t i, char *err, size_t errlen)
{
	static const char body[] =
		"if alive; then\n"
		"  kill -TERM \"$p\" 2>/dev/null; kill -CONT \"$p\" 2>/dev/null\n"
		"  if ! waitgone 250; then\n"
		"    kill -KILL \"$p\" 2>/dev/null\n"
		"    waitgone 250 || { echo \"pid $p still alive after SIGKILL\" >&2; exit 4; }\n"
		"  fi\n"
		"fi\n"
		"rm -f -- \"$d/pid\"\n";
	return rn_signal_op(db, i, body, "stop", err, errlen);
}

static int rn_pause(struct db *db, size_t i, char *err, size_t errlen)
{
	return rn_signal_op(db, i,
			    "alive || { echo 'not running' >&2; exit 3; }\n"
			    "kill -STOP \"$p\"\n",
			    "pause", err, errlen);
}

static int rn_resume(struct db *db, size_t i, char *err, size_t errlen)
{
	return rn_signal_op(db, i,
			    "alive || { echo 'not running' >&2; exit 3; }\n"
			    "kill -CONT \"$p\"\n",
			    "resume", err, errlen);
}

static int rn_wipe(struct db *db, size_t i, char *err, size_t errlen)
{
	char body[sizeof kill_body + 256];
	snprintf(body, sizeof body,
		 "%s"
		 "rm -rf -- \"$d\" || exit 4\n"
		 /* The run's directory goes too once its last node is gone. */
		 "rmdir -- \"${d%%/*}\" 2>/dev/null\n"
		 "exit 0\n",
		 kill_body);
	return rn_signal_op(db, i, body, "wipe", err, errlen);
}

static int rn_ping(struct db *db, size_t i, int timeout_ms, char *err, size_t errlen)
{
	char addr[CONTROL_ADDR_MAX + 16];
	db_client_addr(db, i, addr, sizeof addr);
	struct resp_client *c = NULL;
	struct resp_value *v = NULL;
	int rc = resp_client_connect_addr(&c, addr, timeout_ms, err, errlen);
	if (rc)
		return rc;
	const char *argv[] = {"PING"};
	rc = resp_client_command(c, 1, argv, NULL, &v, err, errlen);
	if (!rc && (v->type != RESP_SIMPLE || strcmp(v->str, "PONG") != 0))
		rc = err_set(err, errlen, SB_EIO, "%s: PING answered %s '%s'", addr,
			     resp_type_name(v->type), v->str ? v->str : "");
	resp_value_free(v);
	resp_client_close(c);
	return rc;
}

/* The first of `names` present in the INFO text. */
static int info_any(const char *info, size_t len, const char *const *names, char *out,
		    size_t outlen)
{
	for (size_t k = 0; names[k]; k++)
		if (resp_info_field(info, len, names[k], out, outlen) == 0)
			return 0;
	return SB_EINVAL;
}

static void copy_trunc(char *dst, size_t dstlen, const char *src)
{
	size_t n = strnlen(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fill role, term, leader and commit index from raftnode's INFO text. Pure. */
static void parse_info(const char *info, size_t len, struct db_status *st)
{
	static const char *const role_k[] = {"role", "state", NULL};
	static const char *const term_k[] = {"term", "current_term", NULL};
	static const char *const leader_k[] = {"leader", "leader_id", NULL};
	static const char *const commit_k[] = {"commit_index", "commit", NULL};
	char v[256];
	if (!info_any(info, len, role_k, v, sizeof v)) {
		for (char *p = v; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		copy_trunc(st->role, sizeof st->role, v);
	}
	if (!info_any(info, len, term_k, v, sizeof v))
		st->term = strtoull(v, NULL, 10);
	if (!info_any(info, len, leader_k, v, sizeof v)) {
		/* "n1", "n1 10.0.0.1:7001", or "?"/"none"/"-" for unknown. */
		v[strcspn(v, " \t,")] = '\0';
		if (strcmp(v, "?") && strcmp(v, "none") && strcmp(v, "-") && strcmp(v, "0"))
			copy_trunc(st->leader, sizeof st->leader, v);
	}
	if (!info_any(info, len, commit_k, v, sizeof v))
		st->commit_index = strtoll(v, NULL, 10);
}

static void rn_info(struct db *db, size_t i, struct db_status *st);

static int rn_status(struct db *db, size_t i, struct db_status *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	st->commit_index = -1;
	char *out = NULL;
	int rc = run(db, i,
		     "if alive; then\n"
		     "  s=$(sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' \"/proc/$p/status\")\n"
		     "  echo \"pid=$p state=$s\"\n"
		     "else\n"
		     "  echo pid=0\n"
		     "fi\n",
		     &out, err, errlen);
	if (rc) {
		err_prefix(err, errlen, "node %s: status", db->nodes[i].name);
		return rc;
	}
	long pid = 0;
	char state = '?';
	if (sscanf(out, "pid=%ld state=%c", &pid, &state) < 1)
		pid = 0;
	free(out);
	st->pid = pid;
	st->running = pid > 0;
	st->paused = st->running && state == 'T';
	if (!st->running) {
		snprintf(st->error, sizeof st->error, "not running");
		return 0;
	}
	if (st->paused) {
		snprintf(st->error, sizeof st->error, "paused (SIGSTOP)");
		return 0;
	}
	rn_info(db, i, st);
	return 0;
}

/* INFO on the client port only (no SSH): fills up, role, term, leader, commit_index. */
static void rn_info(struct db *db, size_t i, struct db_status *st)
{
	char addr[CONTROL_ADDR_MAX + 16];
	db_client_addr(db, i, addr, sizeof addr);
	struct resp_client *c = NULL;
	struct resp_value *v = NULL;
	const char *argv[] = {"INFO"};
	st->up = false;
	if (resp_client_connect_addr(&c, addr, 1000, st->error, sizeof st->error) == 0 &&
	    resp_client_command(c, 1, argv, NULL, &v, st->error, sizeof st->error) == 0) {
		if (v->type == RESP_BULK || v->type == RESP_SIMPLE) {
			st->up = true;
			st->error[0] = '\0';
			parse_info(v->str, v->len, st);
		} else {
			snprintf(st->error, sizeof st->error, "INFO answered %s '%.200s'",
				 resp_type_name(v->type), v->str ? v->str : "");
		}
	}
	resp_value_free(v);
	resp_client_close(c);
}

/* DEBUG DIGEST on the client port only (no SSH): "<applied index> <digest>" (docs/
 * node-protocol.md). Available without --fault-injection. */
static int rn_digest(struct db *db, size_t i, uint64_t *applied, char *digest, size_t digestlen,
		     char *err, size_t errlen)
{
	char addr[CONTROL_ADDR_MAX + 16];
	db_client_addr(db, i, addr, sizeof addr);
	struct resp_client *c = NULL;
	struct resp_value *v = NULL;
	const char *argv[] = {"DEBUG", "DIGEST"};
	int rc = resp_client_connect_addr(&c, addr, 1000, err, errlen);
	if (!rc)
		rc = resp_client_command(c, 2, argv, NULL, &v, err, errlen);
	if (rc)
		goto out;
	unsigned long long a = 0;
	char d[DB_DIGEST_MAX];
	int used = 0;
	if ((v->type != RESP_BULK && v->type != RESP_SIMPLE) || !v->str ||
	    sscanf(v->str, "%llu %63[0-9a-f]%n", &a, d, &used) != 2 || (size_t)used != v->len ||
	    strlen(d) >= digestlen) {
		rc = err_set(err, errlen, SB_EIO, "DEBUG DIGEST answered %s '%.200s'",
			     resp_type_name(v->type), v->str ? v->str : "");
		goto out;
	}
	*applied = a;
	snprintf(digest, digestlen, "%s", d);
out:
	resp_value_free(v);
	resp_client_close(c);
	if (rc)
		err_prefix(err, errlen, "node %s", db->nodes[i].name);
	return rc;
}

static const char *const log_names[] = {"raftnode.log", "stdout.log"};

static size_t rn_log_files(struct db *db, size_t i, char (*paths)[CONTROL_PATH_MAX], size_t max)
{
	size_t n = 0;
	for (size_t k = 0; k < sizeof log_names / sizeof log_names[0] && n < max; k++)
	{
		int w = snprintf(paths[n], CONTROL_PATH_MAX, "%s/%s", db->nodes[i].dir, log_names[k]);
		if (w > 0 && w < CONTROL_PATH_MAX)
			n++;
	}
	return n;
}

static int rn_collect(struct db *db, size_t i, const char *local_dir, char *err, size_t errlen)
{
	const struct db_node *me = &db->nodes[i];
	char *have = NULL, *listing = NULL;
	int rc = run(db, i,
		     "cd \"$d\" 2>/dev/null || { echo \"no directory $d\" >&2; exit 3; }\n"
		     "for f in raftnode.log stdout.log raftnode.args; do\n"
		     "  [ -f \"$f\" ] && echo \"$f\"\n"
		     "done\n"
		     "exit 0\n",
		     &have, err, errlen);
	if (rc)
		goto out;
	if ((rc = run(db, i, "cd \"$d\" && ls -lR data 2>&1; exit 0\n", &listing, err, errlen)))
		goto out;
	char path[CONTROL_PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/data-listing.txt", local_dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(listing, f) < 0 || fclose(f) != 0) {
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(errno));
		goto out;
	}
	/* Download each file that exists; names come from our own fixed list. */
	for (size_t k = 0; k < 3; k++) {
		static const char *const names[] = {"raftnode.log", "stdout.log", "raftnode.args"};
		char line[32];
		snprintf(line, sizeof line, "%s\n", names[k]);
		if (!strstr(have, line))
			continue;
		char remote[CONTROL_PATH_MAX + 16], local[CONTROL_PATH_MAX + 64];
		snprintf(remote, sizeof remote, "%s/%s", me->dir, names[k]);
		snprintf(local, sizeof local, "%s/%s", local_dir, names[k]);
		if ((rc = control_download(db_control(db, i), remote, local, err, errlen)))
			goto out;
	}
out:
	free(have);
	free(listing);
	if (rc)
		err_prefix(err, errlen, "node %s: collect", me->name);
	return rc;
}

static void rn_destroy(struct db *db)
{
}

const struct db_ops db_raftnode_ops = {
	.kind = "raftnode",
	.install = rn_install,
	.start = rn_start,
	.stop = rn_stop,
	.kill = rn_kill,
	.pause = rn_pause,
	.resume = rn_resume,
	.wipe = rn_wipe,
	.status = rn_status,
	.info = rn_info,
	.leader = NULL, /* the generic majority-of-INFO discovery (db_leader) */
	.ping = rn_ping,
	.log_files = rn_log_files,
	.collect = rn_collect,
	.destroy = rn_destroy,
	/* `... node=n1 term=3 event=became-leader ...`, fields in any order (node/log.c). */
	.leader_pattern = "^(?=.*(?:^|\\s)event=became-leader(?:\\s|$))"
			  "(?=.*(?:^|\\s)node=(?<node>\\S+))"
			  "(?=.*(?:^|\\s)term=(?<term>[0-9]+)(?:\\s|$))",
	/* node/raft.c: a leader sent an entry other than the one this node committed there. */
	.safety_pattern = "(?:^|\\s)event=committed-entry-conflict(?:\\s|$)",
	.digest = rn_digest,
};
