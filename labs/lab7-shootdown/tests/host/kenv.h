/*
 * kenv.h (host) — the environment machine-independent kernel code runs in,
 * as the host tests provide it. It takes the place of kern/include/kenv.h:
 * the Makefile puts this directory first on the include path.
 *
 * Physical memory is simulated (simmem.c): kpm_va() reaches a page that
 * simmem_alloc() handed out and panics on any other address. panic() and
 * ASSERT fail the running cmocka test instead of stopping a machine.
 */
#ifndef KENV_H
#define KENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGESIZE 4096UL
#define PAGESHIFT 12

/* The simulated page at physical address pa (simmem.c). */
void *kpm_va(uint64_t pa);

/* Print to stderr, which the test's log keeps. */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* panic() reports the message and fails the running cmocka test; ASSERT
 * is the kernel's own (kassert.h). */
#include <kassert.h>

#endif /* KENV_H */
