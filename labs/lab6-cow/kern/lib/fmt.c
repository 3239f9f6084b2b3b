/*
 * fmt.c — the printf engine behind kprintf() and snprintf() (see fmt.h).
 *
 * A conversion is handled in two steps: parse_spec() reads
 * %[flags][width][.precision][length]conversion into a struct fmt_spec
 * (taking '*' arguments as it goes), then format_one() fetches the value
 * and prints it. Nothing is built in a buffer wider than the 22 digits of
 * a 64-bit number in octal: padding and precision zeros are sent straight
 * to the output, so any width works. An integer is printed as
 *
 *	[spaces] [prefix] [zeros] [digits] [spaces]
 *	         sign, 0x  precision or '0' flag
 *
 * with the leading spaces when right-aligned, the trailing ones after '-'.
 */
#include <stdbool.h>
#include <stdint.h>
#include <fmt.h>
#include <kstring.h>

#define FMT_INT_MAX __INT_MAX__

enum fmt_flag {
	FL_LEFT = 1 << 0,  /* '-': left-align, pad on the right */
	FL_ZERO = 1 << 1,  /* '0': pad numbers with zeros up to the width */
	FL_PLUS = 1 << 2,  /* '+': always print a sign */
	FL_SPACE = 1 << 3, /* ' ': a space where '+' would go */
	FL_ALT = 1 << 4,   /* '#': 0x before hex, a leading 0 in octal */
};

enum fmt_length { LEN_INT, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed conversion: %[flags][width][.prec][length]conv. */
struct fmt_spec {
	unsigned flags;		/* enum fmt_flag bits */
	int width;		/* minimum field width; 0 if none */
	int prec;		/* precision; -1 if none */
	enum fmt_length length;
	char conv;		/* conversion character; '\0' if cut short */
};

/* Where the characters go, and how many have gone. */
struct fmt_out {
	fmt_putc_t putc;
	void *arg;
	size_t count;
};

static void out_char(struct fmt_out *out, char c)
{
	out->putc(c, out->arg);
	out->count++;
}

static void out_repeat(struct fmt_out *out, char c, long n)
{
	for (; n > 0; n--)
		out_char(out, c);
}

static void out_span(struct fmt_out *out, const char *s, size_t n)
{
	for (; n > 0; n--)
		out_char(out, *s++);
}

static const char *parse_flags(const char *f, unsigned *flags)
{
	for (;; f++) {
		switch (*f) {
		case '-': *flags |= FL_LEFT; break;
		case '0': *flags |= FL_ZERO; break;
		case '+': *flags |= FL_PLUS; break;
		case ' ': *flags |= FL_SPACE; break;
		case '#': *flags |= FL_ALT; break;
		default: return f;
		}
	}
}

/* Read decimal digits into *n, saturating at INT_MAX instead of wrapping. */
static const char *parse_count(const char *f, int *n)
{
	*n = 0;
	for (; *f >= '0' && *f <= '9'; f++) {
		int digit = *f - '0';

		if (*n > (FMT_INT_MAX - digit) / 10)
			*n = FMT_INT_MAX;
		else
			*n = *n * 10 + digit;
	}
	return f;
}

static const char *parse_width(const char *f, struct fmt_spec *sp,
			       va_list *ap)
{
	int width;

	if (*f != '*')
		return parse_count(f, &sp->width);
	width = va_arg(*ap, int);
	if (width < 0) {
		sp->flags |= FL_LEFT;
		width = width < -FMT_INT_MAX ? FMT_INT_MAX : -width;
	}
	sp->width = width;
	return f + 1;
}

static const char *parse_precision(const char *f, struct fmt_spec *sp,
				   va_list *ap)
{
	int prec;

	sp->prec = -1;
	if (*f != '.')
		return f;
	f++;
	if (*f != '*')
		return parse_count(f, &sp->prec);
	prec = va_arg(*ap, int);
	sp->prec = prec < 0 ? -1 : prec;
	return f + 1;
}

static const char *parse_length(const char *f, enum fmt_length *length)
{
	switch (*f) {
	case 'h':
		*length = f[1] == 'h' ? LEN_HH : LEN_H;
		return f + (f[1] == 'h' ? 2 : 1);
	case 'l':
		*length = f[1] == 'l' ? LEN_LL : LEN_L;
		return f + (f[1] == 'l' ? 2 : 1);
	case 'z': *length = LEN_Z; return f + 1;
	case 't': *length = LEN_T; return f + 1;
	case 'j': *length = LEN_J; return f + 1;
	default: *length = LEN_INT; return f;
	}
}

/* Parse the spec after a '%'; returns the format just past it. */
static const char *parse_spec(const char *f, struct fmt_spec *sp, va_list *ap)
{
	sp->flags = 0;
	f = parse_flags(f, &sp->flags);
	f = parse_width(f, sp, ap);
	f = parse_precision(f, sp, ap);
	f = parse_length(f, &sp->length);
	sp->conv = *f;
	return *f != '\0' ? f + 1 : f;
}

static int64_t fetch_signed(va_list *ap, enum fmt_length length)
{
	switch (length) {
	case LEN_HH: return (signed char)va_arg(*ap, int);
	case LEN_H: return (short)va_arg(*ap, int);
	case LEN_L: return va_arg(*ap, long);
	case LEN_LL: return va_arg(*ap, long long);
	case LEN_Z: return (int64_t)va_arg(*ap, size_t);
	case LEN_T: return va_arg(*ap, ptrdiff_t);
	case LEN_J: return va_arg(*ap, intmax_t);
	default: return va_arg(*ap, int);
	}
}

static uint64_t fetch_unsigned(va_list *ap, enum fmt_length length)
{
	switch (length) {
	case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L: return va_arg(*ap, unsigned long);
	case LEN_LL: return va_arg(*ap, unsigned long long);
	case LEN_Z: return va_arg(*ap, size_t);
	case LEN_T: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_J: return va_arg(*ap, uintmax_t);
	default: return va_arg(*ap, unsigned int);
	}
}

/* Write v in base just before end; returns where the digits start. */
static char *digits_before(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--end = set[v % base];
		v /= base;
	} while (v != 0);
	return end;
}

