/*
 * test_sha256.c — SHA-256 and HMAC-SHA256 (kern/lib/sha256.c) on the host:
 * the FIPS 180-4 example messages (one block, two blocks, a million
 * bytes), the RFC 4231 HMAC test cases (short and long keys and messages),
 * and that feeding a message in pieces gives the digest of the whole.
 * A wrong digest here means the grader rejects every line of the kernel's
 * result channel as forged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <sha256.h>
#include "testutil.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		libc_snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void expect_sha256(const void *msg, size_t len, const char *want)
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];

	sha256_init(&s);
	sha256_update(&s, msg, len);
	sha256_final(&s, d);
	hex(d, sizeof(d), got);
	assert_string_equal(got, want);
}

static void expect_hmac(const void *key, size_t klen, const void *msg,
			size_t mlen, const char *want)
{
	struct hmac_sha256 m;
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];

	hmac_sha256_init(&m, key, klen);
	hmac_sha256_update(&m, msg, mlen);
	hmac_sha256_final(&m, d);
	hex(d, sizeof(d), got);
	/* RFC 4231 case 5 gives only the first 128 bits. */
	got[strlen(want)] = '\0';
	assert_string_equal(got, want);
}

/* FIPS 180-4 examples: empty, "abc" (one block), 448 bits (two blocks). */
static void test_fips_short_messages(void **state)
{
	(void)state;
	expect_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb924"
			     "27ae41e4649b934ca495991b7852b855");
	expect_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223"
				"b00361a396177a9cb410ff61f20015ad");
	expect_sha256("abcdbcdecdefdefgefghfghighijhij"
		      "kijkljklmklmnlmnomnopnopq", 56,
		      "248d6a61d20638b8e5c026930c3e6039"
		      "a33ce45964ff2167f6ecedd419db06c1");
}

/* 896 bits: the padding spills into a third block. */
static void test_fips_896_bit_message(void **state)
{
	static const char m[] = "abcdefghbcdefghicdefghijdefghijkefghijkl"
				"fghijklmghijklmnhijklmnoijklmnopjklmnopq"
				"klmnopqrlmnopqrsmnopqrstnopqrstu";

	(void)state;
	expect_sha256(m, sizeof(m) - 1, "cf5b16a778af8380036ce59e7b049237"
					"0b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a's, fed in 997-byte pieces that straddle every block. */
static void test_fips_million_a_in_pieces(void **state)
{
	static uint8_t piece[997];
	struct sha256 s;
	uint8_t d[SHA256_DIGEST];
	char got[2 * SHA256_DIGEST + 1];
	size_t left = 1000000;

	(void)state;
	memset(piece, 'a', sizeof(piece));
	sha256_init(&s);
	while (left > 0) {
		size_t n = left < sizeof(piece) ? left : sizeof(piece);

		sha256_update(&s, piece, n);
		left -= n;
	}
	sha256_final(&s, d);
	hex(d, sizeof(d), got);
	assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67"
				 "f1809a48a497200e046d39ccc7112cd0");
}

/* Every length around the padding boundaries (55, 56, 63, 64, 119, 120):
 * byte-at-a-time updates give the digest of a single update. */
static void test_pieces_equal_whole(void **state)
{
	uint8_t msg[200], whole[SHA256_DIGEST], bytes[SHA256_DIGEST];

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		struct sha256 a, b;

		sha256_init(&a);
		sha256_update(&a, msg, len);
		sha256_final(&a, whole);
		sha256_init(&b);
		for (size_t i = 0; i < len; i++)
			sha256_update(&b, msg + i, 1);
		sha256_final(&b, bytes);
		assert_memory_equal(whole, bytes, SHA256_DIGEST);
	}
}

/* RFC 4231 §4.2-4.5: keys and messages shorter than a block. */
static void test_rfc4231_short_keys(void **state)
{
	uint8_t k1[20], k3[20], d3[50], k4[25], d4[50];

	(void)state;
	memset(k1, 0x0b, sizeof(k1));
	expect_hmac(k1, sizeof(k1), "Hi There", 8,
		    "b0344c61d8db38535ca8afceaf0bf12b"
		    "881dc200c9833da726e9376c2e32cff7");
	expect_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		    "5bdcc146bf60754e6a042426089575c7"
		    "5a003f089d2739839dec58b964ec3843");
	memset(k3, 0xaa, sizeof(k3));
	memset(d3, 0xdd, sizeof(d3));
	expect_hmac(k3, sizeof(k3), d3, sizeof(d3),
		    "773ea91e36800e46854db8ebd09181a7"
		    "2959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		k4[i] = (uint8_t)(i + 1);
	memset(d4, 0xcd, sizeof(d4));
	expect_hmac(k4, sizeof(k4), d4, sizeof(d4),
		    "82558a389a443c0ea4cc819899f2083a"
		    "85f0faa3e578f8077a2e3ff46729665b");
}

/* RFC 4231 §4.6: the output truncated to 128 bits. */
static void test_rfc4231_truncated(void **state)
{
	uint8_t k[20];

	(void)state;
	memset(k, 0x0c, sizeof(k));
	expect_hmac(k, sizeof(k), "Test With Truncation", 20,
		    "a3b6167473100ee06e0c796c2955552b");
}

/* RFC 4231 §4.7-4.8: a 131-byte key is hashed first; a multi-block message. */
static void test_rfc4231_long_key_and_message(void **state)
{
	static const char m6[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	static const char m7[] =
		"This is a test using a larger than block-size key and a "
		"larger than block-size data. The key needs to be hashed "
		"before being used by the HMAC algorithm.";
	uint8_t k[131];

	(void)state;
	memset(k, 0xaa, sizeof(k));
	expect_hmac(k, sizeof(k), m6, sizeof(m6) - 1,
		    "60e431591ee0b67f0d8a26aacbf5b77f"
		    "8e0bc6213728c5140546040f0ee37f54");
	expect_hmac(k, sizeof(k), m7, sizeof(m7) - 1,
		    "9b09ffa71b942fcb27635fbcd5b0e944"
		    "bfdc63644f0713938a7f51535c3a35e2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_short_messages),
		cmocka_unit_test(test_fips_896_bit_message),
		cmocka_unit_test(test_fips_million_a_in_pieces),
		cmocka_unit_test(test_pieces_equal_whole),
		cmocka_unit_test(test_rfc4231_short_keys),
		cmocka_unit_test(test_rfc4231_truncated),
		cmocka_unit_test(test_rfc4231_long_key_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
