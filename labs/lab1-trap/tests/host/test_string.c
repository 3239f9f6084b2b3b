/*
 * test_string.c — the kernel's memory and string functions
 * (kern/lib/string.c) on the host.
 *
 * memcpy(), strlen() and the rest here are the kernel's (kernel_names.h
 * renames them). Each is checked against a model: a byte-at-a-time loop
 * written in this file, too simple to be wrong. The buffers come from
 * malloc() at the exact size a call may touch, so ASan reports any byte
 * read or written past the end, and the kernel's 8-byte word loops are
 * exercised at every alignment.
 *
 * The randomized test prints its seed; TEST_SEED=<seed> replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <kstring.h>
#include "testutil.h"

/* ---- models ---------------------------------------------------------- */

static void model_move(unsigned char *buf, size_t dst, size_t src, size_t n)
{
	unsigned char *tmp = malloc(n + 1);

	assert_non_null(tmp);
	for (size_t i = 0; i < n; i++)
		tmp[i] = buf[src + i];
	for (size_t i = 0; i < n; i++)
		buf[dst + i] = tmp[i];
	free(tmp);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static int model_compare(const unsigned char *a, const unsigned char *b,
			 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

/* A heap block of n bytes holding the pattern i * 7 + salt. */
static unsigned char *patterned(size_t n, unsigned salt)
{
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + salt);
	return p;
}

/* ---- memory functions ------------------------------------------------ */

static void test_memcpy_every_alignment(void **state)
{
	(void)state;
	for (size_t doff = 0; doff < 9; doff++)
	for (size_t soff = 0; soff < 9; soff++)
	for (size_t n = 0; n < 41; n++) {
		unsigned char *src = patterned(soff + n, 1);
		unsigned char *dst = patterned(doff + n, 100);
		unsigned char *want = patterned(doff + n, 100);

		bool returned_dst, same;

		for (size_t i = 0; i < n; i++)
			want[doff + i] = src[soff + i];
		returned_dst = memcpy(dst + doff, src + soff, n) == dst + doff;
		same = model_compare(dst, want, doff + n) == 0;
		free(src);
		free(dst);
		free(want);
		if (!returned_dst || !same)
			fail_msg("memcpy(dst+%zu, src+%zu, %zu) is wrong", doff,
				 soff, n);
	}
}

static void test_memmove_overlaps_both_ways(void **state)
{
	const size_t size = 64;

	(void)state;
	for (size_t dst = 0; dst < 24; dst++)
	for (size_t src = 0; src < 24; src++)
	for (size_t n = 0; n + MAX(dst, src) <= size; n += 1 + n / 8) {
		unsigned char *buf = patterned(size, 3);
		unsigned char *want = patterned(size, 3);

		bool returned_dst, same;

		model_move(want, dst, src, n);
		returned_dst = memmove(buf + dst, buf + src, n) == buf + dst;
		same = model_compare(buf, want, size) == 0;
		free(buf);
		free(want);
		if (!returned_dst || !same)
			fail_msg("memmove(buf+%zu, buf+%zu, %zu) is wrong",
				 dst, src, n);
	}
}

static void test_memmove_fixed_cases(void **state)
{
	char up[] = "0123456789", down[] = "0123456789";

	(void)state;
	memmove(up + 2, up, 6);	/* destination above source: copy down */
	assert_string_equal(up, "0101234589");
	memmove(down, down + 2, 6); /* destination below source: copy up */
	assert_string_equal(down, "2345676789");
}

static void test_memset_every_alignment(void **state)
{
	static const int values[] = { 0, 0xab, 0x1ff, -1 };

	(void)state;
	for (size_t v = 0; v < 4; v++)
	for (size_t off = 0; off < 9; off++)
	for (size_t n = 0; n < 41; n++) {
		unsigned char *buf = patterned(off + n, 5);
		unsigned char *want = patterned(off + n, 5);

		bool returned_dst, same;

		for (size_t i = 0; i < n; i++)
			want[off + i] = (unsigned char)values[v];
		returned_dst = memset(buf + off, values[v], n) == buf + off;
		same = model_compare(buf, want, off + n) == 0;
		free(buf);
		free(want);
		if (!returned_dst || !same)
			fail_msg("memset(buf+%zu, %#x, %zu) is wrong", off,
				 values[v], n);
	}
}

static void test_memcmp(void **state)
{
	(void)state;
	assert_int_equal(memcmp("abc", "abc", 3), 0);
	assert_int_equal(memcmp("abc", "abd", 0), 0);
	assert_true(memcmp("abc", "abd", 3) < 0);
	assert_true(memcmp("abd", "abc", 3) > 0);
	assert_int_equal(memcmp("abcX", "abcY", 3), 0);
	assert_true(memcmp("\x80", "\x01", 1) > 0); /* bytes are unsigned */
	assert_true(memcmp("a\0b", "a\0c", 3) < 0); /* NUL is not an end */
}

static void test_memchr(void **state)
{
	static const char s[] = "hello\0world\xff";

	(void)state;
	assert_ptr_equal(memchr(s, 'l', sizeof(s)), s + 2);
	assert_ptr_equal(memchr(s, 'w', sizeof(s)), s + 6); /* past the NUL */
	assert_ptr_equal(memchr(s, '\0', sizeof(s)), s + 5);
	assert_ptr_equal(memchr(s, 'w', 6), NULL);
	assert_ptr_equal(memchr(s, 'h', 0), NULL);
	assert_ptr_equal(memchr(s, 0x1ff, sizeof(s)), s + 11); /* (uchar)c */
	assert_ptr_equal(memchr(s, 'z', sizeof(s)), NULL);
}

/* ---- string functions ------------------------------------------------ */

static void test_strlen_strnlen(void **state)
{
	(void)state;
	assert_int_equal(strlen(""), 0);
	assert_int_equal(strlen("abc"), 3);
	assert_int_equal(strlen("ab\0cd"), 2);
	assert_int_equal(strnlen("abc", 0), 0);
	assert_int_equal(strnlen("abc", 2), 2);
	assert_int_equal(strnlen("abc", 3), 3);
	assert_int_equal(strnlen("abc", 100), 3);
}

static void test_strcmp_strncmp(void **state)
{
	(void)state;
	assert_int_equal(strcmp("", ""), 0);
	assert_int_equal(strcmp("abc", "abc"), 0);
	assert_true(strcmp("abc", "abd") < 0);
	assert_true(strcmp("abd", "abc") > 0);
	assert_true(strcmp("ab", "abc") < 0);	/* a prefix sorts first */
	assert_true(strcmp("abc", "ab") > 0);
	assert_true(strcmp("\xff", "a") > 0);	/* bytes are unsigned */
	assert_int_equal(strncmp("abcX", "abcY", 3), 0);
	assert_true(strncmp("abcX", "abcY", 4) < 0);
	assert_int_equal(strncmp("abc", "xyz", 0), 0);
	assert_int_equal(strncmp("ab\0X", "ab\0Y", 4), 0); /* stops at NUL */
	assert_true(strncmp("ab", "abc", 5) < 0);
	assert_true(strncmp("\x80", "\x7f", 1) > 0);
}

static void test_strchr_strrchr(void **state)
{
	static const char s[] = "a/b/c";

	(void)state;
	assert_ptr_equal(strchr(s, '/'), s + 1);
	assert_ptr_equal(strrchr(s, '/'), s + 3);
	assert_ptr_equal(strchr(s, 'a'), s);
	assert_ptr_equal(strrchr(s, 'a'), s);
	assert_ptr_equal(strchr(s, '\0'), s + 5);
	assert_ptr_equal(strrchr(s, '\0'), s + 5);
	assert_ptr_equal(strchr(s, 'x'), NULL);
	assert_ptr_equal(strrchr(s, 'x'), NULL);
	assert_ptr_equal(strchr(s, '/' + 256), s + 1); /* c becomes a char */
	assert_ptr_equal(strrchr("", 'a'), NULL);
}

static void test_strlcpy(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(strlcpy(buf, "hello", 0), 5);
	assert_int_equal(buf[0], 'X');		/* size 0: untouched */
	assert_int_equal(strlcpy(buf, "hello", 1), 5);
	assert_string_equal(buf, "");
	assert_int_equal(strlcpy(buf, "hello", 4), 5);
	assert_string_equal(buf, "hel");
	assert_int_equal(buf[4], 'X');		/* nothing past size */
	assert_int_equal(strlcpy(buf, "hello", 5), 5);
	assert_string_equal(buf, "hell");
	assert_int_equal(strlcpy(buf, "hello", 6), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(strlcpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_strlcat(void **state)
{
	char buf[8];

	(void)state;
	strlcpy(buf, "ab", sizeof(buf));
	assert_int_equal(strlcat(buf, "cd", sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(strlcat(buf, "efghij", sizeof(buf)), 10);
	assert_string_equal(buf, "abcdefg");	/* cut, still terminated */
	strlcpy(buf, "ab", sizeof(buf));
	assert_int_equal(strlcat(buf, "cdef", 5), 6);
	assert_string_equal(buf, "abcd");
	assert_int_equal(strlcat(buf, "xyz", 2), 5); /* no NUL within size */
	assert_string_equal(buf, "abcd");	/* dst untouched */
	assert_int_equal(strlcat(buf, "xyz", 0), 3);
	assert_string_equal(buf, "abcd");
}

/* ---- randomized differential test ------------------------------------ */

enum { RANDOM_ROUNDS = 20000, ARENA = 96 };

static void random_memmove(struct test_rng *rng, int round, uint64_t seed)
{
	size_t dst = test_rng_below(rng, ARENA);
	size_t src = test_rng_below(rng, ARENA);
	size_t room = ARENA - MAX(dst, src);
	size_t n = test_rng_below(rng, room + 1);
	unsigned char *buf = patterned(ARENA, (unsigned)round);
	unsigned char *want = patterned(ARENA, (unsigned)round);

	bool same;

	model_move(want, dst, src, n);
	memmove(buf + dst, buf + src, n);
	same = model_compare(buf, want, ARENA) == 0;
	free(buf);
	free(want);
	if (!same)
		fail_msg("round %d: memmove(+%zu, +%zu, %zu) differs from the "
			 "model; TEST_SEED=%llu replays", round, dst, src, n,
			 (unsigned long long)seed);
}

static void random_memcmp(struct test_rng *rng, int round, uint64_t seed)
{
	size_t n = test_rng_below(rng, ARENA);
	unsigned char *a = patterned(n, (unsigned)round);
	unsigned char *b = patterned(n, (unsigned)round);

	bool same_sign;

	if (n > 0 && test_rng_below(rng, 4) != 0)
		b[test_rng_below(rng, n)] = (unsigned char)test_rng_next(rng);
	same_sign = sign(memcmp(a, b, n)) == model_compare(a, b, n);
	free(a);
	free(b);
	if (!same_sign)
		fail_msg("round %d: memcmp over %zu bytes has the wrong sign; "
			 "TEST_SEED=%llu replays", round, n,
			 (unsigned long long)seed);
}

/* A NUL-terminated string of len random letters, in an exact-size block. */
static char *random_string(struct test_rng *rng, size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + test_rng_below(rng, 26));
	s[len] = '\0';
	return s;
}

/* What strlcpy(head) then strlcat(tail) leave in a size-byte buffer. */
static void model_concat(char *out, size_t size, const char *head,
			 const char *tail)
{
	size_t n = 0;

	for (const char *p = head; *p != '\0' && n + 1 < size; p++)
		out[n++] = *p;
	for (const char *p = tail; *p != '\0' && n + 1 < size; p++)
		out[n++] = *p;
	out[n] = '\0';
}

static void random_strlcpy_strlcat(struct test_rng *rng, int round,
				   uint64_t seed)
{
	size_t size = test_rng_below(rng, 24) + 1;
	size_t head_len = test_rng_below(rng, size);	/* fits with its NUL */
	size_t tail_len = test_rng_below(rng, 24);
	char *head = random_string(rng, head_len);
	char *tail = random_string(rng, tail_len);
	char *dst = malloc(size); /* exact size: ASan catches an overrun */
	char want[64], got[64];
	bool returns_ok;

	assert_non_null(dst);
	model_concat(want, size, head, tail);
	returns_ok = strlcpy(dst, head, size) == head_len &&
		     strlcat(dst, tail, size) == head_len + tail_len;
	libc_snprintf(got, sizeof(got), "%s", dst);
	free(head);
	free(tail);
	free(dst);
	if (!returns_ok || libc_strcmp(got, want) != 0)
		fail_msg("round %d: strlcpy+strlcat of %zu+%zu chars into %zu "
			 "bytes gave \"%s\", want \"%s\"%s; TEST_SEED=%llu "
			 "replays", round, head_len, tail_len, size, got, want,
			 returns_ok ? "" : " (and wrong lengths)",
			 (unsigned long long)seed);
}

static void test_random_against_models(void **state)
{
	uint64_t seed = test_seed();
	struct test_rng rng = { .x = seed };

	(void)state;
	print_message("seed %llu (TEST_SEED=<seed> to replay)\n",
		      (unsigned long long)seed);
	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		switch (test_rng_below(&rng, 3)) {
		case 0: random_memmove(&rng, round, seed); break;
		case 1: random_memcmp(&rng, round, seed); break;
		default: random_strlcpy_strlcat(&rng, round, seed); break;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memcpy_every_alignment),
		cmocka_unit_test(test_memmove_overlaps_both_ways),
		cmocka_unit_test(test_memmove_fixed_cases),
		cmocka_unit_test(test_memset_every_alignment),
		cmocka_unit_test(test_memcmp),
		cmocka_unit_test(test_memchr),
		cmocka_unit_test(test_strlen_strnlen),
		cmocka_unit_test(test_strcmp_strncmp),
		cmocka_unit_test(test_strchr_strrchr),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_strlcat),
		cmocka_unit_test(test_random_against_models),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) == 0 ? 0 : 1;
}
