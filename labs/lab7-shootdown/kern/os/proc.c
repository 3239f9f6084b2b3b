/*
 * proc.c — processes: creation, fork, exit, wait, and the end of a
 * process that faults (proc.h).
 */
#include <as.h>
#include <errno.h>
#include <exec.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <lapic.h>
#include <monitor.h>
#include <page.h>
#include <proc.h>
#include <thread.h>
#include <trap.h>
#include <vnode.h>
#include <x86.h>

proc_t p0;
spinlock_t pidlock = SPINLOCK_INIT("pidlock", LR_PROC);

static proc_t *proctab[NPROC]; /* pidlock */
static int nprocs;             /* pidlock; p0 not counted */
static int next_pid = 1;       /* pidlock */
static kmem_cache_t *proc_cache, *file_cache;
uint64_t proc_spawned; /* processes ever started (spawn, fork); atomic */

static bool proc_usertrap(struct regs *rp, uint64_t addr);

void proc_init(kthread_t *t0)
{
	p0.p_pid = 0;
	p0.p_stat = SRUN;
	strlcpy(p0.p_comm, "kernel", sizeof(p0.p_comm));
	p0.p_thread = t0;
	p0.p_waitcv.cv_name = "p0.waitcv";
	t0->t_procp = &p0;
	proc_cache = kmem_cache_create("proc_t", sizeof(proc_t), 0, NULL,
				       NULL, NULL, NULL, NULL, 0);
	file_cache = kmem_cache_create("file_t", sizeof(file_t), 0, NULL,
				       NULL, NULL, NULL, NULL, 0);
	if (proc_cache == NULL || file_cache == NULL)
		panic("proc_init: no caches");
	usertrap_register(proc_usertrap);
}

/*
 * The next number no process and no thread uses (pids grow, then wrap,
 * like Linux's, whose threads' ids come from the same space).
 */
int pid_alloc_locked(void)
{
	ASSERT(spin_held(&pidlock));
	for (;;) {
		bool used = false;

		if (next_pid >= 4194304)
			next_pid = 1;
		for (int i = 0; i < NPROC && !used; i++)
			used = proctab[i] != NULL && proctab[i]->p_pid == next_pid;
		if (!used && !thread_lwpid_used(next_pid))
			break;
		next_pid++;
	}
	return next_pid++;
}

/* A new process, child of parent, in the table; NULL if none is free. */
static proc_t *proc_alloc(proc_t *parent)
{
	proc_t *p = kmem_cache_alloc(proc_cache, KM_NOSLEEP);
	int slot = -1;

	if (p == NULL)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->p_stat = SIDL;
	p->p_waitcv.cv_name = "p_waitcv";
	p->p_startticks = lapic_ticks();
	spin_lock(&pidlock);
	for (int i = 0; i < NPROC; i++) {
		if (proctab[i] == NULL) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		spin_unlock(&pidlock);
		kmem_cache_free(proc_cache, p);
		return NULL;
	}
	p->p_pid = pid_alloc_locked();
	p->p_nlwp = 1;
	p->p_lwpcv.cv_name = "p_lwpcv";
	proctab[slot] = p;
	nprocs++;
	p->p_parent = parent;
	p->p_sibling = parent->p_child;
	parent->p_child = p;
	spin_unlock(&pidlock);
	return p;
}

/* Take a reaped (or never started) process out of the table; pidlock. */
static void proc_unlink(proc_t *p)
{
	proc_t **pp;

	ASSERT(spin_held(&pidlock));
	for (pp = &p->p_parent->p_child; *pp != p; pp = &(*pp)->p_sibling)
		ASSERT(*pp != NULL);
	*pp = p->p_sibling;
	for (int i = 0; i < NPROC; i++) {
		if (proctab[i] == p) {
			proctab[i] = NULL;
			nprocs--;
			return;
		}
	}
	panic("proc_unlink: pid %d is not in the table", p->p_pid);
}

/* Free a process that never ran (a failed fork or spawn). */
static void proc_discard(proc_t *p)
{
	ASSERT(p->p_stat == SIDL && p->p_child == NULL);
	fd_closeall(p);
	if (p->p_as != NULL)
		as_free(p->p_as);
	spin_lock(&pidlock);
	proc_unlink(p);
	spin_unlock(&pidlock);
	kmem_cache_free(proc_cache, p);
}

int proc_count(void)
{
	int n;

	spin_lock(&pidlock);
	n = nprocs;
	spin_unlock(&pidlock);
	return n;
}

/* ---- open files ---- */

