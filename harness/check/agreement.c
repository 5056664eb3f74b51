/* agreement — replicas' applied index and state digest, compared once the cluster is quiet
 * (agreement.h). */
#include "harness/check/agreement.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/clock.h"

#define POLL_NS (100 * CLOCK_NS_PER_MS)

const char *agree_status_name(enum agree_status s)
{
	switch (s) {
	case AGREE_AGREED:
		return "agreed";
	case AGREE_DIVERGED:
		return "diverged";
	case AGREE_UNCONVERGED:
		return "unconverged";
	default:
		return "skipped";
	}
}

enum agree_status agree_judge(const struct agree_node *nodes, size_t n, uint64_t *applied)
{
	/* Any two answers at one index with different digests: whatever the others say. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; nodes[i].answered && j < n; j++)
			if (nodes[j].answered && nodes[j].applied == nodes[i].applied &&
			    strcmp(nodes[j].digest, nodes[i].digest)) {
				*applied = nodes[i].applied;
				return AGREE_DIVERGED;
			}
	if (!n)
		return AGREE_UNCONVERGED;
	for (size_t i = 0; i < n; i++)
		if (!nodes[i].answered || nodes[i].applied != nodes[0].applied)
			return AGREE_UNCONVERGED;
	*applied = nodes[0].applied;
	return AGREE_AGREED;
}

void agree_skip(struct agree_result *r, const char *fmt, ...)
{
	r->status = AGREE_SKIPPED;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

static void ask_all(struct db *db, struct agree_node *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct agree_node *a = &nodes[i];
		snprintf(a->node, sizeof a->node, "%s", db->nodes[i].name);
		a->error[0] = '\0';
		a->answered = db->ops->digest(db, i, &a->applied, a->digest, sizeof a->digest,
					      a->error, sizeof a->error) == 0;
		if (!a->answered) {
			a->applied = 0;
			a->digest[0] = '\0';
		}
	}
}

/* "n1 at 120, n2 at 118, n3 not answering (connection refused)" */
static void describe(struct agree_result *r)
{
	size_t o = 0;
	for (size_t i = 0; i < r->n && o < sizeof r->reason; i++) {
		const struct agree_node *a = &r->nodes[i];
		int w = a->answered
				? snprintf(r->reason + o, sizeof r->reason - o, "%s%s at %llu",
					   i ? ", " : "", a->node, (unsigned long long)a->applied)
				: snprintf(r->reason + o, sizeof r->reason - o,
					   "%s%s not answering (%s)", i ? ", " : "", a->node,
					   a->error);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

void agree_run(struct db *db, int64_t timeout_ns, struct agree_result *out)
{
	memset(out, 0, sizeof *out);
	if (!db->ops->digest) {
		agree_skip(out, "the %s db kind has no state digest", db->ops->kind);
		return;
	}
	out->n = db->n < DB_MAX_NODES ? db->n : DB_MAX_NODES;
	int64_t t0 = clock_mono_ns();
	for (;;) {
		ask_all(db, out->nodes, out->n);
		out->rounds++;
		out->status = agree_judge(out->nodes, out->n, &out->applied);
		int64_t now = clock_mono_ns();
		out->waited_s = (double)(now - t0) / 1e9;
		if (out->status != AGREE_UNCONVERGED || now - t0 >= timeout_ns)
			break;
		clock_sleep_ns(POLL_NS, NULL);
	}
	if (out->status == AGREE_UNCONVERGED)
		describe(out);
}
