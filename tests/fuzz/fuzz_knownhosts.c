/* libFuzzer target: known_hosts line parsing (harness/control/knownhosts.c, knownhosts_check_text,
 * which matches plain lines itself and hands hashed ones to libssh2). Any bytes: look up a
 * fixed ed25519 key for a few host and port forms; the answer must be one of the three
 * results, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/control/knownhosts.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An ed25519 key blob: string "ssh-ed25519", string of 32 key bytes. */
static const unsigned char blob[] = {
	0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy without a terminating NUL, so that reading past it is caught. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct knownhosts_key key = {blob, sizeof blob};
	static const struct {
		const char *host;
		int port;
	} q[] = {{"n1", 22}, {"node1.example", 22}, {"10.0.0.1", 2222}, {"[n1]", 22}};
	char err[256];
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		enum knownhosts_result res;
		int skipped = -1;
		int rc = knownhosts_check_text(buf, size, q[i].host, q[i].port, key, &res, &skipped,
					       err, sizeof err);
		if (rc == SB_ENOMEM)
			continue;
		if (rc == 0 && res != KNOWNHOSTS_MATCH && res != KNOWNHOSTS_MISMATCH &&
		    res != KNOWNHOSTS_NOTFOUND)
			abort();
		if (skipped < 0)
			abort();
	}
	free(buf);
	return 0;
}
