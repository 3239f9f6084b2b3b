/*
 * tlb_x86.c — the given half of lab 7 (tlb.h): the shootdown IPI, the
 * counted flushes, CR3 loads, and the batch that makes one range
 * operation of the HAT one shootdown.
 *
 * Every flush the shootdown makes goes through tlb_flush_page_local() or
 * tlb_flush_all_local(), and every IPI through tlb_ipi(), so each CPU's
 * struct tlbstat says what it did: the monitor's tlbstat prints them, and
 * the tests compare them before and after.
 */
#include <cpuvar.h>
#include <hat.h>
#include <kernel.h>
#include <lapic.h>
#include <monitor.h>
#include <pte.h>
#include <smp.h>
#include <tlb.h>
#include <trap.h>
#include <x86.h>

/* A wait for another CPU that runs this long is a lost ack, not a wait. */
#define TLB_WAIT_LIMIT 200000000UL

/*
 * T_TLB: only ever taken in user mode or the idle loop's hlt (kernel
 * code runs with interrupts off). The requests may already have been
 * served by a poll; tlb_serve() then finds none.
 */
static void tlb_intr(struct regs *rp)
{
	/* A CPU lazy on a hat runs no user code of it (tlb.h). */
	ASSERT((rp->r_cs & 3) != 3 || !curcpu()->cpu_tlb_lazy);
	curcpu()->cpu_tlbstat.ts_ipi_recv++;
	lapic_eoi();
	tlb_serve();
}

void tlb_init(void)
{
	ASSERT(curcpu() == &cpus[0]);
	intr_register(T_TLB, tlb_intr);
}

void tlb_flush_page_local(uintptr_t va)
{
	ASSERT((va & (PAGESIZE - 1)) == 0);
	invlpg(va);
	curcpu()->cpu_tlbstat.ts_invlpg++;
}

void tlb_flush_all_local(void)
{
	write_cr3(read_cr3()); /* every entry but global ones (the kernel's) */
	curcpu()->cpu_tlbstat.ts_flush_all++;
}

void tlb_cr3_load(struct hat *hat)
{
	struct cpu *c = curcpu();
	uint64_t root = hat != NULL ? hat->h_root : kernel_hat.h_root;

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(root != 0 && hat != &kernel_hat);
	__atomic_store_n(&c->cpu_hat, hat, __ATOMIC_SEQ_CST);
	write_cr3(root);
	c->cpu_tlbstat.ts_cr3_load++;
}

void tlb_ipi(int id)
{
	struct cpu *c = curcpu();

	ASSERT(id >= 0 && id < ncpus && id != c->cpu_id);
	ASSERT(cpus[id].cpu_online);
	c->cpu_tlbstat.ts_ipi_sent++;
	if (__atomic_load_n(&cpus[id].cpu_tlb_polling, __ATOMIC_SEQ_CST))
		return; /* it serves from its wait loop */
	ipi_send(cpus[id].cpu_m.mcpu_apicid, T_TLB);
}

void tlb_wait_pause(uint64_t *spins, const char *what)
{
	struct cpu *c = curcpu();

	tlb_serve();
	tlb_poll_pause(&c->cpu_tlb_polling, &c->cpu_tlb_pending);
	if (++*spins == TLB_WAIT_LIMIT)
		panic("%s: cpu%d waited %lu spins", what, curcpu()->cpu_id,
		      TLB_WAIT_LIMIT);
}

/* ---- the batch (tlb.h): one shootdown per range operation ---- */

void hat_tlb_batch_begin(struct hat *hat)
{
	struct cpu *c = curcpu();

	ASSERT(!(read_rflags() & RFLAGS_IF));
	if (hat == &kernel_hat)
		return; /* the kernel's flushes stay immediate and local */
	if (c->cpu_batch_depth++ == 0) {
		c->cpu_batch_hat = hat;
		c->cpu_batch_lo = c->cpu_batch_hi = 0;
		c->cpu_batch_free = 0;
		return;
	}
	ASSERT(c->cpu_batch_hat == hat); /* one hat per batch */
}

