/*
 * proc.h — processes (illumos's proc_t, much reduced).
 *
 * A process is an address space (p_as), open files, a family (parent,
 * children) and its threads. Process 0 is the kernel itself: its threads
 * (kmain's, the idle threads, the tests) run on the kernel's page tables and
 * have no address space. User processes come from proc_spawn() (a kernel
 * test starting a program), fork() and vfork(); execve() replaces a
 * process's address space; exit() or a fatal signal makes it a zombie until
 * its parent's wait4() reaps it.
 *
 * Locking:
 *	pidlock (rank LR_PROC) protects the process table, every p_parent,
 *	p_child, p_sibling, p_stat and p_wstat, and the zombies' statistics.
 *	A process's own fields (p_files, p_sigmask, p_brk...) are touched by
 *	its one thread only (labs 5 and 6: one thread per process; from lab
 *	7 its threads share them, and a program that changes them from two
 *	threads at once must order that itself, as on Linux, where the
 *	kernel would lock: vmlab's tests do not).
 *	From lab 7, pidlock also protects p_nlwp, p_exiting, p_exitwstat
 *	and the futex waiters (lwp.c).
 *	p_as is set by exec and exit, by the process's own thread.
 *	Lock order: pidlock, then the address space's a_lock, then the
 *	dispatcher's disp_lock (cv_wait on p_waitcv takes it under pidlock).
 */
#ifndef PROC_H
#define PROC_H

#include <spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <thread.h>

struct as;
struct vnode;

#define NPROC 512     /* processes at once, zombies included */
#define NFILES 32     /* open files per process */
#define PSCOMM 16     /* the command name kept for ps */

typedef enum proc_stat {
	SIDL,  /* being built */
	SRUN,  /* alive */
	SZOMB, /* exited, not yet reaped */
} proc_stat_t;

/* An open file: shared by the descriptors fork() copies. */
typedef struct file {
	struct vnode *f_vnode;
	uint64_t f_offset;  /* the file's one writer at a time: its process */
	int f_flag;         /* FREAD | FWRITE */
	int f_count;        /* descriptors that point here; atomic */
} file_t;
#define FREAD 0x1
#define FWRITE 0x2

typedef struct proc {
	int p_pid;                 /* set once */
	proc_stat_t p_stat;        /* pidlock */
	char p_comm[PSCOMM];       /* last exec'd program's name */
	struct as *p_as;           /* NULL for process 0 */
	struct proc *p_parent;     /* pidlock */
	struct proc *p_child;      /* first child; pidlock */
	struct proc *p_sibling;    /* next child of p_parent; pidlock */
	kthread_t *p_thread;       /* its first thread (NULL once it left) */
	int p_wstat;               /* wait status once a zombie; pidlock */
	kcondvar_t p_waitcv;       /* a child exited (wait4) */
	file_t *p_files[NFILES];   /* open files, by descriptor */
	uint64_t p_sigmask;        /* rt_sigprocmask's mask, kept, not used */
	uint64_t p_tidaddr;        /* set_tid_address's pointer */
	uintptr_t p_brkbase;       /* where the heap starts (end of bss) */
	uintptr_t p_brk;           /* the current break */
	/* Faults of its reaped children (RUSAGE_CHILDREN); pidlock. */
	uint64_t p_cminflt, p_cmajflt;
	uint64_t p_startticks;     /* lapic ticks at creation */
	/* Console output not yet ended by a newline (console_write). */
	char p_conbuf[160];
	int p_conlen;
} proc_t;

extern proc_t p0;              /* the kernel's own process */
extern spinlock_t pidlock;

/* Build process 0 around thread 0. */
void proc_init(kthread_t *t0);

/*
 * Start program path (an initrd file) as a new child of the calling
 * process, with argv (NULL-terminated) and an empty environment plus
 * envp. Returns its pid, or a negated errno. The child is already running
 * when this returns; exec errors show in its exit status (127).
 */
int proc_spawn(const char *path, const char *const argv[],
	       const char *const envp[]);

/*
 * Wait for a child to exit (pid > 0: that one; -1: any). Returns its pid
 * and stores its wait status, or a negated errno (ECHILD). With nohang,
 * returns 0 if none has exited yet.
 */
int proc_wait(int pid, int *wstat, bool nohang, uint64_t ru[2]);

/* The process with pid, or NULL (pidlock held: it stays while held). */
proc_t *proc_find(int pid);

/* Has the calling process a child that wait4(pid) would wait for? */
bool proc_has_child(int pid);

/* End the calling process with wait status wstat (exit or signal). */
void proc_exit(int wstat) __attribute__((noreturn));

/* fork(): a copy of the calling process; the child's pid or -errno. */
int proc_fork(struct regs *rp);

/* Wait status values, as Linux encodes them. */
#define W_EXITCODE(ret) (((ret) & 0xff) << 8)
#define W_SIGNALED(sig) ((sig) & 0x7f)

/* Signal numbers (x86-64 Linux) this kernel can end a process with. */
#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11

/* Processes ever started by proc_spawn() or fork(); atomic. */
extern uint64_t proc_spawned;

/* Processes alive or zombie (for the tests' leak checks). */
int proc_count(void);
/* Reap every zombie child of process 0 (tests clean up orphans). */
void proc_reap_orphans(void);

/* The ps monitor command's table. */
void proc_ps(void);

/*
 * The open-file table: descriptor to file, with a reference, or NULL.
 * getf() checks fd's range; releasef() drops the reference.
 */
file_t *getf(int fd);
void releasef(file_t *fp);
/* A new descriptor for vp with flags; the lowest free one, or -EMFILE. */
int fd_alloc(proc_t *p, struct vnode *vp, int flag);
/* Close every descriptor of p. */
void fd_closeall(proc_t *p);

#endif /* PROC_H */
