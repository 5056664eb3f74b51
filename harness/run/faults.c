/* run/faults.c — starting and healing faults, and the nemesis thread that drives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run/internal.h"
#include "lib/err.h"

/* "fault 3" for the random schedule's, "timeline step 2" for a script's. */
static const char *label(uint64_t id, char *buf, size_t n)
{
	if (id >= RUN_TIMELINE_ID_BASE)
		snprintf(buf, n, "timeline step %llu", (unsigned long long)(id - RUN_TIMELINE_ID_BASE + 1));
	else
		snprintf(buf, n, "fault %llu", (unsigned long long)id);
	return buf;
}

size_t run_start_fault(struct run *r, const struct spec_fault *sf, uint64_t id, uint64_t rnd,
		       int64_t until)
{
	struct nemesis_act a = {.id = id, .kind = nemesis_find(sf->kind), .fault = sf,
				.started = run_now(r), .until = until};
	char err[1024] = "", val[NEMESIS_VALUE_MAX], lb[48];
	snprintf(val, sizeof val, "{\"fault\":\"%s\",\"target\":\"%s\"}", sf->kind, sf->target);
	run_record_nemesis(r, HTYPE_INVOKE, a.kind ? a.kind->start_f : sf->kind, val, NULL);
	int rc = a.kind ? a.kind->start(&r->env, &a, rnd, err, sizeof err)
			: err_set(err, sizeof err, SB_EINVAL, "unknown fault kind '%s'", sf->kind);
	if (rc) {
		snprintf(a.error, sizeof a.error, "%s", err);
		if (!a.desc[0])
			snprintf(a.desc, sizeof a.desc, "%s %s", sf->kind, sf->target);
		run_error(r, "%s (%s): %s", label(a.id, lb, sizeof lb), a.desc, err);
	} else {
		run_log(r, "%s: %s", label(a.id, lb, sizeof lb), a.desc);
	}
	run_record_nemesis(r, HTYPE_INFO, a.kind ? a.kind->start_f : sf->kind,
			   a.value[0] ? a.value : val, rc ? a.error : NULL);
	pthread_mutex_lock(&r->mu);
	if (r->nacts == r->capacts) {
		size_t cap = r->capacts ? 2 * r->capacts : 16;
		struct nemesis_act *p = realloc(r->acts, cap * sizeof *p);
		if (!p) {
			pthread_mutex_unlock(&r->mu);
			/* Not tracked: heal_all at the end still undoes it. */
			run_error(r, "%s: out of memory tracking it", label(a.id, lb, sizeof lb));
			return SIZE_MAX;
		}
		r->acts = p;
		r->capacts = cap;
	}
	size_t i = r->nacts++;
	r->acts[i] = a;
	snprintf(r->last_fault, sizeof r->last_fault, "%s", a.desc);
	pthread_mutex_unlock(&r->mu);
	return i;
}

void run_heal_fault(struct run *r, size_t i)
{
	pthread_mutex_lock(&r->mu);
	struct nemesis_act a = r->acts[i];
	pthread_mutex_unlock(&r->mu);
	char err[1024] = "", lb[48];
	int rc = 0;
	if (a.kind) {
		char val[64];
		snprintf(val, sizeof val, "{\"fault\":%llu}", (unsigned long long)a.id);
		run_record_nemesis(r, HTYPE_INVOKE, a.kind->heal_f, val, NULL);
		char before[sizeof a.error];
		memcpy(before, a.error, sizeof before);
		rc = a.kind->heal(&r->env, &a, err, sizeof err);
		/* A heal may succeed and still report what went wrong with the fault (a crash
		 * point that never fired): the history says so too. */
		const char *why = rc ? err : strcmp(before, a.error) ? a.error : NULL;
		run_record_nemesis(r, HTYPE_INFO, a.kind->heal_f, a.heal_value[0] ? a.heal_value : val,
				   why);
		if (!rc && why)
			run_error(r, "%s (%s): %s", label(a.id, lb, sizeof lb), a.desc, why);
		if (rc)
			run_error(r, "heal of %s (%s): %s", label(a.id, lb, sizeof lb), a.desc, err);
		else
			run_log(r, "healed %s: %s", label(a.id, lb, sizeof lb), a.heal_desc);
	}
	a.healed = true;
	a.healed_at = run_now(r);
	if (rc && !a.error[0])
		snprintf(a.error, sizeof a.error, "heal: %s", err);
	pthread_mutex_lock(&r->mu);
	r->acts[i] = a;
	if (a.id < RUN_TIMELINE_ID_BASE)
		gen_fault_healed(r->gen, a.id);
	pthread_mutex_unlock(&r->mu);
}

