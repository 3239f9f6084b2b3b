/*
 * kchan.h — the test harness's result channel (kern/test/kchan.c).
 *
 * The harness and panic() print each line of their report with kreport():
 * on the console as kprintf() would, and, when the grader gave this boot a
 * key, signed on the channel the grader scores from.
 */
#ifndef KCHAN_H
#define KCHAN_H

#include <stdarg.h>

/* Read the grader's key, if any. kmain calls it before any student code. */
void kchan_init(void);

/* kprintf() that also sends each complete line to the channel. */
int kreport(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vkreport(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif /* KCHAN_H */
