/*
 * tlb_test.c — lab 7's kernel tests: every CPU's TLB stays true.
 *
 * QEMU's TCG keeps a software TLB per vCPU that only invlpg, a CR3 write
 * and the like flush, so a shootdown that misses a CPU leaves it a real
 * stale translation: these tests read user addresses for real, from the
 * kernel, on CPUs that have a test address space loaded (as_activate),
 * and a stale read is a load that succeeds where it must fault.
 *
 * A test runs one function on every CPU at once (ktest_on_each_cpu):
 * CPU 0 changes the mappings, the others read, and they take turns
 * through the shared `step` counter. Every wait serves shootdowns
 * (tlb_wait_pause), as every wait in the kernel must. Results are
 * collected per CPU and checked on CPU 0 afterwards.
 *
 * Each test names the bug it catches. The lab's stub (no IPIs, a local
 * full flush, no laziness, no cpuset) fails every one.
 */
#if LAB >= 7
#include <as.h>
#include <hat.h>
#include <kernel.h>
#include <ktest.h>
#include <kstring.h>
#include <smp.h>
#include <tlb.h>
#include <trap.h>
#include <x86.h>

#include "vmtest.h"

#define RW (PROT_READ | PROT_WRITE)
#define OLD 0x01d01d01d01d01d0UL /* what the pages hold before a change */
#define NPAGES 128               /* pages of the test address space */
#define ROUNDS 50                /* shootdowns per CPU in the crossfire */

/* What the CPUs share during one test run. */
static struct tlbt {
	struct as *as, *as2;
	int readers;             /* CPUs 1 .. readers take part */
	volatile int step;       /* CPU 0 advances it; the others follow */
	volatile int arrived;    /* how many readers reached the step */
	bool faulted[NCPU];      /* the read after the change faulted */
	uint64_t seen[NCPU];     /* what that read returned, if it did not */
	struct tlbstat before[NCPU], after[NCPU];
	struct hat *hat_seen[NCPU];
	uint64_t cpus_seen[4];
	uintptr_t len;           /* bytes CPU 0 changes */
} T;

/* An address space with NPAGES private pages at BASE, page i holding
 * OLD + i in its first word, every page mapped (faulted in). */
static struct as *tlbt_as(void)
{
	struct as *as = as_alloc();

	if (as == NULL)
		return NULL;
	if (vnmap(as, BASE, NPAGES * PG, NULL, 0, MAP_PRIVATE, RW) != 0)
		goto fail;
	for (int i = 0; i < NPAGES; i++) {
		pfn_t pfn;

		if (as_fault(as, BASE + i * PG, 1, F_INVAL, S_WRITE) != FC_OK)
			goto fail;
		pfn = hat_getpfnum(&as->a_hat, BASE + i * PG);
		if (pfn == PFN_INVALID)
			goto fail;
		*(uint64_t *)kpm_va(pfn << PAGESHIFT) = OLD + (uint64_t)i;
	}
	return as;
fail:
	as_free(as);
	return NULL;
}

/* A real load of the word at user address va on this CPU: false if it
 * faulted (nothing maps va), else true with the word in *v. */
static bool probe(uintptr_t va, uint64_t *v)
{
	on_trap_data_t otd;

	if (on_trap(&otd, OT_DATA_ACCESS)) {
		no_trap();
		return false;
	}
	*v = *(volatile uint64_t *)va;
	no_trap();
	return true;
}

/* Wait, serving shootdowns, until T.step reaches want. */
static void await_step(int want)
{
	uint64_t spins = 0;

	while (__atomic_load_n(&T.step, __ATOMIC_ACQUIRE) < want)
		tlb_wait_pause(&spins, "tlb_test: waiting for CPU 0");
}

/* CPU 0: wait, serving, until every reader has arrived n times. */
static void await_readers(int n)
{
	uint64_t spins = 0;

	while (__atomic_load_n(&T.arrived, __ATOMIC_ACQUIRE) < n * T.readers)
		tlb_wait_pause(&spins, "tlb_test: waiting for the readers");
}

