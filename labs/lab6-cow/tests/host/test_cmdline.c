/*
 * test_cmdline.c — kernel command-line parsing (kern/os/cmdline.c) on the
 * host: lookups, quoting, repeats, whole-key matching, truncation, the
 * word iterator, and parse_u64() at every boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <cmdline.h>
#include "testutil.h"

/* A command line with every feature of the grammar. */
static const char line[] =
	"  console=ttyS0 seed=7\tktest=\"boot.* buddy.*\" quiet "
	"seedling=3 xseed=9 seed=0x2a mem=64M empty= path=a=b "
	"quoted=\"\" \n";

/* cmdline_get() into a roomy buffer; returns the buffer. */
static const char *get(const char *cmdline, const char *key, int want_ret)
{
	static char val[64];

	memset(val, '#', sizeof(val));
	assert_int_equal(cmdline_get(cmdline, key, val, sizeof(val)), want_ret);
	return val;
}

static void test_values(void **state)
{
	(void)state;
	assert_string_equal(get(line, "console", 5), "ttyS0");
	assert_string_equal(get(line, "ktest", 14), "boot.* buddy.*");
	assert_string_equal(get(line, "mem", 3), "64M");
	assert_string_equal(get(line, "path", 3), "a=b");
	assert_string_equal(get(line, "quiet", 0), "");
	assert_string_equal(get(line, "empty", 0), "");
	assert_string_equal(get(line, "quoted", 0), "");
}

static void test_last_one_wins(void **state)
{
	(void)state;
	assert_string_equal(get(line, "seed", 4), "0x2a");
	assert_string_equal(get("a=1 a a=3", "a", 1), "3");
	assert_string_equal(get("a=1 a=2 a", "a", 0), "");
}

static void test_whole_keys_only(void **state)
{
	(void)state;
	assert_string_equal(get(line, "seedling", 1), "3");
	assert_string_equal(get(line, "xseed", 1), "9");
	assert_int_equal(cmdline_get(line, "see", NULL, 0), -1);
	assert_int_equal(cmdline_get(line, "seedlings", NULL, 0), -1);
	assert_int_equal(cmdline_get(line, "ttyS0", NULL, 0), -1); /* a value */
	assert_int_equal(cmdline_get(line, "buddy.*", NULL, 0), -1); /* "" */
	assert_int_equal(cmdline_get("seedling=3 x=1", "seed", NULL, 0), -1);
	assert_true(cmdline_has(line, "quiet"));
	assert_true(cmdline_has(line, "empty"));
	assert_false(cmdline_has(line, "quie"));
	assert_false(cmdline_has(line, "quiet2"));
	assert_false(cmdline_has(line, "absent"));
}

static void test_quotes(void **state)
{
	(void)state;
	assert_string_equal(get("a=\"x y\" b", "a", 3), "x y");
	assert_true(cmdline_has("a=\"x y\" b", "b"));
	assert_string_equal(get("a=\"x=y\"", "a", 3), "x=y");
	assert_string_equal(get("a=\"open to the end", "a", 15),
			    "open to the end");
	/* The closing quote ends the word; what follows is a new word. */
	assert_string_equal(get("a=\"x y\"z", "a", 3), "x y");
	assert_true(cmdline_has("a=\"x y\"z", "z"));
	/* Only a value can be quoted: here the quote is part of the key. */
	assert_true(cmdline_has("\"k\"=1", "\"k\""));
}

static void test_blanks_and_empty_lines(void **state)
{
	(void)state;
	assert_int_equal(cmdline_get(NULL, "a", NULL, 0), -1);
	assert_int_equal(cmdline_get("", "a", NULL, 0), -1);
	assert_int_equal(cmdline_get(" \t\r\n ", "a", NULL, 0), -1);
	assert_string_equal(get("\ta=1\n", "a", 1), "1");
	assert_string_equal(get("a=1\tb=2\rc=3\nd=4", "c", 1), "3");
	assert_false(cmdline_has(NULL, ""));
}

static void test_truncation(void **state)
{
	char val[8];

	(void)state;
	memset(val, '#', sizeof(val));
	assert_int_equal(cmdline_get(line, "ktest", val, 0), 14);
	assert_int_equal(val[0], '#');		/* vlen 0: nothing written */
	assert_int_equal(cmdline_get(line, "ktest", val, 1), 14);
	assert_string_equal(val, "");
	assert_int_equal(cmdline_get(line, "ktest", val, 5), 14);
	assert_string_equal(val, "boot");
	assert_int_equal(val[5], '#');		/* nothing past vlen */
	assert_int_equal(cmdline_get(line, "console", val, 6), 5);
	assert_string_equal(val, "ttyS0");	/* exactly fits */
	assert_int_equal(cmdline_get(line, "console", val, 5), 5);
	assert_string_equal(val, "ttyS");	/* one short */
}

