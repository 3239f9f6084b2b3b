/*
 * kernel_names.h — force-included (gcc -include) ahead of every host test
 * object: the kernel sources under test and the tests themselves.
 *
 * The kernel defines memcpy, strlen, snprintf and friends under their
 * standard names. Linked into a host program, those definitions would
 * replace the C library's for the whole process, ASan's interceptors
 * included. So on the host every kernel copy gets a kern_ prefix:
 *
 *  1. The C library's headers are included first, so that their
 *     declarations keep the real names (their include guards make any later
 *     #include <string.h> a no-op).
 *  2. libc_*() wrappers give the tests a way to call the C library's own
 *     versions: to compare against, and to check one module's results
 *     without trusting another kernel module.
 *  3. Then memcpy becomes kern_memcpy and so on, and the kernel's own
 *     kstring.h and fmt.h declare them. From here on, a kernel source
 *     defines kern_memcpy, and a test that calls memcpy() calls the
 *     kernel's, exactly as kernel code would (link it with string.o).
 *
 * Calls the compiler emits by itself (struct copies) are not renamed and
 * go to the C library, which is what ASan expects. The kernel sources are
 * compiled unchanged: no #ifdef HOST anywhere in them.
 */
#ifndef KERNEL_NAMES_H
#define KERNEL_NAMES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 0))) static inline int
libc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static inline int
libc_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/*
 * The C library's string functions, for tests of other modules: a test of
 * fmt.c compares strings with libc_strcmp(), so that a bug in the kernel's
 * strcmp() shows up in test_string and cannot hide one in fmt.c.
 */
static inline int libc_memcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}

static inline int libc_strcmp(const char *a, const char *b)
{
	return strcmp(a, b);
}

static inline size_t libc_strlen(const char *s)
{
	return strlen(s);
}

/* The kernel's setjmp/longjmp work on a label_t, not a jmp_buf. */
#undef setjmp
#undef longjmp
#define setjmp kern_setjmp
#define longjmp kern_longjmp
#define memcpy kern_memcpy
#define memmove kern_memmove
#define memset kern_memset
#define memcmp kern_memcmp
#define memchr kern_memchr
#define strlen kern_strlen
#define strnlen kern_strnlen
#define strcmp kern_strcmp
#define strncmp kern_strncmp
#define strchr kern_strchr
#define strrchr kern_strrchr
#define strlcpy kern_strlcpy
#define strlcat kern_strlcat
#define vsnprintf kern_vsnprintf
#define snprintf kern_snprintf

/* Declare the renamed functions everywhere, as the kernel's own headers. */
#include <fmt.h>
#include <kstring.h>

#endif /* KERNEL_NAMES_H */