static void arrive(void)
{
	__atomic_add_fetch(&T.arrived, 1, __ATOMIC_RELEASE);
}

static void next_step(int s)
{
	__atomic_store_n(&T.step, s, __ATOMIC_RELEASE);
}

static bool reader(void)
{
	int id = curcpu()->cpu_id;

	return id >= 1 && id <= T.readers;
}

static void tlbt_reset(int readers)
{
	memset(&T, 0, sizeof(T));
	T.readers = MIN(readers, ncpus - 1);
}

/* Snapshot every CPU's counters into into[]. */
static void snap(struct tlbstat *into)
{
	for (int i = 0; i < ncpus; i++)
		into[i] = tlbstat_get(i);
}

#define DELTA(i, f) (T.after[i].f - T.before[i].f)

/*
 * The stale-read protocol. Readers load the hat and read page 0 (so its
 * translation is cached just before the change); CPU 0 unmaps it, which
 * frees the frame, and writes a secret into that frame as its next owner
 * would; then every reader reads again, and must fault.
 */
static void stale_fn(void *arg)
{
	int id = curcpu()->cpu_id;
	uint64_t v = 0;

	(void)arg;
	if (id != 0 && !reader())
		return;
	as_activate(T.as);
	if (id != 0) {
		T.faulted[id] = !probe(BASE, &v);
		arrive();
		await_step(1);
		T.faulted[id] = !probe(BASE, &v);
		T.seen[id] = v;
		arrive();
	} else {
		pfn_t pfn = hat_getpfnum(&T.as->a_hat, BASE);

		(void)probe(BASE, &v);
		await_readers(1);
		snap(T.before);
		ASSERT(as_unmap(T.as, BASE, PG) == 0);
		/* The frame is free now: a new owner's secret lands in it. */
		*(volatile uint64_t *)kpm_va(pfn << PAGESHIFT) = ~OLD;
		next_step(1);
		await_readers(2);
		snap(T.after);
	}
	as_deactivate();
}

/*
 * After CPU 0 unmaps a page four CPUs were reading, each CPU's next read
 * faults: none reads the old frame, or the secret its next owner wrote.
 * Fails: a shootdown that flushes only the initiating CPU (the lab's
 * stub), or some targets only. (An early ack: the host's test_tlb.)
 */
KTEST(tlb, shootdown_reaches_every_cpu)
{
	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	tlbt_reset(3);
	T.as = tlbt_as();
	ASSERT_NE(T.as, NULL);
	ktest_on_each_cpu(stale_fn, NULL);
	for (int i = 1; i <= T.readers; i++) {
		if (!T.faulted[i])
			ktest_fail(__FILE__, __LINE__, "cpu%d read %#lx at the "
				   "unmapped page (%s): a stale translation",
				   i, T.seen[i], T.seen[i] == ~OLD ?
				   "the frame's next owner's secret" :
				   T.seen[i] == OLD ? "the old value" : "garbage");
		EXPECT_GE(DELTA(i, ts_served), 1UL);
	}
	as_free(T.as);
}

/* Targeting: CPUs 0, 1 and 2 hold the hat; CPU 3 runs another one. */
static void target_fn(void *arg)
{
	int id = curcpu()->cpu_id;
	uint64_t v;

	(void)arg;
	as_activate(id == 3 ? T.as2 : T.as);
	if (id != 0) {
		(void)probe(BASE, &v);
		arrive();
		await_step(1);
		arrive();
	} else {
		await_readers(1);
		snap(T.before);
		ASSERT(as_unmap(T.as, BASE + 5 * PG, PG) == 0);
		snap(T.after);
		next_step(1);
		await_readers(2);
	}
	as_deactivate();
}

/*
 * A shootdown interrupts exactly the CPUs that hold the hat: CPUs 1 and
 * 2 are sent one IPI each and serve one request; CPU 3, which has another
 * address space loaded, is sent nothing. Fails: broadcasting to every
 * CPU (no cpuset), or sending nothing (the stub).
 */
