/* bench_client — the controller's CPU per operation: the raftnode client (harness/client)
 * driving a local 3-node raftnode cluster with 50 workers, and the generator (harness/gen)
 * alone. Prints figures; never fails on a time.
 *
 *   bench_client [-w WORKERS] [-s SECONDS] [-k KEYS]
 *
 * Phase 1: WORKERS threads (default 50), worker w bound to node w mod 3 as in a run, each
 * invoking operations back to back for SECONDS (default 10): the kv mix, read/write/cas
 * 1:1:1 over KEYS keys (default 8), so two thirds of the operations are redirected by a
 * follower. The figure is user+sys CPU of this process (the nodes are other processes) per
 * operation completed. Phase 2: gen_next + gen_complete for 1M operations in one thread.
 * Uses $RAFTNODE (default build/raftnode); starts and stops the nodes itself on free
 * loopback ports. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/client/client.h"
#include "harness/client/resp.h"
#include "harness/gen/gen.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/rng.h"

#define NODES 3

static struct {
	char dir[64];
	int cport[NODES], pport[NODES];
	pid_t pid[NODES];
	struct db db;
	struct db_node nodes[NODES];
} cl;

static int workers = 50, seconds = 10, keys = 8;
static atomic_int stop;

struct worker {
	pthread_t th;
	int id;
	uint64_t ok, fail, info, mismatch;
};

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
	    getsockname(fd, (struct sockaddr *)&a, &l))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static const char *raftnode_bin(void)
{
	const char *b = getenv("RAFTNODE");
	return b && *b ? b : "build/raftnode";
}

static int cluster_start(void)
{
	snprintf(cl.dir, sizeof cl.dir, "/tmp/sb-bench-client-XXXXXX");
	if (!mkdtemp(cl.dir))
		return -1;
	int fds[2 * NODES], ports[2 * NODES];
	for (int i = 0; i < 2 * NODES; i++)
		if ((fds[i] = listen_any(&ports[i])) < 0)
			return -1;
	for (int i = 0; i < 2 * NODES; i++)
		close(fds[i]);
	char peers[256];
	for (int i = 0; i < NODES; i++) {
		cl.pport[i] = ports[2 * i];
		cl.cport[i] = ports[2 * i + 1];
	}
	snprintf(peers, sizeof peers, "n1=127.0.0.1:%d,n2=127.0.0.1:%d,n3=127.0.0.1:%d",
		 cl.pport[0], cl.pport[1], cl.pport[2]);
	for (int i = 0; i < NODES; i++) {
		char id[8], client[64], data[128], log[128];
		snprintf(id, sizeof id, "n%d", i + 1);
		snprintf(client, sizeof client, "127.0.0.1:%d", cl.cport[i]);
		snprintf(data, sizeof data, "%s/d%d", cl.dir, i + 1);
		snprintf(log, sizeof log, "%s/n%d.log", cl.dir, i + 1);
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execl(raftnode_bin(), "raftnode", "--id", id, "--peers", peers, "--client",
			      client, "--data", data, (char *)NULL);
			_exit(127);
		}
		cl.pid[i] = pid;
		snprintf(cl.nodes[i].name, sizeof cl.nodes[i].name, "%s", id);
		snprintf(cl.nodes[i].listen_host, sizeof cl.nodes[i].listen_host, "127.0.0.1");
		cl.nodes[i].client_port = cl.cport[i];
	}
	cl.db.nodes = cl.nodes;
	cl.db.n = NODES;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cluster_stop(void)
{
	for (int i = 0; i < NODES; i++) {
		if (cl.pid[i] > 0) {
			kill(cl.pid[i], SIGKILL);
			waitpid(cl.pid[i], NULL, 0);
		}
	}
	if (cl.dir[0])
		nftw(cl.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Wait until a write through node 1 succeeds (a leader is elected and reachable). */
