/*
 * hat_tlb.c — which CPUs hold a hat, and the TLB shootdown (tlb.h).
 *
 * Lab 7's student file. Labs 5 and 6 ran one thread per process and
 * loaded CR3 at every switch, so no CPU ever cached another CPU's
 * changes. With threads, a process runs on several CPUs at once, and a
 * change one of them makes must reach the TLBs of all.
 *
 * Design (read this before writing lab 7):
 *
 * 1. Part A, the cpuset. hat->h_cpus holds every CPU whose CR3 holds the
 *    hat. hat_switch(hat) joins hat's set BEFORE it loads CR3, and leaves
 *    the old hat's set AFTER it has loaded another: so a CPU that may
 *    cache a hat's entries is always in its set. An initiator changes
 *    the entries first and reads the set after (both are ordered by
 *    locked instructions on x86): a CPU it does not see joined after the
 *    change, and its first walk finds the new entries.
 *
 * 2. Part A, no reload when none is needed. Switching between two
 *    threads of one process keeps CR3: the TLB holds that process's
 *    translations, which every shootdown has kept true.
 *
 * 3. Part B, the protocol. tlb_shootdown(): flush this CPU (if it has the
 *    hat loaded); fill in this CPU's request, cpu_tlb_req (hat, range,
 *    acks to wait for); set this CPU's bit in each target's
 *    cpu_tlb_pending and send it one IPI; wait until tr_acks_left is 0.
 *    The target's tlb_serve() takes its pending bits, flushes each range
 *    whose hat it has loaded, and only then acks: an ack before the flush
 *    lets the initiator free a page that the target can still reach.
 *
 * 4. Part B, never wait deaf. Kernel code runs with interrupts off, so an
 *    IPI sent to a CPU that is itself waiting (for its own acks, or for a
 *    spinlock the initiator holds) is not taken until it stops waiting.
 *    Two CPUs shooting at each other would wait forever. So every wait
 *    loop serves: tlb_wait_pause() calls tlb_serve(), and spin_lock()
 *    does the same while it spins.
 *
 * 5. Part B, the ceiling. A range of up to TLB_FLUSH_CEILING pages is
 *    flushed one invlpg per page (tlb_flush_page_local); a longer one by
 *    one full flush (tlb_flush_all_local). Use the counted flushes: the
 *    tests read their counters. hat.c's batch (tlb.h) makes one
 *    hat_unload() or hat_chgprot() one call here, whatever its length:
 *    one round of IPIs per munmap, not one per page.
 *
 * 6. Part C, lazy CPUs. A CPU that goes from a user thread to a kernel
 *    thread keeps the hat (hat_switch_lazy) and is lazy. A shootdown
 *    skips it: it bumps h_tlb_gen first, and the lazy CPU, before it runs
 *    user code of the hat again (hat_switch), compares h_tlb_gen with its
 *    cpu_tlb_gen and flushes everything if they differ. The initiator
 *    writes h_tlb_gen and then reads cpu_tlb_lazy; the lazy CPU writes
 *    cpu_tlb_lazy and then reads h_tlb_gen: with a full barrier between
 *    each pair, at least one of them sees the other's write, so a CPU is
 *    either sent the IPI or sees the new generation.
 *
 * 7. Part C, flush before free. tlb_shootdown() returns only when every
 *    target has acked, so its callers may free what the old entries
 *    pointed to. A hat's own tables go last: tlb_hat_release() asks every
 *    CPU still in h_cpus (lazy ones, by now) to load the kernel's tables
 *    and leave, and waits for all; hat_free_user() panics if any CPU
 *    still has the hat in CR3 after it.
 *
 * Nothing here takes a lock. Interrupts are off throughout.
 */
#include <cpuvar.h>
#include <hat.h>
#include <kernel.h>
#include <tlb.h>
#include <x86.h>

void hat_switch(struct hat *hat)
{
	struct cpu *c = curcpu();
	struct hat *old = c->cpu_hat;

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != &kernel_hat);
	ASSERT(hat == NULL || hat->h_root != 0);
	/*
	 * Lab 7, part A: keep h_cpus. As given, this is labs 5 and 6's
	 * switch: load CR3 whenever the hat changes, and keep no set.
	 */
	if (hat != old)
		tlb_cr3_load(hat);
}

void hat_switch_lazy(void)
{
	struct cpu *c = curcpu();

	ASSERT(!(read_rflags() & RFLAGS_IF));
	/* Lab 7, part C: be lazy. As given: go back to the kernel's tables. */
	(void)c;
	hat_switch(NULL);
}

void tlb_flush_range_local(uintptr_t va, size_t len)
{
	ASSERT(((va | len) & (PAGESIZE - 1)) == 0 && len > 0);
	/* Lab 7, part B: the ceiling. As given: a full flush, always. */
	tlb_flush_all_local();
}

void tlb_shootdown(struct hat *hat, uintptr_t va, size_t len)
{
	struct cpu *c = curcpu();

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != NULL && hat != &kernel_hat);
	ASSERT(((va | len) & (PAGESIZE - 1)) == 0 && len > 0);
	c->cpu_tlbstat.ts_shootdowns++;
	/* Lab 7, part B: reach the other CPUs. As given: this one only. */
	if (c->cpu_hat == hat)
		tlb_flush_range_local(va, len);
}

void tlb_serve(void)
{
	/* Lab 7, part B: serve other CPUs' requests. As given: none come. */
}

void tlb_hat_release(struct hat *hat)
{
	struct cpu *c = curcpu();

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != NULL && hat != &kernel_hat);
	ASSERT(c->cpu_hat != hat);
	/* Lab 7, part C: evict the lazy. As given, no CPU is ever lazy. */
	(void)c;
}
