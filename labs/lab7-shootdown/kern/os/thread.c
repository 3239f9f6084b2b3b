/*
 * thread.c — threads, the dispatcher and condition variables (thread.h).
 *
 * The dispatcher is one run queue, FIFO, for every CPU. A CPU that has
 * nothing to run runs its idle thread, which halts until an interrupt: the
 * T_RESCHED IPI setrun() sends to wake an idle CPU, or the timer.
 *
 * A switch always happens with disp_lock held and interrupts off, by the
 * outgoing thread, which has already put itself where it belongs (the run
 * queue, a sleep, or death). The incoming thread releases the lock. If the
 * outgoing thread was dying, its stack is freed by the incoming one, once
 * nothing runs on it any more (thread_reap).
 */
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <lapic.h>
#include <page.h>
#include <proc.h>
#include <smp.h>
#include <thread.h>
#include <tlb.h>
#include <trap.h>
#include <x86.h>

#define THREAD_STACK_ORDER 2 /* 16 KiB kernel stacks */

spinlock_t disp_lock = SPINLOCK_INIT("disp_lock", LR_DISP);

static kthread_t *runq_head, *runq_tail; /* disp_lock */
static kthread_t *thread_list;           /* disp_lock */
static int nthreads;                     /* disp_lock */
static int next_tid = 1;                 /* disp_lock */
static kthread_t t0;                     /* kmain's thread */
static kthread_t idle_thread[NCPU];
static kmem_cache_t *thread_cache;

extern char boot_stack_bottom[], boot_stack_top[];

static void idle_loop(void) __attribute__((noreturn));
static void resched_intr(struct regs *rp);
static void disp_unlock(void);
static void disp_poke_idle(void);

bool thread_is_user(const kthread_t *t)
{
	return t->t_procp != &p0;
}

static void thread_list_add(kthread_t *t)
{
	ASSERT(spin_held(&disp_lock));
	t->t_tid = next_tid++;
	t->t_next = thread_list;
	thread_list = t;
	nthreads++;
}

static void thread_list_remove(kthread_t *t)
{
	kthread_t **pp;

	ASSERT(spin_held(&disp_lock));
	for (pp = &thread_list; *pp != t; pp = &(*pp)->t_next)
		ASSERT(*pp != NULL);
	*pp = t->t_next;
	nthreads--;
}

void thread_ps(const struct proc *p)
{
	static const char *const states[] = { "free", "run", "onproc", "sleep",
					      "zomb" };

	spin_lock(&disp_lock);
	for (kthread_t *t = thread_list; t != NULL; t = t->t_next)
		if (t->t_procp == p)
			kprintf("      tid %-5d %-6s cpu%d%s%s\n",
				t->t_lwpid != 0 ? t->t_lwpid : p->p_pid,
				states[t->t_state], t->t_cpu->cpu_id,
				t->t_wchan != NULL ? " on " : "",
				t->t_wchan != NULL ?
				((const kcondvar_t *)t->t_wchan)->cv_name : "");
	spin_unlock(&disp_lock);
}

bool thread_lwpid_used(int id)
{
	bool used = false;

	spin_lock(&disp_lock);
	for (kthread_t *t = thread_list; t != NULL && !used; t = t->t_next)
		used = t->t_lwpid == id;
	spin_unlock(&disp_lock);
	return used;
}

int thread_count(void)
{
	int n;

	spin_lock(&disp_lock);
	n = nthreads;
	spin_unlock(&disp_lock);
	return n;
}

/*
 * An idle thread: the CPU's own context, adopted where it stands (an AP's
 * boot stack, which a kernel thread's switch never needs to know).
 */
static void idle_adopt(struct cpu *c)
{
	kthread_t *t = &idle_thread[c->cpu_id];

	t->t_state = TS_ONPROC;
	t->t_cpu = c;
	t->t_procp = &p0;
	t->t_name = "idle";
	spin_lock(&disp_lock);
	thread_list_add(t);
	spin_unlock(&disp_lock);
	c->cpu_idle_thread = t;
}

/*
 * Thread 0 is kmain()'s context on the boot stack. The boot CPU's idle
 * thread gets a stack of its own and first runs when thread 0 blocks.
 */
