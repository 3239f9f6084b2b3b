/*
 * test_glob.c — glob_match() (kern/lib/string.c) on the host.
 *
 * A table of cases, a randomized comparison with the C library's
 * fnmatch(pattern, string, 0) over an alphabet without '[' and '\\' (where
 * both have the same meaning: '*' matches any run, '/' and '.' included,
 * and '?' any one character), and patterns that would take exponential
 * time in a naive recursive matcher. The random part prints its seed;
 * TEST_SEED=<seed> replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <fnmatch.h>
#include <cmocka.h>
#include <kstring.h>
#include "testutil.h"

struct glob_case {
	const char *pat;
	const char *s;
	bool match;
};

static void test_table(void **state)
{
	static const struct glob_case cases[] = {
		{ "", "", true },
		{ "", "a", false },
		{ "a", "", false },
		{ "*", "", true },
		{ "*", "anything at all", true },
		{ "**", "", true },
		{ "?", "", false },
		{ "?", "x", true },
		{ "?", "xy", false },
		{ "abc", "abc", true },
		{ "abc", "abd", false },
		{ "abc", "ab", false },
		{ "ab", "abc", false },
		{ "boot.*", "boot.printf_formats", true },
		{ "boot.*", "boot.", true },
		{ "boot.*", "boot", false },
		{ "boot.*", "buddy.alloc", false },
		{ "*.alloc*", "buddy.alloc_order0", true },
		{ "*_free", "buddy.free", false },
		{ "b?ddy.*", "buddy.split", true },
		{ "*a", "banana", true },
		{ "*an*a", "banana", true },
		{ "*n?n*", "banana", true },
		{ "a*b*c", "abc", true },
		{ "a*b*c", "aXbYc", true },
		{ "a*b*c", "acb", false },
		{ "a*b*c", "abcbc", true },
		{ "a*c", "abcbcd", false },
		{ "*?", "", false },
		{ "*?*", "x", true },
		{ "[ab]", "a", false },	/* no character classes */
		{ "[ab]", "[ab]", true },
		{ "a[c", "abc", false },
		{ "\\*", "\\x", true },	/* no escapes: '\\' is literal */
		{ "*/*", "a/b", true },	/* '*' crosses '/' */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (glob_match(cases[i].pat, cases[i].s) != cases[i].match)
			fail_msg("glob_match(\"%s\", \"%s\") should be %s",
				 cases[i].pat, cases[i].s,
				 cases[i].match ? "true" : "false");
	}
}

static void random_word(struct test_rng *rng, const char *alphabet,
			char *out, size_t max_len)
{
	size_t len = test_rng_below(rng, max_len + 1);
	size_t nalpha = libc_strlen(alphabet);

	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[test_rng_below(rng, nalpha)];
	out[len] = '\0';
}

static void test_random_against_fnmatch(void **state)
{
	uint64_t seed = test_seed();
	struct test_rng rng = { .x = seed };
	char pat[16], s[16];

	(void)state;
	print_message("seed %llu (TEST_SEED=<seed> to replay)\n",
		      (unsigned long long)seed);
	for (int round = 0; round < 100000; round++) {
		random_word(&rng, "ab.*?", pat, 8);
		random_word(&rng, "ab.", s, 10);
		if (glob_match(pat, s) != (fnmatch(pat, s, 0) == 0))
			fail_msg("round %d: glob_match(\"%s\", \"%s\") = %d "
				 "but fnmatch says %d; TEST_SEED=%llu replays",
				 round, pat, s, glob_match(pat, s),
				 fnmatch(pat, s, 0) == 0,
				 (unsigned long long)seed);
	}
}

/* "a*a*...*b" against "aaa...a" is exponential for naive backtracking. */
static void test_no_exponential_blowup(void **state)
{
	enum { LEN = 20000 };
	char *s = malloc(LEN + 2);
	const char *pat = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";

	(void)state;
	assert_non_null(s);
	memset(s, 'a', LEN);
	s[LEN] = '\0';
	assert_false(glob_match(pat, s));
	s[LEN] = 'b';
	s[LEN + 1] = '\0';
	assert_true(glob_match(pat, s));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_random_against_fnmatch),
		cmocka_unit_test(test_no_exponential_blowup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) == 0 ? 0 : 1;
}
