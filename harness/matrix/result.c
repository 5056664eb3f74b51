/* matrix_result_read — what a stored run concluded (matrix.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker/checker.h"
#include "harness/matrix/matrix.h"
#include "harness/report/html_data.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define RESULTS_MAX (256u << 20)

static void copy_str(char *dst, size_t n, const struct hval *v)
{
	const char *s = rep_jstr(v);
	snprintf(dst, n, "%s", s ? s : "");
}

int matrix_result_read(const char *run_dir, struct matrix_result *out, char *err,
		       size_t errlen)
{
	char path[4096];
	char *text = NULL;
	size_t len = 0;
	struct hval *v = NULL;
	snprintf(path, sizeof path, "%s/results.json", run_dir);
	int rc = file_read_all(path, RESULTS_MAX, &text, &len, NULL, err, errlen);
	if (rc)
		return rc == SB_ELIMIT ? SB_EINVAL : SB_EIO;
	memset(out, 0, sizeof *out);
	out->expect_held = -1;
	if ((rc = rep_json_parse(text, len, &v, err, errlen))) {
		err_prefix(err, errlen, "%s", path);
		goto out;
	}
	double d;
	copy_str(out->test, sizeof out->test, rep_jget(v, "test"));
	copy_str(out->verdict, sizeof out->verdict, rep_jget(v, "verdict"));
	copy_str(out->expect, sizeof out->expect, rep_jget(v, "expect"));
	if (!out->verdict[0] || rep_jnum(rep_jget(v, "exit"), &d)) {
		rc = err_set(err, errlen, SB_EINVAL, "%s: no verdict or exit", path);
		goto out;
	}
	out->exit = (int)d;
	const struct hval *seed = rep_jget(v, "seed");
	if (seed && seed->kind == HVAL_INT && seed->u.i >= 0)
		out->seed = (uint64_t)seed->u.i;
	else if (seed && seed->kind == HVAL_BIGINT)
		out->seed = strtoull(seed->u.s, NULL, 10);
	if (!rep_jnum(rep_jget(v, "duration_s"), &d))
		out->duration_s = d;
	const struct hval *held = rep_jget(v, "expect_held");
	if (held && held->kind == HVAL_BOOL)
		out->expect_held = held->u.b != 0;
out:
	chk_value_free(v);
	free(text);
	return rc;
}
