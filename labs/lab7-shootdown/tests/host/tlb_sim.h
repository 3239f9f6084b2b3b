/*
 * tlb_sim.h (host) — a small simulated machine for test_tlb: four CPUs,
 * each with a TLB, three user hats with page tables, and the given half
 * of lab 7 (tlb.h: tlb_flush_page_local, tlb_flush_all_local,
 * tlb_cr3_load, tlb_ipi, tlb_wait_pause) faked over them. The student's
 * half, kern/vm/hat_tlb.c, runs on it unchanged.
 *
 * The machine
 * -----------
 * Every hat maps the same SIM_NPAGES pages from SIM_VA0 on; its "page
 * tables" are one frame number per page (0: not mapped). A CPU's TLB
 * caches frame numbers of the hat in its CR3, per page; sim_touch() is a
 * user access that hits the TLB or fills it from the page tables. There
 * are no PCIDs: a CR3 load empties the TLB, as on the kernel's x86.
 *
 *	        page  0   1   2   3  ...             TLB of cpu1 (on A)
 *	hat A       | 7 | . | 9 | . |               | 7 | . | 5 | . |
 *	                                                      ^ stale: A now
 *	                                                        maps 9 there
 *
 * Only one host thread runs. A CPU "runs" kernel code while it is
 * entered (sim_enter .. sim_leave): curcpu() is that CPU, and it is busy,
 * with interrupts off. How the others make progress meanwhile:
 *
 *  - An IPI to a CPU that is not busy (in user mode or idle) is taken at
 *    once (SIM_IPI_NOW), or queued and taken at the initiator's next
 *    tlb_wait_pause() (SIM_IPI_AT_WAIT): a target as slow as it may be.
 *    Taking it runs tlb_serve() on that CPU.
 *  - A busy CPU takes no interrupt. It is busy only while it waits in
 *    tlb_wait_pause() further up the host's stack, so every pause of any
 *    CPU also runs tlb_serve() for each busy CPU, as its own wait loop
 *    would: the CPUs wait together, and none waits deaf.
 *
 * What the fakes check as they are called (each failure says why it is
 * wrong): a CPU loads a hat's root only once it is in the hat's h_cpus,
 * and leaves the old hat's set only after the load (tlb.h); no IPI goes
 * to the sender itself, or before the sender's pending bit is set; a wait
 * gives up after SIM_SPIN_LIMIT pauses (a lost ack); and a CPU that
 * flushes while it serves has not yet acked every request (the ack comes
 * after the flush).
 */
#ifndef TLB_SIM_H
#define TLB_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <cpuvar.h>
#include <hat.h>
#include <tlb.h>

#define SIM_NCPU 4
#define SIM_NHAT 3
#define SIM_NPAGES 48           /* more than TLB_FLUSH_CEILING */
#define SIM_VA0 0x40000000UL    /* page 0's address in every hat */
#define SIM_SPIN_LIMIT 64       /* pauses before a wait is a lost ack */

enum sim_ipi_mode {
	SIM_IPI_NOW,     /* an idle target takes its IPI when it is sent */
	SIM_IPI_AT_WAIT, /* ... at the initiator's next tlb_wait_pause() */
};

struct sim_hat {
	struct hat sh_hat;            /* what hat_tlb.c sees */
	uint64_t sh_pfn[SIM_NPAGES];  /* its page tables: 0, not mapped */
	bool sh_alive;                /* not released since it was made */
};

/* What a CPU did since sim_log_clear(). */
struct sim_log {
	unsigned sl_invlpg[SIM_NPAGES]; /* tlb_flush_page_local(), per page */
	unsigned sl_invlpg_other;       /* ... of an address outside them */
	unsigned sl_flush_all;          /* tlb_flush_all_local() */
	unsigned sl_cr3_load;           /* tlb_cr3_load() */
	unsigned sl_ipi;                /* tlb_ipi() sent to this CPU */
};

extern struct sim_hat sim_hats[SIM_NHAT];
extern struct sim_log sim_log[SIM_NCPU];
/* Each CPU's TLB: the frame it caches for each page, or 0. */
extern uint64_t sim_tlb[SIM_NCPU][SIM_NPAGES];
extern enum sim_ipi_mode sim_ipi_mode;

/* A fresh machine: CPUs on the kernel's tables, hats empty, logs clear. */
void sim_reset(void);
/* Zero every CPU's sim_log. */
void sim_log_clear(void);

/* Run kernel code on CPU id (curcpu() is it) until sim_leave(). Nests. */
void sim_enter(int id);
void sim_leave(void);
/* Deliver the IPIs still queued to CPUs that are not busy. */
void sim_settle(void);
/* Call fn once, from the next tlb_wait_pause(): another CPU's turn. */
void sim_at_next_wait(void (*fn)(void));

/* CPU id accesses page p of the hat in its CR3: a hit or a fill. */
uint64_t sim_touch(int id, int p);
/* Make hat i a new, empty hat (its struct reused, as kmem would). */
void sim_hat_remake(int i);

/* The address of page p, the same in every hat. */
uintptr_t sim_va(int p);
/* The sim_hats[] entry of h, or NULL. */
struct sim_hat *sim_hat_of(const struct hat *h);
/* "A", "B", "C", "none" (the kernel's tables) or "?". */
const char *sim_hat_name(const struct hat *h);

/* Call fn before any failure's message: what the test was doing. */
void sim_on_fail(void (*fn)(void));
/* Fail the running test (panic() from hat_tlb.c comes here too). */
__attribute__((noreturn, format(printf, 1, 2))) void
sim_fail(const char *fmt, ...);

#endif /* TLB_SIM_H */