void thread_init(void)
{
	struct cpu *c = curcpu();
	kthread_t *it = &idle_thread[0];
	page_t *pp;

	ASSERT(c == &cpus[0] && c->cpu_thread == NULL);
	thread_cache = kmem_cache_create("kthread_t", sizeof(kthread_t), 64,
					 NULL, NULL, NULL, NULL, NULL, 0);
	if (thread_cache == NULL)
		panic("thread_init: no kthread_t cache");
	t0.t_state = TS_ONPROC;
	t0.t_cpu = c;
	t0.t_name = "main";
	t0.t_stk = (uint64_t)boot_stack_bottom;
	t0.t_stktop = (uint64_t)boot_stack_top;
	proc_init(&t0);
	spin_lock(&disp_lock);
	thread_list_add(&t0);
	spin_unlock(&disp_lock);
	c->cpu_thread = &t0;

	pp = page_alloc_pages(THREAD_STACK_ORDER, PG_KERNEL);
	if (pp == NULL)
		panic("thread_init: no stack for cpu0's idle thread");
	it->t_procp = &p0;
	it->t_name = "idle";
	it->t_cpu = c;
	it->t_stk = (uint64_t)kpm_va(page_pfn(pp) << PAGESHIFT);
	it->t_stktop = it->t_stk + (PAGESIZE << THREAD_STACK_ORDER);
	it->t_startpc = (void (*)(void *))idle_loop;
	mach_thread_stack_init(it);
	it->t_state = TS_ONPROC; /* never on the run queue */
	spin_lock(&disp_lock);
	thread_list_add(it);
	spin_unlock(&disp_lock);
	c->cpu_idle_thread = it;

	intr_register(T_RESCHED, resched_intr);
	tlb_init();
	mach_cpu_init();
}

/* An AP, on its boot stack: become its idle thread and idle. */
void thread_ap_idle(void)
{
	struct cpu *c = curcpu();

	ASSERT(c != &cpus[0] && c->cpu_thread == NULL);
	idle_adopt(c);
	c->cpu_thread = c->cpu_idle_thread;
	mach_cpu_init();
	idle_loop();
}

kthread_t *thread_create(proc_t *p, const char *name, void (*fn)(void *),
			 void *arg)
{
	kthread_t *t;
	page_t *pp;

	ASSERT(p != NULL && fn != NULL);
	t = kmem_cache_alloc(thread_cache, KM_NOSLEEP);
	if (t == NULL)
		return NULL;
	pp = page_alloc_pages(THREAD_STACK_ORDER, PG_KERNEL);
	if (pp == NULL) {
		kmem_cache_free(thread_cache, t);
		return NULL;
	}
	memset(t, 0, sizeof(*t));
	t->t_state = TS_FREE;
	t->t_procp = p;
	t->t_name = name;
	t->t_stk = (uint64_t)kpm_va(page_pfn(pp) << PAGESHIFT);
	t->t_stktop = t->t_stk + (PAGESIZE << THREAD_STACK_ORDER);
	t->t_startpc = fn;
	t->t_startarg = arg;
	t->t_cpu = curcpu();
	mach_thread_stack_init(t);
	spin_lock(&disp_lock);
	thread_list_add(t);
	spin_unlock(&disp_lock);
	return t;
}

/* Free a thread that exited; it must not be running anywhere. */
static void thread_reap(kthread_t *t)
{
	ASSERT(t->t_state == TS_ZOMB);
	ASSERT(t != curthread && t != &t0);
	ASSERT(!spin_held(&disp_lock));
	page_free_pages(pfn_to_page(kpm_pa((void *)t->t_stk) >> PAGESHIFT),
			THREAD_STACK_ORDER);
	t->t_state = TS_FREE;
	kmem_cache_free(thread_cache, t);
	__atomic_sub_fetch(&thread_zombies, 1, __ATOMIC_RELEASE);
}

/* After a switch, the incoming thread's part: the lock, the dead. */
static void disp_finish(kthread_t *prev)
{
	disp_unlock();
	if (prev != NULL && prev->t_state == TS_ZOMB)
		thread_reap(prev);
}

