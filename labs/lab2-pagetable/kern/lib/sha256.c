/*
 * sha256.c — SHA-256 after FIPS 180-4 §6.2, HMAC after RFC 2104 §2.
 *
 * 1. A message is padded with one 1 bit, zeros, and its length in bits as
 *    a 64-bit big-endian number, to a whole number of 64-byte blocks.
 * 2. Each block is expanded to a schedule of 64 words W[t] and mixed into
 *    the eight-word state by 64 rounds, each adding the constant K[t]
 *    (the first 32 bits of the fractional parts of the cube roots of the
 *    first 64 primes). The digest is the final state, big-endian.
 * 3. HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), K padded with zeros
 *    to a block (hashed first if it is longer), ipad = 0x36.., opad = 0x5c...
 *
 * Plain C with no machine-specific code: the host tests compile this file
 * as it is (tests/host/test_sha256.c).
 */
#include <kstring.h>
#include <sha256.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The initial state: fractional parts of the square roots of 2..19. */
static const uint32_t H0[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 §6.2.2: the message schedule, then 64 rounds. */
static void compress(uint32_t h[8], const uint8_t block[SHA256_BLOCK])
{
	uint32_t w[64], v[8];

	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++) {
		uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^
			      (w[t - 15] >> 3);
		uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^
			      (w[t - 2] >> 10);

		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int t = 0; t < 64; t++) {
		uint32_t e = v[4], a = v[0];
		uint32_t ch = (e & v[5]) ^ (~e & v[6]);
		uint32_t maj = (a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]);
		uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ch + K[t] + w[t];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + maj;

		for (int i = 7; i > 0; i--) /* h = g, g = f, ..., b = a */
			v[i] = v[i - 1];
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

void sha256_init(struct sha256 *s)
{
	memcpy(s->h, H0, sizeof(s->h));
	s->len = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		size_t have = s->len % SHA256_BLOCK;
		size_t room = SHA256_BLOCK - have;
		size_t take = len < room ? len : room;

		memcpy(s->buf + have, p, take);
		s->len += take;
		p += take;
		len -= take;
		if (have + take == SHA256_BLOCK)
			compress(s->h, s->buf);
	}
}

void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[SHA256_BLOCK + 8] = { 0x80 };
	size_t have = s->len % SHA256_BLOCK;
	/* The 0x80 byte and the zeros end 8 bytes short of a block. */
	size_t npad = (have < 56 ? 56 : 120) - have;

	for (int i = 0; i < 8; i++)
		pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, npad + 8);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, s->h[i]);
}

void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t len)
{
	uint8_t k[SHA256_BLOCK] = { 0 }, ikey[SHA256_BLOCK];

	if (len > SHA256_BLOCK) {
		sha256_init(&m->inner);
		sha256_update(&m->inner, key, len);
		sha256_final(&m->inner, k);
	} else {
		memcpy(k, key, len);
	}
	for (int i = 0; i < SHA256_BLOCK; i++) {
		ikey[i] = k[i] ^ 0x36;
		m->okey[i] = k[i] ^ 0x5c;
	}
	sha256_init(&m->inner);
	sha256_update(&m->inner, ikey, sizeof(ikey));
}

void hmac_sha256_update(struct hmac_sha256 *m, const void *data, size_t len)
{
	sha256_update(&m->inner, data, len);
}

void hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[SHA256_DIGEST])
{
	struct sha256 outer;
	uint8_t ihash[SHA256_DIGEST];

	sha256_final(&m->inner, ihash);
	sha256_init(&outer);
	sha256_update(&outer, m->okey, sizeof(m->okey));
	sha256_update(&outer, ihash, sizeof(ihash));
	sha256_final(&outer, out);
}
