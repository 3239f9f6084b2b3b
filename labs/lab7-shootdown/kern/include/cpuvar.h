/*
 * cpuvar.h — struct cpu: what each CPU keeps for itself.
 *
 * %gs points at the running CPU's struct cpu, whose first word points at
 * itself, so curcpu() is one load (curcpu.h). The boot CPU is cpus[0];
 * lab 4 starts the others (smp.h). The machine-dependent part is cpu_m
 * (machcpu.h), as in illumos.
 *
 * Locking: a CPU's own fields are touched only by that CPU, with
 * interrupts off or from code that interrupts cannot reenter, so they need
 * no lock. The exceptions are named at the field.
 */
#ifndef CPUVAR_H
#define CPUVAR_H

#include <machcpu.h>
#include <stdbool.h>
#include <stdint.h>
#include <tlb.h>

#define NCPU 16
#define CPU_MAXLOCKS 16 /* spinlocks one CPU may hold at once */

struct on_trap_data;
struct spinlock;

struct cpu {
	struct cpu *cpu_self;      /* %gs:0; set once at start */
	/*
	 * syscall_entry (syscall.S) reaches these two by fixed offsets,
	 * CPU_KSTACK and CPU_USCRATCH in machcpu.h: the running thread's
	 * kernel stack top, and a word to park the user's %rsp in.
	 */
	uint64_t cpu_kstack;       /* %gs:8; the dispatcher sets it */
	uint64_t cpu_uscratch;     /* %gs:16; syscall entry only */
	struct kthread *cpu_thread;      /* running now; disp_lock */
	struct kthread *cpu_idle_thread; /* set once */
	bool cpu_timer_on;         /* the scheduler's tick is armed here */
	struct cpu *cpu_poke;      /* an idle CPU to wake after disp_lock */
	uint64_t cpu_switches;     /* context switches (ps, tests) */
	int cpu_id;                /* index in cpus[]; set once */
	volatile int cpu_online;   /* set by the CPU itself once it runs */
	/* The innermost armed on_trap() region of this CPU, or NULL (trap.h). */
	struct on_trap_data *cpu_onfault;
	/*
	 * The spinlocks this CPU holds, oldest first, for the lock-order
	 * checker (spinlock.h). Only this CPU reads or writes them.
	 */
	const struct spinlock *cpu_locks[CPU_MAXLOCKS];
	int cpu_nlocks;
	/*
	 * ktest_on_each_cpu() (lab 4): work posted to this CPU and its state.
	 * The poster writes cpu_work and cpu_work_arg, then cpu_work_state
	 * (WORK_POSTED); the CPU runs the work and writes WORK_DONE. The
	 * state word orders them (smp.c).
	 */
	void (*cpu_work)(void *arg);
	void *cpu_work_arg;
	volatile int cpu_work_state;
	/*
	 * Lab 7 (tlb.h). The CPU's own, but read by initiators of
	 * shootdowns: cpu_hat (written by tlb_cr3_load only) and
	 * cpu_tlb_lazy, atomically; cpu_tlb_pending is set by initiators
	 * and cleared by the CPU, atomically; cpu_tlb_req is written by
	 * the CPU before it posts it, and read by its targets until they
	 * ack.
	 */
	struct hat *cpu_hat;       /* the user hat in CR3, or NULL */
	bool cpu_tlb_lazy;         /* a kernel thread runs on cpu_hat */
	uint64_t cpu_tlb_gen;      /* cpu_hat's h_tlb_gen its TLB reflects */
	volatile uint64_t cpu_tlb_pending; /* bit i: cpus[i] asks */
	volatile int cpu_tlb_polling; /* in a wait loop's pause (tlb.h) */
	struct tlb_req cpu_tlb_req;        /* this CPU's own shootdown */
	struct tlbstat cpu_tlbstat;        /* counters */
	/* The open hat_tlb_batch_begin(): hat, range, queued pages. */
	struct hat *cpu_batch_hat;
	uintptr_t cpu_batch_lo, cpu_batch_hi;  /* [lo, hi); lo == hi: none */
	uint64_t cpu_batch_free;   /* queued page-table pages: a pa list */
	int cpu_batch_depth;
	struct machcpu cpu_m;      /* the x86-64 part */
};

extern struct cpu cpus[NCPU];
extern int ncpus; /* CPUs known (1 until lab 4 reads the MADT) */

/* curcpu(): the running CPU's struct cpu (a header of its own, so that
 * the host tests can put theirs first on the include path). */
#include <curcpu.h>

#endif /* CPUVAR_H */