/* Tests: dispatch threads on the boot CPU only (see thread.h). */
bool disp_onecpu;
int disp_user_max; /* disp_lock */
int thread_zombies; /* exited, stack not yet freed; atomic */
uint64_t disp_preemptions; /* user threads the timer preempted; atomic */

/* Take the first thread off the run queue, or NULL. */
static kthread_t *runq_take(void)
{
	kthread_t *t = runq_head;

	ASSERT(spin_held(&disp_lock));
	if (disp_onecpu && curcpu() != &cpus[0])
		return NULL;
	if (t != NULL) {
		ASSERT(t->t_state == TS_RUN);
		runq_head = t->t_link;
		if (runq_head == NULL)
			runq_tail = NULL;
		t->t_link = NULL;
	}
	return t;
}

/*
 * Switch this CPU to the next thread to run: the run queue's first, or
 * the idle thread. The current thread has already been queued, put to
 * sleep or killed (or is the idle thread). Called with disp_lock held and
 * interrupts off; returns, in the current thread once it runs again, the
 * thread this CPU switched away from last, still with disp_lock held.
 */
static kthread_t *disp_switch(void)
{
	struct cpu *c = curcpu();
	kthread_t *cur = c->cpu_thread, *next;

	ASSERT(spin_held(&disp_lock));
	ASSERT(!(read_rflags() & RFLAGS_IF));
	ASSERT(spin_nheld() == 1); /* no lock may be held across a switch */
	next = runq_take();
	if (next == NULL)
		next = c->cpu_idle_thread;
	else if (runq_head != NULL)
		disp_poke_idle(); /* more waiting: wake another CPU */
	if (next == cur) {
		cur->t_state = TS_ONPROC;
		return NULL;
	}
	ASSERT(next->t_state == TS_RUN || next == c->cpu_idle_thread);
	next->t_state = TS_ONPROC;
	next->t_cpu = c;
	c->cpu_thread = next;
	c->cpu_switches++;
	if (thread_is_user(next)) {
		int n = 0;

		for (int i = 0; i < ncpus; i++)
			n += cpus[i].cpu_thread != NULL &&
			     thread_is_user(cpus[i].cpu_thread);
		disp_user_max = MAX(disp_user_max, n);
	}
	mach_thread_switch(cur, next);
	return swtch(cur, next);
}

/* Where a new thread begins (from thread_trampoline, disp_lock held). */
void thread_start(kthread_t *prev) __attribute__((noreturn));
void thread_start(kthread_t *prev)
{
	kthread_t *t = curthread;

	disp_finish(prev);
	t->t_startpc(t->t_startarg);
	thread_exit();
}

/* Put t at the tail of the run queue and wake an idle CPU for it. */
static void runq_put(kthread_t *t)
{
	ASSERT(spin_held(&disp_lock));
	t->t_state = TS_RUN;
	t->t_wchan = NULL;
	t->t_link = NULL;
	if (runq_tail != NULL)
		runq_tail->t_link = t;
	else
		runq_head = t;
	runq_tail = t;
	disp_poke_idle();
}

/*
 * Choose one idle CPU to wake once disp_lock is released (disp_unlock):
 * an IPI is an MMIO write, and under QEMU's icount an I/O access can end
 * this CPU's turn while it holds the lock. The choice rotates, so that
 * threads queued in a burst wake different CPUs, and a CPU that takes a
 * thread and leaves others queued wakes the next (disp_switch).
 */
static void disp_poke_idle(void)
{
	static int next; /* disp_lock */

	ASSERT(spin_held(&disp_lock));
	for (int k = 0; k < ncpus; k++) {
		struct cpu *c = &cpus[(next + k) % ncpus];

		if (c != curcpu() && c->cpu_online &&
		    c->cpu_idle_thread != NULL &&
		    c->cpu_thread == c->cpu_idle_thread) {
			curcpu()->cpu_poke = c;
			next = (c->cpu_id + 1) % ncpus;
			return;
		}
	}
}

/*
 * Release disp_lock, then do what had to wait for that: wake the idle CPU
 * runq_put() chose, and start or stop this CPU's scheduler tick for the
 * thread now running (both are device writes, kept out of the lock).
 */