KTEST(tlb, only_cpus_holding_the_hat_get_ipis)
{
	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	tlbt_reset(3);
	T.as = tlbt_as();
	T.as2 = tlbt_as();
	ASSERT_NE(T.as, NULL);
	ASSERT_NE(T.as2, NULL);
	ktest_on_each_cpu(target_fn, NULL);
	EXPECT_EQ(DELTA(0, ts_ipi_sent), 2UL);
	EXPECT_EQ(DELTA(1, ts_served), 1UL);
	EXPECT_EQ(DELTA(2, ts_served), 1UL);
	EXPECT_EQ(DELTA(3, ts_served), 0UL);
	EXPECT_EQ(DELTA(3, ts_ipi_recv), 0UL);
	as_free(T.as);
	as_free(T.as2);
}

/* One reader; CPU 0 changes T.len bytes at page 32 (read-only). */
static void range_fn(void *arg)
{
	int id = curcpu()->cpu_id;
	uint64_t v;

	(void)arg;
	if (id != 0 && !reader())
		return;
	as_activate(T.as);
	if (id != 0) {
		for (uintptr_t off = 0; off < T.len; off += PG)
			(void)probe(BASE + 32 * PG + off, &v);
		arrive();
		await_step(1);
		arrive();
	} else {
		await_readers(1);
		snap(T.before);
		ASSERT(hat_chgprot(&T.as->a_hat, BASE + 32 * PG, T.len,
				   PROT_READ | PROT_USER) == 0);
		snap(T.after);
		next_step(1);
		await_readers(2);
	}
	as_deactivate();
}

/*
 * The ceiling: a change of 33 pages (TLB_FLUSH_CEILING) costs the other
 * CPU 33 invlpg and no full flush; one of 34 pages, one full flush and no
 * invlpg. The initiator flushes its own TLB the same way. Fails: no
 * ceiling (34 invlpg), a ceiling off by one, or no remote flush at all.
 */
KTEST(tlb, ceiling_invlpg_then_full_flush)
{
	static const uintptr_t pages[] = { TLB_FLUSH_CEILING,
					   TLB_FLUSH_CEILING + 1 };

	if (ncpus < 2)
		ktest_skip("one CPU");
	for (size_t k = 0; k < ARRAY_SIZE(pages); k++) {
		bool full = pages[k] > TLB_FLUSH_CEILING;

		tlbt_reset(1);
		T.as = tlbt_as();
		ASSERT_NE(T.as, NULL);
		T.len = pages[k] * PG;
		ktest_on_each_cpu(range_fn, NULL);
		for (int i = 0; i <= 1; i++) {
			EXPECT_EQ(DELTA(i, ts_invlpg), full ? 0 : pages[k]);
			EXPECT_EQ(DELTA(i, ts_flush_all), full ? 1UL : 0UL);
		}
		as_free(T.as);
	}
}

/* Three readers; CPU 0 unmaps T.len bytes from page 0 in one call. */
static void batch_fn(void *arg)
{
	int id = curcpu()->cpu_id;
	uint64_t v;

	(void)arg;
	if (id != 0 && !reader())
		return;
	as_activate(T.as);
	if (id != 0) {
		(void)probe(BASE, &v);
		arrive();
		await_step(1);
		for (uintptr_t off = 0; off < T.len; off += PG)
			if (probe(BASE + off, &v))
				T.faulted[id] = false, T.seen[id] = v;
		arrive();
	} else {
		await_readers(1);
		snap(T.before);
		ASSERT(as_unmap(T.as, BASE, T.len) == 0);
		snap(T.after);
		for (int i = 1; i <= T.readers; i++)
			T.faulted[i] = true;
		next_step(1);
		await_readers(2);
	}
	as_deactivate();
}

