/*
 * kernel.h — what every kernel file needs: the address-space constants,
 * kprintf, panic and ASSERT, and a few macros.
 *
 * The kernel image runs at KERNBASE + its physical address (the top 2 GiB,
 * which -mcmodel=kernel requires). All of physical memory is also mapped at
 * KPM_BASE + pa, the direct map (illumos calls it seg_kpm, Linux the
 * physmap), so the kernel can reach any frame without mapping it first.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KERNBASE 0xffffffff80000000UL
#define KPM_BASE 0xffff800000000000UL
#define PAGESIZE 4096UL
#define PAGESHIFT 12

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUNDUP(x, a) (((x) + (a) - 1) / (a) * (a))
#define ROUNDDOWN(x, a) ((x) / (a) * (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define NOINLINE __attribute__((noinline))
#define NORETURN __attribute__((noreturn))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))

/* Convert between a physical address and its direct-map address. */
static inline void *kpm_va(uint64_t pa)
{
	return (void *)(KPM_BASE + pa);
}

static inline uint64_t kpm_pa(const void *va)
{
	return (uint64_t)va - KPM_BASE;
}

/* Physical address of a symbol inside the kernel image. */
static inline uint64_t kimage_pa(const void *va)
{
	return (uint64_t)va - KERNBASE;
}

/* Print to the console (COM1). Returns the number of characters. */
int kprintf(const char *fmt, ...) PRINTFLIKE(1, 2);
int vkprintf(const char *fmt, va_list ap);

#include <kassert.h>

/* Linker-script symbols that bound the kernel image. */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];

#endif /* KERNEL_H */
