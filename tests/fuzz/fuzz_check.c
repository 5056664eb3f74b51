/* Fuzz target: any bytes, read as a history (JSON Lines or EDN) and checked under one of the
 * models (chosen by the first byte) with small limits. The checker must never crash, leak
 * or hang: it returns a verdict or a bad-input error, and its JSON is valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "lib/err.h"
#include "lib/sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum chk_model models[] = {
		CHK_MODEL_REGISTER, CHK_MODEL_CAS_REGISTER, CHK_MODEL_KV, CHK_MODEL_LIST,
		CHK_MODEL_SET,      CHK_MODEL_MUTEX,        CHK_MODEL_MULTI_REGISTER,
	};
	struct chk_options opt = {
		.model = models[data[0] % (sizeof models / sizeof models[0])],
		.timeout_s = 0.5,
		.threads = 1,
		.memory_limit = 64u << 20,
	};
	struct hval *ini = NULL;
	char err[512];
	if (data[0] & 0x80) {
		const char *v = opt.model == CHK_MODEL_MULTI_REGISTER ? "{\"x\":0}"
				: opt.model == CHK_MODEL_LIST              ? "[0]"
									   : "0";
		if (chk_value_parse(v, &ini, err, sizeof err))
			return 0;
		opt.initial = ini;
	}
	struct hreader *r = NULL;
	if (hreader_open_mem(&r, (const char *)data + 1, size - 1, "fuzz", HFMT_AUTO, err,
			     sizeof err) == 0) {
		struct chk_result *res = NULL;
		if (chk_check_reader(r, &opt, "fuzz", &res, err, sizeof err) == 0) {
			char buf[256];
			FILE *f = fmemopen(buf, sizeof buf, "w");
			if (f) {
				chk_result_print(res, f);
				fclose(f);
			}
			/* the JSON is valid UTF-8 whatever bytes the history held */
			char *js = NULL;
			size_t jn = 0;
			f = open_memstream(&js, &jn);
			if (f) {
				chk_result_write_json(res, f);
				fclose(f);
				if (js && !utf8_valid(js, jn))
					abort();
				free(js);
			}
			chk_result_free(res);
		}
		hreader_close(r);
	}
	chk_value_free(ini);
	return 0;
}
