/*
 * test_fmt.c — the kernel's printf engine (kern/lib/fmt.c) on the host.
 *
 *  - Tables of formats with the exact output we want: every conversion,
 *    flag and length, the C99 corner cases, and the kernel's own choices
 *    (%p, "(null)", unknown conversions printed verbatim).
 *  - A differential test: formats generated from every combination of
 *    flags, width, precision, length and conversion, over a list of
 *    boundary values, printed by the kernel's snprintf() and by the C
 *    library's. They must agree wherever C defines the output.
 *  - C99 truncation: return values, NUL termination, and no byte written
 *    past the buffer (exact-size heap buffers, so ASan sees any overrun).
 *
 * snprintf() and vsnprintf() here are the kernel's (see kernel_names.h);
 * the C library's are libc_snprintf() and libc_vsnprintf().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <fmt.h>
#include "testutil.h"

/* Mismatches found by the current test; each is printed as it is found. */
static int mismatches;

/* Check that the kernel prints want for fmt and its arguments. */
__attribute__((format(printf, 3, 4))) static void
expect_format(int line, const char *want, const char *fmt, ...)
{
	char got[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(got, sizeof(got), fmt, ap);
	va_end(ap);
	if (libc_strcmp(got, want) != 0 || n != (int)libc_strlen(want)) {
		print_error("line %d: format \"%s\" printed \"%s\" "
			    "(returned %d), want \"%s\" (%zu)\n",
			    line, fmt, got, n, want, libc_strlen(want));
		mismatches++;
	}
}

#define EXPECT_FORMAT(want, ...) expect_format(__LINE__, want, __VA_ARGS__)

/*
 * A format with one int argument, kept in a table rather than written as a
 * literal call because gcc warns about its flags ("'0' flag ignored with
 * '-' flag") or its conversion ("%q"), which is exactly what is tested.
 */
struct int_case {
	int line;
	const char *fmt;
	int arg;
	const char *want;
};

#define INT_CASE(fmt, arg, want) { __LINE__, fmt, arg, want }

static void expect_int_cases(const struct int_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_format(c[i].line, c[i].want, c[i].fmt, c[i].arg);
}

static int setup_count(void **state)
{
	(void)state;
	mismatches = 0;
	return 0;
}

static void test_conversions(void **state)
{
	(void)state;
	EXPECT_FORMAT("hello", "hello");
	EXPECT_FORMAT("A", "%c", 'A');
	EXPECT_FORMAT("abc", "%s", "abc");
	EXPECT_FORMAT("", "%s", "");
	EXPECT_FORMAT("-42", "%d", -42);
	EXPECT_FORMAT("42", "%i", 42);
	EXPECT_FORMAT("0", "%d", 0);
	EXPECT_FORMAT("2147483647", "%d", INT32_MAX);
	EXPECT_FORMAT("-2147483648", "%d", INT32_MIN);
	EXPECT_FORMAT("4294967295", "%u", UINT32_MAX);
	EXPECT_FORMAT("ff", "%x", 255);
	EXPECT_FORMAT("FF", "%X", 255);
	EXPECT_FORMAT("deadbeef", "%x", 0xdeadbeefu);
	EXPECT_FORMAT("17", "%o", 15);
	EXPECT_FORMAT("%", "%%");
	EXPECT_FORMAT("100%", "%d%%", 100);
	EXPECT_FORMAT("a1bxc", "a%db%sc", 1, "x");
	assert_int_equal(mismatches, 0);
}

static void test_pointer_and_null(void **state)
{
	/* volatile, or gcc warns about the NULL that we mean to pass */
	const char *volatile null_string = NULL;

	(void)state;
	EXPECT_FORMAT("0x0000000000001234", "%p", (void *)0x1234);
	EXPECT_FORMAT("0xffffffff80000000", "%p", (void *)0xffffffff80000000ul);
	EXPECT_FORMAT("0x0000000000000000", "%p", (void *)0);
	EXPECT_FORMAT("  0x00000000000000ab", "%20p", (void *)0xab);
	EXPECT_FORMAT("0x00000000000000ab  |", "%-20p|", (void *)0xab);
	EXPECT_FORMAT("0x00000000000000ab", "%5p", (void *)0xab);
	EXPECT_FORMAT("(null)", "%s", null_string);
	EXPECT_FORMAT("(nu", "%.3s", null_string);
	EXPECT_FORMAT("  (null)", "%8s", null_string);
	assert_int_equal(mismatches, 0);
}

static void test_width_and_precision(void **state)
{
	(void)state;
	EXPECT_FORMAT("   42", "%5d", 42);
	EXPECT_FORMAT("42   |", "%-5d|", 42);
	EXPECT_FORMAT("00042", "%05d", 42);
	EXPECT_FORMAT("-0042", "%05d", -42);
	EXPECT_FORMAT("00042", "%.5d", 42);
	EXPECT_FORMAT("  -00042", "%8.5d", -42);
	EXPECT_FORMAT("42", "%1d", 42);
	EXPECT_FORMAT("", "%.0d", 0);
	EXPECT_FORMAT("", "%.d", 0);
	EXPECT_FORMAT("     |", "%5.0d|", 0);
	EXPECT_FORMAT("", "%.0x", 0);
	EXPECT_FORMAT("", "%.0u", 0);
	EXPECT_FORMAT("  abc", "%5s", "abc");
	EXPECT_FORMAT("abc  |", "%-5s|", "abc");
	EXPECT_FORMAT("ab", "%.2s", "abc");
	EXPECT_FORMAT("abc", "%.10s", "abc");
	EXPECT_FORMAT("", "%.0s", "abc");
	EXPECT_FORMAT("  A", "%3c", 'A');
	EXPECT_FORMAT("A  |", "%-3c|", 'A');
	EXPECT_FORMAT("   42", "%*d", 5, 42);
	EXPECT_FORMAT("42   |", "%*d|", -5, 42);
	EXPECT_FORMAT("42   |", "%-*d|", 5, 42);
	EXPECT_FORMAT("0007", "%.*d", 4, 7);
	EXPECT_FORMAT("7", "%.*d", -1, 7);
	EXPECT_FORMAT("  007", "%*.*d", 5, 3, 7);
	EXPECT_FORMAT("ab  |", "%*s|", -4, "ab");
	EXPECT_FORMAT("abc", "%.*s", -1, "abc");
	assert_int_equal(mismatches, 0);
}

static void test_flags(void **state)
{
	static const struct int_case cases[] = {
		INT_CASE("%+d", 42, "+42"),
		INT_CASE("%+d", -42, "-42"),
		INT_CASE("%+d", 0, "+0"),
		INT_CASE("% d", 42, " 42"),
		INT_CASE("% d", -42, "-42"),
		INT_CASE("%+ d", 42, "+42"),	/* '+' wins over ' ' */
		INT_CASE("% +d", 42, "+42"),
		INT_CASE("%-08d|", 42, "42      |"), /* '-' wins over '0' */
		INT_CASE("%0-8d|", -42, "-42     |"),
		INT_CASE("%08.5d", 42, "   00042"), /* precision: no '0' */
		INT_CASE("%+05d", 42, "+0042"),
		INT_CASE("% 05d", 42, " 0042"),
		INT_CASE("%#x", 255, "0xff"),
		INT_CASE("%#X", 255, "0XFF"),
		INT_CASE("%#x", 0, "0"),	/* no 0x for zero */
		INT_CASE("%#.0x", 0, ""),
		INT_CASE("%#08x", 255, "0x0000ff"),
		INT_CASE("%#8x", 255, "    0xff"),
		INT_CASE("%#.4x", 255, "0x00ff"),
		INT_CASE("%#o", 8, "010"),
		INT_CASE("%#o", 0, "0"),
		INT_CASE("%#.0o", 0, "0"),	/* '#' brings the zero back */
		INT_CASE("%#.3o", 8, "010"),	/* already starts with 0 */
		INT_CASE("%#5o", 8, "  010"),
		INT_CASE("%+u", 42, "42"),	/* signs: for d and i only */
		INT_CASE("% x", 42, "2a"),
		INT_CASE("%#d", 42, "42"),
		INT_CASE("%05c", 'A', "    A"), /* '0' pads only numbers */
	};

	(void)state;
	expect_int_cases(cases, ARRAY_SIZE(cases));
	assert_int_equal(mismatches, 0);
}

static void test_length_modifiers(void **state)
{
	/* hh and h: an int is passed and cut to char or short (clang warns) */
	static const struct int_case narrow[] = {
		INT_CASE("%hhd", 255, "-1"),
		INT_CASE("%hhd", 128, "-128"),
		INT_CASE("%hhu", 256, "0"),
		INT_CASE("%hhx", -1, "ff"),
		INT_CASE("%hd", 65535, "-1"),
		INT_CASE("%hu", 65536, "0"),
		INT_CASE("%hi", 32768, "-32768"),
	};

	(void)state;
	expect_int_cases(narrow, ARRAY_SIZE(narrow));
	EXPECT_FORMAT("-9223372036854775808", "%ld", (long)INT64_MIN);
	EXPECT_FORMAT("9223372036854775807", "%li", (long)INT64_MAX);
	EXPECT_FORMAT("-9223372036854775808", "%lld", (long long)INT64_MIN);
	EXPECT_FORMAT("18446744073709551615", "%llu", ~0ull);
	EXPECT_FORMAT("ffffffffffffffff", "%lx", ~0ul);
	EXPECT_FORMAT("FFFFFFFFFFFFFFFF", "%llX", ~0ull);
	EXPECT_FORMAT("1777777777777777777777", "%lo", ~0ul);
	EXPECT_FORMAT("01777777777777777777777", "%#lo", ~0ul);
	EXPECT_FORMAT("18446744073709551615", "%zu", SIZE_MAX);
	EXPECT_FORMAT("-5", "%zd", (size_t)-5);
	EXPECT_FORMAT("-5", "%td", (ptrdiff_t)-5);
	EXPECT_FORMAT("9223372036854775807", "%td", PTRDIFF_MAX);
	EXPECT_FORMAT("-9223372036854775808", "%jd", INTMAX_MIN);
	EXPECT_FORMAT("18446744073709551615", "%ju", UINTMAX_MAX);
	EXPECT_FORMAT("-000000000000000000009223372036854775808", "%.39jd",
		      INTMAX_MIN);
	EXPECT_FORMAT("4294967295", "%u", -1);	/* no length: 32 bits */
	EXPECT_FORMAT("1 2 3", "%hd %lld %d", (short)1, 2LL, 3); /* in step */
	assert_int_equal(mismatches, 0);
}

static void test_unknown_conversions(void **state)
{
	static const struct int_case cases[] = {
		INT_CASE("%q", 5, "%q"),
		INT_CASE("%-5q", 5, "%-5q"),
		INT_CASE("%lq", 5, "%lq"),
		INT_CASE("%y%d", 5, "%y5"),
		INT_CASE("%n", 5, "%n"),	/* never writes to memory */
		INT_CASE("abc%", 5, "abc%"),
		INT_CASE("%-5", 5, "%-5"),
		INT_CASE("%.", 5, "%."),
		INT_CASE("%*q", 3, "%*q"),	/* the * still takes its int */
	};

	(void)state;
	expect_int_cases(cases, ARRAY_SIZE(cases));
	assert_int_equal(mismatches, 0);
}

/* One wide field: the kernel and the C library must agree on every byte. */
static void compare_wide(const char *fmt, int value)
{
	int len = libc_snprintf(NULL, 0, fmt, value);
	char *want = malloc((size_t)len + 1);
	char *got = malloc((size_t)len + 1); /* exact size, for ASan */
	int n;

	assert_non_null(want);
	assert_non_null(got);
	libc_snprintf(want, (size_t)len + 1, fmt, value);
	n = snprintf(got, (size_t)len + 1, fmt, value);
	if (n != len || libc_memcmp(got, want, (size_t)len + 1) != 0) {
		print_error("format \"%s\" of %d: wrong %d-char output\n", fmt,
			    value, len);
		mismatches++;
	}
	free(want);
	free(got);
}

static void test_wide_fields(void **state)
{
	static const char *const formats[] = {
		"%70d", "%-70d", "%070d", "%.70d", "%+.100d", "%#.80x", "%#90o",
		"%1000d", "%-1000x", "%0999d", "%.999u", "%300c", "%-300c",
		"%5000.4000d",
	};
	static const int values[] = { 0, 1, -1, 42, INT32_MIN, 'z' };

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(formats); f++) {
		for (size_t v = 0; v < ARRAY_SIZE(values); v++)
			compare_wide(formats[f], values[v]);
	}
	assert_int_equal(mismatches, 0);
}

