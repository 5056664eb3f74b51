/* libFuzzer target: the nodes-file parser (harness/control/nodes.c, nodes_parse). Any bytes: parse
 * them as a nodes file; when they parse, check the result's invariants, write it out with
 * nodes_write and check that reading that file back gives the same hosts. nodes_parse does not
 * look at the files named; nodes_load does, and refuses a key or known_hosts that exists but is
 * not a regular file of bounded size (key=/, known_hosts=/dev/zero): for those the read-back
 * must fail, for all others it must succeed. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/control/knownhosts.h"
#include "harness/control/nodes.h"
#include "lib/err.h"
#include "lib/fileutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_host(const struct control_host *a, const struct control_host *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->address, b->address) &&
	       a->port == b->port && !strcmp(a->user, b->user) &&
	       !strcmp(a->key_file, b->key_file) && !strcmp(a->known_hosts, b->known_hosts) &&
	       a->hostkey_policy == b->hostkey_policy &&
	       a->connect_timeout_ms == b->connect_timeout_ms && a->backend == b->backend;
}

/* Does nodes_load refuse this file? (the check nodes.c makes, check_file) */
static int refused(const char *path, size_t max)
{
	char msg[256];
	if (!path[0])
		return 0;
	int rc = file_check_regular(path, max, NULL, msg, sizeof msg);
	return rc == SB_EINVAL || rc == SB_ELIMIT;
}

/* One scratch directory for the whole run (removed at exit). */
static char dir[64];

static void cleanup(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/nodes", dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/sb-fuzz-nodes-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	/* A private copy, so that reading past the input is caught by ASan. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct nodes n, back;
	char err[512], path[128];
	/* An absolute base, so that the paths written are the paths read back. */
	if (nodes_parse(buf, size, "fuzz.nodes", "/base", &n, err, sizeof err) == 0) {
		if (n.n == 0 || n.n > NODES_MAX || !n.hosts)
			abort();
		for (size_t i = 0; i < n.n; i++) {
			if (!n.hosts[i].name[0] || nodes_find(&n, n.hosts[i].name) != &n.hosts[i])
				abort();
			if (n.hosts[i].port < 1 || n.hosts[i].port > 65535)
				abort();
		}
		int bad_file = 0;
		for (size_t i = 0; i < n.n; i++)
			bad_file |= refused(n.hosts[i].key_file, CONTROL_KEY_FILE_MAX) ||
				    refused(n.hosts[i].known_hosts, KNOWNHOSTS_FILE_MAX);
		snprintf(path, sizeof path, "%s/nodes", dir);
		if (nodes_write(&n, path, err, sizeof err) == 0) {
			int rc = nodes_load(path, &back, err, sizeof err);
			if (bad_file && !rc)
				abort(); /* a directory or device as a key must be refused */
			if (!bad_file && rc)
				abort(); /* what we write must read back */
			if (!rc) {
				if (back.n != n.n)
					abort();
				for (size_t i = 0; i < n.n; i++)
					if (!same_host(&n.hosts[i], &back.hosts[i]))
						abort();
				nodes_free(&back);
			}
		}
		nodes_free(&n);
	}
	free(buf);
	return 0;
}
