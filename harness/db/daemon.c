/* db_daemon — pid-file daemons in a node's directory (daemon.h). */
#include "harness/db/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/shquote.h"
#include "lib/err.h"

/* The shell functions of daemon.h. $dd is the node directory's canonical path, as
 * /proc/<pid>/cwd shows it ("" when the directory does not exist: then nothing is alive). */
static const char prelude[] =
	"dd=$(cd \"$d\" 2>/dev/null && pwd -P)\n"
	"canon() { (cd \"$d\" 2>/dev/null && readlink -f -- \"$1\"); }\n"
	"binof() { [ -f \"$d/$1\" ] && (cd \"$d\" && . \"./$1\" && readlink -f -- \"$1\"); }\n"
	"alive() {\n"
	"  [ -n \"$dd\" ] && [ -n \"$2\" ] || return 1\n"
	"  p=$(cat \"$d/$1\" 2>/dev/null) || return 1\n"
	"  case $p in ''|*[!0-9]*) return 1;; esac\n"
	"  e=$(readlink \"/proc/$p/exe\" 2>/dev/null) || return 1\n"
	"  [ \"$e\" = \"$2\" ] || [ \"$e\" = \"$2 (deleted)\" ] || return 1\n"
	"  [ \"$(readlink \"/proc/$p/cwd\" 2>/dev/null)\" = \"$dd\" ]\n"
	"}\n"
	"waitgone() {\n"
	"  w=0\n"
	"  while alive \"$1\" \"$2\"; do w=$((w+1)); [ $w -gt $3 ] && return 1; sleep 0.02; done\n"
	"  return 0\n"
	"}\n"
	"dkill() {\n"
	"  if alive \"$1\" \"$2\"; then\n"
	"    kill -KILL \"$p\" 2>/dev/null\n"
	"    waitgone \"$1\" \"$2\" 250 || { echo \"pid $p still alive after SIGKILL\" >&2; return 4; }\n"
	"  fi\n"
	"  rm -f -- \"$d/$1\"\n"
	"}\n"
	"dstop() {\n"
	"  if alive \"$1\" \"$2\"; then\n"
	"    kill -TERM \"$p\" 2>/dev/null; kill -CONT \"$p\" 2>/dev/null\n"
	"    if ! waitgone \"$1\" \"$2\" 250; then\n"
	"      kill -KILL \"$p\" 2>/dev/null\n"
	"      waitgone \"$1\" \"$2\" 250 || { echo \"pid $p still alive after SIGKILL\" >&2; return 4; }\n"
	"    fi\n"
	"  fi\n"
	"  rm -f -- \"$d/$1\"\n"
	"}\n"
	"dsig() {\n"
	"  alive \"$1\" \"$2\" || { echo \"$1: not running\" >&2; return 3; }\n"
	"  kill \"-$3\" \"$p\"\n"
	"}\n"
	"dstate() {\n"
	"  if alive \"$1\" \"$2\"; then\n"
	"    s=$(sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' \"/proc/$p/status\")\n"
	"    echo \"$p ${s:--}\"\n"
	"  else\n"
	"    echo '0 -'\n"
	"  fi\n"
	"}\n"
	/* The background subshell cds into $d and execs setsid, which (not a group leader in a
	 * non-interactive shell) execs the command: $! is the daemon's own pid, and its cwd is
	 * the node's directory. */
	"dstart() {\n"
	"  pf=$1 bn=$2 lg=$3; shift 3\n"
	"  [ -n \"$bn\" ] || { echo \"no binary for $pf\" >&2; return 3; }\n"
	"  alive \"$pf\" \"$bn\" && return 0\n"
	"  rm -f -- \"$d/$pf\"\n"
	"  (cd \"$d\" && exec setsid \"$@\" >>\"$lg\" 2>&1 </dev/null) &\n"
	"  q=$!\n"
	"  echo $q > \"$d/$pf.tmp\" && mv -f -- \"$d/$pf.tmp\" \"$d/$pf\" || return 3\n"
	"  w=0\n"
	"  while :; do\n"
	"    e=$(readlink \"/proc/$q/exe\" 2>/dev/null)\n"
	"    [ \"$e\" = \"$bn\" ] && return 0\n"
	"    w=$((w+1))\n"
	"    if [ $w -gt 250 ] || [ -z \"$e\" ]; then\n"
	"      sleep 0.05\n"
	"      e=$(readlink \"/proc/$q/exe\" 2>/dev/null)\n"
	"      [ \"$e\" = \"$bn\" ] && return 0\n"
	"      rm -f -- \"$d/$pf\"\n"
	"      echo \"$pf: exited at once: $(tail -n 3 \"$d/$lg\" 2>/dev/null | tr '\\n' ' ')\" >&2\n"
	"      return 4\n"
	"    fi\n"
	"    sleep 0.02\n"
	"  done\n"
	"}\n";

int db_daemon_run(struct db *db, size_t i, const char *body, char **out, char *err,
		  size_t errlen)
{
	char *head = shquote_fmt("d=%q\n", db->nodes[i].dir);
	if (!head)
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	size_t n = strlen(head) + sizeof prelude + strlen(body) + 1;
	char *s = malloc(n);
	int rc;
	if (!s) {
		free(head);
		return err_set(err, errlen, SB_ENOMEM, "node %s: out of memory", db->nodes[i].name);
	}
	snprintf(s, n, "%s%s%s", head, prelude, body);
	free(head);
	rc = control_run(db_control(db, i), s, db->op_timeout_ms, out, err, errlen);
	free(s);
	return rc;
}