/* ---- differential test against the C library ------------------------- */

/* The type a length modifier makes printf read. */
enum arg_type { ARG_INT, ARG_LONG, ARG_LLONG, ARG_SIZE, ARG_PTRDIFF, ARG_MAX };

static const struct length_mod {
	const char *text;
	enum arg_type type;
} length_mods[] = {
	{ "hh", ARG_INT }, { "h", ARG_INT }, { "", ARG_INT },
	{ "l", ARG_LONG }, { "ll", ARG_LLONG }, { "z", ARG_SIZE },
	{ "t", ARG_PTRDIFF }, { "j", ARG_MAX },
};

static const char int_convs[] = "diuxXo";

static const uint64_t int_values[] = {
	0, 1, 7, 8, 42, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x123456789abcdef0,
	0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff,
	(uint64_t)-42, (uint64_t)-128, (uint64_t)-129,
};

/* One integer format and how to call it. */
struct int_call {
	const char *fmt;
	enum arg_type type;
	bool stars;		/* fmt has '*' width and '.*' precision */
	int width, prec;	/* their arguments, when it has */
};

typedef int (*snprintf_fn)(char *buf, size_t size, const char *fmt, ...);

/* Call print with bits passed as the type c->fmt reads. */
static int print_int(snprintf_fn print, char *buf, size_t size,
		     const struct int_call *c, uint64_t bits)
{
#define PRINT_AS(T)                                                          \
	(c->stars ? print(buf, size, c->fmt, c->width, c->prec, (T)bits)     \
		  : print(buf, size, c->fmt, (T)bits))
	switch (c->type) {
	case ARG_LONG: return PRINT_AS(long);
	case ARG_LLONG: return PRINT_AS(long long);
	case ARG_SIZE: return PRINT_AS(size_t);
	case ARG_PTRDIFF: return PRINT_AS(ptrdiff_t);
	case ARG_MAX: return PRINT_AS(intmax_t);
	default: return PRINT_AS(int);
	}
#undef PRINT_AS
}