void hat_tlb_batch_end(struct hat *hat)
{
	struct cpu *c = curcpu();
	uint64_t pa;

	if (hat == &kernel_hat)
		return;
	ASSERT(c->cpu_batch_depth > 0 && c->cpu_batch_hat == hat);
	if (--c->cpu_batch_depth > 0)
		return;
	if (c->cpu_batch_hi > c->cpu_batch_lo)
		tlb_shootdown(hat, c->cpu_batch_lo,
			      c->cpu_batch_hi - c->cpu_batch_lo);
	c->cpu_batch_hat = NULL;
	/* Every CPU has acked: now the unreachable tables may go. */
	while ((pa = c->cpu_batch_free) != 0) {
		c->cpu_batch_free = *(uint64_t *)kpm_va(pa);
		hat_ptpage_free_now(pa);
	}
}

/*
 * hat_tlb_flush() of a user hat: inside a batch, widen its range; else
 * one shootdown now.
 */
void hat_tlb_flush_user(struct hat *hat, uintptr_t va, size_t len)
{
	struct cpu *c = curcpu();

	ASSERT(hat != &kernel_hat);
	if (c->cpu_batch_depth > 0) {
		ASSERT(c->cpu_batch_hat == hat);
		if (c->cpu_batch_hi == c->cpu_batch_lo) {
			c->cpu_batch_lo = va;
			c->cpu_batch_hi = va + len;
		} else {
			c->cpu_batch_lo = MIN(c->cpu_batch_lo, va);
			c->cpu_batch_hi = MAX(c->cpu_batch_hi, va + len);
		}
		return;
	}
	tlb_shootdown(hat, va, len);
}

/*
 * hat_ptpage_free() inside a batch: queue pa (its first word links the
 * queue: nothing walks the page any more) until the batch's shootdown.
 */
bool hat_ptpage_free_deferred(uint64_t pa)
{
	struct cpu *c = curcpu();

	if (c->cpu_batch_depth == 0)
		return false;
	*(uint64_t *)kpm_va(pa) = c->cpu_batch_free;
	c->cpu_batch_free = pa;
	return true;
}

/* ---- tlbstat ---- */

struct tlbstat tlbstat_get(int id)
{
	ASSERT(id >= 0 && id < ncpus);
	return cpus[id].cpu_tlbstat;
}

void tlbstat_print(void)
{
	kprintf("%4s %9s %9s %9s %9s %9s %9s %9s %9s\n", "CPU", "ipi_sent",
		"ipi_recv", "served", "invlpg", "flush_all", "cr3_load",
		"lazy_skip", "lazy_fl");
	for (int i = 0; i < ncpus; i++) {
		const struct tlbstat *s = &cpus[i].cpu_tlbstat;
		const struct cpu *c = &cpus[i];

		if (!c->cpu_online)
			continue;
		kprintf("%4d %9lu %9lu %9lu %9lu %9lu %9lu %9lu %9lu%s\n", i,
			s->ts_ipi_sent, s->ts_ipi_recv, s->ts_served,
			s->ts_invlpg, s->ts_flush_all, s->ts_cr3_load,
			s->ts_lazy_skip, s->ts_lazy_flush,
			c->cpu_hat == NULL ? "" :
			c->cpu_tlb_lazy ? "  (lazy on a user hat)" :
			"  (on a user hat)");
	}
}
MONCMD(tlbstat, "", "per CPU: shootdown IPIs sent and taken, requests "
       "served, invlpg, full flushes, CR3 loads, lazy skips and flushes")
{
	(void)argv;
	if (argc != 1) {
		kprintf("usage: tlbstat\n");
		return 1;
	}
	tlbstat_print();
	return 0;
}