/* The sign or 0x that goes before the zeros; returns its length. */
static int integer_prefix(const struct fmt_spec *sp, bool negative,
			  uint64_t mag, char prefix[2])
{
	bool is_signed = sp->conv == 'd' || sp->conv == 'i';
	bool is_hex = sp->conv == 'x' || sp->conv == 'X';
	char sign = '\0';

	if (negative)
		sign = '-';
	else if (is_signed && (sp->flags & FL_PLUS))
		sign = '+';
	else if (is_signed && (sp->flags & FL_SPACE))
		sign = ' ';
	if (sign != '\0') {
		prefix[0] = sign;
		return 1;
	}
	if (sp->conv == 'p' || (is_hex && (sp->flags & FL_ALT) && mag != 0)) {
		prefix[0] = '0';
		prefix[1] = sp->conv == 'X' ? 'X' : 'x';
		return 2;
	}
	return 0;
}

/* How many zeros go between the prefix and the digits. */
static long integer_zeros(const struct fmt_spec *sp, long nprefix,
			  const char *digits, long ndigits)
{
	long zeros = sp->prec > ndigits ? sp->prec - ndigits : 0;

	if (sp->conv == 'o' && (sp->flags & FL_ALT) && zeros == 0 &&
	    (ndigits == 0 || digits[0] != '0'))
		zeros = 1;
	if ((sp->flags & FL_ZERO) && !(sp->flags & FL_LEFT) && sp->prec < 0 &&
	    sp->width > nprefix + zeros + ndigits)
		zeros = sp->width - nprefix - ndigits;
	return zeros;
}

/* Print an integer of magnitude mag (with a '-' if negative) in base. */
static void format_integer(struct fmt_out *out, const struct fmt_spec *sp,
			   uint64_t mag, bool negative, unsigned base)
{
	char buf[24]; /* 22 octal digits is the longest 64-bit number */
	char *digits = digits_before(buf + sizeof(buf), mag, base,
				     sp->conv == 'X');
	long ndigits = buf + sizeof(buf) - digits;
	char prefix[2];
	long nprefix, zeros, pad;

	if (sp->prec == 0 && mag == 0)
		ndigits = 0;
	nprefix = integer_prefix(sp, negative, mag, prefix);
	zeros = integer_zeros(sp, nprefix, digits, ndigits);
	pad = sp->width - (nprefix + zeros + ndigits);
	if (!(sp->flags & FL_LEFT))
		out_repeat(out, ' ', pad);
	out_span(out, prefix, (size_t)nprefix);
	out_repeat(out, '0', zeros);
	out_span(out, digits, (size_t)ndigits);
	if (sp->flags & FL_LEFT)
		out_repeat(out, ' ', pad);
}

