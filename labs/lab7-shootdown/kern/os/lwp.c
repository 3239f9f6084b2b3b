/*
 * lwp.c — threads of user processes (lab 7): clone, futex, and how a
 * process with several threads ends (illumos's lwp_create and lwp_exit,
 * on Linux's system calls).
 *
 * A process's threads share its address space, open files and pid; each
 * has its own kernel stack, registers, FS.base (its TLS) and thread id.
 * The first thread's id is the pid; each clone() takes a new one from the
 * pid space. This is what musl's pthread_create() and pthread_join() need:
 *
 *	clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
 *	      CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
 *	      CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED,
 *	      stack, &tid, &tid, tls)
 *
 * and, when the thread ends, the kernel writes 0 at its clear-tid address
 * and wakes one futex waiter there (a joiner). futex() has FUTEX_WAIT
 * (without a timeout: -ENOSYS with one) and FUTEX_WAKE, private or not.
 *
 * Ending. exit() of one thread ends that thread; of the last, the
 * process. exit_group(), or a fatal fault in any thread, ends them all:
 * the first sets p_exiting and waits until it is the last; every other
 * thread dies at its next way back to user mode (lwp_checkexit: the end
 * of a system call, the T_RESCHED interrupt, which the exiter sends to
 * the CPUs that run them) or when its sleep (futex, wait4) is cut short.
 * The last thread out frees the address space: from lab 7 on, the CPUs
 * its threads ran on may still hold it lazily (tlb.h), which is why
 * hat_free_user() calls tlb_hat_release().
 *
 * Not here: exec from a process with several threads (-EAGAIN: Linux
 * would first end the others), signals to a single thread, timeouts.
 *
 * Locking: pidlock protects p_nlwp, p_exiting, p_exitwstat and the futex
 * waiters; a futex sleeps on futex_cv under it. futex_wait() looks at the
 * word under pidlock and a_lock (in that order, as.h's), through the
 * direct map: it may not fault with a lock held.
 */
#include <as.h>
#include <errno.h>
#include <hat.h>
#include <kernel.h>
#include <kstring.h>
#include <lapic.h>
#include <page.h>
#include <proc.h>
#include <smp.h>
#include <thread.h>
#include <trap.h>
#include <uaccess.h>
#include <x86.h>

#define CSIGNAL 0xff
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_DETACHED 0x400000
#define CLONE_CHILD_SETTID 0x1000000

/* What a thread must share, and what else it may ask for. */
#define CLONE_NEEDS (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)
#define CLONE_MAY (CLONE_NEEDS | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | \
		   CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | \
		   CLONE_DETACHED | CLONE_CHILD_SETTID | CSIGNAL)

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256

/* A thread asleep in futex_wait(): on its stack, listed; pidlock. */
struct futex_waiter {
	struct as *fw_as;
	uint64_t fw_addr;
	kthread_t *fw_thread;
	bool fw_woken;
	struct futex_waiter *fw_next;
};

static struct futex_waiter *futex_waiters; /* pidlock */
static kcondvar_t futex_cv = { "futex" };

/* The calling thread leaves its process (not the last); pidlock held. */
static void lwp_leave_locked(proc_t *p, kthread_t *t)
{
	ASSERT(spin_held(&pidlock));
	ASSERT(p->p_nlwp > 1);
	p->p_nlwp--;
	p->p_cminflt += t->t_minflt; /* its faults stay the process's */
	p->p_cmajflt += t->t_majflt;
	if (p->p_thread == t)
		p->p_thread = NULL;
	cv_broadcast(&p->p_lwpcv);
	spin_unlock(&pidlock);
	thread_exit();
}

void lwp_checkexit(void)
{
	proc_t *p = curproc;

	ASSERT(spin_nheld() == 0);
	if (!__atomic_load_n(&p->p_exiting, __ATOMIC_ACQUIRE))
		return;
	spin_lock(&pidlock);
	ASSERT(p->p_nlwp > 1); /* the exiter waits for us */
	lwp_leave_locked(p, curthread);
}

/* A new thread's first instructions: user mode, rax = 0. */
static void lwp_start(void *arg)
{
	(void)arg;
	lwp_checkexit();
	user_enter(curthread->t_regs);
}

