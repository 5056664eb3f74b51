/* parse — history parsing speed: lib/history's reader against jansson on the same file.
 *
 *   parse [FILE]
 *
 * Without FILE it generates the checker's largest benchmark shape (1000 keys, 1M operations,
 * concurrency 20, unique values: about 2M lines, 200 MB) into $TMPDIR, and an EDN rendering
 * of the same events. It then reads the JSON Lines file
 *   - with hreader (the reader the checker uses),
 *   - with jansson: json_loadb() per line, fields taken out into the same struct hevent
 *     (values converted to struct hval), which is what a jansson-based reader has to do,
 *   - with memchr only (the floor: finding the lines of the file),
 *   - with hreader on two threads: the file mapped into memory, cut at a line end, each half
 *     read by hreader_open_mem + hreader_set_line (how a checker can parse in parallel),
 * and the EDN file with hreader. Each is run twice; the best run is printed, in MB/s and
 * seconds. Figures only: nothing here passes or fails on a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checker/histgen.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/history.h"

static double now(void)
{
	return clock_mono_s();
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* ---- hreader ------------------------------------------------------------------------------ */

static long run_hreader(const char *path, uint64_t *sum)
{
	struct hreader *r;
	struct hevent ev;
	char err[512];
	if (hreader_open(&r, path, HFMT_AUTO, err, sizeof err)) {
		fprintf(stderr, "parse: %s\n", err);
		exit(255);
	}
	long n = 0;
	int rc;
	while ((rc = hreader_next(r, &ev, err, sizeof err)) == 1) {
		n++;
		*sum += (uint64_t)ev.process + (uint64_t)ev.type +
			(ev.value.kind == HVAL_INT ? (uint64_t)ev.value.u.i : 0);
	}
	if (rc < 0) {
		fprintf(stderr, "parse: %s\n", err);
		exit(255);
	}
	hreader_close(r);
	return n;
}

/* ---- hreader on two threads: the file in memory, cut at a line end ---------------------- */

struct half {
	const char *p;
	size_t n;
	uint64_t first_line;
	long events;
	uint64_t sum;
};

static void *read_half(void *arg)
{
	struct half *h = arg;
	struct hreader *r;
	struct hevent ev;
	char err[512];
	if (hreader_open_mem(&r, h->p, h->n, "half", HFMT_JSONL, err, sizeof err))
		exit(255);
	hreader_set_line(r, h->first_line);
	int rc;
	while ((rc = hreader_next(r, &ev, err, sizeof err)) == 1) {
		h->events++;
		h->sum += (uint64_t)ev.process + (uint64_t)ev.type +
			  (ev.value.kind == HVAL_INT ? (uint64_t)ev.value.u.i : 0);
	}
	if (rc < 0) {
		fprintf(stderr, "parse: %s\n", err);
		exit(255);
	}
	hreader_close(r);
	return NULL;
}

/* Map the file, cut it in two at a line end, count the lines of the first half (memchr) and
 * read the halves on two threads. All of it is timed. */
static long run_two_threads(const char *path, uint64_t *sum)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "parse: open %s: %s\n", path, strerror(errno));
		exit(255);
	}
	size_t len = (size_t)st.st_size;
	char *buf = mmap(NULL, len ? len : 1, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED) {
		fprintf(stderr, "parse: mmap %s: %s\n", path, strerror(errno));
		exit(255);
	}
	const char *mid = memchr(buf + len / 2, '\n', len - len / 2);
	size_t cut = mid ? (size_t)(mid - buf) + 1 : len;
	uint64_t lines = 1;
	for (const char *q = buf; (q = memchr(q, '\n', (size_t)(buf + cut - q))); q++)
		lines++;
	struct half h[2] = {{buf, cut, 1, 0, 0}, {buf + cut, len - cut, lines, 0, 0}};
	pthread_t th;
	pthread_create(&th, NULL, read_half, &h[1]);
	read_half(&h[0]);
	pthread_join(th, NULL);
	munmap(buf, len ? len : 1);
	*sum += h[0].sum + h[1].sum;
	return h[0].events + h[1].events;
}

/* ---- jansson ------------------------------------------------------------------------------ */

/* A bump allocator for converted values, reset per line (as hreader's arena is). */
static struct hval *pool;
static size_t pool_n, pool_cap;

static struct hval *pool_alloc(size_t n)
{
	if (pool_n + n > pool_cap) {
		pool_cap = (pool_n + n) * 2;
		pool = realloc(pool, pool_cap * sizeof *pool);
		if (!pool)
			exit(255);
	}
	struct hval *r = pool + pool_n;
	pool_n += n;
	return r;
}

