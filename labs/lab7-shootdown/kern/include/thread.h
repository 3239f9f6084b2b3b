/*
 * thread.h — kernel threads and the dispatcher (illumos's kthread_t and
 * disp.c, much reduced).
 *
 * Every flow of control in the kernel is a thread: the boot CPU's kmain()
 * becomes thread 0, each CPU has an idle thread that halts, and each user
 * process has one thread (labs 5 and 6; lab 7 adds more). A thread has its
 * own kernel stack; a thread that is not running keeps its callee-saved
 * registers and stack pointer in t_pcb, where swtch() left them.
 *
 * Scheduling is round robin over one run queue for all CPUs. A CPU runs a
 * thread until the thread blocks (cv_wait), exits, yields, or the LAPIC
 * timer interrupts it in user mode with another thread waiting. Kernel code
 * is never preempted: it runs with interrupts off (syscall entry clears IF,
 * trap gates clear IF), so the only places a CPU takes an interrupt are
 * user mode and the idle loop's hlt.
 *
 * Every switch to a user thread loads its address space's page tables
 * (CR3), and every switch to a kernel thread from a user thread loads the
 * kernel's. So a CPU caches translations of at most the address space it
 * is running, which keeps single-threaded processes right on four CPUs
 * without any cross-CPU flush (lab 7 makes this lazier, and precise).
 *
 * Locking:
 *	disp_lock (rank LR_DISP) protects the run queue, every thread's
 *	t_state, t_link and t_wchan, and every CPU's cpu_thread. It is held
 *	across swtch(): the thread that takes it switches away, and the
 *	thread that comes in releases it. Nothing but cv_wait() may call
 *	into the dispatcher holding another lock, and that lock must rank
 *	below disp_lock.
 *	A thread's t_pcb, t_fsbase, t_fpu: only the thread itself, or the
 *	dispatcher while the thread is not running.
 */
#ifndef THREAD_H
#define THREAD_H

#include <cpuvar.h>
#include <spinlock.h>
#include <stdbool.h>
#include <stdint.h>

struct proc;
struct regs;

typedef enum thread_state {
	TS_FREE,   /* being built, or already reaped */
	TS_RUN,    /* on the run queue */
	TS_ONPROC, /* running on t_cpu */
	TS_SLEEP,  /* blocked in cv_wait() on t_wchan */
	TS_ZOMB,   /* exited; its stack goes once another thread runs */
} thread_state_t;

/* What swtch() saves: the callee-saved registers and the stack pointer. */
struct pcb {
	uint64_t pcb_rsp;
};

typedef struct kthread {
	struct pcb t_pcb;          /* saved context (swtch.S) */
	uint64_t t_stk;            /* kernel stack base (lowest address) */
	uint64_t t_stktop;         /* one past its top: TSS.rsp0, syscall rsp */
	thread_state_t t_state;    /* disp_lock */
	struct cpu *t_cpu;         /* the CPU it runs or last ran on */
	struct proc *t_procp;      /* its process (&p0 for kernel threads) */
	int t_tid;                 /* set at creation; read-only */
	const char *t_name;        /* kernel threads: what it is */
	struct kthread *t_link;    /* run queue or sleep link; disp_lock */
	const void *t_wchan;       /* what it sleeps on; disp_lock */
	struct kthread *t_next;    /* all threads (thread_list); disp_lock */
	void (*t_startpc)(void *); /* where a new thread begins */
	void *t_startarg;
	struct regs *t_regs;       /* a user thread's frame at the stack top */
	uint64_t t_fsbase;         /* user FS.base (arch_prctl) */
	uint64_t t_minflt, t_majflt; /* faults for getrusage(); the thread */
	int t_lastfc;              /* faultcode_t of its last failed fault */
	int t_lwpid;               /* its user-visible thread id; 0: the
				      process's first thread (tid = pid) */
	uint64_t t_cleartid;       /* clear-tid address (lwp.c), or 0 */
	uint8_t t_fpu[512] __attribute__((aligned(16))); /* fxsave area */
} kthread_t;

