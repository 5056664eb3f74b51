#include "harness/control/nodes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/control/knownhosts.h"
#include "harness/lab/lab.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define LINE_MAX_BYTES 4096
#define NODES_FILE_MAX ((size_t)16 << 20) /* a nodes file is a few lines; refuse huge ones */

void nodes_free(struct nodes *n)
{
	if (!n)
		return;
	free(n->hosts);
	n->hosts = NULL;
	n->n = 0;
}

const struct control_host *nodes_find(const struct nodes *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (!strcmp(n->hosts[i].name, name))
			return &n->hosts[i];
	return NULL;
}

/* Parser position for messages. */
struct pos {
	const char *file;
	int line;
};

static int perr(const struct pos *p, int col, char *err, size_t errlen, const char *fmt,
		const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
	return err_set(err, errlen, SB_EINVAL, "%s:%d:%d: %s", p->file, p->line, col, msg);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CONTROL_NAME_MAX)
		return false;
	for (const char *q = s; *q; q++)
		if (!(('a' <= *q && *q <= 'z') || ('A' <= *q && *q <= 'Z') ||
		      ('0' <= *q && *q <= '9') || *q == '_' || *q == '.' || *q == '-'))
			return false;
	return true;
}

static bool address_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CONTROL_ADDR_MAX || s[0] == '-')
		return false;
	for (const char *q = s; *q; q++)
		if (!(('a' <= *q && *q <= 'z') || ('A' <= *q && *q <= 'Z') ||
		      ('0' <= *q && *q <= '9') || *q == '.' || *q == ':' || *q == '-'))
			return false;
	return true;
}

/* Parse a decimal in [lo, hi]; 0 on success. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
	if (!*s)
		return -1;
	long v = 0;
	for (const char *q = s; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (*q - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*out = v;
	return 0;
}

static int set_path(char *dst, size_t dstlen, const char *val, const char *base)
{
	int n;
	if (val[0] == '/' || !base || !base[0])
		n = snprintf(dst, dstlen, "%s", val);
	else
		n = snprintf(dst, dstlen, "%s/%s", base, val);
	return n < 0 || (size_t)n >= dstlen ? -1 : 0;
}

/* With `check` (nodes_load): a key or known_hosts file that exists must be a regular file of
 * bounded size, so that key=/dev/zero or known_hosts=/dev/zero is refused here, with its line,
 * before anything reads it. Other problems (a missing or unreadable file) are left to the
 * connection, which names the host. */
static int check_file(const char *path, size_t max, const char *k, int vcol, const struct pos *p,
		      char *err, size_t errlen)
{
	char msg[400];
	int rc = file_check_regular(path, max, NULL, msg, sizeof msg);
	if (rc != SB_EINVAL && rc != SB_ELIMIT)
		return 0;
	return perr(p, vcol, err, errlen, "%s: %s", k, msg);
}

/* Apply KEY=VALUE (word starts at column col) to h. */
static int apply_kv(struct control_host *h, char *word, int col, const char *base, bool check,
		    const struct pos *p, char *err, size_t errlen)
{
	char *eq = strchr(word, '=');
	if (!eq || eq == word)
		return perr(p, col, err, errlen, "expected KEY=VALUE, got '%s'", word, NULL);
	*eq = '\0';
	const char *k = word, *v = eq + 1;
	int vcol = col + (int)(eq - word) + 1;
	if (!*v)
		return perr(p, vcol, err, errlen, "empty value for '%s'", k, NULL);
	if (strchr(v, '=') || strchr(v, '"') || strchr(v, '\''))
		return perr(p, vcol, err, errlen, "value of '%s' may not contain '=' or quotes", k,
			    NULL);
	long num;
	if (!strcmp(k, "user")) {
		if (!name_ok(v) || strlen(v) >= CONTROL_USER_MAX)
			return perr(p, vcol, err, errlen, "bad user name '%s'", v, NULL);
		snprintf(h->user, sizeof h->user, "%s", v);
	} else if (!strcmp(k, "port")) {
		if (parse_int(v, 1, 65535, &num))
			return perr(p, vcol, err, errlen, "port '%s' is not a number in 1..65535", v,
				    NULL);
		h->port = (int)num;
	} else if (!strcmp(k, "key")) {
		if (!strcmp(v, "agent"))
			h->key_file[0] = '\0';
		else if (set_path(h->key_file, sizeof h->key_file, v, base))
			return perr(p, vcol, err, errlen, "key path too long", NULL, NULL);
		else if (check)
			return check_file(h->key_file, CONTROL_KEY_FILE_MAX, k, vcol, p, err, errlen);
	} else if (!strcmp(k, "known_hosts")) {
		if (set_path(h->known_hosts, sizeof h->known_hosts, v, base))
			return perr(p, vcol, err, errlen, "known_hosts path too long", NULL, NULL);
		if (check)
			return check_file(h->known_hosts, KNOWNHOSTS_FILE_MAX, k, vcol, p, err,
					  errlen);
	} else if (!strcmp(k, "host_key")) {
		if (control_hostkey_policy_parse(v, &h->hostkey_policy))
			return perr(p, vcol, err, errlen,
				    "host_key '%s' is not one of strict, accept-new, off", v, NULL);
	} else if (!strcmp(k, "connect_timeout")) {
		if (parse_int(v, 100, 600000, &num))
			return perr(p, vcol, err, errlen,
				    "connect_timeout '%s' is not milliseconds in 100..600000", v, NULL);
		h->connect_timeout_ms = (int)num;
	} else if (!strcmp(k, "dc")) {
		if (!name_ok(v))
			return perr(p, vcol, err, errlen,
				    "bad datacenter label '%s' (1..63 of A-Z a-z 0-9 _ . -)", v, NULL);
		snprintf(h->dc, sizeof h->dc, "%s", v);
	} else if (!strcmp(k, "backend")) {
		if (!strcmp(v, "ssh"))
			h->backend = CONTROL_BACKEND_SSH;
		else if (!strcmp(v, "local"))
			h->backend = CONTROL_BACKEND_LOCAL;
		else
			return perr(p, vcol, err, errlen, "backend '%s' is not ssh or local", v, NULL);
	} else {
		return perr(p, col, err, errlen,
			    "unknown key '%s' (known: user, port, key, known_hosts, host_key, "
			    "connect_timeout, backend, dc)",
			    k, NULL);
	}
	return 0;
}

