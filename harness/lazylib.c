/* lazylib — libcurl and libmicrohttpd, opened the first time they are needed (lazylib.h). */
#include "harness/lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "lib/err.h"

/* One library: its soname, the Debian package that installs it, and, once loaded, its
 * table or why it could not be loaded. */
struct lib {
	const char *soname, *package;
	pthread_once_t once;
	int ok;
	char why[400];
};

/* Opens l's library; NULL (with l->why set) when it cannot be opened. */
static void *open_lib(struct lib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(l->why, sizeof l->why, "%s: %s; install the Debian package %s",
			 l->soname, e ? e : "cannot be opened", l->package);
	}
	return h;
}

/* Sets field from symbol `name` of library handle h, or fails the load naming the symbol. */
#define SYM(l, h, field, name)                                                              \
	do {                                                                                \
		if (!((field) = (__typeof__(field))dlsym((h), (name)))) {                    \
			snprintf((l)->why, sizeof (l)->why, "%s has no function %s (version "    \
				 "too old?)", (l)->soname, (name));                          \
			return;                                                             \
		}                                                                           \
	} while (0)

static struct lib curl_lib = {"libcurl.so.4", "libcurl4", PTHREAD_ONCE_INIT, 0, ""};
static struct lz_curl curl_tab;

static void load_curl(void)
{
	struct lib *l = &curl_lib;
	struct lz_curl *t = &curl_tab;
	void *h = open_lib(l);
	if (!h)
		return;
	SYM(l, h, t->global_init, "curl_global_init");
	SYM(l, h, t->easy_strerror, "curl_easy_strerror");
	SYM(l, h, t->easy_init, "curl_easy_init");
	SYM(l, h, t->easy_setopt, "curl_easy_setopt");
	SYM(l, h, t->easy_perform, "curl_easy_perform");
	SYM(l, h, t->easy_getinfo, "curl_easy_getinfo");
	SYM(l, h, t->easy_cleanup, "curl_easy_cleanup");
	SYM(l, h, t->slist_append, "curl_slist_append");
	SYM(l, h, t->slist_free_all, "curl_slist_free_all");
	l->ok = 1; /* the handle stays open for the life of the process */
}

static struct lib mhd_lib = {"libmicrohttpd.so.12", "libmicrohttpd12", PTHREAD_ONCE_INIT, 0,
			     ""};
static struct lz_mhd mhd_tab;

static void load_mhd(void)
{
	struct lib *l = &mhd_lib;
	struct lz_mhd *t = &mhd_tab;
	void *h = open_lib(l);
	if (!h)
		return;
	SYM(l, h, t->start_daemon, "MHD_start_daemon");
	SYM(l, h, t->stop_daemon, "MHD_stop_daemon");
	SYM(l, h, t->get_daemon_info, "MHD_get_daemon_info");
	SYM(l, h, t->create_response_from_buffer, "MHD_create_response_from_buffer");
	SYM(l, h, t->create_response_from_fd, "MHD_create_response_from_fd");
	SYM(l, h, t->add_response_header, "MHD_add_response_header");
	SYM(l, h, t->queue_response, "MHD_queue_response");
	SYM(l, h, t->destroy_response, "MHD_destroy_response");
	SYM(l, h, t->lookup_connection_value, "MHD_lookup_connection_value");
	l->ok = 1;
}

const struct lz_curl *lz_curl(char *err, size_t errlen)
{
	pthread_once(&curl_lib.once, load_curl);
	if (curl_lib.ok)
		return &curl_tab;
	err_set(err, errlen, SB_EIO, "%s", curl_lib.why);
	return NULL;
}

const struct lz_mhd *lz_mhd(char *err, size_t errlen)
{
	pthread_once(&mhd_lib.once, load_mhd);
	if (mhd_lib.ok)
		return &mhd_tab;
	err_set(err, errlen, SB_EIO, "%s", mhd_lib.why);
	return NULL;
}
