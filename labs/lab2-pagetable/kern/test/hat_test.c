/*
 * hat_test.c — lab 2: the hardware enforces what the walker wrote.
 *
 * These tests change the kernel's live page tables and then touch the
 * memory: a protection the walker got wrong, or a TLB entry it forgot to
 * flush (QEMU keeps stale entries, like real hardware), shows up as a
 * fault that should not happen or one that does not. The host tests
 * (tests/host/test_hat.c) cover PAE and 5-level paging and run a random
 * model check; here the CPU has the last word.
 */
#include <boot.h>
#include <errno.h>
#include <hat.h>
#include <kernel.h>
#include <kstring.h>
#include <ktest.h>
#include <pte.h>
#include <testmap.h>
#include <trap.h>
#include <usermode.h>
#include <x86.h>

/* Kernel addresses no other code maps: the top PML4 slot but one. */
#define HAT_TEST_VA 0xffffff0000000000UL
#define USER_PROBE_VA (TESTMAP_BASE + 0x40000) /* what user_read_probe reads */

static char probe_page[PAGESIZE] __attribute__((aligned(4096)));

static pfn_t probe_pfn(void)
{
	return kimage_pa(probe_page) >> PAGESHIFT;
}

static void need_kernel_hat(void)
{
	if (!kernel_hat_active)
		ktest_fail(__FILE__, __LINE__,
			   "the kernel is not running on its HAT page tables");
	if (!kernel_hat_active)
		ktest_abort();
}

/* Run fn under on_trap(OT_DATA_ACCESS); what was caught (ot_trap 0: none). */
static on_trap_data_t probe(void (*fn)(void))
{
	on_trap_data_t otd;

	if (!on_trap(&otd, OT_DATA_ACCESS))
		fn();
	no_trap();
	return otd;
}

static void write_test_va(void)
{
	*(volatile uint64_t *)HAT_TEST_VA = 0x5a5a;
}

static void call_test_va(void)
{
	((void (*)(void))HAT_TEST_VA)();
}

/*
 * The kernel runs on the tables hat_kern_init() built, and they translate
 * the kernel image to where it was loaded. Fails if the switch to the HAT
 * tables did not happen (a stub hat_devload) or maps the image wrongly.
 */
KTEST(hat, kernel_on_hat)
{
	need_kernel_hat();
	EXPECT_EQ(read_cr3() & PTE_ADDR, kernel_hat.h_root);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, (uintptr_t)kmain),
		  kimage_pa((const void *)kmain) >> PAGESHIFT);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, (uintptr_t)probe_page), probe_pfn());
	EXPECT_EQ(hat_getpfnum(&kernel_hat, KPM_BASE + 0x200000), 0x200UL);
}

/*
 * Map a page writable, write it, make it read-only with hat_chgprot(): the
 * next write faults with P|W. The first write loaded the writable
 * translation into the TLB, so a chgprot without invlpg lets the second
 * write through.
 */
KTEST(hat, chgprot_write_faults)
{
	on_trap_data_t otd;

	need_kernel_hat();
	ASSERT_EQ(hat_memload(&kernel_hat, HAT_TEST_VA, probe_pfn(),
			      PROT_READ | PROT_WRITE, 0), 0);
	otd = probe(write_test_va);
	EXPECT_EQ(otd.ot_trap, 0);
	EXPECT_EQ(*(uint64_t *)probe_page, 0x5a5aUL);
	ASSERT_EQ(hat_chgprot(&kernel_hat, HAT_TEST_VA, PAGESIZE, PROT_READ), 0);
	otd = probe(write_test_va);
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(otd.ot_err, (uint64_t)(PF_ERR_P | PF_ERR_W));
	EXPECT_EQ(otd.ot_addr, HAT_TEST_VA);
	EXPECT_EQ(hat_unload(&kernel_hat, HAT_TEST_VA, PAGESIZE), 0);
}

/*
 * A page without PROT_EXEC is no-execute: a call into it faults with P|I.
 * After hat_chgprot() adds PROT_EXEC, the same call runs (and returns).
 */
