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
#if LAB >= 7
#include <cpuvar.h>
#include <hat.h>
#include <kernel.h>
#include <tlb.h>
#include <x86.h>

#if SOL >= 7
/* Part C: a lazy CPU returns to user code of hat: catch up if needed. */
static void tlb_lazy_leave(struct cpu *c, struct hat *hat)
{
	uint64_t gen;

	ASSERT(c->cpu_hat == hat && c->cpu_tlb_lazy);
	/* A seq_cst store, then a load: the full barrier of point 6. */
	__atomic_store_n(&c->cpu_tlb_lazy, false, __ATOMIC_SEQ_CST);
	gen = __atomic_load_n(&hat->h_tlb_gen, __ATOMIC_SEQ_CST);
	if (gen != c->cpu_tlb_gen) {
		tlb_flush_all_local();
		c->cpu_tlbstat.ts_lazy_flush++;
		c->cpu_tlb_gen = gen;
	}
}
#endif

void hat_switch(struct hat *hat)
{
	struct cpu *c = curcpu();
	struct hat *old = c->cpu_hat;

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != &kernel_hat);
	ASSERT(hat == NULL || hat->h_root != 0);
#if SOL >= 7
	if (hat == old) {
		if (hat != NULL && c->cpu_tlb_lazy)
			tlb_lazy_leave(c, hat);
		return; /* the TLB is this hat's already: no reload */
	}
	if (hat != NULL) {
		cpuset_add(&hat->h_cpus, c->cpu_id); /* join, then load */
		c->cpu_tlb_gen = __atomic_load_n(&hat->h_tlb_gen,
						 __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&c->cpu_tlb_lazy, false, __ATOMIC_SEQ_CST);
	tlb_cr3_load(hat);
	if (old != NULL)
		cpuset_del(&old->h_cpus, c->cpu_id); /* loaded another: leave */
	ASSERT(old == NULL || !cpuset_has(&old->h_cpus, c->cpu_id));
#else
	/*
	 * Lab 7, part A: keep h_cpus. As given, this is labs 5 and 6's
	 * switch: load CR3 whenever the hat changes, and keep no set.
	 */
	if (hat != old)
		tlb_cr3_load(hat);
#endif
}

void hat_switch_lazy(void)
{
	struct cpu *c = curcpu();

	ASSERT(!(read_rflags() & RFLAGS_IF));
#if SOL >= 7
	if (c->cpu_hat != NULL)
		__atomic_store_n(&c->cpu_tlb_lazy, true, __ATOMIC_SEQ_CST);
#else
	/* Lab 7, part C: be lazy. As given: go back to the kernel's tables. */
	(void)c;
	hat_switch(NULL);
#endif
}

void tlb_flush_range_local(uintptr_t va, size_t len)
{
	ASSERT(((va | len) & (PAGESIZE - 1)) == 0 && len > 0);
#if SOL >= 7
	if (len / PAGESIZE > TLB_FLUSH_CEILING) {
		tlb_flush_all_local();
		return;
	}
	for (size_t off = 0; off < len; off += PAGESIZE)
		tlb_flush_page_local(va + off);
#else
	/* Lab 7, part B: the ceiling. As given: a full flush, always. */
	tlb_flush_all_local();
#endif
}

#if SOL >= 7
/*
 * Post this CPU's request to every CPU in targets and wait for all their
 * acks, serving requests from others meanwhile (point 4).
 */
static void tlb_post_and_wait(struct cpu *c, uint64_t targets,
			      const char *what)
{
	struct tlb_req *r = &c->cpu_tlb_req;
	uint64_t spins = 0;
	int n = 0;

	ASSERT(!(targets & (1ULL << c->cpu_id)));
	for (uint64_t s = targets; s != 0; s &= s - 1)
		n++;
	/* Before any target can see the request: the count it decrements. */
	__atomic_store_n(&r->tr_acks_left, n, __ATOMIC_SEQ_CST);
	for (uint64_t s = targets; s != 0; s &= s - 1) {
		int id = __builtin_ctzll(s);

		__atomic_or_fetch(&cpus[id].cpu_tlb_pending, 1ULL << c->cpu_id,
				  __ATOMIC_SEQ_CST);
		tlb_ipi(id);
	}
	while (__atomic_load_n(&r->tr_acks_left, __ATOMIC_SEQ_CST) > 0)
		tlb_wait_pause(&spins, what);
}
#endif

