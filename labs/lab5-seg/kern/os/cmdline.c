/*
 * cmdline.c — the kernel command line as key=value words (see cmdline.h).
 *
 * Everything is built on one scanner, cmdline_next(), which finds the next
 * word and reports its key and value as spans of the original string. The
 * lookups walk the whole line and keep the last match, which is how
 * "the last one wins" falls out without any table.
 */
#include <cmdline.h>
#include <kstring.h>

#define CMDLINE_INT_MAX __INT_MAX__

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scan the value that starts at p; returns where the word ends. */
static const char *scan_value(const char *p, struct cmdline_word *w)
{
	const char *close;

	if (*p != '"') {
		w->value = p;
		while (*p != '\0' && !is_blank(*p))
			p++;
		w->value_len = (size_t)(p - w->value);
		return p;
	}
	w->value = p + 1;
	close = strchr(w->value, '"');
	if (close == NULL)
		close = w->value + strlen(w->value);
	w->value_len = (size_t)(close - w->value);
	return *close == '"' ? close + 1 : close;
}

/* Start walking cmdline (NULL is an empty line) from its first word. */
void cmdline_iter_init(struct cmdline_iter *it, const char *cmdline)
{
	it->pos = cmdline != NULL ? cmdline : "";
}

/* The next word into *w, or false at the end of the line. */
bool cmdline_next(struct cmdline_iter *it, struct cmdline_word *w)
{
	const char *p = it->pos;

	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		it->pos = p;
		return false;
	}
	w->key = p;
	while (*p != '\0' && *p != '=' && !is_blank(*p))
		p++;
	w->key_len = (size_t)(p - w->key);
	w->has_value = *p == '=';
	if (w->has_value) {
		p = scan_value(p + 1, w);
	} else {
		w->value = p;
		w->value_len = 0;
	}
	it->pos = p;
	return true;
}

static bool word_has_key(const struct cmdline_word *w, const char *key)
{
	return strnlen(key, w->key_len + 1) == w->key_len &&
	       memcmp(w->key, key, w->key_len) == 0;
}

/* Find the last word whose key is key; false if there is none. */
static bool find_last(const char *cmdline, const char *key,
		      struct cmdline_word *found)
{
	struct cmdline_iter it;
	struct cmdline_word w;
	bool seen = false;

	cmdline_iter_init(&it, cmdline);
	while (cmdline_next(&it, &w)) {
		if (word_has_key(&w, key)) {
			*found = w;
			seen = true;
		}
	}
	return seen;
}

/*
 * The value of the last `key` into val (cut to vlen - 1, NUL-terminated
 * when vlen > 0); returns its full length, or -1 when key is absent.
 */
int cmdline_get(const char *cmdline, const char *key, char *val, size_t vlen)
{
	struct cmdline_word w;
	size_t n;

	if (!find_last(cmdline, key, &w))
		return -1;
	if (vlen > 0) {
		n = w.value_len < vlen ? w.value_len : vlen - 1;
		memcpy(val, w.value, n);
		val[n] = '\0';
	}
	if (w.value_len > CMDLINE_INT_MAX)
		return CMDLINE_INT_MAX;
	return (int)w.value_len;
}

/* Is key on the line, bare or with a value? */
bool cmdline_has(const char *cmdline, const char *key)
{
	struct cmdline_word w;

	return find_last(cmdline, key, &w);
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Read one or more digits in base; false on none or on overflow. */
static bool parse_digits(const char **sp, unsigned base, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	int d;

	for (; (d = digit_value(*s)) < (int)base; s++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	if (s == *sp)
		return false;
	*sp = s;
	*out = v;
	return true;
}

/* The power of two a size suffix stands for: K 10, M 20, G 30, else 0. */
static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'K': case 'k': return 10;
	case 'M': case 'm': return 20;
	case 'G': case 'g': return 30;
	default: return 0;
	}
}

/*
 * Parse all of s: decimal or 0x hex, then an optional K/M/G (x 1024^n).
 * False, with *out untouched, on junk, no digits or overflow.
 */
bool parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10, shift;
	uint64_t v;

	if (s == NULL)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!parse_digits(&s, base, &v))
		return false;
	shift = suffix_shift(*s);
	if (shift != 0)
		s++;
	if (*s != '\0' || v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}