/*
 * munmap of 64 pages makes one round of IPIs: one shootdown, one IPI to
 * each of the three other CPUs, one request served by each (a full
 * flush: 64 is past the ceiling), and none of the 64 pages readable
 * after. Fails: a shootdown per page (192 IPIs), or none at all.
 */
KTEST(tlb, munmap_of_64_pages_is_one_round)
{
	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	tlbt_reset(3);
	T.as = tlbt_as();
	ASSERT_NE(T.as, NULL);
	T.len = 64 * PG;
	ktest_on_each_cpu(batch_fn, NULL);
	EXPECT_EQ(DELTA(0, ts_shootdowns), 1UL);
	EXPECT_EQ(DELTA(0, ts_ipi_sent), 3UL);
	for (int i = 1; i <= T.readers; i++) {
		EXPECT_EQ(DELTA(i, ts_served), 1UL);
		EXPECT_EQ(DELTA(i, ts_flush_all), 1UL);
		if (!T.faulted[i])
			ktest_fail(__FILE__, __LINE__, "cpu%d read %#lx in the "
				   "unmapped range: a stale translation", i,
				   T.seen[i]);
	}
	as_free(T.as);
}

/* Wait, serving, until T.arrived reaches n. */
static void await_arrived(int n)
{
	uint64_t spins = 0;

	while (__atomic_load_n(&T.arrived, __ATOMIC_ACQUIRE) < n)
		tlb_wait_pause(&spins, "tlb_test: crossfire");
}

/*
 * Every CPU in 0 .. readers loads the hat; once all have, each shoots at
 * all the others ROUNDS times; all stay (serving) until all are done.
 */
static void crossfire_fn(void *arg)
{
	int id = curcpu()->cpu_id, n = T.readers + 1;

	(void)arg;
	if (id != 0 && !reader())
		return;
	as_activate(T.as);
	arrive();
	if (id == 0) {
		await_arrived(n);
		next_step(1);
	}
	await_step(1);
	for (int r = 0; r < ROUNDS; r++)
		tlb_shootdown(&T.as->a_hat, BASE + (uintptr_t)(r % 8) * PG, PG);
	arrive();
	if (id == 0) {
		await_arrived(2 * n);
		next_step(2);
	}
	await_step(2);
	as_deactivate();
}

/*
 * Two, then four CPUs shoot down at one another at the same moment, 50
 * times each: every shootdown completes, and each CPU served exactly one
 * request per shootdown of every other. Fails: waiting for acks without
 * serving requests (two CPUs each wait for the other forever, and the
 * watchdog ends the run), or a lost ack.
 */
KTEST(tlb, crossfire_completes)
{
	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	for (int n = 2; n <= 4; n += 2) {
		tlbt_reset(n - 1);
		T.as = tlbt_as();
		ASSERT_NE(T.as, NULL);
		snap(T.before);
		ktest_on_each_cpu(crossfire_fn, NULL);
		snap(T.after);
		for (int i = 0; i < n; i++) {
			EXPECT_EQ(DELTA(i, ts_shootdowns), (uint64_t)ROUNDS);
			EXPECT_EQ(DELTA(i, ts_served),
				  (uint64_t)ROUNDS * (uint64_t)(n - 1));
		}
		as_free(T.as);
	}
}

/* ---- part A: who holds the hat ---- */

/* CPUs 1 and 2 load T.as, then CPU 1 moves to T.as2; CPU 0 records. */
static void cpuset_fn(void *arg)
{
	int id = curcpu()->cpu_id;

	(void)arg;
	if (id != 0 && !reader())
		return;
	if (id != 0) {
		as_activate(T.as);
		arrive();
		await_step(1);
		if (id == 1)
			as_activate(T.as2);
		arrive();
		await_step(2);
		as_deactivate();
		arrive();
	} else {
		await_readers(1);
		T.cpus_seen[0] = __atomic_load_n(&T.as->a_hat.h_cpus,
						 __ATOMIC_SEQ_CST);
		next_step(1);
		await_readers(2);
		T.cpus_seen[1] = __atomic_load_n(&T.as->a_hat.h_cpus,
						 __ATOMIC_SEQ_CST);
		T.cpus_seen[2] = __atomic_load_n(&T.as2->a_hat.h_cpus,
						 __ATOMIC_SEQ_CST);
		next_step(2);
		await_readers(3);
	}
}