/* Print every step-th value with both printfs; report disagreements. */
static long compare_values(const struct int_call *c, size_t step)
{
	char want[256], got[256];
	long compared = 0;

	for (size_t v = 0; v < ARRAY_SIZE(int_values); v += step, compared++) {
		int nwant = print_int(libc_snprintf, want, sizeof(want), c,
				      int_values[v]);
		int ngot = print_int(snprintf, got, sizeof(got), c,
				     int_values[v]);

		if (ngot == nwant && libc_strcmp(got, want) == 0)
			continue;
		if (mismatches++ < 20)
			print_error("format \"%s\" (width %d, prec %d) of "
				    "%#llx: got \"%s\" (%d), C library \"%s\" "
				    "(%d)\n", c->fmt, c->width, c->prec,
				    (unsigned long long)int_values[v], got,
				    ngot, want, nwant);
	}
	return compared;
}

/* The flags in the subset bits of "-0+ #", as format text. */
static void flag_text(unsigned subset, char out[6])
{
	static const char all[] = "-0+ #";
	int n = 0;

	for (int i = 0; i < 5; i++) {
		if (subset & (1u << i))
			out[n++] = all[i];
	}
	out[n] = '\0';
}

/* "%<flags><width><prec><length><conv>" for every length and conversion. */
static long compare_literal_specs(unsigned flags, const char *width,
				  const char *prec)
{
	char fl[6], fmt[32];
	long compared = 0;

	flag_text(flags, fl);
	for (size_t l = 0; l < ARRAY_SIZE(length_mods); l++) {
		for (const char *c = int_convs; *c != '\0'; c++) {
			struct int_call call = { .fmt = fmt,
						 .type = length_mods[l].type };

			libc_snprintf(fmt, sizeof(fmt), "%%%s%s%s%s%c", fl,
				      width, prec, length_mods[l].text, *c);
			compared += compare_values(&call, 1);
		}
	}
	return compared;
}

