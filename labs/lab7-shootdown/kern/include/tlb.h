/*
 * tlb.h — keeping every CPU's TLB true (lab 7): who holds an address
 * space, the shootdown protocol, lazy CPUs.
 *
 * A CPU caches translations of the page tables in its CR3. When one CPU
 * changes or removes an entry of a user hat, every other CPU that may
 * cache the old entry must drop it before the change is relied on, and
 * before the page it pointed to is used again. x86 has no broadcast for
 * this: the changer sends an IPI to each such CPU and waits for each to
 * say it has flushed (illumos's hat_tlb_inval and xc_call, Linux's
 * flush_tlb_mm_range and native_flush_tlb_multi).
 *
 * Who may cache a hat: the CPUs in its cpuset, h_cpus, which holds every
 * CPU whose CR3 holds the hat's root (illumos's hat_cpus, Linux's
 * mm_cpumask). A CPU joins before it loads the root and leaves after it
 * has loaded another (hat_switch).
 *
 * Lazy CPUs. A CPU that switches from a user thread to a kernel thread
 * (or idle) keeps the user hat in CR3: the kernel half of every hat is the
 * same, and if the next user thread is of the same process no reload is
 * needed at all. Such a CPU is lazy. It runs no user code of the hat, so
 * a shootdown does not interrupt it: the initiator bumps the hat's
 * generation, h_tlb_gen, and the lazy CPU compares it with its own,
 * cpu_tlb_gen, and flushes everything before it runs user code of the hat
 * again (Linux's lazy TLB mode and tlb_gen). A hat's tables are freed
 * only after every CPU, lazy ones included, has let go of it
 * (tlb_hat_release).
 *
 * The protocol (tlb_shootdown): change the entries; flush this CPU; post
 * the range in this CPU's request (cpu_tlb_req) and set this CPU's bit in
 * each target's cpu_tlb_pending; send each target one IPI (T_TLB); wait
 * until every target has acked. A target's handler (tlb_serve) flushes
 * the range, then acks. Kernel code runs with interrupts off, so a CPU
 * that waits for something (an ack, a spinlock) calls tlb_serve() in its
 * wait loop: two CPUs that shoot at each other both serve, and neither
 * waits forever.
 *
 * Part A (hat_switch), part B (tlb_shootdown, tlb_serve,
 * tlb_flush_range_local) and part C (hat_switch_lazy, tlb_hat_release)
 * are lab 7's student work, in vm/hat_tlb.c. The rest is given
 * (arch/x86_64/tlb_x86.c): the IPI, the counted flushes, the batch that
 * makes one hat_unload() one shootdown.
 *
 * Locking: no lock. Every field below is either the CPU's own (touched
 * with interrupts off by that CPU only) or changed by atomic operations,
 * as each says. The orderings that matter are written where they are
 * relied on (hat_tlb.c).
 */
#ifndef TLB_H
#define TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hat;

/*
 * Past this many pages a range is flushed by one full flush (a CR3
 * reload) rather than one invlpg per page. Linux's ceiling,
 * tlb_single_page_flush_ceiling, is 33: a single-page flush costs about
 * 100 ns, so 33 of them cost about what refilling the TLB after a full
 * flush does, and most ranges (95% or more, Linux's authors measured) are
 * shorter.
 */
#define TLB_FLUSH_CEILING 33

#define T_TLB 0xf2 /* the shootdown IPI's vector */

/* A set of CPUs, by cpu_id (NCPU <= 64); changed only atomically. */
typedef uint64_t cpuset_t;

static inline void cpuset_add(cpuset_t *s, int id)
{
	__atomic_or_fetch(s, 1ULL << id, __ATOMIC_SEQ_CST);
}

static inline void cpuset_del(cpuset_t *s, int id)
{
	__atomic_and_fetch(s, ~(1ULL << id), __ATOMIC_SEQ_CST);
}

static inline bool cpuset_has(const cpuset_t *s, int id)
{
	return (__atomic_load_n(s, __ATOMIC_SEQ_CST) >> id) & 1;
}

/* A shootdown in flight: the initiator's own, read by its targets. */
struct tlb_req {
	struct hat *tr_hat;         /* whose entries changed */
	uintptr_t tr_va;            /* the range, page-aligned ... */
	size_t tr_len;              /* ... 0: "let go of tr_hat" (release) */
	volatile int tr_acks_left;  /* targets yet to ack; atomic */
};