static void disp_unlock(void)
{
	struct cpu *c = curcpu();
	struct cpu *poke = c->cpu_poke;
	bool user = thread_is_user(c->cpu_thread);

	c->cpu_poke = NULL;
	spin_unlock(&disp_lock);
	if (poke != NULL)
		ipi_send(poke->cpu_m.mcpu_apicid, T_RESCHED);
	if (user && !c->cpu_timer_on) {
		lapic_timer_start(SCHED_HZ);
		c->cpu_timer_on = true;
	} else if (!user && c->cpu_timer_on) {
		lapic_timer_stop();
		c->cpu_timer_on = false;
	}
}

void setrun_locked(kthread_t *t)
{
	ASSERT(spin_held(&disp_lock));
	ASSERT(t->t_state == TS_FREE || t->t_state == TS_SLEEP);
	runq_put(t);
}

void setrun(kthread_t *t)
{
	spin_lock(&disp_lock);
	setrun_locked(t);
	disp_unlock();
}

void yield(void)
{
	kthread_t *t = curthread;

	spin_lock(&disp_lock);
	if (runq_head == NULL) {
		disp_unlock();
		return;
	}
	if (t != curcpu()->cpu_idle_thread)
		runq_put(t);
	disp_finish(disp_switch());
}

void thread_exit(void)
{
	kthread_t *t = curthread;

	ASSERT(t != &t0 && t != curcpu()->cpu_idle_thread);
	ASSERT(spin_nheld() == 0);
	cli();
	spin_lock(&disp_lock);
	thread_list_remove(t);
	t->t_state = TS_ZOMB;
	__atomic_add_fetch(&thread_zombies, 1, __ATOMIC_RELAXED);
	disp_switch();
	panic("thread_exit: a dead thread ran again");
}

void cv_wait(kcondvar_t *cv, spinlock_t *lk)
{
	kthread_t *t = curthread;

	ASSERT(spin_held(lk));
	ASSERT(t != curcpu()->cpu_idle_thread);
	spin_lock(&disp_lock);
	spin_unlock(lk);
	t->t_state = TS_SLEEP;
	t->t_wchan = cv;
	disp_finish(disp_switch());
	spin_lock(lk);
}

void cv_broadcast(kcondvar_t *cv)
{
	spin_lock(&disp_lock);
	for (kthread_t *t = thread_list; t != NULL; t = t->t_next)
		if (t->t_state == TS_SLEEP && t->t_wchan == cv)
			setrun_locked(t);
	disp_unlock();
}

static void idle_loop(void)
{
	for (;;) {
		kthread_t *prev = NULL;

		cli();
		spin_lock(&disp_lock);
		if (runq_head != NULL)
			prev = disp_switch();
		disp_finish(prev);
		/*
		 * sti's one-instruction shadow covers hlt: an interrupt that
		 * is already pending (a T_RESCHED sent while the lock was
		 * held) wakes the hlt instead of being lost before it.
		 */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/* A timer tick: end a user thread's slice if another thread waits. */
void sched_tick(void)
{
	struct cpu *c = curcpu();
	kthread_t *t = c->cpu_thread;

	if (t != NULL && thread_is_user(t) &&
	    __atomic_load_n(&runq_head, __ATOMIC_RELAXED) != NULL)
		ipi_send(c->cpu_m.mcpu_apicid, T_RESCHED);
}

/*
 * T_RESCHED: a self-IPI from sched_tick() or a poke from setrun(). In user
 * mode the thread gives up the CPU here, on its own kernel stack with no
 * lock held; in the kernel (the idle loop's hlt) there is nothing to do,
 * the loop looks at the run queue itself.
 */
static void resched_intr(struct regs *rp)
{
	lapic_eoi();
	if ((rp->r_cs & 3) == 3 && thread_is_user(curthread)) {
		if (__atomic_load_n(&runq_head, __ATOMIC_RELAXED) != NULL)
			__atomic_add_fetch(&disp_preemptions, 1,
					   __ATOMIC_RELAXED);
		yield();
		lwp_checkexit(); /* its process may be ending (lwp.c) */
	}
}
