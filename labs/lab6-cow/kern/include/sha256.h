/*
 * sha256.h — SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * The test harness signs each line of its result channel with
 * HMAC-SHA256 (kern/test/kchan.c); the grader checks the signatures. Both
 * interfaces are incremental: init, any number of updates, final.
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BLOCK 64  /* bytes per compression */
#define SHA256_DIGEST 32 /* bytes of output */

struct sha256 {
	uint32_t h[8];               /* the chaining state */
	uint64_t len;                /* bytes hashed so far */
	uint8_t buf[SHA256_BLOCK];   /* a partial block: len % 64 bytes */
};

struct hmac_sha256 {
	struct sha256 inner;         /* H((K ^ ipad) || message ...) */
	uint8_t okey[SHA256_BLOCK];  /* K ^ opad, for the outer hash */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Write the digest to out; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST]);

/* Start a MAC with a key of any length (longer than a block is hashed). */
void hmac_sha256_init(struct hmac_sha256 *m, const void *key, size_t len);
void hmac_sha256_update(struct hmac_sha256 *m, const void *data, size_t len);
void hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[SHA256_DIGEST]);

#endif /* SHA256_H */
