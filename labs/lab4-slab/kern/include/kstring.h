/*
 * kstring.h — the kernel's string and memory functions (lib/string.c).
 *
 * These have the standard C names and meanings, because gcc emits calls to
 * memcpy, memmove, memset and memcmp by itself (struct copies, large
 * initialisers) even in a freestanding kernel. The header is not called
 * string.h so that the host tests can include it next to the C library's.
 *
 * Comparisons (memcmp, strcmp, strncmp) compare bytes as unsigned char and
 * return only a sign: <0, 0 or >0.
 */
#ifndef KSTRING_H
#define KSTRING_H

#include <stdbool.h>
#include <stddef.h>

/* Copy n bytes from src to dst; the two must not overlap. Returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);

/* Copy n bytes from src to dst; the two may overlap. Returns dst. */
void *memmove(void *dst, const void *src, size_t n);

/* Set n bytes at dst to (unsigned char)c. Returns dst. */
void *memset(void *dst, int c, size_t n);

/* Compare n bytes of a and b. */
int memcmp(const void *a, const void *b, size_t n);

/* The first of n bytes at s equal to (unsigned char)c, or NULL. */
void *memchr(const void *s, int c, size_t n);

/* The number of bytes in s before its NUL. */
size_t strlen(const char *s);

/* strlen(s), but look at no more than max bytes: returns at most max. */
size_t strnlen(const char *s, size_t max);

/* Compare two NUL-terminated strings. */
int strcmp(const char *a, const char *b);

/* Compare at most n bytes of two strings, stopping at a NUL. */
int strncmp(const char *a, const char *b, size_t n);

/* The first (char)c in s, or NULL; c == 0 finds the terminating NUL. */
char *strchr(const char *s, int c);

/* The last (char)c in s, or NULL; c == 0 finds the terminating NUL. */
char *strrchr(const char *s, int c);

/*
 * Copy src into the size-byte buffer dst, truncating if needed; dst is
 * NUL-terminated whenever size > 0. Returns strlen(src), so the copy was
 * truncated iff the result is >= size (the OpenBSD contract).
 */
size_t strlcpy(char *dst, const char *src, size_t size);

/*
 * Append src to the string in the size-byte buffer dst, truncating if
 * needed, always NUL-terminating when dst held a NUL within size bytes.
 * Returns the length of the string it tried to make: strnlen(dst, size) +
 * strlen(src). Truncation happened iff the result is >= size.
 */
size_t strlcat(char *dst, const char *src, size_t size);

/*
 * Does the whole of s match the pattern pat? In pat, '*' matches any run of
 * characters (including none) and '?' matches exactly one; every other
 * character matches itself. There are no character classes and no escapes.
 * Runs in O(strlen(pat) * strlen(s)) time without recursion.
 */
bool glob_match(const char *pat, const char *s);

#endif /* KSTRING_H */
