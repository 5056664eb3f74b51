/* fileutil: reading a whole file, its size cap and a missing file; staged replacement. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_read_all(void **state)
{
	char dir[] = "/tmp/sb-fileutil-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);

	/* Larger than the internal chunk, with a NUL inside. */
	size_t big = 20000;
	char *data = malloc(big);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	data[100] = '\0';
	write_file(path, data, big);
	char *out = NULL;
	size_t len = 0;
	bool missing = true;
	assert_int_equal(file_read_all(path, 0, &out, &len, &missing, err, sizeof err), 0);
	assert_false(missing);
	assert_int_equal(len, big);
	assert_memory_equal(out, data, big);
	assert_int_equal(out[len], '\0');
	free(out);

	/* The cap: exactly max is fine, one byte more is SB_ELIMIT naming the path. */
	assert_int_equal(file_read_all(path, big, &out, &len, NULL, err, sizeof err), 0);
	free(out);
	assert_int_equal(file_read_all(path, big - 1, &out, &len, NULL, err, sizeof err),
			 SB_ELIMIT);
	assert_null(out);
	assert_non_null(strstr(err, path));

	/* An empty file: an empty, terminated buffer. */
	write_file(path, "", 0);
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);

	/* Missing: 0 with *missing when asked, else SB_EIO "open PATH: ...". */
	unlink(path);
	assert_int_equal(file_read_all(path, 0, &out, &len, &missing, err, sizeof err), 0);
	assert_true(missing);
	assert_null(out);
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, "open "));
	assert_non_null(strstr(err, path));

	/* A directory cannot be read. */
	assert_int_equal(file_read_all(dir, 0, &out, &len, NULL, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, dir));
	free(data);
	rmdir(dir);
}


/* file_stage: the old file stays whole until the new one is complete; no temporary file is
 * left behind; file_replace (built on it) keeps its mode. */
static void test_stage(void **state)
{
	char dir[] = "/tmp/sb-fileutil-XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/r.json", dir);
	write_file(path, "old", 3);
	struct file_stage s;
	assert_int_equal(file_stage_open(&s, path, -1, err, sizeof err), 0);
	fputs("new content", s.f);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), 0);
	assert_string_equal(out, "old"); /* not yet replaced */
	free(out);
	assert_int_equal(file_stage_commit(&s, err, sizeof err), 0);
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), 0);
	assert_string_equal(out, "new content");
	free(out);
	/* abort: the old file is left as it was, the temporary file is gone */
	assert_int_equal(file_stage_open(&s, path, -1, err, sizeof err), 0);
	fputs("half", s.f);
	file_stage_abort(&s);
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), 0);
	assert_string_equal(out, "new content");
	free(out);
	DIR *d = opendir(dir);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	/* file_replace with an exact mode */
	assert_int_equal(file_replace(path, "x", 1, 0640, err, sizeof err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_size, 1);
	/* a directory that does not exist: the message names the file */
	char bad[96];
	snprintf(bad, sizeof bad, "%s/no/such", dir);
	assert_int_equal(file_stage_open(&s, bad, -1, err, sizeof err), SB_EIO);
	assert_non_null(strstr(err, bad));
	unlink(path);
	rmdir(dir);
}

/* file_read_regular / file_check_regular: devices, FIFOs and directories are refused unread
 * (a FIFO without a writer must not block), a file over the cap before it is read. */
static void test_regular_only(void **state)
{
	char dir[] = "/tmp/sb-fileutil-XXXXXX", path[64], fifo[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/f", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	write_file(path, "hello\n", 6);
	char *out = NULL;
	size_t len = 0;
	bool missing = true;
	assert_int_equal(file_read_regular(path, 6, &out, &len, &missing, err, sizeof err), 0);
	assert_false(missing);
	assert_int_equal(len, 6);
	assert_string_equal(out, "hello\n");
	free(out);
	assert_int_equal(file_read_regular(path, 5, &out, &len, NULL, err, sizeof err), SB_ELIMIT);
	assert_null(out);
	assert_int_equal(file_check_regular(path, 6, NULL, err, sizeof err), 0);
	assert_int_equal(file_check_regular(path, 5, NULL, err, sizeof err), SB_ELIMIT);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *special[] = {"/dev/zero", "/dev/null", fifo, dir, NULL};
	for (size_t i = 0; special[i]; i++) {
		assert_int_equal(file_read_regular(special[i], 1 << 20, &out, &len, NULL, err,
						   sizeof err),
				 SB_EINVAL);
		assert_non_null(strstr(err, "not a regular file"));
		assert_null(out);
		assert_int_equal(file_check_regular(special[i], 0, NULL, err, sizeof err), SB_EINVAL);
	}
	unlink(fifo);
	unlink(path);
	assert_int_equal(file_read_regular(path, 10, &out, &len, &missing, err, sizeof err), 0);
	assert_true(missing);
	assert_int_equal(file_check_regular(path, 10, &missing, err, sizeof err), 0);
	assert_true(missing);
	assert_int_equal(file_check_regular(path, 10, NULL, err, sizeof err), SB_EIO);
	rmdir(dir);
}

/* file_replace_via: the caller's temporary name, gone after the rename. */
static void test_replace_via(void **state)
{
	char dir[] = "/tmp/sb-fileutil-XXXXXX", path[64], tmp[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/target", dir);
	snprintf(tmp, sizeof tmp, "%s/.part", dir);
	assert_int_equal(file_replace_via(path, tmp, "abc", 3, 0640, err, sizeof err), 0);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(file_read_all(path, 0, &out, &len, NULL, err, sizeof err), 0);
	assert_string_equal(out, "abc");
	free(out);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_not_equal(stat(tmp, &st), 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_regular_only),
		cmocka_unit_test(test_replace_via),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