file_t *getf(int fd)
{
	proc_t *p = curproc;
	file_t *fp;

	if (fd < 0 || fd >= NFILES || (fp = p->p_files[fd]) == NULL)
		return NULL;
	__atomic_add_fetch(&fp->f_count, 1, __ATOMIC_RELAXED);
	return fp;
}

void releasef(file_t *fp)
{
	int left = __atomic_sub_fetch(&fp->f_count, 1, __ATOMIC_ACQ_REL);

	ASSERT(left >= 0);
	if (left == 0)
		kmem_cache_free(file_cache, fp);
}

int fd_alloc(proc_t *p, vnode_t *vp, int flag)
{
	file_t *fp;

	for (int fd = 0; fd < NFILES; fd++) {
		if (p->p_files[fd] != NULL)
			continue;
		fp = kmem_cache_alloc(file_cache, KM_NOSLEEP);
		if (fp == NULL)
			return -ENOMEM;
		fp->f_vnode = vp;
		fp->f_offset = 0;
		fp->f_flag = flag;
		fp->f_count = 1;
		p->p_files[fd] = fp;
		return fd;
	}
	return -EMFILE;
}

void fd_closeall(proc_t *p)
{
	for (int fd = 0; fd < NFILES; fd++) {
		if (p->p_files[fd] != NULL) {
			releasef(p->p_files[fd]);
			p->p_files[fd] = NULL;
		}
	}
}

/* Descriptors 0, 1 and 2 on the console. */
static int fd_console(proc_t *p)
{
	for (int fd = 0; fd < 3; fd++) {
		int got = fd_alloc(p, &console_vnode, FREAD | FWRITE);

		if (got < 0)
			return got;
		ASSERT(got == fd);
	}
	return 0;
}

/* ---- spawn, fork, exit, wait ---- */

/* A spawned process's thread: exec the program, then enter it. */
static void spawn_start(void *arg)
{
	struct execargs *ea = arg;
	kthread_t *t = curthread;
	int err;

	err = exec_common(ea, t->t_regs);
	if (err != 0) {
		kprintf("vmlab: pid %d: exec %s: error %d\n", curproc->p_pid,
			ea->ea_path, -err);
		execargs_free(ea);
		proc_exit(W_EXITCODE(127));
	}
	execargs_free(ea);
	curproc->p_stat = SRUN;
	user_enter(t->t_regs);
}

int proc_spawn(const char *path, const char *const argv[],
	       const char *const envp[])
{
	struct execargs *ea;
	proc_t *p;
	kthread_t *t;
	int err;

	ea = execargs_alloc();
	if (ea == NULL)
		return -ENOMEM;
	err = execargs_kernel(ea, path, argv, envp);
	if (err != 0) {
		execargs_free(ea);
		return err;
	}
	p = proc_alloc(curproc);
	if (p == NULL) {
		execargs_free(ea);
		return -EAGAIN;
	}
	if ((err = fd_console(p)) != 0 ||
	    (t = thread_create(p, "user", spawn_start, ea)) == NULL) {
		execargs_free(ea);
		proc_discard(p);
		return err != 0 ? err : -ENOMEM;
	}
	p->p_thread = t;
	__atomic_add_fetch(&proc_spawned, 1, __ATOMIC_RELAXED);
	setrun(t);
	return p->p_pid;
}

/* A forked child's first instructions: back to user mode, rax = 0. */
static void fork_child_start(void *arg)
{
	(void)arg;
	user_enter(curthread->t_regs);
}

int proc_fork(struct regs *rp)
{
	proc_t *parent = curproc, *child;
	kthread_t *t;
	int err;

	ASSERT(parent->p_as != NULL);
	/*
	 * A child needs memory right after its fork too: page tables and
	 * the copy of its stack for its first instructions. Refuse a fork
	 * that would leave too little for that (Linux keeps a watermark of
	 * free pages for the same reason) rather than start a child that
	 * dies of its first fault.
	 */
	if (page_free_count() < FORK_RESERVE_PAGES)
		return -ENOMEM;
	child = proc_alloc(parent);
	if (child == NULL)
		return -EAGAIN;
	err = as_dup(parent->p_as, &child->p_as);
	if (err != 0) {
		proc_discard(child);
		return err;
	}
	t = thread_create(child, "user", fork_child_start, NULL);
	if (t == NULL) {
		proc_discard(child);
		return -ENOMEM;
	}
	for (int fd = 0; fd < NFILES; fd++) {
		file_t *fp = parent->p_files[fd];

		if (fp != NULL) {
			__atomic_add_fetch(&fp->f_count, 1, __ATOMIC_RELAXED);
			child->p_files[fd] = fp;
		}
	}
	memcpy(child->p_comm, parent->p_comm, sizeof(child->p_comm));
	child->p_sigmask = parent->p_sigmask;
	child->p_brkbase = parent->p_brkbase;
	child->p_brk = parent->p_brk;
	*t->t_regs = *rp;
	t->t_regs->r_rax = 0;
	t->t_regs->r_rcx = rp->r_rip; /* the syscall ABI's clobbers */
	t->t_regs->r_r11 = rp->r_rfl;
	t->t_fsbase = curthread->t_fsbase;
	fxsave(t->t_fpu); /* the parent's live state */
	child->p_thread = t;
	child->p_stat = SRUN;
	__atomic_add_fetch(&proc_spawned, 1, __ATOMIC_RELAXED);
	setrun(t);
	return child->p_pid;
}

