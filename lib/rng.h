/* rng — the project's one seeded pseudo-random generator (xoshiro256**, seeded through
 * splitmix64).
 *
 * Everything that must replay from a seed draws from a struct rng it owns: the Raft core's
 * election timeouts, the simulator's schedule, the history generator, the run's workload and
 * fault schedule. Pure: no clock, no I/O, no global state; libc only (raftnode links lib/).
 * Not for cryptography.
 *
 * Thread rules: a struct rng belongs to one thread (or is guarded by its owner).
 */
#ifndef SB_RNG_H
#define SB_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seed the generator. Every 64-bit seed (0 included) gives a usable, distinct stream. */
void rng_seed(struct rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* A uniform integer in [0, n); n == 0 gives 0. Unbiased (rejection of the short tail). */
uint64_t rng_below(struct rng *r, uint64_t n);

/* A uniform double in [0, 1) with 53 random bits. */
double rng_double(struct rng *r);

/* The splitmix64 step: advances *x and returns a well-mixed 64-bit value (for deriving
 * independent seeds from one). */
uint64_t rng_splitmix(uint64_t *x);

#endif