static void test_integers_match_libc(void **state)
{
	static const char *const widths[] = { "", "1", "6", "25", "70" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".6", ".30" };
	long compared = 0;

	(void)state;
	for (unsigned flags = 0; flags < 32; flags++) {
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++) {
			for (size_t p = 0; p < ARRAY_SIZE(precs); p++)
				compared += compare_literal_specs(
					flags, widths[w], precs[p]);
		}
	}
	print_message("compared %ld integer formats with the C library\n",
		      compared);
	assert_int_equal(mismatches, 0);
}

/* "[%<flags>*.*<length><conv>]" with the given '*' arguments. */
static void compare_star_specs(unsigned flags, int width, int prec)
{
	char fl[6], fmt[32];

	flag_text(flags, fl);
	for (size_t l = 0; l < ARRAY_SIZE(length_mods); l++) {
		for (const char *c = int_convs; *c != '\0'; c++) {
			struct int_call call = {
				.fmt = fmt, .type = length_mods[l].type,
				.stars = true, .width = width, .prec = prec,
			};

			libc_snprintf(fmt, sizeof(fmt), "[%%%s*.*%s%c]", fl,
				      length_mods[l].text, *c);
			compare_values(&call, 3);
		}
	}
}

static void test_star_arguments_match_libc(void **state)
{
	static const int widths[] = { -30, -5, -1, 0, 1, 7, 40 };
	static const int precs[] = { -3, -1, 0, 1, 5, 25 };

	(void)state;
	for (unsigned flags = 0; flags < 32; flags += 3) {
		for (size_t w = 0; w < ARRAY_SIZE(widths); w++) {
			for (size_t p = 0; p < ARRAY_SIZE(precs); p++)
				compare_star_specs(flags, widths[w], precs[p]);
		}
	}
	assert_int_equal(mismatches, 0);
}