void tlb_shootdown(struct hat *hat, uintptr_t va, size_t len)
{
	struct cpu *c = curcpu();
#if SOL >= 7
	struct tlb_req *r = &c->cpu_tlb_req;
	uint64_t set, targets = 0;
#endif

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != NULL && hat != &kernel_hat);
	ASSERT(((va | len) & (PAGESIZE - 1)) == 0 && len > 0);
	c->cpu_tlbstat.ts_shootdowns++;
#if SOL >= 7
	ASSERT(r->tr_acks_left == 0); /* one shootdown at a time per CPU */
	/* Point 6: the generation first, then who is lazy. */
	__atomic_add_fetch(&hat->h_tlb_gen, 1, __ATOMIC_SEQ_CST);
	if (c->cpu_hat == hat)
		tlb_flush_range_local(va, len);
	set = __atomic_load_n(&hat->h_cpus, __ATOMIC_SEQ_CST) &
	      ~(1ULL << c->cpu_id);
	for (uint64_t s = set; s != 0; s &= s - 1) {
		struct cpu *t = &cpus[__builtin_ctzll(s)];

		if (__atomic_load_n(&t->cpu_tlb_lazy, __ATOMIC_SEQ_CST)) {
			c->cpu_tlbstat.ts_lazy_skip++;
			continue; /* it flushes before it runs the hat again */
		}
		targets |= 1ULL << t->cpu_id;
	}
	if (targets == 0)
		return;
	r->tr_hat = hat;
	r->tr_va = va;
	r->tr_len = len;
	tlb_post_and_wait(c, targets, "tlb_shootdown: waiting for an ack");
#else
	/* Lab 7, part B: reach the other CPUs. As given: this one only. */
	if (c->cpu_hat == hat)
		tlb_flush_range_local(va, len);
#endif
}

void tlb_serve(void)
{
#if SOL >= 7
	struct cpu *c = curcpu();
	uint64_t from;

	ASSERT(!(read_rflags() & RFLAGS_IF));
	from = __atomic_exchange_n(&c->cpu_tlb_pending, 0, __ATOMIC_SEQ_CST);
	for (; from != 0; from &= from - 1) {
		struct tlb_req *r = &cpus[__builtin_ctzll(from)].cpu_tlb_req;

		ASSERT(r->tr_acks_left > 0);
		c->cpu_tlbstat.ts_served++;
		if (c->cpu_hat == r->tr_hat) {
			if (r->tr_len == 0)
				hat_switch(NULL); /* a release: let go */
			else
				tlb_flush_range_local(r->tr_va, r->tr_len);
		}
		/* The ack, only after the flush (point 3). */
		__atomic_sub_fetch(&r->tr_acks_left, 1, __ATOMIC_SEQ_CST);
	}
#else
	/* Lab 7, part B: serve other CPUs' requests. As given: none come. */
#endif
}

void tlb_hat_release(struct hat *hat)
{
	struct cpu *c = curcpu();
#if SOL >= 7
	struct tlb_req *r = &c->cpu_tlb_req;
	uint64_t targets;
#endif

	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(hat != NULL && hat != &kernel_hat);
	ASSERT(c->cpu_hat != hat);
#if SOL >= 7
	ASSERT(r->tr_acks_left == 0);
	targets = __atomic_load_n(&hat->h_cpus, __ATOMIC_SEQ_CST);
	ASSERT(!(targets & (1ULL << c->cpu_id)));
	if (targets != 0) {
		r->tr_hat = hat;
		r->tr_va = 0;
		r->tr_len = 0; /* "let go" */
		tlb_post_and_wait(c, targets, "tlb_hat_release: waiting for an ack");
	}
	/* Nobody joins a hat that is being freed: no thread of it is left. */
	ASSERT(__atomic_load_n(&hat->h_cpus, __ATOMIC_SEQ_CST) == 0);
#else
	/* Lab 7, part C: evict the lazy. As given, no CPU is ever lazy. */
	(void)c;
#endif
}
#endif /* LAB >= 7 */
