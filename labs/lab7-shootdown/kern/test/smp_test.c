/*
 * smp_test.c — the SMP infrastructure lab 4 builds on: every CPU the
 * MADT lists comes online with its own per-CPU data, IPIs reach each one,
 * spinlocks exclude, and the page allocators below kmem may be called on
 * every CPU at once. (Kit tests: no student code is graded here.)
 */
#include <cpu.h>
#include <kernel.h>
#include <ktest.h>
#include <lapic.h>
#include <smp.h>
#include <spinlock.h>
#include <x86.h>
#include <hat.h>
#include <page.h>
#include <rand.h>

/* Every CPU the MADT lists is online, with distinct local APIC IDs. */
KTEST(smp, cpus_online)
{
	ASSERT_GE(ncpus, 2);
	EXPECT_EQ(smp_online(), ncpus);
	EXPECT_EQ(lapic_id(), cpus[0].cpu_m.mcpu_apicid);
	for (int i = 0; i < ncpus; i++)
		for (int j = 0; j < i; j++)
			EXPECT_NE(cpus[i].cpu_m.mcpu_apicid, cpus[j].cpu_m.mcpu_apicid);
}

static uint32_t seen_apicid[NCPU];
static uint64_t seen_cr3[NCPU];

static void record_cpu(void *arg)
{
	struct cpu *c = curcpu();

	(void)arg;
	seen_apicid[c->cpu_id] = lapic_id();
	seen_cr3[c->cpu_id] = read_cr3() & PTE_ADDR;
	/* A CPU lazy on a user hat (tlb.h) runs on that hat's tables,
	 * whose upper half is the kernel's: count it as the kernel's. */
	if (c->cpu_hat != NULL && seen_cr3[c->cpu_id] == c->cpu_hat->h_root)
		seen_cr3[c->cpu_id] = kernel_hat.h_root;
}

/*
 * An IPI reaches each CPU, which finds itself through %gs: the CPU that
 * says it is cpus[i] has cpus[i]'s APIC ID. Each runs on the kernel's own
 * page tables, not the boot tables its trampoline used.
 */
KTEST(smp, per_cpu_data_and_ipis)
{
	for (int i = 0; i < NCPU; i++)
		seen_apicid[i] = 0xffffffff;
	ktest_on_each_cpu(record_cpu, NULL);
	for (int i = 0; i < ncpus; i++) {
		EXPECT_EQ(seen_apicid[i], cpus[i].cpu_m.mcpu_apicid);
		if (kernel_hat_active)
			EXPECT_EQ(seen_cr3[i], kernel_hat.h_root);
	}
}

#define ROUNDS 20000

static spinlock_t count_lock = SPINLOCK_INIT("count_lock", LR_TEST_INNER);
static volatile uint64_t counter;

/* A read-modify-write with room in the middle for another CPU. */
static void slow_increment(void)
{
	uint64_t v = counter;

	for (int i = 0; i < 8; i++)
		__asm__ volatile("pause");
	counter = v + 1;
}

static void count_locked(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		spin_lock(&count_lock);
		slow_increment();
		spin_unlock(&count_lock);
	}
}

/*
 * All CPUs increment one counter under a spinlock: no increment is lost.
 * Fails if spin_lock lets two CPUs in at once.
 */
KTEST_TIMEOUT(smp, spinlock_excludes, 30)
{
	counter = 0;
	ktest_on_each_cpu(count_locked, NULL);
	EXPECT_EQ(counter, (uint64_t)ncpus * ROUNDS);
	EXPECT_FALSE(spin_held(&count_lock));
}

#define PA_ROUNDS 4000   /* buddy allocations per CPU */
#define PA_TABLE_EVERY 4 /* and a page-table page every 4th round */
#define PA_HELD 12       /* blocks (and table pages) a CPU holds at once */
#define PA_ORDERS 4      /* blocks of order 0 .. 3 */
/*
 * Under -icount QEMU runs the vCPUs one at a time, each for its share of
 * the time to the next timer deadline: 25 ms (a thousand rounds) when no
 * timer runs, so the CPUs would seldom meet inside a critical section. A
 * 20 kHz timer on CPU 0 cuts the shares to about 1500 instructions. Its
 * deadlines count whether or not the interrupt is taken.
 */
#define PA_TIMER_HZ 20000

/* A block (or table page) a CPU holds, and the stamp it wrote in it. */
struct pa_held {
	uint64_t pa; /* 0: none */
	unsigned order;
	uint64_t stamp;
};

/* What one CPU did, and what it found wrong: read by CPU 0 afterwards. */
static struct pa_cpu {
	struct pa_held block[PA_HELD], table[PA_HELD];
	unsigned long blocks, tables, nulls, overwritten, dirty_tables;
	uint64_t bad_pfn;
} pa_cpus[NCPU];

/*
 * Stamp the first and last word of each page of h's block with who took
 * it and when: this CPU (1 + its id, in the top bits) and round n.
 */
static void pa_stamp(struct pa_cpu *me, struct pa_held *h, uint64_t n)
{
	h->stamp = (uint64_t)(me - pa_cpus + 1) << 48 | n << 8;
	for (uint64_t i = 0; i < (1UL << h->order); i++) {
		uint64_t *w = kpm_va(h->pa + i * PAGESIZE);

		w[0] = h->stamp | i;
		w[511] = ~(h->stamp | i);
	}
}