/* One %s or %c format: the kernel and the C library must agree. */
static void compare_text(const char *fmt, const char *s, char c)
{
	char want[128], got[128];
	int nwant, ngot;

	if (s != NULL) {
		nwant = libc_snprintf(want, sizeof(want), fmt, s);
		ngot = snprintf(got, sizeof(got), fmt, s);
	} else {
		nwant = libc_snprintf(want, sizeof(want), fmt, c);
		ngot = snprintf(got, sizeof(got), fmt, c);
	}
	if (nwant != ngot || libc_strcmp(want, got) != 0) {
		print_error("\"%s\" of \"%s\" / 0x%02x: got \"%s\", want "
			    "\"%s\"\n", fmt, s ? s : "", c & 0xff, got, want);
		mismatches++;
	}
}

static void test_text_matches_libc(void **state)
{
	static const char *const string_specs[] = {
		"%s", "%5s", "%-5s", "%.0s", "%.2s", "%.s", "%12.3s", "%-12.3s",
		"%40s", "%-40.40s", "%1s", "%.100s",
	};
	static const char *const strings[] = {
		"", "a", "abc", "hello, world", "tab\there", "\xe9t\xe9",
	};
	static const char *const char_specs[] = { "%c", "%3c", "%-3c", "%1c" };
	static const char chars[] = { 'a', ' ', '%', '\x7f', (char)0xe9 };

	(void)state;
	for (size_t f = 0; f < ARRAY_SIZE(string_specs); f++) {
		for (size_t s = 0; s < ARRAY_SIZE(strings); s++)
			compare_text(string_specs[f], strings[s], 0);
	}
	for (size_t f = 0; f < ARRAY_SIZE(char_specs); f++) {
		for (size_t c = 0; c < ARRAY_SIZE(chars); c++)
			compare_text(char_specs[f], NULL, chars[c]);
	}
	assert_int_equal(mismatches, 0);
}

