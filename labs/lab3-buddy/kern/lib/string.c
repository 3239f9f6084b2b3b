/*
 * string.c — memory and string functions for the kernel (see kstring.h).
 *
 * The copy and fill loops move 8-byte words when the pointers allow it,
 * because the kernel zeroes and copies whole pages on every fault and a
 * byte loop costs eight times the instructions (which is what icount
 * measures). Everything else is the plain byte loop a student expects.
 *
 * Two compiler traps are avoided here:
 *  - gcc can recognise a copy or fill loop and replace it with a call to
 *    memcpy or memset; inside memset itself that is infinite recursion.
 *    gcc 12 leaves loops alone under -ffreestanding, but a hosted build or
 *    another gcc may not (gcc -O3 does it to a plain memset), so
 *    NO_LIBCALL_IDIOMS turns the transformation off for the functions that
 *    hold such loops. clang has no such switch; clang 14 makes no such call
 *    here. After editing a loop, check that `nm -u string.o` prints nothing.
 *  - Word accesses to memory of another type break strict aliasing, so the
 *    word type is declared may_alias.
 */
#include <stdint.h>
#include <kstring.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBCALL_IDIOMS \
	__attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBCALL_IDIOMS
#endif

typedef uint64_t __attribute__((may_alias)) word_t;

#define WORD_SIZE sizeof(word_t)

static bool word_aligned(const void *p)
{
	return ((uintptr_t)p & (WORD_SIZE - 1)) == 0;
}

/* Copy n bytes upwards (lowest address first); safe when dst <= src. */
NO_LIBCALL_IDIOMS
static void copy_up(unsigned char *dst, const unsigned char *src, size_t n)
{
	if (word_aligned(dst) && word_aligned(src)) {
		for (; n >= WORD_SIZE; n -= WORD_SIZE) {
			*(word_t *)dst = *(const word_t *)src;
			dst += WORD_SIZE;
			src += WORD_SIZE;
		}
	}
	while (n-- > 0)
		*dst++ = *src++;
}

/* Copy n bytes downwards (highest address first); safe when dst >= src. */
NO_LIBCALL_IDIOMS
static void copy_down(unsigned char *dst, const unsigned char *src, size_t n)
{
	dst += n;
	src += n;
	if (word_aligned(dst) && word_aligned(src)) {
		for (; n >= WORD_SIZE; n -= WORD_SIZE) {
			dst -= WORD_SIZE;
			src -= WORD_SIZE;
			*(word_t *)dst = *(const word_t *)src;
		}
	}
	while (n-- > 0)
		*--dst = *--src;
}

/* Copy n bytes from src to dst, which must not overlap; returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_up(dst, src, n);
	return dst;
}

/* Copy n bytes from src to dst, which may overlap; returns dst. */
void *memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst <= (uintptr_t)src)
		copy_up(dst, src, n);
	else
		copy_down(dst, src, n);
	return dst;
}

/* Fill n bytes at dst with (unsigned char)c; returns dst. */
NO_LIBCALL_IDIOMS
void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char byte = (unsigned char)c;
	word_t pattern = byte * (word_t)0x0101010101010101ull;

	for (; n > 0 && !word_aligned(d); n--)
		*d++ = byte;
	for (; n >= WORD_SIZE; n -= WORD_SIZE, d += WORD_SIZE)
		*(word_t *)d = pattern;
	while (n-- > 0)
		*d++ = byte;
	return dst;
}

/* Compare n bytes as unsigned char: <0, 0 or >0. */
int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return *p - *q;
	}
	return 0;
}

/* The first of n bytes at s equal to (unsigned char)c, or NULL. */
void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n > 0; n--, p++) {
		if (*p == (unsigned char)c)
			return (void *)p;
	}
	return NULL;
}

/* The number of bytes before the NUL. */
size_t strlen(const char *s)
{
	const char *p = s;

	while (*p != '\0')
		p++;
	return (size_t)(p - s);
}

/* strlen(s), looking at no more than max bytes. */
size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

/* Compare two strings as unsigned char: <0, 0 or >0. */
int strcmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p != '\0' && *p == *q) {
		p++;
		q++;
	}
	return *p - *q;
}

/* strcmp() over at most n bytes. */
int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (; n > 0; n--, p++, q++) {
		if (*p != *q || *p == '\0')
			return *p - *q;
	}
	return 0;
}

/* The first (char)c in s, the NUL included, or NULL. */
char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}

/* The last (char)c in s, the NUL included, or NULL. */
char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (*s == '\0')
			return (char *)last;
	}
}

/* Bounded copy, always terminated if size > 0; returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* Bounded append; returns strnlen(dst, size) + strlen(src). */
size_t strlcat(char *dst, const char *src, size_t size)
{
	size_t used = strnlen(dst, size);

	if (used == size)
		return size + strlen(src);
	return used + strlcpy(dst + used, src, size - used);
}

/*
 * The matcher walks pat and s together. At a '*' it records where the star
 * was and first lets it match nothing. When a later character fails, it
 * goes back to just after the most recent star and lets that star swallow
 * one more character of s. Only the last star needs remembering: whatever
 * an earlier star could absorb, the later one can absorb instead.
 */
bool glob_match(const char *pat, const char *s)
{
	const char *after_star = NULL; /* pattern just past the last '*' */
	const char *star_end = NULL;   /* end in s of that star's match */

	while (*s != '\0') {
		if (*pat == '*') {
			after_star = ++pat;
			star_end = s;
		} else if (*pat != '\0' && (*pat == '?' || *pat == *s)) {
			pat++;
			s++;
		} else if (after_star != NULL) {
			pat = after_star;
			s = ++star_end;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}