KTEST(hat, nx_fetch_faults)
{
	on_trap_data_t otd;

	need_kernel_hat();
	probe_page[0] = (char)0xc3; /* ret */
	ASSERT_EQ(hat_memload(&kernel_hat, HAT_TEST_VA, probe_pfn(),
			      PROT_READ | PROT_WRITE, 0), 0);
	otd = probe(call_test_va);
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(otd.ot_err, (uint64_t)(PF_ERR_P | PF_ERR_I));
	ASSERT_EQ(hat_chgprot(&kernel_hat, HAT_TEST_VA, PAGESIZE,
			      PROT_READ | PROT_EXEC), 0);
	otd = probe(call_test_va);
	EXPECT_EQ(otd.ot_trap, 0);
	EXPECT_EQ(hat_unload(&kernel_hat, HAT_TEST_VA, PAGESIZE), 0);
}

/* Ring-3 code: read USER_PROBE_VA, then fall into hlt (#GP ends the run). */
extern const char user_read_probe[], user_read_probe_end[];
__asm__(".pushsection .rodata\n"
	"user_read_probe:\n\t"
	"movabsq $0x8000040000, %rax\n\t"
	"movq (%rax), %rax\n\t"
	"user_read_probe_end:\n"
	".popsection");

/*
 * A page mapped without PROT_USER faults with P|U when ring 3 reads it;
 * the same page with PROT_USER reads fine (the run then ends at the hlt
 * after the code, with #GP).
 */
KTEST(hat, user_access_supervisor)
{
	struct usermode_result res;

	_Static_assert(USER_PROBE_VA == 0x8000040000UL, "user_read_probe");
	need_kernel_hat();
	ASSERT_EQ(hat_memload(&kernel_hat, USER_PROBE_VA, probe_pfn(),
			      PROT_READ, 0), 0);
	usermode_run(user_read_probe, user_read_probe_end - user_read_probe,
		     &res);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(res.end.r_err, (uint64_t)(PF_ERR_P | PF_ERR_U));
	ASSERT_EQ(hat_chgprot(&kernel_hat, USER_PROBE_VA, PAGESIZE,
			      PROT_READ | PROT_USER), 0);
	usermode_run(user_read_probe, user_read_probe_end - user_read_probe,
		     &res);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_GPFLT);
	EXPECT_EQ(hat_unload(&kernel_hat, USER_PROBE_VA, PAGESIZE), 0);
}

struct wx_count {
	uint64_t leaves, wx, text_bad, rodata_writable;
};

extern char __rodata_start[], __data_start[];

/* Check one leaf mapping [va, va + size) of the kernel hat. */
static void wx_leaf(struct wx_count *c, uintptr_t va, uint64_t size,
		    uint64_t pte)
{
	uintptr_t end = va + size;

	c->leaves++;
	if ((pte & PTE_W) && !(pte & PTE_NX))
		c->wx++;
	if (va < (uintptr_t)__rodata_start && end > (uintptr_t)__kernel_start &&
	    ((pte & PTE_W) || (pte & PTE_NX)))
		c->text_bad++;
	if (va < (uintptr_t)__data_start && end > (uintptr_t)__rodata_start &&
	    (pte & PTE_W))
		c->rodata_writable++;
}

/* Walk the table at pa (level l, covering va upward) and every leaf below. */
static void wx_walk(struct wx_count *c, uint64_t pa, int l, uintptr_t va)
{
	const struct pt_mode *m = kernel_hat.h_mode;
	const uint64_t *t = kpm_va(pa);

	for (unsigned i = 0; i < (1U << m->lvl[l].bits); i++) {
		uintptr_t eva = va + ((uintptr_t)i << m->lvl[l].shift);

		if (l == m->levels - 1 && i >= 256)
			eva |= 0xffff000000000000UL; /* the upper half */
		if (!pte_present(t[i]))
			continue;
		if (pte_is_leaf(l, t[i]))
			wx_leaf(c, eva, 1UL << m->lvl[l].shift, t[i]);
		else
			wx_walk(c, pte_addr(t[i], l, m), l - 1, eva);
	}
}