struct expected_word {
	const char *key;
	const char *value;	/* NULL: a bare key */
};

static void expect_word(const struct cmdline_word *w,
			const struct expected_word *want)
{
	assert_int_equal(w->key_len, libc_strlen(want->key));
	assert_memory_equal(w->key, want->key, w->key_len);
	assert_int_equal(w->has_value, want->value != NULL);
	if (want->value == NULL) {
		assert_int_equal(w->value_len, 0);
		return;
	}
	assert_int_equal(w->value_len, libc_strlen(want->value));
	assert_memory_equal(w->value, want->value, w->value_len);
}

static void test_iterator(void **state)
{
	static const struct expected_word words[] = {
		{ "console", "ttyS0" }, { "seed", "7" },
		{ "ktest", "boot.* buddy.*" }, { "quiet", NULL },
		{ "seedling", "3" }, { "xseed", "9" }, { "seed", "0x2a" },
		{ "mem", "64M" }, { "empty", "" }, { "path", "a=b" },
		{ "quoted", "" },
	};
	struct cmdline_iter it;
	struct cmdline_word w;
	size_t n = 0;

	(void)state;
	cmdline_iter_init(&it, line);
	while (cmdline_next(&it, &w)) {
		assert_true(n < ARRAY_SIZE(words));
		expect_word(&w, &words[n++]);
	}
	assert_int_equal(n, ARRAY_SIZE(words));
	assert_false(cmdline_next(&it, &w));	/* stays at the end */
	cmdline_iter_init(&it, NULL);
	assert_false(cmdline_next(&it, &w));
	cmdline_iter_init(&it, "=x");
	assert_true(cmdline_next(&it, &w));
	assert_int_equal(w.key_len, 0);
	assert_int_equal(w.value_len, 1);
}

struct u64_case {
	const char *text;
	bool ok;
	uint64_t value;
};

static void test_parse_u64(void **state)
{
	static const struct u64_case cases[] = {
		{ "0", true, 0 },
		{ "42", true, 42 },
		{ "007", true, 7 },		/* not octal */
		{ "0x2a", true, 42 },
		{ "0X2A", true, 42 },
		{ "0xDeadBeef", true, 0xdeadbeef },
		{ "4K", true, 4096 },
		{ "4k", true, 4096 },
		{ "2M", true, 2u << 20 },
		{ "3G", true, 3ull << 30 },
		{ "0x10K", true, 16 << 10 },
		{ "0x1g", true, 1u << 30 },	/* g is no hex digit */
		{ "0K", true, 0 },
		{ "18446744073709551615", true, UINT64_MAX },
		{ "0xffffffffffffffff", true, UINT64_MAX },
		{ "0x000000000000000000001", true, 1 },
		{ "17179869183G", true, 0xffffffffc0000000ull },
		{ "18014398509481983K", true, 0xfffffffffffffc00ull },
		{ "18446744073709551616", false, 0 },	/* 2^64 */
		{ "99999999999999999999", false, 0 },
		{ "0x10000000000000000", false, 0 },
		{ "17179869184G", false, 0 },	/* 2^34 G = 2^64 */
		{ "18014398509481984K", false, 0 },
		{ "", false, 0 },
		{ "0x", false, 0 },
		{ "K", false, 0 },
		{ "x1", false, 0 },
		{ "12a", false, 0 },
		{ "1KK", false, 0 },
		{ "1KB", false, 0 },
		{ "1T", false, 0 },
		{ "-1", false, 0 },
		{ "+1", false, 0 },
		{ " 1", false, 0 },
		{ "1 ", false, 0 },
		{ "0x-1", false, 0 },
		{ "0b101", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t out = 0x5a5a5a5a;
		bool ok = parse_u64(cases[i].text, &out);

		if (ok != cases[i].ok ||
		    out != (ok ? cases[i].value : 0x5a5a5a5a))
			fail_msg("parse_u64(\"%s\") = %d, %#llx; want %d, "
				 "%#llx",
				 cases[i].text, ok, (unsigned long long)out,
				 cases[i].ok,
				 (unsigned long long)cases[i].value);
	}
	assert_false(parse_u64(NULL, &(uint64_t){ 0 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_last_one_wins),
		cmocka_unit_test(test_whole_keys_only),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_blanks_and_empty_lines),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_iterator),
		cmocka_unit_test(test_parse_u64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) == 0 ? 0 : 1;
}
