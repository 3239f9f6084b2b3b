/*
 * lib_test.c — boot tests of the kernel library: printf formatting,
 * snprintf truncation, the string functions and command-line parsing.
 *
 * They run first (suite "boot") because every later test reports through
 * this code. The host tests in tests/host check the same files in far more
 * depth (differential tests against the C library, ASan); these check that
 * the code works as built for the kernel: -mcmodel=kernel, no SSE, no red
 * zone, gcc's own calls to memcpy and memset landing in lib/string.c.
 *
 * What makes each test fail:
 *	printf_formats		any conversion, flag, length or corner case
 *				printing other than C99 (or fmt.h) says
 *	printf_truncation	a wrong return value, a missing NUL, or a byte
 *				written past the given size
 *	string_functions	any function off by one, comparing signed bytes,
 *				copying overlaps in the wrong direction, or
 *				strlcpy/strlcat truncating wrongly; glob_match
 *				mismatching a case
 *	cmdline_parse		a lookup that matches part of a key, keeps the
 *				first repeat, keeps quotes, overruns its buffer;
 *				parse_u64 accepting junk or overflow
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmdline.h>
#include <fmt.h>
#include <kstring.h>
#include <ktest.h>

/* ---- printf_formats --------------------------------------------------- */

/* One table row: the kernel must print want for fmt and its arguments. */
__attribute__((format(printf, 3, 4))) static void
check_format(int line, const char *want, const char *fmt, ...)
{
	char got[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(got, sizeof(got), fmt, ap);
	va_end(ap);
	if (ktest_strcmp(got, want) != 0 || n != (int)strlen(want))
		ktest_fail(__FILE__, line,
			   "format \"%s\" printed \"%s\" (returned %d), "
			   "want \"%s\"",
			   fmt, got, n, want);
}

#define FORMAT_ROW(want, ...) check_format(__LINE__, want, __VA_ARGS__)

/*
 * A row with one int argument whose format gcc would warn about (flags it
 * calls redundant, an unknown conversion), so it is kept as data.
 */
struct int_row {
	int line;
	const char *fmt;
	int arg;
	const char *want;
};

#define INT_ROW(fmt, arg, want) { __LINE__, fmt, arg, want }

static const struct int_row int_rows[] = {
	INT_ROW("%+ d", 42, "+42"),		/* '+' wins over ' ' */
	INT_ROW("% d", 42, " 42"),
	INT_ROW("%-08d|", 42, "42      |"),	/* '-' wins over '0' */
	INT_ROW("%08.5d", 42, "   00042"),	/* a precision turns '0' off */
	INT_ROW("%#x", 0, "0"),			/* no 0x for zero */
	INT_ROW("%#o", 8, "010"),
	INT_ROW("%#o", 0, "0"),
	INT_ROW("%#.0o", 0, "0"),
	INT_ROW("%+u", 42, "42"),		/* signs only for d and i */
	INT_ROW("%hhd", 255, "-1"),
	INT_ROW("%hhu", 256, "0"),
	INT_ROW("%hd", 65535, "-1"),
	INT_ROW("%hu", 65536, "0"),
	INT_ROW("%q", 1, "%q"),			/* unknown: printed verbatim */
	INT_ROW("%-5q", 1, "%-5q"),
	INT_ROW("%y%d", 7, "%y7"),
	INT_ROW("%n", 1, "%n"),
	INT_ROW("100%", 1, "100%"),
};

static void check_conversions(void)
{
	const char *volatile null_string = NULL; /* gcc warns on a plain NULL */

	FORMAT_ROW("A|abc|-42|42|4294967295|ff|FF|17|%",
		   "%c|%s|%d|%i|%u|%x|%X|%o|%%",
		   'A', "abc", -42, 42, 4294967295u, 255, 255, 15);
	FORMAT_ROW("0x0000000000001234", "%p", (void *)0x1234);
	FORMAT_ROW("0xffffffff80000000", "%p", (void *)0xffffffff80000000ul);
	FORMAT_ROW("0x0000000000000000", "%p", (void *)0);
	FORMAT_ROW("  0x00000000000000ab|", "%20p|", (void *)0xab);
	FORMAT_ROW("(null)", "%s", null_string);
	FORMAT_ROW("(nu", "%.3s", null_string);
}

static void check_width_and_precision(void)
{
	FORMAT_ROW("   42|42   |00042|-0042", "%5d|%-5d|%05d|%05d",
		   42, 42, 42, -42);
	FORMAT_ROW("  -00042", "%8.5d", -42);
	FORMAT_ROW("||     |", "|%.0d|%5.0d|", 0, 0);
	FORMAT_ROW("0xff|0XFF|0x00ff", "%#x|%#X|%#.4x", 255, 255, 255);
	FORMAT_ROW("+42|-42|+0", "%+d|%+d|%+d", 42, -42, 0);
	FORMAT_ROW("  abc|abc  |ab", "%5s|%-5s|%.2s", "abc", "abc", "abc");
	FORMAT_ROW("   42|42   |0007|0", "%*d|%*d|%.*d|%.*d", 5, 42, -5, 42,
		   4, 7, -1, 0);	/* a negative precision is none */
	FORMAT_ROW("  A|A  ", "%3c|%-3c", 'A', 'A');
}

static void check_lengths(void)
{
	FORMAT_ROW("-9223372036854775808", "%lld", (long long)INT64_MIN);
	FORMAT_ROW("-9223372036854775808", "%ld", (long)INT64_MIN);
	FORMAT_ROW("18446744073709551615", "%llu", 18446744073709551615ull);
	FORMAT_ROW("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	FORMAT_ROW("1777777777777777777777", "%llo", 18446744073709551615ull);
	FORMAT_ROW("18446744073709551615", "%zu", SIZE_MAX);
	FORMAT_ROW("-5", "%td", (ptrdiff_t)-5);
	FORMAT_ROW("-9223372036854775808", "%jd", INTMAX_MIN);
	FORMAT_ROW("4294967295", "%u", -1);
	FORMAT_ROW("1 2 3", "%hd %lld %d", (short)1, 2LL, 3);
}

/* Width and precision past 64, where a fixed buffer would overflow. */
static void check_wide_fields(void)
{
	char want[100];

	memset(want, ' ', 69);
	want[69] = '1';
	want[70] = '\0';
	FORMAT_ROW(want, "%70d", 1);
	memset(want, '0', 80);
	want[80] = '\0';
	want[0] = '-';
	want[79] = '7';
	FORMAT_ROW(want, "%.79d", -7);
	FORMAT_ROW(want, "%080d", -7);
}

KTEST(boot, printf_formats)
{
	check_conversions();
	check_width_and_precision();
	check_lengths();
	check_wide_fields();
	for (size_t i = 0; i < sizeof(int_rows) / sizeof(int_rows[0]); i++)
		check_format(int_rows[i].line, int_rows[i].want,
			     int_rows[i].fmt, int_rows[i].arg);
}

/* ---- printf_truncation ------------------------------------------------ */

KTEST(boot, printf_truncation)
{
	char buf[16];

	/* size 0: nothing written, not even a NUL; the full length back */
	EXPECT_EQ(snprintf(NULL, 0, "%d", 12345), 5);
	memset(buf, 'X', sizeof(buf));
	EXPECT_EQ(snprintf(buf, 0, "abc"), 3);
	EXPECT_EQ(buf[0], 'X');
	/* size 1: only the NUL */
	EXPECT_EQ(snprintf(buf, 1, "abc"), 3);
	EXPECT_EQ(buf[0], '\0');
	EXPECT_EQ(buf[1], 'X');
	/* one short: the last character is cut */
	EXPECT_EQ(snprintf(buf, 3, "abc"), 3);
	EXPECT_STREQ(buf, "ab");
	EXPECT_EQ(buf[3], 'X');
	/* exact: everything and the NUL */
	EXPECT_EQ(snprintf(buf, 4, "abc"), 3);
	EXPECT_STREQ(buf, "abc");
	EXPECT_EQ(buf[4], 'X');
	/* a long field cut short still reports its whole length */
	EXPECT_EQ(snprintf(buf, 8, "%20s", "x"), 20);
	EXPECT_STREQ(buf, "       ");
	EXPECT_EQ(buf[8], 'X');
	EXPECT_EQ(snprintf(buf, sizeof(buf), "%s=%d", "seed", -1), 7);
	EXPECT_STREQ(buf, "seed=-1");
}

/* ---- string_functions ------------------------------------------------- */

static void check_memory_functions(void)
{
	static const char bytes[] = "a\0b";
	char up[] = "0123456789", down[] = "0123456789", buf[12];
	uint64_t words[6] = { 1, 2, 3, 4, 5, 6 };

	EXPECT_EQ(memmove(up + 2, up, 6), up + 2);	/* dst above src */
	EXPECT_STREQ(up, "0101234589");
	EXPECT_EQ(memmove(down, down + 2, 6), &down[0]); /* dst below src */
	EXPECT_STREQ(down, "2345676789");
	memmove(words + 1, words, 4 * sizeof(words[0])); /* the word loop */
	EXPECT_EQ(words[1], 1u);
	EXPECT_EQ(words[4], 4u);
	EXPECT_EQ(words[5], 6u);
	memset(buf, 'X', sizeof(buf));
	EXPECT_EQ(memset(buf + 1, 0x141, 9), buf + 1);	/* (unsigned char)c */
	EXPECT_EQ(memcmp(buf, "XAAAAAAAAAX", 11), 0);
	EXPECT_EQ(memcpy(buf + 3, "0123", 3), buf + 3);
	EXPECT_EQ(memcmp(buf, "XAA012AAAAX", 11), 0);
	EXPECT_LT(memcmp("abc", "abd", 3), 0);
	EXPECT_GT(memcmp("\x80", "\x01", 1), 0);	/* bytes are unsigned */
	EXPECT_EQ(memcmp("abX", "abY", 2), 0);
	EXPECT_EQ(memchr(bytes, 'b', 3), (const void *)(bytes + 2));
	EXPECT_EQ(memchr("abc", 'c', 2), NULL);
}

static void check_string_functions(void)
{
	static const char path[] = "a/b/c";

	EXPECT_EQ(strlen("abc"), 3u);
	EXPECT_EQ(strlen(""), 0u);
	EXPECT_EQ(strnlen("abc", 2), 2u);
	EXPECT_EQ(strnlen("abc", 9), 3u);
	EXPECT_EQ(strcmp("abc", "abc"), 0);
	EXPECT_LT(strcmp("ab", "abc"), 0);
	EXPECT_GT(strcmp("\xff", "a"), 0);		/* bytes are unsigned */
	EXPECT_EQ(strncmp("abcX", "abcY", 3), 0);
	EXPECT_LT(strncmp("abcX", "abcY", 4), 0);
	EXPECT_EQ(strncmp("a\0X", "a\0Y", 3), 0);	/* stops at the NUL */
	EXPECT_EQ(strchr(path, '/'), path + 1);
	EXPECT_EQ(strrchr(path, '/'), path + 3);
	EXPECT_EQ(strchr(path, '\0'), path + 5);
	EXPECT_EQ(strchr(path, 'x'), NULL);
	EXPECT_EQ(strrchr(path, 'x'), NULL);
}

static void check_bounded_copies(void)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	EXPECT_EQ(strlcpy(buf, "hello", 0), 5u);
	EXPECT_EQ(buf[0], 'X');
	EXPECT_EQ(strlcpy(buf, "hello", 4), 5u);
	EXPECT_STREQ(buf, "hel");
	EXPECT_EQ(buf[4], 'X');
	EXPECT_EQ(strlcpy(buf, "hello", sizeof(buf)), 5u);
	EXPECT_STREQ(buf, "hello");
	EXPECT_EQ(strlcat(buf, "!!", sizeof(buf)), 7u);
	EXPECT_STREQ(buf, "hello!!");
	EXPECT_EQ(strlcat(buf, "more", sizeof(buf)), 11u);
	EXPECT_STREQ(buf, "hello!!");
	strlcpy(buf, "ab", sizeof(buf));
	EXPECT_EQ(strlcat(buf, "cdef", 5), 6u);
	EXPECT_STREQ(buf, "abcd");
	EXPECT_EQ(strlcat(buf, "xyz", 2), 5u);		/* no NUL within size */
	EXPECT_STREQ(buf, "abcd");
}

static void check_glob(void)
{
	EXPECT_TRUE(glob_match("*", ""));
	EXPECT_TRUE(glob_match("boot.*", "boot.printf_formats"));
	EXPECT_FALSE(glob_match("boot.*", "boot"));
	EXPECT_FALSE(glob_match("boot.*", "buddy.split"));
	EXPECT_TRUE(glob_match("b?ddy.*", "buddy.split"));
	EXPECT_FALSE(glob_match("?", ""));
	EXPECT_TRUE(glob_match("*an*a", "banana"));
	EXPECT_TRUE(glob_match("a*b*c", "abcbc"));
	EXPECT_FALSE(glob_match("a*b*c", "acb"));
	EXPECT_FALSE(glob_match("abc", "abcd"));
	EXPECT_FALSE(glob_match("[ab]", "a"));		/* no classes */
	EXPECT_FALSE(glob_match("a[c", "abc"));
	EXPECT_FALSE(glob_match("a*a*a*a*a*a*a*a*b",
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

KTEST(boot, string_functions)
{
	check_memory_functions();
	check_string_functions();
	check_bounded_copies();
	check_glob();
}

/* ---- cmdline_parse ---------------------------------------------------- */

static const char test_cmdline[] =
	"console=ttyS0 seed=7 ktest=\"boot.* buddy.*\" quiet\t"
	"seedling=3 xseed=9 seed=0x2a mem=64M empty=";

static void check_lookups(void)
{
	char val[32];

	EXPECT_EQ(cmdline_get(test_cmdline, "console", val, sizeof(val)), 5);
	EXPECT_STREQ(val, "ttyS0");
	EXPECT_EQ(cmdline_get(test_cmdline, "seed", val, sizeof(val)), 4);
	EXPECT_STREQ(val, "0x2a");				/* last wins */
	EXPECT_EQ(cmdline_get(test_cmdline, "ktest", val, sizeof(val)), 14);
	EXPECT_STREQ(val, "boot.* buddy.*");			/* unquoted */
	EXPECT_EQ(cmdline_get(test_cmdline, "quiet", val, sizeof(val)), 0);
	EXPECT_STREQ(val, "");
	EXPECT_EQ(cmdline_get(test_cmdline, "empty", val, sizeof(val)), 0);
	EXPECT_EQ(cmdline_get(test_cmdline, "seedling", val, sizeof(val)), 1);
	EXPECT_STREQ(val, "3");
	EXPECT_EQ(cmdline_get(test_cmdline, "see", val, sizeof(val)), -1);
	EXPECT_EQ(cmdline_get("seedling=3 xseed=1", "seed", val, 8), -1);
	EXPECT_TRUE(cmdline_has(test_cmdline, "quiet"));
	EXPECT_FALSE(cmdline_has(test_cmdline, "qui"));
	EXPECT_FALSE(cmdline_has(test_cmdline, "buddy.*"));
	/* Truncation: the full length comes back, the copy is cut. */
	memset(val, 'X', sizeof(val));
	EXPECT_EQ(cmdline_get(test_cmdline, "ktest", val, 5), 14);
	EXPECT_STREQ(val, "boot");
	EXPECT_EQ(val[5], 'X');
}

static void check_iterator(void)
{
	struct cmdline_iter it;
	struct cmdline_word w;
	int words = 0, bare = 0;

	cmdline_iter_init(&it, test_cmdline);
	while (cmdline_next(&it, &w)) {
		words++;
		bare += !w.has_value;
	}
	EXPECT_EQ(words, 9);
	EXPECT_EQ(bare, 1);
	cmdline_iter_init(&it, "  k=\"a b\"  ");
	ASSERT_TRUE(cmdline_next(&it, &w));
	EXPECT_EQ(w.key_len, 1u);
	EXPECT_EQ(w.value_len, 3u);
	EXPECT_EQ(memcmp(w.value, "a b", 3), 0);
	EXPECT_FALSE(cmdline_next(&it, &w));
}

static void check_parse_u64(void)
{
	uint64_t v = 0;

	EXPECT_TRUE(parse_u64("42", &v) && v == 42);
	EXPECT_TRUE(parse_u64("0x2A", &v) && v == 42);
	EXPECT_TRUE(parse_u64("4K", &v) && v == 4096);
	EXPECT_TRUE(parse_u64("64M", &v) && v == 64ull << 20);
	EXPECT_TRUE(parse_u64("2G", &v) && v == 2ull << 30);
	EXPECT_TRUE(parse_u64("1g", &v) && v == 1ull << 30);
	EXPECT_TRUE(parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
	v = 7;
	EXPECT_FALSE(parse_u64("18446744073709551616", &v));	/* 2^64 */
	EXPECT_FALSE(parse_u64("0x10000000000000000", &v));
	EXPECT_FALSE(parse_u64("17179869184G", &v));		/* 2^64 */
	EXPECT_FALSE(parse_u64("", &v));
	EXPECT_FALSE(parse_u64("0x", &v));
	EXPECT_FALSE(parse_u64("12a", &v));
	EXPECT_FALSE(parse_u64("-1", &v));
	EXPECT_FALSE(parse_u64("1KB", &v));
	EXPECT_EQ(v, 7u);					/* untouched */
}

KTEST(boot, cmdline_parse)
{
	check_lookups();
	check_iterator();
	check_parse_u64();
}