static void conv(json_t *j, struct hval *v)
{
	memset(v, 0, sizeof *v);
	switch (json_typeof(j)) {
	case JSON_NULL:
		v->kind = HVAL_NULL;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->kind = HVAL_BOOL;
		v->u.b = json_is_true(j);
		break;
	case JSON_INTEGER:
		v->kind = HVAL_INT;
		v->u.i = json_integer_value(j);
		break;
	case JSON_REAL:
		v->kind = HVAL_FLOAT;
		v->u.d = json_real_value(j);
		break;
	case JSON_STRING:
		v->kind = HVAL_STR;
		v->u.s = json_string_value(j);
		v->len = (uint32_t)json_string_length(j);
		break;
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		v->kind = HVAL_ARRAY;
		v->len = (uint32_t)n;
		size_t base = pool_n;
		pool_alloc(n);
		for (size_t i = 0; i < n; i++)
			conv(json_array_get(j, i), &pool[base + i]);
		v->u.items = pool + base; /* pool is not reallocated again for small values */
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *val;
		size_t n = json_object_size(j), base = pool_n, i = 0;
		v->kind = HVAL_MAP;
		v->len = (uint32_t)n;
		pool_alloc(2 * n);
		json_object_foreach(j, k, val)
		{
			pool[base + 2 * i].kind = HVAL_STR;
			pool[base + 2 * i].u.s = k;
			pool[base + 2 * i].len = (uint32_t)strlen(k);
			conv(val, &pool[base + 2 * i + 1]);
			i++;
		}
		v->u.items = pool + base;
		break;
	}
	}
}

static int jansson_event(json_t *o, struct hevent *ev)
{
	memset(ev, 0, sizeof *ev);
	if (!json_is_object(o))
		return -1;
	json_t *x;
	ev->index = (x = json_object_get(o, "index")) && json_is_integer(x) ? json_integer_value(x)
									      : -1;
	ev->time = (x = json_object_get(o, "time")) && json_is_integer(x) ? json_integer_value(x)
									     : -1;
	x = json_object_get(o, "process");
	if (json_is_integer(x))
		ev->process = json_integer_value(x);
	else if (json_is_string(x) && !strcmp(json_string_value(x), "nemesis"))
		ev->process = HPROC_NEMESIS;
	else
		return -1;
	x = json_object_get(o, "type");
	if (!json_is_string(x))
		return -1;
	const char *t = json_string_value(x);
	if (!strcmp(t, "invoke"))
		ev->type = HTYPE_INVOKE;
	else if (!strcmp(t, "ok"))
		ev->type = HTYPE_OK;
	else if (!strcmp(t, "fail"))
		ev->type = HTYPE_FAIL;
	else if (!strcmp(t, "info"))
		ev->type = HTYPE_INFO;
	else
		return -1;
	x = json_object_get(o, "f");
	if (!json_is_string(x))
		return -1;
	ev->f = json_string_value(x);
	if ((x = json_object_get(o, "key"))) {
		ev->has_key = 1;
		conv(x, &ev->key);
	}
	if ((x = json_object_get(o, "value"))) {
		ev->has_value = 1;
		conv(x, &ev->value);
	}
	if ((x = json_object_get(o, "node")) && json_is_string(x))
		ev->node = json_string_value(x);
	if ((x = json_object_get(o, "error")) && json_is_string(x))
		ev->error = json_string_value(x);
	return 0;
}

/* Lines are found with the same 1 MiB buffered reads as hreader uses. */
static long run_lines(const char *path, int use_jansson, uint64_t *sum)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "parse: open %s: %s\n", path, strerror(errno));
		exit(255);
	}
	size_t cap = 2u << 20, len = 0;
	char *buf = malloc(cap);
	long n = 0;
	for (;;) {
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0) {
			fprintf(stderr, "parse: read: %s\n", strerror(errno));
			exit(255);
		}
		len += (size_t)got;
		size_t pos = 0;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', len - pos);
			if (!nl) {
				if (got == 0 && pos < len)
					nl = buf + len; /* last line without newline */
				else
					break;
			}
			size_t ll = (size_t)(nl - (buf + pos));
			if (use_jansson) {
				json_error_t je;
				json_t *o = json_loadb(buf + pos, ll, 0, &je);
				struct hevent ev;
				pool_n = 0;
				if (!o || jansson_event(o, &ev)) {
					fprintf(stderr, "parse: line %ld: %s\n", n + 1,
						o ? "bad event" : je.text);
					exit(255);
				}
				*sum += (uint64_t)ev.process + (uint64_t)ev.type +
					(ev.value.kind == HVAL_INT ? (uint64_t)ev.value.u.i : 0);
				json_decref(o);
			} else {
				*sum += ll;
			}
			n++;
			pos = (size_t)(nl - buf) + 1;
			if (pos > len)
				pos = len;
		}
		memmove(buf, buf + pos, len - pos);
		len -= pos;
		if (got == 0)
			break;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	free(buf);
	close(fd);
	return n;
}

