/* lazylib — libcurl and libmicrohttpd, opened the first time they are needed.
 *
 * Only the etcd client (client/http.c) speaks HTTP as a client and only `splitbrain serve`
 * as a server, yet linking the two libraries made every start of every command load them
 * and the two dozen libraries they depend on (TLS, Kerberos, LDAP, IDN, ...): some 300 page
 * faults and several milliseconds before main, more than `splitbrain check` then takes to
 * read and check a history of 10,000 operations (bench/RESULTS.md, "Start-up: the HTTP
 * libraries loaded when used"). So the binary does not link them: the functions used are
 * looked up with dlopen/dlsym by their Debian run-time sonames (libcurl.so.4,
 * libmicrohttpd.so.12) on first use. The headers still come from the -dev packages, so the
 * types and constants are checked at compile time as before.
 *
 * A library that cannot be opened, or lacks a function, is an error naming the library and
 * what to install, returned to the caller; nothing aborts.
 *
 * Thread rules: lz_curl and lz_mhd may be called from any thread; each loads once
 * (pthread_once) and then only returns the same table.
 */
#ifndef SB_LAZYLIB_H
#define SB_LAZYLIB_H

#include <stddef.h>

#define CURL_DISABLE_TYPECHECK /* calls go through the table, not curl's checking macros */
#include <curl/curl.h>
#include <microhttpd.h>

/* The libcurl functions client/http.c uses. */
struct lz_curl {
	CURLcode (*global_init)(long flags);
	const char *(*easy_strerror)(CURLcode);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};

/* The libmicrohttpd functions cmd_serve.c uses. */
struct lz_mhd {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *,
						       enum MHD_DaemonInfoType, ...);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
							     enum MHD_ResponseMemoryMode);
	struct MHD_Response *(*create_response_from_fd)(size_t, int);
	enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *,
					       const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
					  struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
	const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
					       const char *);
};

/* The table, or NULL with a message in err ("libcurl.so.4: cannot open ...; install
 * libcurl4"). */
const struct lz_curl *lz_curl(char *err, size_t errlen);
const struct lz_mhd *lz_mhd(char *err, size_t errlen);

#endif