/*
 * h_cpus follows the switches: CPUs 1 and 2 are in it while they have
 * the hat loaded; CPU 1 leaves it when it loads another hat, and joins
 * that one's; CPU 0, which never loaded it, is never in it; and both
 * sets are empty once every CPU is back on the kernel's tables. Fails:
 * no cpuset (the stub), a CPU that never leaves, or one that leaves the
 * new hat instead of the old.
 */
KTEST(tlb, cpuset_follows_the_switches)
{
	if (ncpus < 3)
		ktest_skip("fewer than 3 CPUs");
	tlbt_reset(2);
	T.as = tlbt_as();
	T.as2 = tlbt_as();
	ASSERT_NE(T.as, NULL);
	ASSERT_NE(T.as2, NULL);
	ktest_on_each_cpu(cpuset_fn, NULL);
	EXPECT_EQ(T.cpus_seen[0], 0x6UL);
	EXPECT_EQ(T.cpus_seen[1], 0x4UL);
	EXPECT_EQ(T.cpus_seen[2], 0x2UL);
	EXPECT_EQ(T.as->a_hat.h_cpus, 0UL);
	EXPECT_EQ(T.as2->a_hat.h_cpus, 0UL);
	as_free(T.as);
	as_free(T.as2);
}

/*
 * CR3 is loaded only when the TLB is not known to be valid: loading the
 * hat this CPU already has costs nothing; coming back to it from a
 * kernel thread (lazy) costs nothing either when no shootdown happened
 * meanwhile, and a full flush when one did; another hat costs one load.
 * Fails: a reload at every switch (the labs 5 and 6 way: right, but every
 * switch between two threads of a process empties the TLB), or a return
 * from lazy mode that never looks at the generation (stale).
 */
KTEST(tlb, no_reload_while_the_tlb_is_valid)
{
	struct as *as = tlbt_as(), *as2 = tlbt_as();
	struct cpu *c = curcpu();
	uint64_t loads, flushes;
	bool stale;
	uint64_t v;

	ASSERT_NE(as, NULL);
	ASSERT_NE(as2, NULL);
	as_activate(as);
	loads = c->cpu_tlbstat.ts_cr3_load;
	flushes = c->cpu_tlbstat.ts_flush_all;
	as_activate(as); /* the same hat */
	EXPECT_EQ(c->cpu_tlbstat.ts_cr3_load, loads);
	hat_switch_lazy(); /* a kernel thread ... */
	EXPECT_EQ(c->cpu_hat, &as->a_hat);
	as_activate(as); /* ... then a thread of the same process */
	EXPECT_EQ(c->cpu_tlbstat.ts_cr3_load, loads);
	EXPECT_EQ(c->cpu_tlbstat.ts_flush_all, flushes);
	/* A change while lazy: the return flushes it all. */
	(void)probe(BASE + PG, &v);
	hat_switch_lazy();
	ASSERT(as_unmap(as, BASE + PG, PG) == 0);
	as_activate(as);
	stale = probe(BASE + PG, &v);
	EXPECT_FALSE(stale);
	EXPECT_EQ(c->cpu_tlbstat.ts_cr3_load, loads);
	as_activate(as2);
	EXPECT_EQ(c->cpu_tlbstat.ts_cr3_load, loads + 1);
	as_deactivate();
	as_free(as);
	as_free(as2);
}

/* ---- part C: lazy CPUs, and the hat freed last ---- */