long lwp_clone(struct regs *rp, uint64_t flags, uint64_t newsp,
	       uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	proc_t *p = curproc;
	kthread_t *t;
	int tid;

	ASSERT(p->p_as != NULL && spin_nheld() == 0);
	if (!(flags & CLONE_VM)) {
		/* A plain fork, as clone(SIGCHLD) spells it. */
		if ((flags & ~(uint64_t)CSIGNAL) != 0 || newsp != 0)
			return -EINVAL;
		return proc_fork(rp);
	}
	if ((flags & CLONE_NEEDS) != CLONE_NEEDS || (flags & ~CLONE_MAY) != 0)
		return -EINVAL; /* only threads share the address space here */
	if ((flags & CLONE_SETTLS) && tls >= USERLIMIT)
		return -EPERM;
	t = thread_create(p, "lwp", lwp_start, NULL);
	if (t == NULL)
		return -ENOMEM;
	*t->t_regs = *rp;
	t->t_regs->r_rax = 0;
	if (newsp != 0)
		t->t_regs->r_rsp = newsp;
	t->t_regs->r_rcx = rp->r_rip; /* the syscall ABI's clobbers */
	t->t_regs->r_r11 = rp->r_rfl;
	t->t_fsbase = (flags & CLONE_SETTLS) ? tls : curthread->t_fsbase;
	t->t_cleartid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
	fxsave(t->t_fpu); /* the caller's live state */
	spin_lock(&pidlock);
	tid = pid_alloc_locked();
	t->t_lwpid = tid;
	p->p_nlwp++;
	spin_unlock(&pidlock);
	/* Both before the thread runs: it may read its tid at once. As on
	 * Linux, a bad pointer here does not fail the call. */
	if (flags & CLONE_PARENT_SETTID)
		(void)copyout(&tid, (void *)ptid, sizeof(tid));
	if (flags & CLONE_CHILD_SETTID)
		(void)copyout(&tid, (void *)ctid, sizeof(tid));
	setrun(t);
	return tid;
}

/* ---- futex ---- */

/*
 * The 32-bit word at uaddr, read under a_lock through the direct map:
 * false if it is not mapped now (the caller faults it in and retries).
 */
static bool futex_peek(struct as *as, uint64_t uaddr, uint32_t *val)
{
	pfn_t pfn;

	ASSERT(spin_held(&as->a_lock));
	pfn = hat_getpfnum(&as->a_hat, uaddr);
	if (pfn == PFN_INVALID)
		return false;
	*val = *(volatile uint32_t *)((char *)kpm_va(pfn << PAGESHIFT) +
				      (uaddr & (PAGESIZE - 1)));
	return true;
}

static long futex_wait(uint64_t uaddr, uint32_t val)
{
	proc_t *p = curproc;
	struct as *as = p->p_as;
	struct futex_waiter w = { as, uaddr, curthread, false, NULL };
	uint32_t cur;
	bool mapped;

	for (;;) {
		/* Without a lock: fault the word in, or find it bad. */
		if (copyin((const void *)uaddr, &cur, sizeof(cur)) != 0)
			return -EFAULT;
		spin_lock(&pidlock);
		spin_lock(&as->a_lock);
		mapped = futex_peek(as, uaddr, &cur);
		spin_unlock(&as->a_lock);
		if (mapped)
			break;
		spin_unlock(&pidlock); /* unmapped again meanwhile */
	}
	if (cur != val || p->p_exiting) {
		spin_unlock(&pidlock);
		return cur != val ? -EAGAIN : -EINTR;
	}
	w.fw_next = futex_waiters;
	futex_waiters = &w;
	while (!w.fw_woken && !p->p_exiting)
		cv_wait(&futex_cv, &pidlock);
	if (!w.fw_woken) {
		struct futex_waiter **pp = &futex_waiters;

		while (*pp != &w)
			pp = &(*pp)->fw_next;
		*pp = w.fw_next;
	}
	spin_unlock(&pidlock);
	return w.fw_woken ? 0 : -EINTR;
}

/* Wake up to n waiters on uaddr of as; pidlock held. How many woke. */
static int futex_wake_locked(struct as *as, uint64_t uaddr, int n)
{
	struct futex_waiter **pp = &futex_waiters;
	int woke = 0;

	ASSERT(spin_held(&pidlock));
	while (*pp != NULL && woke < n) {
		struct futex_waiter *w = *pp;

		if (w->fw_as == as && w->fw_addr == uaddr) {
			*pp = w->fw_next;
			w->fw_woken = true;
			woke++;
		} else {
			pp = &w->fw_next;
		}
	}
	if (woke > 0)
		cv_broadcast(&futex_cv);
	return woke;
}

