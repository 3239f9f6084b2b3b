/*
 * rand.c — xoshiro256** seeded by splitmix64 (see rand.h).
 *
 * splitmix64 turns any 64-bit seed, 0 included, into well-mixed words, so
 * the four state words are never all zero (the one state xoshiro cannot
 * leave). rand_below() removes modulo bias by rejection: of the 2^64
 * possible outputs it throws away the lowest 2^64 mod n, so that every
 * residue is left with the same number of preimages.
 */
#include <rand.h>

/* Advance *x and return the next splitmix64 output. */
static uint64_t splitmix64_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Start r on the sequence for seed (any seed, 0 included). */
void rand_seed(struct rand *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64_next(&seed);
}

/* The next 64 bits of xoshiro256**. */
uint64_t rand_next(struct rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* A uniform number in [0, n) for n > 0; 0 when n == 0. */
uint64_t rand_below(struct rand *r, uint64_t n)
{
	uint64_t reject_below, x;

	if (n == 0)
		return 0;
	/* (2^64 - n) mod n equals 2^64 mod n, without 65-bit arithmetic. */
	reject_below = (0 - n) % n;
	do {
		x = rand_next(r);
	} while (x < reject_below);
	return x % n;
}
