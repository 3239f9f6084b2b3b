/*
 * smp.c — starting the application processors, IPIs, and the tests'
 * way to run code on every CPU (see smp.h).
 *
 * Start-up, one AP at a time (they share the trampoline's parameters):
 * INIT, then two Startup IPIs whose vector is the trampoline's page
 * number, as Intel SDM Vol. 3A §8.4.4 prescribes; then wait until the AP
 * marks itself online. An AP that never does is a bug worth a panic.
 */
#include <boot.h>
#include <idt.h>
#include <kernel.h>
#include <kstring.h>
#include <lapic.h>
#include <smp.h>
#include <spinlock.h>
#include <trap.h>
#include <x86.h>
#include <hat.h>
#include <thread.h>

#define TRAMPOLINE_PA 0x8000UL
#define ICR_INIT 0x00004500 /* INIT, level assert */
#define ICR_STARTUP 0x00004600
#define START_SPINS 100000000UL

extern char ap_trampoline[], ap_trampoline_end[];
extern char tramp_cr3[], tramp_stack[], tramp_entry[];
extern uint64_t boot_pml4[512];

static char ap_stacks[NCPU][KSTACK_SIZE] __attribute__((aligned(16)));
static struct cpu *volatile ap_starting;

static void smp_work(struct regs *rp);

/* Where an AP lands from the trampoline, on its stack, boot tables. */
static NORETURN void ap_entry(void)
{
	struct cpu *c = ap_starting;

	ASSERT(c != NULL && c != &cpus[0] && !c->cpu_online);
	cpu_init_ap(c);
	ASSERT(curcpu() == c);
	idt_load();
	if (kernel_hat_active)
		write_cr3(kernel_hat.h_root);
	lapic_init_ap();
	__atomic_store_n(&c->cpu_online, 1, __ATOMIC_RELEASE);
	thread_ap_idle(); /* from lab 5, the AP's idle thread */
}

/* Write one of the trampoline's parameters in its copy below 1 MiB. */
static void tramp_set(char *param, uint64_t value)
{
	uint64_t off = (uint64_t)(param - ap_trampoline);

	ASSERT(param >= ap_trampoline && param + 8 <= ap_trampoline_end);
	*(volatile uint64_t *)kpm_va(TRAMPOLINE_PA + off) = value;
}

static void ap_start(struct cpu *c)
{
	ASSERT(c->cpu_id > 0 && c->cpu_id < ncpus && c == &cpus[c->cpu_id]);
	ASSERT(!c->cpu_online);
	ap_starting = c;
	tramp_set(tramp_stack, (uint64_t)(ap_stacks[c->cpu_id] + KSTACK_SIZE));
	lapic_ipi(c->cpu_m.mcpu_apicid, ICR_INIT);
	for (int i = 0; i < 2; i++)
		lapic_ipi(c->cpu_m.mcpu_apicid, ICR_STARTUP | (TRAMPOLINE_PA >> 12));
	for (uint64_t spins = 0; !c->cpu_online; spins++) {
		if (spins == START_SPINS)
			panic("smp_start_aps: cpu%d (APIC ID %u) did not start",
			      c->cpu_id, c->cpu_m.mcpu_apicid);
		__asm__ volatile("pause");
	}
}

/*
 * Boot CPU only, once, after acpi_init() and lapic_init(): start every AP
 * in cpus[1..ncpus-1] and wait for each; panics on one that never starts.
 */
void smp_start_aps(void)
{
	size_t len = (size_t)(ap_trampoline_end - ap_trampoline);

	ASSERT(curcpu() == &cpus[0]);
	ASSERT(ncpus >= 1 && ncpus <= NCPU);
	ASSERT(len <= PAGESIZE); /* one page below 1 MiB holds it */
	cpus[0].cpu_m.mcpu_apicid = lapic_id();
	cpus[0].cpu_online = 1;
	memcpy(kpm_va(TRAMPOLINE_PA), ap_trampoline, len);
	tramp_set(tramp_cr3, kimage_pa(boot_pml4));
	tramp_set(tramp_entry, (uint64_t)ap_entry);
	intr_register(T_SMP_WORK, smp_work);
	for (int i = 1; i < ncpus; i++)
		ap_start(&cpus[i]);
	kprintf("smp: %d CPUs online\n", smp_online());
}

/* How many CPUs have come online, this one included. */
int smp_online(void)
{
	int n = 0;

	for (int i = 0; i < ncpus; i++)
		n += cpus[i].cpu_online != 0;
	return n;
}

/* A fixed IPI to one CPU; vector must be an interrupt vector (>= 32). */
void ipi_send(uint32_t apicid, int vector)
{
	ASSERT(vector >= T_FIRST_INTR && vector < NVECTORS);
	lapic_ipi(apicid, (uint32_t)vector);
}

static void smp_work(struct regs *rp)
{
	struct cpu *c = curcpu();

	(void)rp;
	if (c->cpu_work_state == WORK_POSTED) {
		ASSERT(c->cpu_work != NULL);
		c->cpu_work(c->cpu_work_arg);
		ASSERT(spin_nheld() == 0); /* work must drop what it took */
		__atomic_store_n(&c->cpu_work_state, WORK_DONE,
				 __ATOMIC_RELEASE);
	}
	lapic_eoi();
}

/*
 * Tests only, boot CPU only, holding no spinlock (fn may take any lock):
 * run fn(arg) on every online CPU at once and return when all are done.
 */
void ktest_on_each_cpu(void (*fn)(void *), void *arg)
{
	ASSERT(fn != NULL);
	ASSERT(curcpu() == &cpus[0]);
	ASSERT(spin_nheld() == 0);
	for (int i = 1; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		if (!c->cpu_online)
			continue;
		ASSERT(c->cpu_work_state == WORK_IDLE);
		c->cpu_work = fn;
		c->cpu_work_arg = arg;
		__atomic_store_n(&c->cpu_work_state, WORK_POSTED,
				 __ATOMIC_RELEASE);
		ipi_send(c->cpu_m.mcpu_apicid, T_SMP_WORK);
	}
	fn(arg);
	for (int i = 1; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		uint64_t spins = 0;

		while (c->cpu_online && c->cpu_work_state != WORK_DONE) {
			(void)spins;
			__asm__ volatile("pause");
		}
		c->cpu_work_state = WORK_IDLE;
	}
}