/* Heal the faults that are due (all of them when `all`), newest first. Returns the earliest
 * time a remaining one is due (INT64_MAX if none). */
int64_t run_heal_due(struct run *r, bool all)
{
	int64_t next = INT64_MAX;
	pthread_mutex_lock(&r->mu);
	size_t n = r->nacts;
	pthread_mutex_unlock(&r->mu);
	for (size_t k = n; k-- > 0;) {
		pthread_mutex_lock(&r->mu);
		bool healed = r->acts[k].healed;
		int64_t until = r->acts[k].until;
		pthread_mutex_unlock(&r->mu);
		if (healed)
			continue;
		if (all || until <= run_now(r))
			run_heal_fault(r, k);
		else if (until < next)
			next = until;
	}
	return next;
}

/* Every kind's heal_all, in the table's order: whatever the bookkeeping says, nothing stays
 * broken. Returns the number of kinds that failed. */
int run_heal_everything(struct run *r)
{
	int failed = 0;
	for (size_t k = 0; nemesis_kinds[k]; k++) {
		char err[1024] = "";
		if (nemesis_kinds[k]->heal_all(&r->env, err, sizeof err)) {
			run_error(r, "heal_all %s: %s", nemesis_kinds[k]->name, err);
			failed++;
		}
	}
	return failed;
}

void *run_nemesis_main(void *arg)
{
	struct run *r = arg;
	struct gen_fault pend;
	bool have = false;
	for (;;) {
		int64_t next_heal = run_heal_due(r, false);
		/* The timeline polls its conditions over the network: never with r->mu held. */
		int64_t next_step = run_timeline_tick(r, run_now(r));
		pthread_mutex_lock(&r->mu);
		int64_t now = run_now(r);
		if (gen_phase(r->gen, now) >= GEN_HEAL) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		int64_t wake = now + TICK_NS;
		if (!have) {
			enum gen_status st = gen_next_fault(r->gen, now, &pend, &wake);
			have = st == GEN_NEXT;
			if (st == GEN_DONE)
				wake = now + TICK_NS;
		}
		if (have && pend.at <= now) {
			pthread_mutex_unlock(&r->mu);
			const struct spec_fault *sf = &r->spec.nemesis.faults[pend.fault];
			run_start_fault(r, sf, pend.id, pend.rnd, pend.until);
			have = false;
			continue;
		}
		int64_t until = have ? pend.at : wake;
		if (next_heal < until)
			until = next_heal;
		if (next_step < until)
			until = next_step;
		run_wait_locked(r, &r->cv_ctl, until);
		pthread_mutex_unlock(&r->mu);
	}
	if (have) { /* handed out but never started: free its slot */
		pthread_mutex_lock(&r->mu);
		gen_fault_healed(r->gen, pend.id);
		pthread_mutex_unlock(&r->mu);
	}
	/* The main phase is over: heal everything, then let recovery begin. */
	run_timeline_end(r);
	run_log(r, "main phase over: healing");
	run_heal_due(r, true);
	run_heal_everything(r);
	pthread_mutex_lock(&r->mu);
	int64_t now = run_now(r);
	r->phase[REPORT_HEAL][1] = (double)now / 1e9;
	r->phase[REPORT_RECOVERY][0] = (double)now / 1e9;
	gen_healed(r->gen, now);
	r->running--;
	run_wake_locked(r);
	pthread_mutex_unlock(&r->mu);
	run_log(r, "healed: recovery");
	return NULL;
}