/*
 * No kernel page is both writable and executable, text is read-execute,
 * rodata is read-only: checked by walking the whole kernel hat, every
 * level, every present entry.
 */
KTEST(hat, wx_kernel_walk)
{
	struct wx_count c = { 0, 0, 0, 0 };

	need_kernel_hat();
	wx_walk(&c, kernel_hat.h_root, kernel_hat.h_mode->levels - 1, 0);
	EXPECT_GT(c.leaves, 0UL);
	EXPECT_EQ(c.wx, 0UL);
	EXPECT_EQ(c.text_bad, 0UL);
	EXPECT_EQ(c.rodata_writable, 0UL);
	ktest_diag("%lu leaf mappings, none writable and executable",
		   c.leaves);
}

static uintptr_t store_va;

/* Store back the byte at store_va: harmless if it is allowed at all. */
static void store_back(void)
{
	volatile uint8_t *p = (volatile uint8_t *)store_va;

	*p = *p;
}

/* Does a store to va fault as a write to a present, read-only page? */
static bool store_faults(uintptr_t va)
{
	on_trap_data_t otd;

	store_va = va;
	otd = probe(store_back);
	return otd.ot_trap == OT_DATA_ACCESS &&
	       (otd.ot_err & (PF_ERR_P | PF_ERR_W)) == (PF_ERR_P | PF_ERR_W);
}

/*
 * The direct map's alias of the kernel's text and rodata is read-only, so
 * kernel code cannot be patched through it; the data right after stays
 * writable. The image starts at 1 MiB, inside the direct map's first
 * 2 MiB page, so that range needs 4 KiB pages of two protections. Fails
 * if hat_devload maps a range with a large page that reaches past it, or
 * makes PROT_READ writable.
 */
KTEST(hat, image_alias_read_only)
{
	uintptr_t text = (uintptr_t)kpm_va(kimage_pa(__kernel_start));
	uintptr_t data = (uintptr_t)kpm_va(kimage_pa(__data_start));

	need_kernel_hat();
	EXPECT_TRUE(store_faults(text));
	EXPECT_TRUE(store_faults(data - 1)); /* the last byte of rodata */
	EXPECT_FALSE(store_faults(data));
	EXPECT_FALSE(store_faults(text - 1)); /* RAM below the image */
}

#define SPLIT_PA 0x1000000UL /* 16 MiB: RAM, 2 MiB-aligned, never the image */
static uintptr_t split_va;

static void read_split_va(void)
{
	(void)*(volatile uint64_t *)split_va;
}

/* Can va be read? (with on_trap) */
static bool readable(uintptr_t va)
{
	split_va = va;
	return probe(read_split_va).ot_trap == 0;
}

/*
 * Unmapping one 4 KiB page inside a 2 MiB page of the direct map splits
 * it: the page faults, its neighbours still translate and read. Fails if
 * hat_unload drops the whole large page or splits it into wrong frames.
 */
KTEST(hat, split_direct_map)
{
	uintptr_t base = KPM_BASE + SPLIT_PA, hole = base + 5 * PAGESIZE;
	struct hat_mapping m;

	need_kernel_hat();
	ASSERT_TRUE(hat_probe(&kernel_hat, base, &m));
	ASSERT_EQ(m.size, 0x200000UL);
	ASSERT_EQ(hat_unload(&kernel_hat, hole, PAGESIZE), 0);
	EXPECT_FALSE(readable(hole));
	EXPECT_TRUE(readable(hole - PAGESIZE));
	EXPECT_TRUE(readable(hole + PAGESIZE));
	for (uint64_t off = 0; off < 0x200000; off += PAGESIZE)
		if (base + off != hole)
			EXPECT_EQ(hat_getpfnum(&kernel_hat, base + off),
				  (SPLIT_PA + off) >> PAGESHIFT);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, hole), PFN_INVALID);
	ASSERT_EQ(hat_memload(&kernel_hat, hole, (hole - KPM_BASE) >> PAGESHIFT,
			      PROT_READ | PROT_WRITE, 0), 0);
	EXPECT_TRUE(readable(hole));
}