/* What one CPU did (monitor tlbstat; the tests read differences). */
struct tlbstat {
	uint64_t ts_ipi_sent;      /* shootdown IPIs this CPU sent */
	uint64_t ts_ipi_recv;      /* shootdown IPIs this CPU took */
	uint64_t ts_served;        /* requests it served (IPI or poll) */
	uint64_t ts_invlpg;        /* single-page flushes */
	uint64_t ts_flush_all;     /* full flushes (CR3 reloads to flush) */
	uint64_t ts_cr3_load;      /* CR3 loads to change hats */
	uint64_t ts_lazy_skip;     /* lazy CPUs a shootdown left alone */
	uint64_t ts_lazy_flush;    /* flushes on leaving lazy mode */
	uint64_t ts_shootdowns;    /* tlb_shootdown() calls it made */
};

/* ---- the student's half (vm/hat_tlb.c) ---- */

/*
 * Part A. This CPU is about to run user code of hat (or kernel code that
 * touches hat's user addresses); with NULL, it goes back to the kernel's
 * tables and leaves every user hat. Keeps hat->h_cpus and this CPU's
 * state right, and reloads CR3 only when the TLB is not known to be
 * valid for hat. Interrupts off.
 */
void hat_switch(struct hat *hat);
/*
 * Part C. This CPU is about to run a kernel thread: keep the hat loaded,
 * lazily (tlb.h's top comment). Interrupts off.
 */
void hat_switch_lazy(void);
/*
 * Part B. hat's entries for [va, va + len) changed (page-aligned, len >
 * 0): make every CPU that may cache them forget them, this one too, and
 * return only when all have. Interrupts off; any lock may be held.
 */
void tlb_shootdown(struct hat *hat, uintptr_t va, size_t len);
/* Part B. Serve every request posted to this CPU. Interrupts off. */
void tlb_serve(void);
/* Part B. Flush [va, va + len) from this CPU's TLB, with the ceiling. */
void tlb_flush_range_local(uintptr_t va, size_t len);
/*
 * Part C. hat is about to be freed: return once no CPU, lazy or not,
 * has it in CR3 (this one must not). Interrupts off, no lock held.
 */
void tlb_hat_release(struct hat *hat);

/* ---- given (arch/x86_64/tlb_x86.c) ---- */

/* Register the IPI; once, on the boot CPU. */
void tlb_init(void);
/* invlpg va on this CPU, counted. */
void tlb_flush_page_local(uintptr_t va);
/* Flush this CPU's whole TLB (but global entries), counted. */
void tlb_flush_all_local(void);
/* Load hat's root (the kernel's for NULL) into CR3; records cpu_hat. */
void tlb_cr3_load(struct hat *hat);
/*
 * Send cpu `id` the shootdown IPI, counted; after its bit is set in
 * cpu_tlb_pending. A target that is waiting in a loop (polling) is not
 * interrupted: it serves the request from the loop. (Under QEMU's TCG an
 * interrupt left pending while a CPU spins with interrupts off can keep
 * that CPU from running at all.)
 */
void tlb_ipi(int id);
/* Wait a little in a loop that waits for another CPU: serves requests,
 * and panics (naming what) after a wait no protocol should need. */
void tlb_wait_pause(uint64_t *spins, const char *what);
/*
 * The pause of every wait loop: pause while marked as polling, then
 * serve what arrived meanwhile. A CPU marked polling will look at
 * cpu_tlb_pending before it does anything else, so tlb_ipi() leaves it
 * alone: the initiator sets the pending bit, then reads the mark; the
 * waiter clears the mark, then reads the bits.
 */
static inline void tlb_poll_pause(volatile int *polling,
				  volatile uint64_t *pending)
{
	__atomic_store_n(polling, 1, __ATOMIC_SEQ_CST);
	__asm__ volatile("pause" ::: "memory");
	__atomic_store_n(polling, 0, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(pending, __ATOMIC_SEQ_CST) != 0)
		tlb_serve();
}

/*
 * The batch: hat.c brackets hat_unload() and hat_chgprot() with
 * hat_tlb_batch_begin() and hat_tlb_batch_end() (hat.h). Inside,
 * hat_tlb_flush() only widens the pending range and hat_ptpage_free()
 * only queues the page; the end shoots the range down once, and only
 * then frees the queued pages.
 */
/* hat_tlb_flush() of a user hat: widen the batch, or shoot down now. */
void hat_tlb_flush_user(struct hat *hat, uintptr_t va, size_t len);
/* hat_ptpage_free() inside a batch: queue pa and return true. */
bool hat_ptpage_free_deferred(uint64_t pa);
/* Free a page-table page at once (hat_kern.c). */
void hat_ptpage_free_now(uint64_t pa);

/* The counters of cpu id (a copy), and their sum over every CPU. */
struct tlbstat tlbstat_get(int id);
/* Monitor: one line per CPU. */
void tlbstat_print(void);

#endif /* TLB_H */