void proc_exit(int wstat)
{
	proc_t *p = curproc, *parent;
	kthread_t *t = curthread;
	struct as *as = p->p_as;

	ASSERT(p != &p0);
	ASSERT(spin_nheld() == 0);
	wstat = lwp_exit_all(wstat); /* from here on, the only thread */
	fd_closeall(p);
	console_flush(p);
	if (as != NULL) {
		as_deactivate();
		p->p_as = NULL;
		as_free(as);
	}
	spin_lock(&pidlock);
	/* Orphans go to process 0, which reaps them (proc_reap_orphans). */
	while (p->p_child != NULL) {
		proc_t *c = p->p_child;

		p->p_child = c->p_sibling;
		c->p_parent = &p0;
		c->p_sibling = p0.p_child;
		p0.p_child = c;
	}
	p->p_wstat = wstat;
	p->p_cminflt += t->t_minflt;
	p->p_cmajflt += t->t_majflt;
	p->p_stat = SZOMB;
	parent = p->p_parent;
	cv_broadcast(&parent->p_waitcv);
	if (parent == &p0)
		cv_broadcast(&p0.p_waitcv);
	spin_unlock(&pidlock);
	thread_exit();
}

int proc_wait(int pid, int *wstat, bool nohang, uint64_t ru[2])
{
	proc_t *p = curproc, *c;

	spin_lock(&pidlock);
	for (;;) {
		bool found = false;

		for (c = p->p_child; c != NULL; c = c->p_sibling) {
			if (pid != -1 && c->p_pid != pid)
				continue;
			found = true;
			if (c->p_stat == SZOMB)
				break;
		}
		if (c != NULL) {
			int cpid = c->p_pid;

			proc_unlink(c);
			*wstat = c->p_wstat;
			p->p_cminflt += c->p_cminflt;
			p->p_cmajflt += c->p_cmajflt;
			if (ru != NULL) {
				ru[0] = c->p_cminflt;
				ru[1] = c->p_cmajflt;
			}
			spin_unlock(&pidlock);
			kmem_cache_free(proc_cache, c);
			return cpid;
		}
		if (!found) {
			spin_unlock(&pidlock);
			return -ECHILD;
		}
		if (nohang) {
			spin_unlock(&pidlock);
			return 0;
		}
		if (p->p_exiting) { /* another thread ends the process */
			spin_unlock(&pidlock);
			return -EINTR;
		}
		cv_wait(&p->p_waitcv, &pidlock);
	}
}

proc_t *proc_find(int pid)
{
	ASSERT(spin_held(&pidlock));
	for (int i = 0; i < NPROC; i++)
		if (proctab[i] != NULL && proctab[i]->p_pid == pid)
			return proctab[i];
	return NULL;
}

proc_t *proc_next(proc_t *p)
{
	int i = 0;

	ASSERT(spin_held(&pidlock));
	if (p != NULL)
		while (i < NPROC && proctab[i++] != p)
			;
	for (; i < NPROC; i++)
		if (proctab[i] != NULL)
			return proctab[i];
	return NULL;
}

bool proc_has_child(int pid)
{
	bool found = false;

	spin_lock(&pidlock);
	for (proc_t *c = curproc->p_child; c != NULL && !found;
	     c = c->p_sibling)
		found = pid == -1 || c->p_pid == pid;
	spin_unlock(&pidlock);
	return found;
}

void proc_reap_orphans(void)
{
	int wstat;

	ASSERT(curproc == &p0);
	for (;;) {
		bool zombie = false;

		spin_lock(&pidlock);
		for (proc_t *c = p0.p_child; c != NULL; c = c->p_sibling)
			zombie |= c->p_stat == SZOMB;
		spin_unlock(&pidlock);
		if (!zombie || proc_wait(-1, &wstat, true, NULL) <= 0)
			return;
	}
}

