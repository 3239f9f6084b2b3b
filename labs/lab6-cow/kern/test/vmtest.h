/*
 * vmtest.h — what the kernel tests of labs 5 and 6 (seg_test.c,
 * cow_test.c, user_test.c) share: address spaces made by hand over
 * seg_vn, their memory read through the hat, and memory pressure made by
 * taking pages from the allocator.
 */
#ifndef VMTEST_H
#define VMTEST_H

#include <as.h>
#include <hat.h>
#include <kernel.h>
#include <ktest.h>
#include <page.h>
#include <seg_vn.h>
#include <vnode.h>

#define PG PAGESIZE
#define BASE 0x10000000UL /* where the tests map */

static inline vnode_t *pattern_vp(void)
{
	vnode_t *vp = ramfs_lookup("/files/pattern.bin");

	if (vp == NULL)
		ktest_skip("no /files/pattern.bin in the initrd");
	return vp;
}

static inline int vnmap(struct as *as, uintptr_t addr, size_t len,
			vnode_t *vp, uint64_t off, unsigned type, unsigned prot)
{
	struct segvn_crargs a = {
		.vp = vp,
		.offset = off,
		.type = type,
		.prot = prot,
		.maxprot = PROT_READ | PROT_WRITE | PROT_EXEC,
	};

	return as_map(as, addr, len, segvn_create, &a);
}

static inline uint8_t pattern_byte(uint64_t i)
{
	return (uint8_t)((i * 7 + i / 4096) & 0xff);
}

/* The byte at user address va of as, read through the hat. */
static inline int as_byte(struct as *as, uintptr_t va)
{
	pfn_t pfn = hat_getpfnum(&as->a_hat, ROUNDDOWN(va, PG));

	if (pfn == PFN_INVALID)
		return -1;
	return *((uint8_t *)kpm_va(pfn << PAGESHIFT) + va % PG);
}

/* The pages a test took to leave the allocator nearly empty. */
struct hoard {
	uint64_t head; /* pa of the first; each page holds the next's pa */
	uint64_t count;
};

/* Take every free page (one at a time, so any number can go back). */
static inline void hoard_all(struct hoard *h)
{
	page_t *pp;

	h->head = 0;
	h->count = 0;
	while ((pp = page_alloc_pages(0, PG_TEST)) != NULL) {
		uint64_t pa = page_pfn(pp) << PAGESHIFT;

		*(uint64_t *)kpm_va(pa) = h->head;
		h->head = pa;
		h->count++;
	}
}

/* Give n of them back (all of them: n = h->count). */
static inline void hoard_release(struct hoard *h, uint64_t n)
{
	while (n-- > 0 && h->head != 0) {
		uint64_t pa = h->head;

		h->head = *(uint64_t *)kpm_va(pa);
		h->count--;
		page_free_pages(pfn_to_page(pa >> PAGESHIFT), 0);
	}
}

#endif /* VMTEST_H */
