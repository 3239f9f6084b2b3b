/*
 * rand.h — a small seeded pseudo-random generator for tests (lib/rand.c).
 *
 * Tests draw their random operation sequences from this, so that the seed
 * printed with a failure (seed= on the command line, TEST_SEED on the host)
 * replays the same run. It is xoshiro256** (Blackman and Vigna, 2018),
 * whose state is filled from the seed by splitmix64. It is fast and
 * statistically good, and it is NOT for secrets: its output reveals its state.
 */
#ifndef RAND_H
#define RAND_H

#include <stdint.h>

/* Generator state. Any value but all zeros is valid; rand_seed() fills it. */
struct rand {
	uint64_t s[4];
};

/* Set r to the start of the sequence for seed. Every seed is valid. */
void rand_seed(struct rand *r, uint64_t seed);

/* The next 64 uniformly distributed bits. */
uint64_t rand_next(struct rand *r);

/*
 * A uniformly distributed integer in [0, n), without the bias of a plain
 * rand_next(r) % n. n must be > 0; for n == 0 it returns 0 rather than
 * dividing by zero.
 */
uint64_t rand_below(struct rand *r, uint64_t n);

#endif /* RAND_H */
