/*
 * vmtest.h — what the kernel tests of labs 5 and 6 (seg_test.c,
 * cow_test.c) share: address spaces made by hand over seg_vn, and their
 * memory read and written as a CPU would, through the hat.
 */
#ifndef VMTEST_H
#define VMTEST_H

#include <as.h>
#include <hat.h>
#include <kernel.h>
#include <ktest.h>
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

#endif /* VMTEST_H */