/* nodes_parse, and with `check` the file checks of nodes_load (check_file). */
static int parse(const char *text, size_t len, const char *filename, const char *base_dir,
		 bool check, struct nodes *out, char *err, size_t errlen)
{
	int rc = 0;
	struct pos p = {.file = filename ? filename : "<nodes>", .line = 0};
	struct control_host defaults;
	control_host_defaults(&defaults);
	memset(out, 0, sizeof *out);
	struct control_host *hosts = NULL;
	size_t n = 0;
	char line[LINE_MAX_BYTES + 1];

	size_t i = 0;
	/* A UTF-8 byte order mark (some editors write one) is not part of the first line. */
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		i = 3;
	while (i < len) {
		p.line++;
		size_t start = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t l = i - start;
		if (i < len)
			i++; /* the newline */
		if (l > LINE_MAX_BYTES) {
			rc = perr(&p, LINE_MAX_BYTES + 1, err, errlen, "line longer than 4096 bytes",
				  NULL, NULL);
			goto out;
		}
		memcpy(line, text + start, l);
		line[l] = '\0';
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (memchr(line, '\0', l)) {
			rc = perr(&p, (int)strlen(line) + 1, err, errlen, "NUL byte", NULL, NULL);
			goto out;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		/* Split into words, remembering columns (1-based). */
		char *words[64];
		int cols[64];
		int nw = 0;
		for (char *q = line; *q;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q)
				break;
			if (nw == 64) {
				rc = perr(&p, (int)(q - line) + 1, err, errlen, "too many words", NULL,
					  NULL);
				goto out;
			}
			words[nw] = q;
			cols[nw] = (int)(q - line) + 1;
			nw++;
			while (*q && *q != ' ' && *q != '\t')
				q++;
			if (*q)
				*q++ = '\0';
		}
		for (int w = 0; w < nw; w++)
			for (const unsigned char *c = (const unsigned char *)words[w]; *c; c++)
				if (*c < 0x20 || *c == 0x7f) {
					rc = perr(&p, cols[w] + (int)(c - (const unsigned char *)words[w]),
						  err, errlen, "control character", NULL, NULL);
					goto out;
				}
		if (!nw)
			continue;
		if (!strcmp(words[0], "defaults")) {
			if (nw == 1) {
				rc = perr(&p, cols[0], err, errlen, "'defaults' needs KEY=VALUE pairs",
					  NULL, NULL);
				goto out;
			}
			for (int w = 1; w < nw; w++)
				if ((rc = apply_kv(&defaults, words[w], cols[w], base_dir, check,
						   &p, err, errlen)))
					goto out;
		} else if (!strcmp(words[0], "host")) {
			if (nw < 3) {
				rc = perr(&p, nw == 1 ? cols[0] + 4 : cols[1] + (int)strlen(words[1]),
					  err, errlen, "expected: host NAME ADDRESS [KEY=VALUE...]", NULL,
					  NULL);
				goto out;
			}
			if (!name_ok(words[1])) {
				rc = perr(&p, cols[1], err, errlen,
					  "bad host name '%s' (1..63 of A-Z a-z 0-9 _ . -)", words[1],
					  NULL);
				goto out;
			}
			for (size_t k = 0; k < n; k++)
				if (!strcmp(hosts[k].name, words[1])) {
					rc = perr(&p, cols[1], err, errlen, "duplicate host name '%s'",
						  words[1], NULL);
					goto out;
				}
			if (n == NODES_MAX) {
				rc = perr(&p, cols[0], err, errlen, "more than 64 hosts", NULL, NULL);
				goto out;
			}
			struct control_host h = defaults;
			snprintf(h.name, sizeof h.name, "%s", words[1]);
			for (int w = 3; w < nw; w++)
				if ((rc = apply_kv(&h, words[w], cols[w], base_dir, check, &p, err,
						   errlen)))
					goto out;
			if (!strcmp(words[2], "-") && h.backend == CONTROL_BACKEND_LOCAL) {
				h.address[0] = '\0';
			} else if (!address_ok(words[2])) {
				rc = perr(&p, cols[2], err, errlen, "bad address '%s'", words[2], NULL);
				goto out;
			} else {
				snprintf(h.address, sizeof h.address, "%s", words[2]);
			}
			struct control_host *nh = realloc(hosts, (n + 1) * sizeof *nh);
			if (!nh) {
				rc = err_set(err, errlen, SB_ENOMEM, "out of memory");
				goto out;
			}
			hosts = nh;
			hosts[n++] = h;
		} else {
			rc = perr(&p, cols[0], err, errlen,
				  "unknown directive '%s' (expected 'host' or 'defaults')", words[0],
				  NULL);
			goto out;
		}
	}
	if (!n) {
		rc = err_set(err, errlen, SB_EINVAL, "%s: no 'host' lines", p.file);
		goto out;
	}
	out->hosts = hosts;
	out->n = n;
	hosts = NULL;
out:
	free(hosts);
	return rc;
}