long lwp_futex(uint64_t uaddr, uint64_t op, uint64_t val, uint64_t timeout)
{
	uint64_t cmd = op & ~(uint64_t)(FUTEX_PRIVATE_FLAG |
					FUTEX_CLOCK_REALTIME);
	long r;

	if ((uaddr & 3) != 0)
		return -EINVAL;
	if (!user_range_ok(uaddr, sizeof(uint32_t)))
		return -EFAULT;
	switch (cmd) {
	case FUTEX_WAIT:
		if (timeout != 0)
			return -ENOSYS; /* no timed sleeps in this kernel */
		return futex_wait(uaddr, (uint32_t)val);
	case FUTEX_WAKE:
		spin_lock(&pidlock);
		r = futex_wake_locked(curproc->p_as, uaddr,
				      (int)MIN(val, (uint64_t)INT32_MAX));
		spin_unlock(&pidlock);
		return r;
	default:
		return -ENOSYS;
	}
}

/* ---- ending ---- */

/* CLONE_CHILD_CLEARTID / set_tid_address: 0 there, and wake a joiner. */
static void lwp_cleartid(kthread_t *t)
{
	int zero = 0;

	if (t->t_cleartid == 0)
		return;
	if (copyout(&zero, (void *)t->t_cleartid, sizeof(zero)) == 0) {
		spin_lock(&pidlock);
		(void)futex_wake_locked(t->t_procp->p_as, t->t_cleartid, 1);
		spin_unlock(&pidlock);
	}
	t->t_cleartid = 0;
}

void lwp_exit(void)
{
	proc_t *p = curproc;
	kthread_t *t = curthread;

	ASSERT(spin_nheld() == 0);
	spin_lock(&pidlock);
	if (p->p_nlwp == 1) {
		spin_unlock(&pidlock);
		return; /* the last thread: the caller ends the process */
	}
	spin_unlock(&pidlock);
	lwp_cleartid(t); /* while we still count: the as is alive */
	spin_lock(&pidlock);
	if (p->p_nlwp == 1) {
		spin_unlock(&pidlock); /* the others left meanwhile */
		return;
	}
	lwp_leave_locked(p, t);
}

/*
 * The process ends (exit_group, a fatal fault, the last exit): make every
 * other thread leave, and return once the caller is the only one. If
 * another thread is already ending it, the caller just leaves.
 */
int lwp_exit_all(int wstat)
{
	proc_t *p = curproc;
	kthread_t *me = curthread;

	ASSERT(spin_nheld() == 0);
	spin_lock(&pidlock);
	if (p->p_exiting) {
		lwp_leave_locked(p, me); /* the exiter waits for us */
	}
	if (p->p_nlwp == 1) {
		spin_unlock(&pidlock);
		return wstat;
	}
	__atomic_store_n(&p->p_exiting, true, __ATOMIC_RELEASE);
	p->p_exitwstat = wstat;
	/* Sleepers: futex waiters and wait4 callers of p. */
	for (struct futex_waiter *w = futex_waiters; w != NULL; w = w->fw_next)
		if (w->fw_thread->t_procp == p)
			w->fw_as = NULL; /* never matches; the loop sees p_exiting */
	cv_broadcast(&futex_cv);
	cv_broadcast(&p->p_waitcv);
	spin_unlock(&pidlock);
	/* Runners: a T_RESCHED brings each back into the kernel. */
	for (int i = 0; i < ncpus; i++) {
		kthread_t *t = __atomic_load_n(&cpus[i].cpu_thread,
					       __ATOMIC_ACQUIRE);

		if (&cpus[i] != curcpu() && t != NULL && t->t_procp == p)
			ipi_send(cpus[i].cpu_m.mcpu_apicid, T_RESCHED);
	}
	spin_lock(&pidlock);
	while (p->p_nlwp > 1)
		cv_wait(&p->p_lwpcv, &pidlock);
	wstat = p->p_exitwstat;
	spin_unlock(&pidlock);
	return wstat;
}
