/*
 * test_cpio.c — the initrd's newc reader (kern/fs/cpio.c) on the host:
 * archives built here byte by byte, every padding case, and every way an
 * archive can be broken. A broken archive must be refused with a reason,
 * never read past its end: ASan watches each read, and every archive lives
 * in a heap block of exactly its length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <cpio.h>
#include <errno.h>
#include "testutil.h"

/* cpio.c's ASSERTs end here: a failed invariant fails the test. */
void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("panic: %s", msg);
	abort();
}

/* An archive being written: a growing buffer. */
typedef struct {
	char *buf;
	size_t len;
} ar_t;

static void put(ar_t *a, const void *p, size_t n)
{
	a->buf = realloc(a->buf, a->len + n);
	assert_non_null(a->buf);
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void pad(ar_t *a)
{
	static const char zero[4];

	put(a, zero, (4 - a->len % 4) % 4);
}

/* One newc entry, as `cpio -o -H newc` writes it. */
static void entry(ar_t *a, const char *name, unsigned mode, const void *data,
		  size_t size)
{
	char hdr[111];

	libc_snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		 1u, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u,
		 strlen(name) + 1, 0u);
	put(a, hdr, 110);
	put(a, name, strlen(name) + 1);
	pad(a);
	put(a, data, size);
	pad(a);
}

static void trailer(ar_t *a)
{
	entry(a, "TRAILER!!!", 0, "", 0);
}

/* A copy of the archive in a block of exactly its length (ASan). */
static char *exact(const ar_t *a, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, a->buf, len);
	return p;
}

typedef struct {
	int n;
	cpio_file_t f[8];
} seen_t;

static int collect(const cpio_file_t *f, void *arg)
{
	seen_t *s = arg;

	if (s->n < 8)
		s->f[s->n] = *f;
	s->n++;
	return 0;
}

/*
 * Walk an exact copy of the first len bytes; the walk's result. The copy
 * lives until the next walk (or walk_end()), since s points into it.
 */
static char *walked;

static int walk(const ar_t *a, size_t len, seen_t *s, const char **why)
{
	free(walked);
	walked = exact(a, len);
	memset(s, 0, sizeof(*s));
	*why = NULL;
	return cpio_walk(walked, len, collect, s, why);
}

static int walk_end(void **state)
{
	(void)state;
	free(walked);
	walked = NULL;
	return 0;
}

static void test_files_and_directories(void **state)
{
	ar_t a = {0};
	seen_t s;
	const char *why;

	(void)state;
	entry(&a, "user", CPIO_S_IFDIR | 0755, "", 0);
	entry(&a, "user/hello", CPIO_S_IFREG | 0755, "\x7f" "ELF", 4);
	entry(&a, "files/pattern.bin", CPIO_S_IFREG | 0644, "abcdefg", 7);
	trailer(&a);
	char *p = exact(&a, a.len);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cpio_walk(p, a.len, collect, &s, &why), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.f[0].cf_name, "user");
	assert_int_equal(s.f[0].cf_mode & CPIO_S_IFMT, CPIO_S_IFDIR);
	assert_string_equal(s.f[1].cf_name, "user/hello");
	assert_int_equal(s.f[1].cf_namelen, 10);
	assert_int_equal(s.f[1].cf_mode, CPIO_S_IFREG | 0755);
	assert_int_equal(s.f[1].cf_size, 4);
	assert_memory_equal(s.f[1].cf_data, "\x7f" "ELF", 4);
	assert_int_equal(s.f[2].cf_size, 7);
	assert_memory_equal(s.f[2].cf_data, "abcdefg", 7);
	/* The data points into the archive: nothing is copied. */
	assert_true((const char *)s.f[2].cf_data > p &&
		    (const char *)s.f[2].cf_data < p + a.len);
	free(p);
	free(a.buf);
}

static void test_every_padding(void **state)
{
	/* Bug: padding counted from the entry, or from the name's end
	 * without the header, is right only for some name lengths. */
	static const char data[] = "0123456789";
	char name[16];

	(void)state;
	for (size_t nl = 1; nl <= 9; nl++) {
		for (size_t ds = 0; ds <= 9; ds++) {
			ar_t a = {0};
			seen_t s;
			const char *why;

			memset(name, 'n', nl);
			name[nl] = '\0';
			entry(&a, name, CPIO_S_IFREG | 0644, data, ds);
			entry(&a, "second", CPIO_S_IFREG | 0644, "zz", 2);
			trailer(&a);
			assert_int_equal(walk(&a, a.len, &s, &why), 0);
			assert_int_equal(s.n, 2);
			assert_int_equal(s.f[0].cf_namelen, nl);
			assert_int_equal(s.f[0].cf_size, ds);
			assert_string_equal(s.f[1].cf_name, "second");
			assert_memory_equal(s.f[1].cf_data, "zz", 2);
			free(a.buf);
		}
	}
}