/* CPU 1 reads page 0, goes lazy; CPU 0 unmaps it; CPU 1 comes back. */
static void lazy_fn(void *arg)
{
	int id = curcpu()->cpu_id;
	uint64_t v = 0;

	(void)arg;
	if (id != 0 && !reader())
		return;
	if (id != 0) {
		as_activate(T.as);
		(void)probe(BASE, &v);
		hat_switch_lazy(); /* as if a kernel thread ran now */
		T.hat_seen[id] = curcpu()->cpu_hat;
		arrive();
		await_step(1);
		as_activate(T.as); /* back to user code of the hat */
		T.faulted[id] = !probe(BASE, &v);
		T.seen[id] = v;
		as_deactivate();
		arrive();
	} else {
		as_activate(T.as);
		await_readers(1);
		snap(T.before);
		ASSERT(as_unmap(T.as, BASE, PG) == 0);
		snap(T.after);
		next_step(1);
		await_readers(2);
		as_deactivate();
	}
}

/*
 * A lazy CPU is not interrupted, and is never stale: CPU 1 keeps the hat
 * loaded while "running a kernel thread"; CPU 0's unmap sends it no IPI
 * (CPU 0 counts one lazy CPU skipped), and when CPU 1 returns to the hat
 * it flushes before it reads, so its read faults. Fails: dropping the
 * hat at every switch to a kernel thread (the stub), interrupting lazy
 * CPUs, or a return from lazy mode that does not flush.
 */
KTEST(tlb, lazy_cpu_skipped_and_never_stale)
{
	if (ncpus < 2)
		ktest_skip("one CPU");
	tlbt_reset(1);
	T.as = tlbt_as();
	ASSERT_NE(T.as, NULL);
	ktest_on_each_cpu(lazy_fn, NULL);
	EXPECT_EQ(T.hat_seen[1], &T.as->a_hat);
	EXPECT_EQ(DELTA(1, ts_served), 0UL);
	EXPECT_EQ(DELTA(0, ts_ipi_sent), 0UL);
	EXPECT_EQ(DELTA(0, ts_lazy_skip), 1UL);
	if (!T.faulted[1])
		ktest_fail(__FILE__, __LINE__, "cpu1 read %#lx at the page "
			   "unmapped while it was lazy: a stale translation",
			   T.seen[1]);
	as_free(T.as);
}

/* CPUs 1 .. 3 load the hat and go lazy; CPU 0 frees the address space. */
static void release_fn(void *arg)
{
	int id = curcpu()->cpu_id;

	(void)arg;
	if (id != 0 && !reader())
		return;
	if (id != 0) {
		as_activate(T.as);
		hat_switch_lazy();
		T.hat_seen[id] = curcpu()->cpu_hat;
		arrive();
		await_step(1);
		arrive();
	} else {
		await_readers(1);
		T.cpus_seen[0] = __atomic_load_n(&T.as->a_hat.h_cpus,
						 __ATOMIC_SEQ_CST);
		as_free(T.as); /* panics if a CPU still holds its tables */
		T.as = NULL;
		next_step(1);
		await_readers(2);
	}
}

/*
 * An address space is freed only once every CPU that holds its tables,
 * lazily, has let go: three lazy CPUs hold it, as_free() returns, and by
 * then none of them has it in CR3 (hat_free_user() checks every CPU, and
 * would panic). Fails: a release that skips lazy CPUs or does not wait
 * for their acks (the panic), or CPUs that never were lazy (the stub).
 */
KTEST(tlb, hat_freed_after_lazy_cpus_let_go)
{
	struct hat *h;

	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	tlbt_reset(3);
	T.as = tlbt_as();
	ASSERT_NE(T.as, NULL);
	h = &T.as->a_hat;
	ktest_on_each_cpu(release_fn, NULL);
	EXPECT_EQ(T.cpus_seen[0], 0xeUL);
	for (int i = 1; i <= T.readers; i++) {
		EXPECT_EQ(T.hat_seen[i], h); /* lazy on it, before */
		EXPECT_EQ(cpus[i].cpu_hat, NULL); /* let go, after */
	}
}

#endif /* LAB >= 7 */
