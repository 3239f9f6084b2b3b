/*
 * testutil.h — small helpers shared by the host tests.
 *
 * Randomized tests take their seed from test_seed(): $TEST_SEED if set
 * (decimal or 0x hex), else a fixed default, so a run is reproducible and a
 * failure names the seed that replays it:
 *
 *	make -C tests/host TEST_SEED=12345
 *
 * The random numbers come from test_rng, a splitmix64 kept apart from the
 * kernel's lib/rand.c so that a bug there cannot hide a bug elsewhere.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>

#define TEST_SEED_DEFAULT 20240901u

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The seed for this run's randomized tests. */
static inline uint64_t test_seed(void)
{
	const char *s = getenv("TEST_SEED");

	if (s == NULL || *s == '\0')
		return TEST_SEED_DEFAULT;
	return strtoull(s, NULL, 0);
}

struct test_rng {
	uint64_t x;
};

/* The next 64 random bits (splitmix64). */
static inline uint64_t test_rng_next(struct test_rng *r)
{
	uint64_t z = (r->x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n), n > 0; the slight modulo bias does not matter here. */
static inline uint64_t test_rng_below(struct test_rng *r, uint64_t n)
{
	return test_rng_next(r) % n;
}

#endif /* TESTUTIL_H */