/* ---- truncation ------------------------------------------------------ */

static void test_truncation_return_values(void **state)
{
	static const char full[] = "abc=-12345";
	const size_t len = sizeof(full) - 1;

	(void)state;
	assert_int_equal(snprintf(NULL, 0, "%s=%d", "abc", -12345), len);
	for (size_t size = 1; size <= len + 2; size++) {
		char *buf = malloc(size); /* exact size: ASan sees an overrun */
		size_t kept = size - 1 < len ? size - 1 : len;

		assert_non_null(buf);
		assert_int_equal(snprintf(buf, size, "%s=%d", "abc", -12345),
				 len);
		assert_int_equal(libc_memcmp(buf, full, kept), 0);
		assert_int_equal(buf[kept], '\0');
		free(buf);
	}
}

static void test_size_zero_writes_nothing(void **state)
{
	char buf[4] = { 'X', 'X', 'X', 'X' };

	(void)state;
	assert_int_equal(snprintf(buf, 0, "hello"), 5);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(snprintf(buf, 1, "hello"), 5);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'X');
	assert_int_equal(snprintf(buf, 4, "%5000d", 7), 5000);
	assert_string_equal(buf, "   ");
	assert_int_equal(snprintf(buf, sizeof(buf), "%s", ""), 0);
	assert_string_equal(buf, "");
}

static int call_vsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void test_vsnprintf(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(call_vsnprintf(buf, sizeof(buf), "%d-%s", 12, "ab"),
			 5);
	assert_string_equal(buf, "12-ab");
	assert_int_equal(call_vsnprintf(buf, 4, "%x%x", 0xab, 0xcd), 4);
	assert_string_equal(buf, "abc");
}

/* ---- the engine itself ----------------------------------------------- */

struct collector {
	char text[64];
	size_t len;
};

static void collect(char c, void *arg)
{
	struct collector *col = arg;

	if (col->len < sizeof(col->text) - 1)
		col->text[col->len] = c;
	col->len++;
}

/* fmt_vformat twice on the same va_list: it must not consume it. */
static int format_twice(struct collector *a, struct collector *b,
			const char *fmt, ...)
{
	va_list ap;
	int na, nb;

	va_start(ap, fmt);
	na = fmt_vformat(collect, a, fmt, ap);
	nb = fmt_vformat(collect, b, fmt, ap);
	va_end(ap);
	assert_int_equal(na, nb);
	return na;
}

static void test_vformat_callback(void **state)
{
	struct collector a = { .len = 0 }, b = { .len = 0 };
	int n;

	(void)state;
	n = format_twice(&a, &b, "x=%d y=%s %c", -3, "yy", '!');
	a.text[a.len] = '\0';
	b.text[b.len] = '\0';
	assert_int_equal(n, 11);
	assert_int_equal(a.len, 11);
	assert_string_equal(a.text, "x=-3 y=yy !");
	assert_string_equal(b.text, "x=-3 y=yy !");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_conversions, setup_count),
		cmocka_unit_test_setup(test_pointer_and_null, setup_count),
		cmocka_unit_test_setup(test_width_and_precision, setup_count),
		cmocka_unit_test_setup(test_flags, setup_count),
		cmocka_unit_test_setup(test_length_modifiers, setup_count),
		cmocka_unit_test_setup(test_unknown_conversions, setup_count),
		cmocka_unit_test_setup(test_wide_fields, setup_count),
		cmocka_unit_test_setup(test_integers_match_libc, setup_count),
		cmocka_unit_test_setup(test_star_arguments_match_libc,
				       setup_count),
		cmocka_unit_test_setup(test_text_matches_libc, setup_count),
		cmocka_unit_test(test_truncation_return_values),
		cmocka_unit_test(test_size_zero_writes_nothing),
		cmocka_unit_test(test_vsnprintf),
		cmocka_unit_test(test_vformat_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) == 0 ? 0 : 1;
}