/*
 * Running out of page-table pages is an error return, not a panic, and
 * leaves the hat as it was: the address stays unmapped, then maps once
 * pages are available again.
 */
KTEST(hat, ptpages_exhausted)
{
	uintptr_t va = HAT_TEST_VA + 0x4000000000UL; /* a PDPT of its own */

	need_kernel_hat();
	hat_ptpage_inject_failure(0);
	EXPECT_EQ(hat_memload(&kernel_hat, va, probe_pfn(), PROT_READ, 0),
		  -ENOMEM);
	hat_ptpage_inject_failure(-1);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, va), PFN_INVALID);
	ASSERT_EQ(hat_memload(&kernel_hat, va, probe_pfn(), PROT_READ, 0), 0);
	EXPECT_EQ(hat_getpfnum(&kernel_hat, va), probe_pfn());
	EXPECT_EQ(hat_unload(&kernel_hat, va, PAGESIZE), 0);
}

/*
 * A private hat gives back every table page: unmapping frees the tables
 * it emptied (only the root is left), and hat_free frees the root. Fails
 * on a leak anywhere in the walk. A range across the canonical hole is
 * refused and unmaps nothing (it would wrap around the root table).
 */
KTEST(hat, tables_freed)
{
	struct hat h;
	uint64_t before = hat_ptpages_live();
	static const uintptr_t vas[] = { 0x1000, 0x7fffffffe000UL,
					 0xffff800000000000UL, 0x40201000UL };

	ASSERT_EQ(hat_init(&h, &pt_mode_4level), 0);
	for (size_t i = 0; i < ARRAY_SIZE(vas); i++)
		ASSERT_EQ(hat_memload(&h, vas[i], probe_pfn(), PROT_READ, 0), 0);
	EXPECT_EQ(h.h_ptpages, 1UL + 3 + 3 + 3 + 2);
	EXPECT_EQ(hat_unload(&h, 0x7ffffffff000UL,
			     0xffff800000002000UL - 0x7ffffffff000UL), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(vas); i++)
		EXPECT_EQ(hat_getpfnum(&h, vas[i]), probe_pfn());
	for (size_t i = 0; i < ARRAY_SIZE(vas); i++)
		ASSERT_EQ(hat_unload(&h, vas[i], PAGESIZE), 0);
	EXPECT_EQ(h.h_ptpages, 1UL);
	EXPECT_EQ(hat_ptpages_live(), before + 1);
	hat_free(&h);
	EXPECT_EQ(hat_ptpages_live(), before);
}

/*
 * The walker is mode-generic: a PAE hat and a 5-level hat, built in
 * memory (never loaded), map and translate across their index ranges.
 */
KTEST(hat, other_modes_in_memory)
{
	static const struct {
		const struct pt_mode *mode;
		uintptr_t va;
	} cases[] = {
		{ &pt_mode_pae, 0xfffff000UL },
		{ &pt_mode_pae, 0x40000000UL },
		{ &pt_mode_5level, 0x00fffffffffff000UL },
		{ &pt_mode_5level, 0xff00000000000000UL },
	};
	uint64_t before = hat_ptpages_live();

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hat h;

		ASSERT_EQ(hat_init(&h, cases[i].mode), 0);
		ASSERT_EQ(hat_memload(&h, cases[i].va, probe_pfn(), PROT_READ,
				      0), 0);
		EXPECT_EQ(hat_getpfnum(&h, cases[i].va), probe_pfn());
		EXPECT_EQ(h.h_ptpages, (unsigned long)cases[i].mode->levels);
		hat_free(&h);
	}
	EXPECT_EQ(hat_ptpages_live(), before);
	EXPECT_FALSE(hat_va_valid(&pt_mode_4level, 0x0000800000000000UL));
	EXPECT_TRUE(hat_va_valid(&pt_mode_5level, 0x0000800000000000UL));
	EXPECT_FALSE(hat_va_valid(&pt_mode_pae, 0x100000000UL));
}
