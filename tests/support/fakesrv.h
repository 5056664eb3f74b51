/* fakesrv — a scripted TCP server on loopback for client tests: it reads whole requests
 * (RESP arrays, or HTTP/1.1 requests with a Content-Length body), records them, and answers
 * each with the next step of its script: a reply, a reply and a close, silence, a close
 * without a reply, or a close that also stops listening (a process that died with the
 * request in hand). When the script is over the last step repeats (or, with no step at all,
 * the connection is closed).
 *
 * Steps are added before a client talks to the server (fakesrv_step is not synchronised
 * with the server thread). Depends on libc and pthreads only, so every test may link it.
 */
#ifndef SB_TEST_FAKESRV_H
#define SB_TEST_FAKESRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

enum fakesrv_proto { FAKESRV_RESP, FAKESRV_HTTP };

enum fakesrv_act {
	FAKESRV_REPLY,       /* send the reply, keep the connection */
	FAKESRV_REPLY_CLOSE, /* send the reply, then close */
	FAKESRV_SILENT,      /* never answer (until the client goes away) */
	FAKESRV_CLOSE,       /* close without answering */
	FAKESRV_CLOSE_STOP,  /* close without answering, and stop listening: later connects are
				refused */
};

#define FAKESRV_STEPS 32
#define FAKESRV_REPLY_MAX 2048

struct fakesrv_step {
	enum fakesrv_act act;
	char reply[FAKESRV_REPLY_MAX];
	size_t len;
};

struct fakesrv {
	int lfd, port;
	enum fakesrv_proto proto;
	struct fakesrv_step steps[FAKESRV_STEPS];
	size_t nsteps, next;
	char got[65536]; /* every request received, one after the other */
	size_t got_len;
	_Atomic unsigned conns, requests, closed; /* connections accepted, requests, closed */
	_Atomic int stop, listening;
	pthread_t th;
};

/* Listen on 127.0.0.1 (a free port, f->port) and serve in a thread. Aborts on failure. */
void fakesrv_start(struct fakesrv *f, enum fakesrv_proto proto);
/* Add a step; the reply is printf-formatted (raw bytes: RESP, or a whole HTTP response). */
void fakesrv_step(struct fakesrv *f, enum fakesrv_act act, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add a REPLY step with a whole HTTP/1.1 response: status and a JSON body. */
void fakesrv_http(struct fakesrv *f, int status, const char *json);
/* Stop the thread and close everything. */
void fakesrv_stop(struct fakesrv *f);

/* A port nobody listens on (bound, then released). */
int fakesrv_free_port(void);
/* A TCP socket bound to 127.0.0.1 on a free port (*port), not listening. Aborts on failure.
 * Bind several before closing them to get distinct free ports. */
int fakesrv_bind_any(int *port);

#endif