static void format_signed(struct fmt_out *out, const struct fmt_spec *sp,
			  va_list *ap)
{
	int64_t v = fetch_signed(ap, sp->length);
	/* 0 - (uint64_t)v is |v| even for INT64_MIN, whose |v| is no int64. */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	format_integer(out, sp, mag, v < 0, 10);
}

static void format_unsigned(struct fmt_out *out, const struct fmt_spec *sp,
			    va_list *ap, unsigned base)
{
	format_integer(out, sp, fetch_unsigned(ap, sp->length), false, base);
}

/* %p: always 0x and 16 digits; only the width and '-' are honoured. */
static void format_pointer(struct fmt_out *out, const struct fmt_spec *sp,
			   const void *p)
{
	struct fmt_spec fixed = *sp;

	fixed.flags &= FL_LEFT;
	fixed.prec = 16;
	format_integer(out, &fixed, (uint64_t)(uintptr_t)p, false, 16);
}

/* Print len characters of s, padded to the width with spaces. */
static void format_text(struct fmt_out *out, const struct fmt_spec *sp,
			const char *s, size_t len)
{
	long pad = sp->width - (long)len;

	if (!(sp->flags & FL_LEFT))
		out_repeat(out, ' ', pad);
	out_span(out, s, len);
	if (sp->flags & FL_LEFT)
		out_repeat(out, ' ', pad);
}

static void format_string(struct fmt_out *out, const struct fmt_spec *sp,
			  const char *s)
{
	if (s == NULL)
		s = "(null)";
	format_text(out, sp, s,
		    sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s));
}

/* Print one conversion; spec_text..spec_end is its text in the format. */
static void format_one(struct fmt_out *out, const struct fmt_spec *sp,
		       va_list *ap, const char *spec_text,
		       const char *spec_end)
{
	char c;

	switch (sp->conv) {
	case 'd':
	case 'i': format_signed(out, sp, ap); break;
	case 'u': format_unsigned(out, sp, ap, 10); break;
	case 'x':
	case 'X': format_unsigned(out, sp, ap, 16); break;
	case 'o': format_unsigned(out, sp, ap, 8); break;
	case 'p': format_pointer(out, sp, va_arg(*ap, const void *)); break;
	case 's': format_string(out, sp, va_arg(*ap, const char *)); break;
	case 'c':
		c = (char)va_arg(*ap, int);
		format_text(out, sp, &c, 1);
		break;
	case '%': out_char(out, '%'); break;
	default:
		out_span(out, spec_text, (size_t)(spec_end - spec_text));
		break;
	}
}

/* Format fmt and ap into putc(c, arg); returns the characters produced. */
int fmt_vformat(fmt_putc_t putc, void *arg, const char *fmt, va_list ap)
{
	struct fmt_out out = { .putc = putc, .arg = arg, .count = 0 };
	struct fmt_spec spec;
	va_list args;

	/* Work on a copy: a va_list parameter cannot be passed by address. */
	va_copy(args, ap);
	while (*fmt != '\0') {
		const char *spec_text = fmt;

		if (*fmt != '%') {
			out_char(&out, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &spec, &args);
		format_one(&out, &spec, &args, spec_text, fmt);
	}
	va_end(args);
	return out.count > FMT_INT_MAX ? FMT_INT_MAX : (int)out.count;
}

/* A bounded buffer that counts what it could not store. */
struct fmt_buffer {
	char *buf;
	size_t size;
	size_t len;
};

static void buffer_putc(char c, void *arg)
{
	struct fmt_buffer *b = arg;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

/*
 * C99 vsnprintf: at most size - 1 characters and a NUL; returns the
 * length of the whole output.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_buffer b = { .buf = buf, .size = size, .len = 0 };
	int n = fmt_vformat(buffer_putc, &b, fmt, ap);

	if (size > 0)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return n;
}

/* C99 snprintf: vsnprintf() with the arguments inline. */
int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
