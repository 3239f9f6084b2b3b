/*
 * simmem.h — simulated physical memory for host tests of MI kernel code.
 *
 * SIMMEM_PAGES pages sit at physical addresses SIMMEM_BASE and up, so that
 * no page is ever at 0 (which means "no page"). simmem_alloc() hands out a
 * zeroed page; simmem_free() takes it back, fills it with SIMMEM_POISON and,
 * under AddressSanitizer, poisons it, so a read through a stale pointer is
 * reported where it happens. kpm_va() (kenv.h) reaches only pages that are
 * handed out; any other address, a freed page included, panics.
 *
 * Pages are handed out next-fit, so a freed page comes back as late as
 * possible and a use after free has time to show.
 */
#ifndef SIMMEM_H
#define SIMMEM_H

#include <kenv.h>

#define SIMMEM_BASE 0x100000ULL /* 1 MiB: clear of 0 */
#define SIMMEM_PAGES 16384	/* 64 MiB, touched only as used */
#define SIMMEM_POISON 0xa5

/* Forget every page and counter; no failure injected, no panic hook. */
void simmem_reset(void);
/* A zeroed page's physical address, or 0 if none is left or one fails. */
uint64_t simmem_alloc(void);
/* Take back a page simmem_alloc() handed out; panics on anything else. */
void simmem_free(uint64_t pa);
/* Is pa inside a page that is handed out now? */
bool simmem_is_live(uint64_t pa);
/* Pages handed out and taken back since the last reset. */
unsigned long simmem_allocs(void);
unsigned long simmem_frees(void);
/*
 * Let the next `after` allocations succeed, then fail every one until
 * called again; -1 turns failures off (the kernel's
 * hat_ptpage_inject_failure() has the same meaning).
 */
void simmem_fail_after(long after);
/* Call fn before panic() reports, to print what the test was doing. */
void simmem_on_panic(void (*fn)(void));

#endif /* SIMMEM_H */