static int cluster_ready(void)
{
	struct client *c = NULL;
	if (client_raftnode.open(&c, &cl.db, 0, NULL, 0))
		return -1;
	struct client_res res = {0};
	int ok = -1;
	for (int i = 0; i < 200 && ok; i++) {
		struct client_req req = {.f = OP_WRITE, .key = "ready", .value = 1,
					 .deadline = clock_mono_ns() + 1000 * CLOCK_NS_PER_MS};
		client_raftnode.invoke(c, &req, &res);
		if (res.type == HTYPE_OK)
			ok = 0;
		else
			usleep(50000);
	}
	client_res_free(&res);
	client_raftnode.close(c);
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct client *c = NULL;
	char err[256];
	if (client_raftnode.open(&c, &cl.db, (size_t)w->id % NODES, err, sizeof err)) {
		fprintf(stderr, "worker %d: %s\n", w->id, err);
		return NULL;
	}
	struct rng r;
	rng_seed(&r, (uint64_t)w->id);
	struct client_res res = {0};
	char names[64][16];
	for (int k = 0; k < keys && k < 64; k++)
		snprintf(names[k], sizeof names[k], "k%d", k);
	int64_t counter = (int64_t)w->id << 32;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct client_req req = {
			.f = (enum op_f)rng_below(&r, 3), /* read, write, cas */
			.key = names[rng_below(&r, (uint64_t)(keys < 64 ? keys : 64))],
			.value = ++counter,
			.expect = counter - 1,
			.deadline = clock_mono_ns() + 5 * CLOCK_NS_PER_S,
		};
		client_raftnode.invoke(c, &req, &res);
		if (res.type == HTYPE_OK)
			w->ok++;
		else if (res.type == HTYPE_INFO)
			w->info++;
		else if (strcmp(res.error, "mismatch") == 0)
			w->mismatch++;
		else
			w->fail++;
	}
	client_res_free(&res);
	client_raftnode.close(c);
	return NULL;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void cpu_split(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int bench_client_phase(void)
{
	struct worker *ws = calloc((size_t)workers, sizeof *ws);
	if (!ws)
		return -1;
	double u0, s0, u1, s1;
	int64_t t0 = clock_mono_ns();
	cpu_split(&u0, &s0);
	for (int i = 0; i < workers; i++) {
		ws[i].id = i;
		pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
	}
	sleep((unsigned)seconds);
	atomic_store(&stop, 1);
	uint64_t ok = 0, fail = 0, info = 0, mismatch = 0;
	for (int i = 0; i < workers; i++) {
		pthread_join(ws[i].th, NULL);
		ok += ws[i].ok;
		fail += ws[i].fail;
		info += ws[i].info;
		mismatch += ws[i].mismatch;
	}
	cpu_split(&u1, &s1);
	double wall = (double)(clock_mono_ns() - t0) / 1e9;
	uint64_t n = ok + fail + info + mismatch;
	double cpu = (u1 - u0) + (s1 - s0);
	printf("client: %d workers, kv read/write/cas 1:1:1 over %d keys, %.1f s\n", workers, keys,
	       wall);
	printf("client: %llu operations (ok %llu, cas mismatch %llu, fail %llu, info %llu) = %.0f ops/s\n",
	       (unsigned long long)n, (unsigned long long)ok, (unsigned long long)mismatch,
	       (unsigned long long)fail, (unsigned long long)info, n / wall);
	printf("client: CPU user %.2f s + sys %.2f s = %.2f us per operation (user %.2f, sys %.2f)\n",
	       u1 - u0, s1 - s0, n ? cpu * 1e6 / n : 0.0, n ? (u1 - u0) * 1e6 / n : 0.0,
	       n ? (s1 - s0) * 1e6 / n : 0.0);
	free(ws);
	return 0;
}

/* The generator alone: one thread, operations completing at once. */
static void bench_gen_phase(void)
{
	struct spec s;
	memset(&s, 0, sizeof s);
	snprintf(s.workload.kind, sizeof s.workload.kind, "kv");
	s.workload.keys = (uint32_t)keys;
	s.workload.rate = 0;
	s.workload.jitter = 0.5;
	s.time_limit_ns = INT64_MAX / 4;
	s.final_reads = true;
	s.seed = 1;
	struct gen *g = NULL;
	char err[256];
	if (gen_new(&g, &s, (uint32_t)workers, err, sizeof err)) {
		fprintf(stderr, "gen_new: %s\n", err);
		return;
	}
	const int N = 1000000;
	double c0 = cpu_s();
	int64_t now = 0;
	for (int i = 0; i < N; i++) {
		struct gen_op op;
		int64_t wake;
		if (gen_next(g, (uint32_t)(i % workers), now, &op, &wake) != GEN_NEXT)
			break;
		gen_complete(g, &op, GEN_OK, now);
		now += 1000;
	}
	double c1 = cpu_s();
	printf("gen: %d operations, %.3f us CPU per operation (gen_next + gen_complete)\n", N,
	       (c1 - c0) * 1e6 / N);
	gen_free(g);
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "w:s:k:")) != -1) {
		if (opt == 'w')
			workers = atoi(optarg);
		else if (opt == 's')
			seconds = atoi(optarg);
		else if (opt == 'k')
			keys = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_client [-w WORKERS] [-s SECONDS] [-k KEYS]\n");
			return 254;
		}
	}
	if (workers < 1 || seconds < 1 || keys < 1 || keys > 64) {
		fprintf(stderr, "bench_client: workers, seconds >= 1; keys 1..64\n");
		return 254;
	}
	signal(SIGPIPE, SIG_IGN);
	bench_gen_phase();
	if (access(raftnode_bin(), X_OK) != 0) {
		printf("client: skipped (no raftnode binary at %s)\n", raftnode_bin());
		return 0;
	}
	int rc = 1;
	if (cluster_start() || cluster_ready()) {
		fprintf(stderr, "bench_client: the cluster did not come up (logs were in %s)\n",
			cl.dir);
		goto out;
	}
	rc = bench_client_phase() ? 1 : 0;
out:
	cluster_stop();
	return rc;
}