char *db_daemon_file_block(const char *name, const char *content, bool only_if_missing)
{
	static const char wfmt[] = "{ printf '%%s' %q > \"$d/\"%q.tmp && "
				    "mv -f -- \"$d/\"%q.tmp \"$d/\"%q; } || exit 3\n";
	if (!only_if_missing)
		return shquote_fmt(wfmt, content, name, name, name);
	char *w = shquote_fmt(wfmt, content, name, name, name);
	char *head = shquote_fmt("if [ ! -f \"$d/\"%q ]; then\n", name);
	char *block = NULL;
	if (w && head) {
		size_t n = strlen(head) + strlen(w) + 8;
		if ((block = malloc(n)))
			snprintf(block, n, "%s%sfi\n", head, w);
	}
	free(w);
	free(head);
	return block;
}

char *db_daemon_args_block(const char *name, const char *comment, const char *const *argv,
			   bool only_if_missing)
{
	char *words = shquote_argv(argv);
	if (!words)
		return NULL;
	size_t n = strlen(comment) + strlen(words) + 32;
	char *text = malloc(n);
	char *block = NULL;
	if (text) {
		snprintf(text, n, "# %s\nset -- %s\n", comment, words);
		block = db_daemon_file_block(name, text, only_if_missing);
	}
	free(text);
	free(words);
	return block;
}

void db_daemon_parse_state(const char *out, long *pid, bool *running, bool *paused)
{
	long p = 0;
	char state = '-';
	if (!out || sscanf(out, "%ld %c", &p, &state) < 1 || p < 0)
		p = 0;
	*pid = p;
	*running = p > 0;
	*paused = p > 0 && state == 'T';
}

int db_daemon_collect(struct db *db, size_t i, const char *local_dir, const char *const *names,
		      size_t n, const char *listing, char *err, size_t errlen)
{
	const struct db_node *me = &db->nodes[i];
	char *have = NULL, *list = NULL, *body = NULL;
	int rc;
	/* Which of the files exist: one line each. */
	size_t blen = 256;
	for (size_t k = 0; k < n; k++)
		blen += strlen(names[k]) * 2 + 8;
	char *files = malloc(blen);
	if (!files)
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	files[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		char *q = shquote(names[k]);
		if (!q) {
			free(files);
			return err_set(err, errlen, SB_ENOMEM, "out of memory");
		}
		strcat(files, " ");
		strcat(files, q);
		free(q);
	}
	size_t bl = strlen(files) + 160;
	body = malloc(bl);
	if (!body) {
		free(files);
		return err_set(err, errlen, SB_ENOMEM, "out of memory");
	}
	snprintf(body, bl,
		 "cd \"$d\" 2>/dev/null || { echo \"no directory $d\" >&2; exit 3; }\n"
		 "for f in%s; do [ -f \"$f\" ] && echo \"$f\"; done\n"
		 "exit 0\n",
		 files);
	free(files);
	rc = db_daemon_run(db, i, body, &have, err, errlen);
	free(body);
	body = NULL;
	if (rc)
		goto out;
	if (!(body = shquote_fmt("cd \"$d\" && ls -lR -- %q 2>&1; exit 0\n", listing))) {
		rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = db_daemon_run(db, i, body, &list, err, errlen)))
		goto out;
	char path[CONTROL_PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/data-listing.txt", local_dir);
	FILE *f = fopen(path, "w");
	if (!f || fputs(list, f) < 0 || fclose(f) != 0) {
		rc = err_set(err, errlen, SB_EIO, "write %s: %s", path, strerror(errno));
		goto out;
	}
	/* Download each file the host listed, by our own name for it (never the host's text). */
	for (size_t k = 0; k < n; k++) {
		size_t nl = strlen(names[k]);
		const char *p = have;
		bool found = false;
		while (p && *p && !found) {
			const char *e = strchr(p, '\n');
			size_t ll = e ? (size_t)(e - p) : strlen(p);
			found = ll == nl && !memcmp(p, names[k], nl);
			p = e ? e + 1 : NULL;
		}
		if (!found)
			continue;
		char remote[CONTROL_PATH_MAX + 64], local[CONTROL_PATH_MAX + 64];
		snprintf(remote, sizeof remote, "%s/%s", me->dir, names[k]);
		snprintf(local, sizeof local, "%s/%s", local_dir, names[k]);
		if ((rc = control_download(db_control(db, i), remote, local, err, errlen)))
			goto out;
	}
out:
	free(body);
	free(have);
	free(list);
	if (rc)
		err_prefix(err, errlen, "node %s: collect", me->name);
	return rc;
}

size_t db_daemon_log_files(const struct db *db, size_t i, const char *const *names, size_t n,
			   char (*paths)[CONTROL_PATH_MAX], size_t max)
{
	size_t k = 0;
	for (size_t j = 0; j < n && k < max; j++) {
		int w = snprintf(paths[k], CONTROL_PATH_MAX, "%s/%s", db->nodes[i].dir, names[j]);
		if (w > 0 && w < CONTROL_PATH_MAX)
			k++;
	}
	return k;
}

int db_daemon_err(const struct db *db, size_t i, int rc, const char *what, char *err,
		  size_t errlen)
{
	if (rc)
		err_prefix(err, errlen, "node %s: %s", db->nodes[i].name, what);
	return rc;
}