/* ---- faults and traps in user mode ---- */

static const char *fault_reason(faultcode_t fc)
{
	switch (fc) {
	case FC_NOMAP:
		return "no mapping";
	case FC_PROT:
		return "protection";
	case FC_OBJERR:
		return "past the end of the file";
	case FC_NOMEM:
		return "out of memory";
	default:
		return "unresolved";
	}
}

/*
 * A trap in ring 3 that nothing resolved: the process ends as Linux's
 * default action for the signal would end it, and says so in one line.
 */
static bool proc_usertrap(struct regs *rp, uint64_t addr)
{
	kthread_t *t = curthread;
	proc_t *p;
	int sig;
	const char *why;

	if (t == NULL || !thread_is_user(t))
		return false; /* a kernel test's ring-3 code (usermode.c) */
	p = t->t_procp;
	switch (rp->r_trapno) {
	case T_PGFLT:
		sig = t->t_lastfc == FC_OBJERR ? SIGBUS : SIGSEGV;
		why = fault_reason(t->t_lastfc);
		break;
	case T_ILLINST:
		sig = SIGILL, why = "invalid opcode";
		break;
	case T_ZERODIV:
	case T_EXTERRFLT:
	case T_SIMDFPE:
		sig = SIGFPE, why = "arithmetic";
		break;
	case T_BPTFLT:
	case T_SGLSTP:
		sig = SIGTRAP, why = "breakpoint";
		break;
	default:
		sig = SIGSEGV, why = trap_name(rp->r_trapno);
		break;
	}
	/* Another thread's fault already ends the process: say it once. */
	if (__atomic_load_n(&p->p_exiting, __ATOMIC_ACQUIRE))
		proc_exit(W_SIGNALED(sig));
	console_printf("vmlab: pid %d (%s): %s at %#lx: %s (rip %#lx)",
		       p->p_pid, p->p_comm, sig == SIGBUS ? "SIGBUS" :
		       sig == SIGILL ? "SIGILL" : sig == SIGFPE ? "SIGFPE" :
		       sig == SIGTRAP ? "SIGTRAP" : "SIGSEGV",
		       addr, why, rp->r_rip);
	proc_exit(W_SIGNALED(sig));
}

static const char *const stat_names[] = { "IDL", "RUN", "ZOMB" };

void proc_ps(void)
{
	kprintf("%5s %5s %-5s %4s %s\n", "PID", "PPID", "S", "CPU", "CMD");
	spin_lock(&pidlock);
	for (int i = 0; i < NPROC; i++) {
		proc_t *p = proctab[i];
		kthread_t *t;

		if (p == NULL)
			continue;
		t = p->p_stat == SZOMB ? NULL : p->p_thread;
		kprintf("%5d %5d %-5s %4d %s\n", p->p_pid,
			p->p_parent->p_pid, stat_names[p->p_stat],
			t != NULL ? t->t_cpu->cpu_id : -1, p->p_comm);
		if (p->p_stat != SZOMB && p->p_nlwp > 1)
			thread_ps(p);
	}
	spin_unlock(&pidlock);
}

MONCMD(run, "[-b] PATH [ARG...]",
       "run a program from the initrd and wait for it (-b: do not wait)")
{
	bool bg = argc > 1 && strcmp(argv[1], "-b") == 0;
	int pid, wstat = 0;

	if (argc < (bg ? 3 : 2)) {
		kprintf("usage: run [-b] PATH [ARG...]   (e.g. run /bin/hello)\n");
		return 1;
	}
	proc_reap_orphans(); /* the ones earlier run -b left */
	argv += bg;
	pid = proc_spawn(argv[1], (const char *const *)&argv[1], NULL);
	if (pid < 0) {
		kprintf("run: %s: error %d\n", argv[1], -pid);
		return 1;
	}
	if (bg) {
		kprintf("run: pid %d started\n", pid);
		return 0;
	}
	if (proc_wait(pid, &wstat, false, NULL) != pid) {
		kprintf("run: pid %d: lost\n", pid);
		return 1;
	}
	if ((wstat & 0x7f) != 0)
		kprintf("run: pid %d killed by signal %d\n", pid, wstat & 0x7f);
	else
		kprintf("run: pid %d exited with status %d\n", pid,
			(wstat >> 8) & 0xff);
	return wstat == 0 ? 0 : 1;
}

MONCMD(ps, "", "processes: pid, parent, state, CPU, command")
{
	(void)argv;
	if (argc != 1) {
		kprintf("usage: ps\n");
		return 1;
	}
	proc_ps();
	return 0;
}