/*
 * Do h's pages still hold its stamp? Not if they were handed to another
 * CPU as well, which stamped them with its own: count it if not.
 */
static void pa_check(struct pa_cpu *me, const struct pa_held *h)
{
	for (uint64_t i = 0; i < (1UL << h->order); i++) {
		const uint64_t *w = kpm_va(h->pa + i * PAGESIZE);

		if (w[0] != (h->stamp | i) || w[511] != ~(h->stamp | i)) {
			me->overwritten++;
			me->bad_pfn = h->pa >> PAGESHIFT;
			return;
		}
	}
}

/* Slot k: give back its block, if any, and take one of a random order. */
static void pa_block(struct pa_cpu *me, int k, struct rand *r, uint64_t n)
{
	struct pa_held *h = &me->block[k];
	page_t *pp;

	if (h->pa != 0) {
		pa_check(me, h);
		page_free_pages(pfn_to_page(h->pa >> PAGESHIFT), h->order);
	}
	h->order = (unsigned)rand_below(r, PA_ORDERS);
	pp = page_alloc_pages(h->order, PG_TEST);
	h->pa = pp != NULL ? page_pfn(pp) << PAGESHIFT : 0;
	if (pp == NULL) {
		me->nulls++;
		return;
	}
	pa_stamp(me, h, n);
	me->blocks++;
}

/* Slot k: the same with a page-table page, which must come zeroed. */
static void pa_table(struct pa_cpu *me, int k, uint64_t n)
{
	struct pa_held *h = &me->table[k];
	const uint64_t *t;

	if (h->pa != 0) {
		pa_check(me, h);
		hat_ptpage_free(h->pa);
	}
	h->pa = hat_ptpage_alloc();
	if (h->pa == 0) {
		me->nulls++;
		return;
	}
	t = kpm_va(h->pa);
	if (t[0] != 0 || t[511] != 0)
		me->dirty_tables++;
	pa_stamp(me, h, n);
	me->tables++;
}

static void pa_worker(void *arg)
{
	struct pa_cpu *me = &pa_cpus[curcpu()->cpu_id];
	struct rand r;

	rand_seed(&r, *(uint64_t *)arg + (uint64_t)curcpu()->cpu_id);
	for (uint64_t n = 0; n < PA_ROUNDS; n++) {
		int k = (int)rand_below(&r, PA_HELD);

		pa_block(me, k, &r, n);
		if (n % PA_TABLE_EVERY == 0)
			pa_table(me, k, n);
	}
	for (int k = 0; k < PA_HELD; k++) {
		if (me->block[k].pa != 0)
			page_free_pages(pfn_to_page(me->block[k].pa >> PAGESHIFT),
					me->block[k].order);
		if (me->table[k].pa != 0)
			hat_ptpage_free(me->table[k].pa);
	}
}

/*
 * Every CPU allocates and frees buddy blocks of orders 0..3, and
 * page-table pages, at once, stamping each page with its CPU and round
 * and checking the stamp before the free: no block is handed to two
 * CPUs, none is refused, and afterwards the free pages and the live
 * table pages are what they were. Fails when the zone lock is missing or
 * does not cover a whole split or merge: a panic in buddy.c's ASSERTs (a
 * list or count gone wrong), a page fault on a broken link, an
 * overwritten stamp or a count off.
 */
KTEST(smp, page_alloc_concurrent)
{
	uint64_t free_before = page_free_count();
	uint64_t live_before = hat_ptpages_live(), seed = ktest_seed();

	ASSERT_TRUE(page_ready);
	for (int i = 0; i < NCPU; i++)
		pa_cpus[i] = (struct pa_cpu){ 0 };
	lapic_timer_start(PA_TIMER_HZ);
	ktest_on_each_cpu(pa_worker, &seed);
	lapic_timer_stop();
	for (int i = 0; i < ncpus; i++) {
		if (pa_cpus[i].overwritten != 0)
			ktest_fail(__FILE__, __LINE__,
				   "cpu%d: %lu blocks overwritten while it "
				   "held them (the last at pfn %#lx): handed "
				   "out twice?", i, pa_cpus[i].overwritten,
				   pa_cpus[i].bad_pfn);
		EXPECT_EQ(pa_cpus[i].nulls, 0UL);
		EXPECT_EQ(pa_cpus[i].dirty_tables, 0UL);
		EXPECT_EQ(pa_cpus[i].blocks, (unsigned long)PA_ROUNDS);
		EXPECT_EQ(pa_cpus[i].tables,
			  (unsigned long)PA_ROUNDS / PA_TABLE_EVERY);
	}
	EXPECT_EQ(page_free_count(), free_before);
	EXPECT_EQ(hat_ptpages_live(), live_before);
}

/* Taking a lock this CPU holds is caught at once. Expects the panic. */
KTEST_EXPLICIT(smp, spinlock_recursion_panics)
{
	static spinlock_t lk = SPINLOCK_INIT("recursive_lock", LR_TEST_INNER);

	spin_lock(&lk);
	spin_lock(&lk);
	ktest_fail(__FILE__, __LINE__, "the second spin_lock returned");
}
