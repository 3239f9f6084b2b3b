/*
 * as_env.h (host) — the environment of kern/vm's address-space files
 * (vm_as.c, seg_vn.c, vm_anon.c, vm_page.c) in test_as.
 *
 * Those files include <kernel.h>, whose kpm_va() is the kernel's direct
 * map: an address no host process owns. The Makefile force-includes this
 * header (-include) when it compiles them. It takes kernel.h's include
 * guard, so their own #include <kernel.h> adds nothing, and gives them the
 * host kenv.h instead (kpm_va() over simmem's pages, a panic() that fails
 * the running test) plus the macros of kernel.h they use. The files
 * themselves are compiled unchanged.
 *
 * If those files come to include <kenv.h>, as DESIGN.md section 3 asks of
 * MI code, and the host kenv.h gains these macros, this header can go.
 */
#ifndef AS_ENV_H
#define AS_ENV_H

#define KERNEL_H /* kernel.h's guard: the host kenv.h stands in for it */

#include <kenv.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ROUNDUP(x, a) (((x) + (a) - 1) / (a) * (a))
#define ROUNDDOWN(x, a) ((x) / (a) * (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* AS_ENV_H */
