/*
 * testmap.h — a 2 MiB window of 4 KiB mappings for tests that need pages
 * with particular permissions (read-only, no-execute, user, absent) before
 * the HAT exists. It lives at TESTMAP_BASE, PML4 slot 1, whose upper-level
 * entries allow user access, so a page is a user page exactly when TM_U is
 * given.
 */
#ifndef TESTMAP_H
#define TESTMAP_H

#include <stdint.h>

#define TESTMAP_BASE 0x0000008000000000UL
#define TESTMAP_SIZE 0x200000UL

#define TM_W 0x1  /* writable */
#define TM_U 0x2  /* user-accessible */
#define TM_NX 0x4 /* no-execute */

/* Map the 4 KiB page at va (inside the window) to pa; flushes the TLB. */
void testmap_map(uint64_t va, uint64_t pa, unsigned flags);
/* Remove the mapping at va; flushes the TLB. */
void testmap_unmap(uint64_t va);

#endif /* TESTMAP_H */
