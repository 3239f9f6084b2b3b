/*
 * printf.c — kprintf(): formatted output on the console.
 * The formatting itself is lib/fmt.c; this file only routes characters.
 */
#include <fmt.h>
#include <kernel.h>
#include <platform.h>

static void console_putc(char c, void *arg)
{
	(void)arg;
	serial_putc(c);
}

int vkprintf(const char *fmt, va_list ap)
{
	return fmt_vformat(console_putc, NULL, fmt, ap);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vkprintf(fmt, ap);
	va_end(ap);
	return n;
}