/* The running thread of this CPU. */
static inline kthread_t *curthread_get(void)
{
	return curcpu()->cpu_thread;
}
#define curthread (curthread_get())
#define curproc (curthread->t_procp)

extern spinlock_t disp_lock;

/*
 * Turn the boot CPU's running context into thread 0 of process 0 and make
 * every CPU's idle thread. Before smp_start_aps().
 */
void thread_init(void);
/* Called by each AP, on its boot stack: become this CPU's idle thread. */
void thread_ap_idle(void) __attribute__((noreturn));

/*
 * A new thread of p that will call fn(arg) once it first runs; it is not
 * runnable until setrun(). NULL if there is no memory for it.
 */
kthread_t *thread_create(struct proc *p, const char *name,
			 void (*fn)(void *), void *arg);
/* End the calling thread; its stack is freed once another thread runs. */
void thread_exit(void) __attribute__((noreturn));

/* Make t runnable (disp_lock held). */
void setrun_locked(kthread_t *t);
void setrun(kthread_t *t);
/* Give the CPU to another runnable thread, if there is one. */
void yield(void);

/*
 * Condition variables (illumos cv_wait/cv_broadcast, without mutexes):
 * cv_wait() releases lk, sleeps until a cv_broadcast() on cv, and takes
 * lk again. Wakeups are never lost: the broadcaster must hold lk too.
 */
typedef struct kcondvar {
	const char *cv_name;
} kcondvar_t;
void cv_wait(kcondvar_t *cv, spinlock_t *lk);
void cv_broadcast(kcondvar_t *cv);

/*
 * The scheduler's clock: the LAPIC timer runs at SCHED_HZ on a CPU that is
 * running a user thread, and each tick that finds another thread waiting
 * ends the running thread's time slice.
 */
#define SCHED_HZ 100

/*
 * Each LAPIC timer tick (lapic_tick()): if a user thread runs here and
 * another thread waits, post T_RESCHED to this CPU. It is taken as soon
 * as trap() has sent the timer's EOI and returned to user mode, and its
 * handler switches threads there (a self-IPI as a software interrupt).
 */
void sched_tick(void);
#define T_RESCHED 0x30 /* lowest priority class: after every other */

/*
 * Tests: while true, only the boot CPU runs threads from the run queue
 * (the others stay idle), so a test can show that the timer alone shares
 * one CPU between processes.
 */
extern bool disp_onecpu;
/* User threads the timer took the CPU from, for another one. */
extern uint64_t disp_preemptions;
/* The most CPUs seen running user threads at once (tests reset it). */
extern int disp_user_max;

/*
 * Threads that have exited but whose stacks are not yet freed: the next
 * thread on their CPU frees them as it comes in. Atomic.
 */
extern int thread_zombies;

/* Threads that exist, for ps and the tests (disp_lock taken inside). */
int thread_count(void);
/* Does a live thread have user thread id id? (disp_lock taken inside) */
bool thread_lwpid_used(int id);
/* ps: one line per thread of p (disp_lock taken inside). */
void thread_ps(const struct proc *p);

/*
 * The machine-dependent half (arch/x86_64/mach_thread.c): a CPU's syscall
 * MSRs and FPU set up; a new thread's first stack frame; everything a
 * switch from `from` to `to` changes besides the registers (CR3, the
 * kernel stack the CPU enters on, FS.base, the FPU state).
 */
void mach_cpu_init(void);
void mach_thread_stack_init(kthread_t *t);
void mach_thread_switch(kthread_t *from, kthread_t *to);
/* Is t a user thread (one whose process has an address space)? */
bool thread_is_user(const kthread_t *t);

/* swtch.S: save the caller's context in from, resume to; returns from. */
kthread_t *swtch(kthread_t *from, kthread_t *to);
/* swtch.S: where a new thread's first swtch() returns to. */
void thread_trampoline(void);

#endif /* THREAD_H */
