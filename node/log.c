#include "node/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"

/* The log sink (see log.h for why this is global). */
static struct {
	int fd;
	int owned;
	char node[64];
	uint64_t term;
	enum log_level level;
} sink = {2, 0, "?", 0, LOG_INFO};

static const char *level_name[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_open(const char *path, char *err, size_t errlen)
{
	if (!path) {
		log_close();
		return 0;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, errlen, SB_EIO, "open log file %s: %s", path, strerror(errno));
	log_close();
	sink.fd = fd;
	sink.owned = 1;
	return 0;
}

void log_close(void)
{
	if (sink.owned)
		close(sink.fd);
	sink.fd = 2;
	sink.owned = 0;
}

void log_set_node(const char *id)
{
	snprintf(sink.node, sizeof sink.node, "%s", id ? id : "?");
}

void log_set_term(uint64_t term)
{
	sink.term = term;
}

void log_set_level(enum log_level lvl)
{
	sink.level = lvl;
}

static void emit(const char *line, size_t len)
{
	/* One write per line; a short write to a file or pipe is retried for the rest. */
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(sink.fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static int prefix(char *line, size_t cap, enum log_level lvl, uint64_t term)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s node=%s term=%llu ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000, level_name[lvl], sink.node,
			(unsigned long long)term);
}

void log_raw(enum log_level lvl, uint64_t term, const char *text)
{
	if (lvl < sink.level)
		return;
	char line[2048];
	int n = prefix(line, sizeof line, lvl, term);
	if (n < 0)
		return;
	size_t len = (size_t)n;
	for (const char *p = text; *p && len < sizeof line - 2; p++)
		line[len++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
	line[len++] = '\n';
	emit(line, len);
}

void log_event(enum log_level lvl, const char *event, const char *fmt, ...)
{
	if (lvl < sink.level)
		return;
	char line[2048];
	int n = prefix(line, sizeof line, lvl, sink.term);
	if (n < 0)
		return;
	size_t len = (size_t)n;
	int m0 = snprintf(line + len, sizeof line - len, "event=%s", event);
	if (m0 > 0)
		len += (size_t)m0 < sizeof line - len ? (size_t)m0 : sizeof line - len - 1;
	if (fmt && len + 2 < sizeof line) {
		line[len++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
		va_end(ap);
		if (m > 0)
			len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
	}
	if (len >= sizeof line - 1)
		len = sizeof line - 2;
	line[len++] = '\n';
	emit(line, len);
}
