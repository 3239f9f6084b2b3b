/*
 * exec.h — replacing a process's program (exec.c).
 *
 * The arguments travel in a struct execargs: the path, then argv's and
 * envp's strings packed one after another, copied in from the caller
 * (user memory for execve(), kernel memory for proc_spawn()) before the
 * old program is touched, because the old address space is where execve's
 * arguments live.
 */
#ifndef EXEC_H
#define EXEC_H

#include <stddef.h>
#include <stdint.h>

struct regs;

#define EA_PATHMAX 256
#define EA_BUFSIZE (32 * 1024) /* argv and envp strings, NULs included */
#define EA_MAXARGS 1024        /* argv plus envp pointers */

struct execargs {
	char ea_path[EA_PATHMAX];
	char *ea_buf;        /* argc argv strings, then envc envp strings */
	size_t ea_len;       /* bytes used in ea_buf */
	int ea_argc, ea_envc;
};

struct execargs *execargs_alloc(void);
void execargs_free(struct execargs *ea);
/* Fill ea from kernel strings. 0, -ENAMETOOLONG or -E2BIG. */
int execargs_kernel(struct execargs *ea, const char *path,
		    const char *const argv[], const char *const envp[]);
/* Fill ea from user pointers (execve). 0, -EFAULT, -ENAMETOOLONG, -E2BIG. */
int execargs_user(struct execargs *ea, const char *upath,
		  const uint64_t *uargv, const uint64_t *uenvp);

/*
 * Replace the calling process's address space with ea's program, mapped
 * from its file through as_map() and seg_vn (nothing is copied), with a
 * fresh stack holding argc, argv, envp and the aux vector, and set rp to
 * enter it. 0, or -errno with the old program untouched (-ENOENT,
 * -EACCES, -ENOEXEC, -ENOMEM, -E2BIG).
 */
int exec_common(struct execargs *ea, struct regs *rp);

/* mach_thread.c: a thread's FS.base and FPU as a new program finds them. */
void mach_exec_reset(void);

/* Where a static PIE is loaded (Linux's choice for a PIE run directly). */
#define ET_DYN_BASE 0x555555554000UL

#endif /* EXEC_H */
