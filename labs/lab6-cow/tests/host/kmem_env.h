/*
 * kmem_env.h (host) — what kern/mm/kmem.c takes from the kernel's kenv.h
 * (through kernel.h) that this directory's kenv.h does not declare: the
 * rounding macros and kpm_pa(). The Makefile force-includes it (-include)
 * when it builds kmem.c, after kernel_names.h, so kmem.c stays unchanged.
 * kmem_machine.h defines kpm_pa() for the programs that link kmem.c.
 */
#ifndef KMEM_ENV_H
#define KMEM_ENV_H

#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUNDUP(x, a) (((x) + (a) - 1) / (a) * (a))
#define ROUNDDOWN(x, a) ((x) / (a) * (a))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The physical address of a simulated page's host address. */
uint64_t kpm_pa(const void *va);

#endif /* KMEM_ENV_H */
