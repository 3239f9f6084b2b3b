/*
 * smp_test.c — the SMP infrastructure lab 4 builds on: every CPU the
 * MADT lists comes online with its own per-CPU data, IPIs reach each one,
 * and spinlocks exclude. (Kit tests: no student code is graded here.)
 */
#include <cpu.h>
#include <kernel.h>
#include <ktest.h>
#include <lapic.h>
#include <smp.h>
#include <spinlock.h>
#include <x86.h>
#if LAB >= 2
#include <hat.h>
#endif

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
#if LAB >= 2
		if (kernel_hat_active)
			EXPECT_EQ(seen_cr3[i], kernel_hat.h_root);
#endif
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

/* Taking a lock this CPU holds is caught at once. Expects the panic. */
KTEST_EXPLICIT(smp, spinlock_recursion_panics)
{
	static spinlock_t lk = SPINLOCK_INIT("recursive_lock", LR_TEST_INNER);

	spin_lock(&lk);
	spin_lock(&lk);
	ktest_fail(__FILE__, __LINE__, "the second spin_lock returned");
}