int nodes_parse(const char *text, size_t len, const char *filename, const char *base_dir,
		struct nodes *out, char *err, size_t errlen)
{
	return parse(text, len, filename, base_dir, false, out, err, errlen);
}

int nodes_load(const char *path, struct nodes *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	int rc = 0;
	char *buf = NULL;
	size_t n = 0;
	bool missing = false;
	rc = file_read_all(path, NODES_FILE_MAX, &buf, &n, &missing, err, errlen);
	if (!rc && missing) {
		/* A path that names nothing is bad input (exit 254), like a bad line. */
		rc = err_set(err, errlen, SB_EINVAL, "nodes file %s: %s", path, strerror(ENOENT));
		goto out;
	}
	if (rc) {
		if (rc == SB_ELIMIT)
			rc = SB_EINVAL;
		err_prefix(err, errlen, "nodes file");
		goto out;
	}
	/* Relative paths inside resolve against the file's own directory (made absolute). */
	char base[CONTROL_PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash && slash == path) {
		snprintf(base, sizeof base, "/");
	} else if (slash) {
		snprintf(base, sizeof base, "%.*s", (int)(slash - path), path);
	} else {
		base[0] = '.';
		base[1] = '\0';
	}
	if (base[0] != '/') {
		char *abs = realpath(base, NULL);
		if (abs) {
			snprintf(base, sizeof base, "%s", abs);
			free(abs);
		}
	}
	rc = parse(buf ? buf : "", n, path, base, true, out, err, errlen);
	if (!rc)
		snprintf(out->path, sizeof out->path, "%s", path);
out:
	free(buf);
	return rc;
}

int nodes_resolve(const char *arg, struct nodes *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!arg || !arg[0])
		return err_set(err, errlen, SB_EINVAL, "no nodes given (use 'lab' or a nodes file)");
	if (strcmp(arg, "lab"))
		return nodes_load(arg, out, err, errlen);
	char dir[CONTROL_PATH_MAX], path[CONTROL_PATH_MAX + 16];
	int rc = lab_dir_resolve(NULL, dir, sizeof dir, err, errlen);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/nodes", dir);
	if (access(path, F_OK) < 0)
		return err_set(err, errlen, SB_EIO,
			       "nodes: lab: no lab is running in %s (run 'splitbrain lab up' as root, "
			       "or set SPLITBRAIN_LAB_DIR)",
			       dir);
	return nodes_load(path, out, err, errlen);
}

int nodes_write(const struct nodes *n, const char *path, char *err, size_t errlen)
{
	char tmp[CONTROL_PATH_MAX + 32];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return err_set(err, errlen, SB_EINVAL, "%s: path too long", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return err_set(err, errlen, SB_EIO, "create %s: %s", tmp, strerror(errno));
	fprintf(f, "# splitbrain nodes file (format: harness/control/nodes.h)\n");
	for (size_t i = 0; i < n->n; i++) {
		const struct control_host *h = &n->hosts[i];
		fprintf(f, "host %s %s port=%d user=%s key=%s", h->name,
			h->address[0] ? h->address : "-", h->port, h->user,
			h->key_file[0] ? h->key_file : "agent");
		if (h->known_hosts[0])
			fprintf(f, " known_hosts=%s", h->known_hosts);
		fprintf(f, " host_key=%s connect_timeout=%d backend=%s",
			control_hostkey_policy_name(h->hostkey_policy), h->connect_timeout_ms,
			h->backend == CONTROL_BACKEND_LOCAL ? "local" : "ssh");
		if (h->dc[0])
			fprintf(f, " dc=%s", h->dc);
		fprintf(f, "\n");
	}
	if (fflush(f) || ferror(f)) {
		fclose(f);
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "write %s: %s", tmp, strerror(errno));
	}
	if (fclose(f)) {
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "close %s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(err, errlen, SB_EIO, "rename %s: %s", path, strerror(errno));
	}
	return 0;
}