/* ---- EDN rendering of a JSON Lines history ------------------------------------------------ */

static void edn_value(FILE *f, const struct hval *v)
{
	switch (v->kind) {
	case HVAL_NULL:
		fputs("nil", f);
		break;
	case HVAL_INT:
		fprintf(f, "%lld", (long long)v->u.i);
		break;
	case HVAL_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < v->len; i++) {
			if (i)
				fputc(' ', f);
			edn_value(f, &v->u.items[i]);
		}
		fputc(']', f);
		break;
	default:
		hval_write_json(f, v);
	}
}

static void to_edn(const char *in, const char *out)
{
	struct hreader *r;
	struct hevent ev;
	char err[512];
	FILE *f = fopen(out, "w");
	if (!f || hreader_open(&r, in, HFMT_AUTO, err, sizeof err)) {
		fprintf(stderr, "parse: cannot write %s\n", out);
		exit(255);
	}
	fputs("[", f);
	while (hreader_next(r, &ev, err, sizeof err) == 1) {
		fprintf(f, "{:index %lld, :time %lld, :process %lld, :type :%s, :f :%s",
			(long long)ev.index, (long long)ev.time, (long long)ev.process,
			htype_name(ev.type), ev.f);
		if (ev.has_key)
			fprintf(f, ", :key %lld", (long long)ev.key.u.i);
		fputs(", :value ", f);
		edn_value(f, &ev.value);
		if (ev.error)
			fprintf(f, ", :error :%s", ev.error);
		fputs("}\n", f);
	}
	fputs("]\n", f);
	hreader_close(r);
	fclose(f);
}

static void report(const char *what, const char *path, double secs, double cpu, long n)
{
	struct stat st;
	stat(path, &st);
	double mb = (double)st.st_size / 1e6;
	printf("  %-30s %8ld events %6.1f MB  wall %6.3f s %6.0f MB/s  cpu %6.3f s %6.0f MB/s\n",
	       what, n, mb, secs, mb / secs, cpu, mb / cpu);
}

int main(int argc, char **argv)
{
	char path[4096], edn[4096];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int generated = 0;
	if (argc > 1) {
		snprintf(path, sizeof path, "%s", argv[1]);
	} else {
		snprintf(path, sizeof path, "%s/bench_parse_%d.jsonl", tmp, (int)getpid());
		struct histgen_opts o;
		histgen_opts_default(&o);
		o.keys = 1000;
		o.ops = 1000000;
		o.concurrency = 20;
		o.values = 0;
		char err[512];
		struct histgen_report rep;
		double t0 = now();
		if (histgen_write_file(&o, path, &rep, err, sizeof err)) {
			fprintf(stderr, "parse: %s\n", err);
			return 255;
		}
		printf("generated %s: %llu events (1000 keys x 1M ops, concurrency 20) in %.3f s\n",
		       path, (unsigned long long)rep.events, now() - t0);
		generated = 1;
	}
	pool_alloc(4096); /* values here are shallow: conv() never reallocates under itself */
	pool_n = 0;
	snprintf(edn, sizeof edn, "%s/bench_parse_%d.edn", tmp, (int)getpid());
	to_edn(path, edn);

	struct {
		const char *name;
		int kind; /* 0 hreader jsonl, 1 jansson, 2 memchr, 3 hreader edn, 4 two threads */
	} runs[] = {
		{"hreader (JSON Lines)", 0},
		{"hreader, 2 threads (in memory)", 4},
		{"jansson json_loadb per line", 1},
		{"memchr lines only (floor)", 2},
		{"hreader (EDN, same events)", 3},
	};
	printf("history parsing, best of 2 runs (file in page cache; cpu = this process's CPU "
	       "time, which\nis what counts when the machine is shared):\n");
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		double best = 1e30, best_cpu = 1e30;
		long n = 0;
		uint64_t sum = 0;
		for (int rep = 0; rep < 2; rep++) {
			double t0 = now(), c0 = cpu_now();
			switch (runs[i].kind) {
			case 0: n = run_hreader(path, &sum); break;
			case 1: n = run_lines(path, 1, &sum); break;
			case 2: n = run_lines(path, 0, &sum); break;
			case 3: n = run_hreader(edn, &sum); break;
			case 4: n = run_two_threads(path, &sum); break;
			}
			double t = now() - t0, c = cpu_now() - c0;
			if (t < best)
				best = t;
			if (c < best_cpu)
				best_cpu = c;
		}
		report(runs[i].name, runs[i].kind == 3 ? edn : path, best, best_cpu, n);
	}
	printf("peak RSS of this process: %ld MB\n", peak_rss_mb());
	unlink(edn);
	if (generated)
		unlink(path);
	free(pool);
	return 0;
}
