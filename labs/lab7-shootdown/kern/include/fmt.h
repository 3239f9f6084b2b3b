/*
 * fmt.h — printf-style formatting for the kernel (lib/fmt.c).
 *
 * One engine, fmt_vformat(), turns a format and its arguments into a stream
 * of characters handed one at a time to a callback. kprintf() feeds the
 * serial port with it; snprintf() feeds a buffer.
 *
 * Supported, with C99 meaning:
 *	conversions	%c %s %d %i %u %x %X %o %p %%
 *	flags		-  0  +  space  #
 *	width		digits or *   (a negative * width means '-' and |width|)
 *	precision	.digits or .* (a negative .* precision means none)
 *	length		hh h l ll z t j
 * Kernel choices where C leaves room:
 *	%p		"0x" and 16 lower-case hex digits, so addresses line up;
 *			NULL prints 0x0000000000000000. Width and '-' apply.
 *	%s of NULL	"(null)", cut by the precision like any string.
 *	'0' on %c %s	ignored (pads with spaces, as glibc does).
 *	unknown		printed verbatim with its flags, e.g. "%-4q" -> "%-4q",
 *			so a typo shows in the output. %n is unknown here.
 * There is no floating point: the kernel is built without SSE.
 */
#ifndef FMT_H
#define FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Receives each output character in order; arg is fmt_vformat's arg. */
typedef void (*fmt_putc_t)(char c, void *arg);

/*
 * Format fmt with the arguments in ap, passing each character to
 * putc(c, arg). Returns the number of characters produced (capped at
 * INT_MAX). Does not consume ap: the caller still owns and ends it.
 */
int fmt_vformat(fmt_putc_t putc, void *arg, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * Format into buf, which holds size bytes. Writes at most size - 1
 * characters and a NUL when size > 0; writes nothing when size == 0 (buf
 * may then be NULL). Returns the length the full output would have had,
 * so the output was truncated iff the result is >= size.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* vsnprintf() with the arguments given inline. */
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FMT_H */
