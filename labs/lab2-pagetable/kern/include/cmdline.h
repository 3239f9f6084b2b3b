/*
 * cmdline.h — reading the kernel command line (os/cmdline.c).
 *
 * Pure functions on a string: nothing is parsed ahead of time and nothing
 * is stored, so the same calls work on any command line (the boot one, a
 * test's literal, a monitor command).
 *
 * Grammar:
 *	cmdline	= blank* (word (blank+ word)*)? blank*
 *	word	= key | key '=' value
 *	key	= characters other than blank, '=' and NUL; may be empty ("=x")
 *	value	= '"' any characters but '"' '"'   (the quotes are removed)
 *		| characters other than blank and NUL; may be empty, may hold '='
 *	blank	= ' ' | '\t' | '\n' | '\r'
 * A quoted value ends at its closing quote, which also ends the word; an
 * unterminated quote runs to the end of the line. A key can appear more
 * than once: the last one wins. Keys match whole keys only, so "seed" does
 * not find "seedling=3" or "xseed=1". A NULL cmdline is an empty one.
 *
 * Example: console=ttyS0 seed=7 ktest="boot.* buddy.*" quiet
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One word of the command line. The spans point into the command line. */
struct cmdline_word {
	const char *key;	/* not NUL-terminated: use key_len */
	size_t key_len;
	const char *value;	/* quotes stripped; empty for a bare key */
	size_t value_len;
	bool has_value;		/* the word had '=' (key=, key=x, key="") */
};

/* A position in a command line, for walking it word by word. */
struct cmdline_iter {
	const char *pos;
};

/*
 * Look up key. Returns -1 if it is absent; otherwise the full length of
 * its value (0 for a bare key or key=) and, when vlen > 0, copies the
 * value into val, NUL-terminated and cut to vlen - 1 characters.
 * The value was truncated iff the result is >= (int)vlen.
 * Note that a present key with an empty value returns 0, which is false:
 * test for presence with >= 0, or with cmdline_has().
 */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t vlen);

/* Is key on the command line, bare or with a value? */
bool cmdline_has(const char *cmdline, const char *key);

/* Start walking cmdline from its first word. */
void cmdline_iter_init(struct cmdline_iter *it, const char *cmdline);

/*
 * Fill *w with the next word and return true, or return false at the end.
 * Words come in command-line order, repeats included.
 */
bool cmdline_next(struct cmdline_iter *it, struct cmdline_word *w);

/*
 * Parse a whole string as an unsigned 64-bit number: decimal, or hex after
 * "0x"/"0X", then an optional suffix K, M or G (or k, m, g) multiplying by
 * 1024, 1024^2 or 1024^3. Returns false, leaving *out alone, for NULL, an
 * empty string, no digits, a sign, blanks, any other trailing character,
 * or a result above UINT64_MAX. A leading 0 does not mean octal.
 */
bool parse_u64(const char *s, uint64_t *out);

#endif /* CMDLINE_H */