static void test_empty_archive_and_no_trailer(void **state)
{
	ar_t a = {0};
	seen_t s;
	const char *why;

	(void)state;
	trailer(&a);
	assert_int_equal(walk(&a, a.len, &s, &why), 0);
	assert_int_equal(s.n, 0);
	free(a.buf);
	a = (ar_t){0};
	entry(&a, "lonely", CPIO_S_IFREG, "x", 1);
	assert_int_equal(walk(&a, a.len, &s, &why), -EINVAL);
	assert_string_equal(why, "truncated: no TRAILER!!! entry");
	assert_int_equal(walk(&a, 0, &s, &why), -EINVAL);
	free(a.buf);
}

static void test_every_truncation_is_refused(void **state)
{
	/* Bug: a length checked after it is used, or not at all. */
	ar_t a = {0};
	seen_t s;
	const char *why;

	(void)state;
	entry(&a, "user/hello", CPIO_S_IFREG | 0755, "0123456789abc", 13);
	trailer(&a);
	for (size_t len = 0; len < a.len - 4; len++) {
		assert_int_equal(walk(&a, len, &s, &why), -EINVAL);
		assert_non_null(why);
	}
	free(a.buf);
}

/* The archive with one byte of its first header replaced. */
static int walk_patched(size_t at, char c, const char **why)
{
	ar_t a = {0};
	seen_t s;
	int r;

	entry(&a, "f", CPIO_S_IFREG, "data", 4);
	trailer(&a);
	a.buf[at] = c;
	r = walk(&a, a.len, &s, why);
	free(a.buf);
	return r;
}

static void test_malformed_headers(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(walk_patched(0, '1', &why), -EINVAL);
	assert_string_equal(why, "bad magic: not a newc archive");
	assert_int_equal(walk_patched(5, '7', &why), -EINVAL); /* "070707" */
	assert_string_equal(why, "bad magic: not a newc archive");
	assert_int_equal(walk_patched(20, 'g', &why), -EINVAL);
	assert_string_equal(why, "a header field is not hex");
	/* filesize (field 6, at 6 + 48) far past the end */
	assert_int_equal(walk_patched(6 + 48, 'F', &why), -EINVAL);
	assert_string_equal(why, "a file's data runs past the end");
	/* namesize (field 11, at 6 + 88): huge, then 0 */
	assert_int_equal(walk_patched(6 + 88, '8', &why), -EINVAL);
	assert_string_equal(why, "a name runs past the end");
	/* the name "f" loses its NUL */
	assert_int_equal(walk_patched(111, 'x', &why), -EINVAL);
	assert_string_equal(why, "a name is not one NUL-terminated string");
}

static int stop_at_second(const cpio_file_t *f, void *arg)
{
	int *n = arg;

	(void)f;
	return ++*n == 2 ? 42 : 0;
}

static void test_the_callback_can_stop_the_walk(void **state)
{
	ar_t a = {0};
	int n = 0;

	(void)state;
	for (int i = 0; i < 4; i++)
		entry(&a, "f", CPIO_S_IFREG, "", 0);
	trailer(&a);
	assert_int_equal(cpio_walk(a.buf, a.len, stop_at_second, &n, NULL), 42);
	assert_int_equal(n, 2);
	free(a.buf);
}

static void test_random_corruption_never_reads_outside(void **state)
{
	/* Any byte changed anywhere: the walk succeeds or refuses with a
	 * reason, and every entry it reports lies inside the archive. */
	ar_t a = {0};
	uint64_t seed = test_seed();

	(void)state;
	entry(&a, "user", CPIO_S_IFDIR | 0755, "", 0);
	entry(&a, "user/hello", CPIO_S_IFREG | 0755, "0123456789", 10);
	entry(&a, "data", CPIO_S_IFREG | 0644, "abc", 3);
	trailer(&a);
	for (int round = 0; round < 20000; round++) {
		char *p = exact(&a, a.len);
		seen_t s;
		const char *why = NULL;
		int r;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		p[(seed >> 33) % a.len] = (char)(seed >> 20);
		if (round % 2)
			p[(seed >> 13) % a.len] = "0123456789abcdefX\0"[
				(seed >> 3) % 18];
		memset(&s, 0, sizeof(s));
		r = cpio_walk(p, a.len, collect, &s, &why);
		assert_true(r == 0 || (r == -EINVAL && why != NULL));
		for (int i = 0; i < s.n && i < 8; i++) {
			const char *d = s.f[i].cf_data;

			assert_true(d >= p && d + s.f[i].cf_size <= p + a.len);
			assert_int_equal(strlen(s.f[i].cf_name),
					 s.f[i].cf_namelen);
		}
		free(p);
	}
	free(a.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_and_directories),
		cmocka_unit_test_teardown(test_every_padding, walk_end),
		cmocka_unit_test_teardown(test_empty_archive_and_no_trailer,
					  walk_end),
		cmocka_unit_test_teardown(test_every_truncation_is_refused,
					  walk_end),
		cmocka_unit_test_teardown(test_malformed_headers, walk_end),
		cmocka_unit_test(test_the_callback_can_stop_the_walk),
		cmocka_unit_test(test_random_corruption_never_reads_outside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
