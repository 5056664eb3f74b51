/* libFuzzer target: raftnode's RESP2 request parser (node/resp.c). Any bytes: parse requests
 * one after another as a connection would, echo every argument through the encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct resp_cmd cmd;
	/* A private copy, so that reading past the input is caught by ASan. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct resp_out out = {0};
	size_t off = 0;
	char err[256];
	while (off < size) {
		size_t used = 0;
		int rc = resp_parse_request(buf + off, size - off, &cmd, &used, err, sizeof err);
		if (rc <= 0) {
			if (rc < 0)
				resp_put_error(&out, "ERR Protocol error: %s", err);
			break;
		}
		if (used == 0 || used > size - off)
			abort();
		for (size_t i = 0; i < cmd.argc; i++)
			resp_put_bulk(&out, cmd.argv[i].p, cmd.argv[i].len);
		off += used;
	}
	resp_out_free(&out);
	free(buf);
	return 0;
}
