/*
 * syscall.c — system calls on the Linux x86-64 ABI.
 *
 * syscall_entry (syscall_entry.S) builds a struct regs and calls
 * syscall_handler(): the number in %rax, arguments in %rdi, %rsi, %rdx,
 * %r10, %r8 and %r9, the result back in %rax as a value or a negated
 * errno (-4095 .. -1), which musl turns into -1 and errno. `man 2` is the
 * specification of every call here; a number with no entry is -ENOSYS.
 *
 * Every call checks its arguments before it does anything (flags first,
 * then lengths, then pointers, the order Linux's errnos imply), and reads
 * or writes user memory only with copyin() and copyout(), so a bad
 * pointer is -EFAULT and never a kernel fault.
 */
#include <as.h>
#include <errno.h>
#include <exec.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <lapic.h>
#include <proc.h>
#include <seg_vn.h>
#include <thread.h>
#include <trap.h>
#include <uaccess.h>
#include <vnode.h>
#include <x86.h>

typedef long (*sysfn_t)(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5);

/* Linux's open() flags and the few other constants the calls below take. */
#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_DIRECTORY 0200000
#define AT_FDCWD (-100)
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define WNOHANG 1
#define RUSAGE_SELF 0
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD 1
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define SIG_BLOCK 0
#define SIG_SETMASK 2
#define IOV_MAX 1024
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFCHR 0020000

/* ---- files ---- */

/*
 * The open file fd, held, if it was opened with flag (FREAD or FWRITE);
 * NULL otherwise, with nothing held: the caller's -EBADF.
 */
static file_t *getf_for(int fd, int flag)
{
	file_t *fp = getf(fd);

	if (fp != NULL && !(fp->f_flag & flag)) {
		releasef(fp);
		fp = NULL;
	}
	return fp;
}

static long sys_read(uint64_t fd, uint64_t buf, uint64_t len, uint64_t a3,
		     uint64_t a4, uint64_t a5)
{
	file_t *fp = getf_for((int)fd, FREAD);
	long n;

	(void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	if (fp->f_vnode->v_type == VDIR) {
		releasef(fp);
		return -EISDIR;
	}
	if ((int64_t)len < 0 || !user_range_ok(buf, len)) {
		releasef(fp);
		return (int64_t)len < 0 ? -EINVAL : -EFAULT;
	}
	n = VOP_READ(fp->f_vnode, fp->f_offset, (void *)buf, len, true);
	if (n > 0 && fp->f_vnode->v_type == VREG)
		fp->f_offset += (uint64_t)n;
	releasef(fp);
	return n;
}

/* write(2) of one buffer on an open file: bytes written or -errno. */
static long file_write(file_t *fp, uint64_t buf, uint64_t len)
{
	long n;

	if (!user_range_ok(buf, len))
		return -EFAULT;
	if (len == 0)
		return 0;
	n = VOP_WRITE(fp->f_vnode, fp->f_offset, (const void *)buf, len, true);
	if (n > 0 && fp->f_vnode->v_type == VREG)
		fp->f_offset += (uint64_t)n;
	return n;
}

static long sys_write(uint64_t fd, uint64_t buf, uint64_t len, uint64_t a3,
		      uint64_t a4, uint64_t a5)
{
	file_t *fp = getf_for((int)fd, FWRITE);
	long n;

	(void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	n = (int64_t)len < 0 ? -EINVAL : file_write(fp, buf, len);
	releasef(fp);
	return n;
}

static long sys_pread64(uint64_t fd, uint64_t buf, uint64_t len, uint64_t off,
			uint64_t a4, uint64_t a5)
{
	file_t *fp = getf_for((int)fd, FREAD);
	long n;

	(void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	if (fp->f_vnode->v_type != VREG) {
		releasef(fp);
		return fp->f_vnode->v_type == VDIR ? -EISDIR : -ESPIPE;
	}
	if ((int64_t)len < 0 || (int64_t)off < 0) {
		releasef(fp);
		return -EINVAL;
	}
	n = user_range_ok(buf, len) ? VOP_READ(fp->f_vnode, off, (void *)buf,
					       len, true)
				    : -EFAULT;
	releasef(fp);
	return n;
}

static long sys_pwrite64(uint64_t fd, uint64_t buf, uint64_t len,
			 uint64_t off, uint64_t a4, uint64_t a5)
{
	file_t *fp = getf_for((int)fd, FWRITE);
	long n;

	(void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	if (fp->f_vnode->v_type != VREG) {
		releasef(fp);
		return -ESPIPE;
	}
	if ((int64_t)len < 0 || (int64_t)off < 0) {
		releasef(fp);
		return -EINVAL;
	}
	n = !user_range_ok(buf, len) ? -EFAULT
	    : len == 0 ? 0
		       : VOP_WRITE(fp->f_vnode, off, (const void *)buf, len,
				   true);
	releasef(fp);
	return n;
}

struct iovec {
	uint64_t iov_base;
	uint64_t iov_len;
};

static long sys_writev(uint64_t fd, uint64_t uiov, uint64_t cnt, uint64_t a3,
		       uint64_t a4, uint64_t a5)
{
	file_t *fp = getf_for((int)fd, FWRITE);
	long total = 0;

	(void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	if (cnt > IOV_MAX) {
		releasef(fp);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < cnt; i++) {
		struct iovec iov;
		long n;
		int err = copyin((const void *)(uiov + i * sizeof(iov)), &iov,
				 sizeof(iov));

		if (err != 0) {
			releasef(fp);
			return total > 0 ? total : err;
		}
		if ((int64_t)iov.iov_len < 0) {
			releasef(fp);
			return -EINVAL;
		}
		n = file_write(fp, iov.iov_base, iov.iov_len);
		if (n < 0) {
			releasef(fp);
			return total > 0 ? total : n;
		}
		total += n;
		if ((uint64_t)n < iov.iov_len)
			break;
	}
	releasef(fp);
	return total;
}

static long do_open(uint64_t upath, uint64_t flags)
{
	char path[EA_PATHMAX];
	vnode_t *vp;
	int err, acc = (int)(flags & O_ACCMODE), fflag;

	err = copyinstr((const char *)upath, path, sizeof(path), NULL);
	if (err != 0)
		return err;
	if (acc == 3)
		return -EINVAL;
	vp = ramfs_lookup(path);
	if (vp == NULL)
		return (flags & O_CREAT) ? -EROFS : -ENOENT;
	if ((flags & O_DIRECTORY) && vp->v_type != VDIR)
		return -ENOTDIR;
	if (vp->v_type == VDIR && acc != O_RDONLY)
		return -EISDIR;
	if (flags & O_TRUNC)
		return -EROFS; /* files keep their size here */
	fflag = acc == O_RDONLY ? FREAD : acc == O_WRONLY ? FWRITE
						     : FREAD | FWRITE;
	return fd_alloc(curproc, vp, fflag);
}

static long sys_open(uint64_t upath, uint64_t flags, uint64_t mode,
		     uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)mode, (void)a3, (void)a4, (void)a5;
	return do_open(upath, flags);
}

static long sys_openat(uint64_t dirfd, uint64_t upath, uint64_t flags,
		       uint64_t mode, uint64_t a4, uint64_t a5)
{
	(void)mode, (void)a4, (void)a5;
	/* One directory tree, rooted at /: every path is from the root. */
	if ((int)dirfd != AT_FDCWD) {
		file_t *dfp = getf((int)dirfd);

		if (dfp == NULL)
			return -EBADF;
		releasef(dfp);
	}
	return do_open(upath, flags);
}

static long sys_close(uint64_t fd, uint64_t a1, uint64_t a2, uint64_t a3,
		      uint64_t a4, uint64_t a5)
{
	proc_t *p = curproc;
	file_t *fp;

	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	if ((int)fd < 0 || (int)fd >= NFILES || (fp = p->p_files[fd]) == NULL)
		return -EBADF;
	p->p_files[fd] = NULL;
	releasef(fp);
	return 0;
}

/* struct stat on x86-64 Linux (144 bytes). */
struct kstat {
	uint64_t st_dev, st_ino, st_nlink;
	uint32_t st_mode, st_uid, st_gid, pad0;
	uint64_t st_rdev;
	int64_t st_size, st_blksize, st_blocks;
	uint64_t st_atime, st_atime_nsec, st_mtime, st_mtime_nsec;
	uint64_t st_ctime, st_ctime_nsec;
	int64_t unused[3];
};
_Static_assert(sizeof(struct kstat) == 144, "Linux's x86-64 struct stat");

static long sys_fstat(uint64_t fd, uint64_t ust, uint64_t a2, uint64_t a3,
		      uint64_t a4, uint64_t a5)
{
	file_t *fp = getf((int)fd);
	struct kstat st;
	vnode_t *vp;
	int err;

	(void)a2, (void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	vp = fp->f_vnode;
	memset(&st, 0, sizeof(st));
	st.st_ino = (uint64_t)(uintptr_t)vp >> 4;
	st.st_nlink = 1;
	st.st_mode = (vp->v_type == VREG ? S_IFREG | 0644
		      : vp->v_type == VDIR ? S_IFDIR | 0755 : S_IFCHR | 0620);
	st.st_rdev = vp->v_type == VCHR ? 0x0501 : 0; /* 5,1: console */
	st.st_size = (int64_t)vp->v_size;
	st.st_blksize = PAGESIZE;
	st.st_blocks = (int64_t)(ROUNDUP(vp->v_size, 512) / 512);
	releasef(fp);
	err = copyout(&st, (void *)ust, sizeof(st));
	return err;
}

static long sys_lseek(uint64_t fd, uint64_t off, uint64_t whence,
		      uint64_t a3, uint64_t a4, uint64_t a5)
{
	file_t *fp = getf((int)fd);
	int64_t base, pos;

	(void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	if (fp->f_vnode->v_type == VCHR) {
		releasef(fp);
		return -ESPIPE;
	}
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)fp->f_offset;
		break;
	case SEEK_END:
		base = (int64_t)fp->f_vnode->v_size;
		break;
	default:
		releasef(fp);
		return -EINVAL;
	}
	pos = base + (int64_t)off;
	if (pos < 0 || ((int64_t)off > 0 && pos < base)) {
		releasef(fp);
		return (int64_t)off > 0 ? -EOVERFLOW : -EINVAL;
	}
	fp->f_offset = (uint64_t)pos;
	releasef(fp);
	return pos;
}

static long sys_ioctl(uint64_t fd, uint64_t cmd, uint64_t arg, uint64_t a3,
		      uint64_t a4, uint64_t a5)
{
	file_t *fp = getf((int)fd);
	long r;

	(void)a3, (void)a4, (void)a5;
	if (fp == NULL)
		return -EBADF;
	r = VOP_IOCTL(fp->f_vnode, cmd, arg);
	releasef(fp);
	return r;
}

/* ---- memory ---- */

#define PROT_MASK (PROT_READ | PROT_WRITE | PROT_EXEC)

/* Map [va, va + len): the file's part through VOP_MAP, or anonymous memory. */
static int mmap_at(struct as *as, file_t *fp, uint64_t off, uintptr_t va,
		   size_t len, unsigned prot, unsigned maxprot, unsigned flags)
{
	struct segvn_crargs a = {
		.vp = NULL,
		.offset = 0,
		.type = flags & MAP_TYPE,
		.prot = prot,
		.maxprot = maxprot,
	};

	if (fp != NULL)
		return VOP_MAP(fp->f_vnode, off, as, &va, len, prot, maxprot,
			       flags);
	return as_map(as, va, len, segvn_create, &a);
}

static long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot,
		     uint64_t flags, uint64_t fd, uint64_t off)
{
	proc_t *p = curproc;
	unsigned type = flags & MAP_TYPE, maxprot = PROT_MASK;
	uintptr_t va = addr;
	file_t *fp = NULL;
	int err;

	if (len == 0 || (type != MAP_SHARED && type != MAP_PRIVATE) ||
	    (prot & ~(uint64_t)PROT_MASK) != 0 || off % PAGESIZE != 0)
		return -EINVAL;
	if (len > USERLIMIT)
		return -ENOMEM;
	len = ROUNDUP(len, PAGESIZE);
	if (!(flags & MAP_ANONYMOUS)) {
		fp = getf((int)fd);
		if (fp == NULL)
			return -EBADF;
		if (!(fp->f_flag & FREAD)) {
			releasef(fp);
			return -EACCES;
		}
		/* Shared writes need a file opened for writing (maxprot). */
		if (type == MAP_SHARED && !(fp->f_flag & FWRITE)) {
			maxprot &= ~(unsigned)PROT_WRITE;
			if (prot & PROT_WRITE) {
				releasef(fp);
				return -EACCES;
			}
		}
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr % PAGESIZE != 0 || addr < USERBASE ||
		    !user_range_ok(addr, len)) {
			err = addr % PAGESIZE != 0 ? -EINVAL : -ENOMEM;
			goto out;
		}
		/* With both flags, NOREPLACE wins, as on Linux. */
		if (!(flags & MAP_FIXED_NOREPLACE) &&
		    (err = as_unmap(p->p_as, addr, len)) != 0)
			goto out;
		err = mmap_at(p->p_as, fp, off, va, len, (unsigned)prot,
			      maxprot, (unsigned)flags);
		if (err == -ENOMEM && (flags & MAP_FIXED_NOREPLACE))
			err = -EEXIST;
		goto out;
	}
	/* A hint is taken where it is free (as_map refuses an overlap). */
	err = -ENOMEM;
	if (addr % PAGESIZE == 0 && addr >= USERBASE &&
	    user_range_ok(addr, len) && addr + len <= MMAP_TOP)
		err = mmap_at(p->p_as, fp, off, va, len, (unsigned)prot,
			      maxprot, (unsigned)flags);
	if (err == -ENOMEM) {
		err = as_gap(p->p_as, len, &va);
		if (err == 0)
			err = mmap_at(p->p_as, fp, off, va, len,
				      (unsigned)prot, maxprot,
				      (unsigned)flags);
	}
out:
	if (fp != NULL)
		releasef(fp);
	return err != 0 ? err : (long)va;
}

static long sys_munmap(uint64_t addr, uint64_t len, uint64_t a2, uint64_t a3,
		       uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	if (addr % PAGESIZE != 0 || len == 0 || !user_range_ok(addr, len))
		return -EINVAL;
	return as_unmap(curproc->p_as, addr, len);
}

static long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot,
			 uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a3, (void)a4, (void)a5;
	if (addr % PAGESIZE != 0 || (prot & ~(uint64_t)PROT_MASK) != 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (!user_range_ok(addr, ROUNDUP(len, PAGESIZE)))
		return -ENOMEM;
	return as_setprot(curproc->p_as, addr, len, (unsigned)prot);
}

/*
 * brk(2), the raw call: returns the new break, or the old one if the
 * request cannot be met (Linux's convention; musl checks the result).
 * The heap is an anonymous private segment [p_brkbase, page(p_brk)).
 */
static long sys_brk(uint64_t want, uint64_t a1, uint64_t a2, uint64_t a3,
		    uint64_t a4, uint64_t a5)
{
	proc_t *p = curproc;
	uintptr_t oldend = ROUNDUP(p->p_brk, PAGESIZE);
	uintptr_t newend = ROUNDUP(want, PAGESIZE);

	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	if (want < p->p_brkbase || want >= MMAP_TOP)
		return (long)p->p_brk;
	if (newend > oldend) {
		struct segvn_crargs a = {
			.type = MAP_PRIVATE,
			.prot = PROT_READ | PROT_WRITE,
			.maxprot = PROT_MASK,
		};

		if (as_map(p->p_as, oldend, newend - oldend, segvn_create,
			   &a) != 0)
			return (long)p->p_brk;
	} else if (newend < oldend) {
		if (as_unmap(p->p_as, newend, oldend - newend) != 0)
			return (long)p->p_brk;
	}
	p->p_brk = want;
	return (long)want;
}

static long sys_mincore(uint64_t addr, uint64_t len, uint64_t uvec,
			uint64_t a3, uint64_t a4, uint64_t a5)
{
	size_t npages, done = 0;
	char vec[256];
	int err;

	(void)a3, (void)a4, (void)a5;
	if (addr % PAGESIZE != 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (!user_range_ok(addr, ROUNDUP(len, PAGESIZE)))
		return -ENOMEM;
	npages = ROUNDUP(len, PAGESIZE) / PAGESIZE;
	if (!user_range_ok(uvec, npages))
		return -EFAULT;
	while (done < npages) {
		size_t n = MIN(sizeof(vec), npages - done);

		err = as_incore(curproc->p_as, addr + done * PAGESIZE,
				n * PAGESIZE, vec);
		if (err == 0)
			err = copyout(vec, (char *)uvec + done, n);
		if (err != 0)
			return err;
		done += n;
	}
	return 0;
}

/* ---- processes ---- */

static long sys_fork(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		     uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return proc_fork(curthread->t_regs);
}

static long sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp,
		       uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct execargs *ea = execargs_alloc();
	int err;

	(void)a3, (void)a4, (void)a5;
	if (ea == NULL)
		return -ENOMEM;
	/* Linux would end the other threads first; this kernel does not. */
	if (__atomic_load_n(&curproc->p_nlwp, __ATOMIC_RELAXED) > 1) {
		execargs_free(ea);
		return -EAGAIN;
	}
	err = execargs_user(ea, (const char *)upath, (const uint64_t *)uargv,
			    (const uint64_t *)uenvp);
	if (err == 0)
		err = exec_common(ea, curthread->t_regs);
	execargs_free(ea);
	/* On success the frame is the new program's: rax 0, as on Linux. */
	return err;
}

static long sys_exit(uint64_t status, uint64_t a1, uint64_t a2, uint64_t a3,
		     uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	lwp_exit(); /* returns only in the last thread */
	proc_exit(W_EXITCODE((int)status));
}

static long sys_exit_group(uint64_t status, uint64_t a1, uint64_t a2,
			   uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	proc_exit(W_EXITCODE((int)status));
}

static long sys_clone(uint64_t flags, uint64_t newsp, uint64_t ptid,
		      uint64_t ctid, uint64_t tls, uint64_t a5)
{
	(void)a5;
	return lwp_clone(curthread->t_regs, flags, newsp, ptid, ctid, tls);
}

static long sys_futex(uint64_t uaddr, uint64_t op, uint64_t val,
		      uint64_t timeout, uint64_t a4, uint64_t a5)
{
	(void)a4, (void)a5;
	return lwp_futex(uaddr, op, val, timeout);
}

/* struct rusage: two timevals, then 14 longs (ru_minflt is the 7th). */
struct krusage {
	int64_t ru_utime[2], ru_stime[2];
	int64_t ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt;
	int64_t ru_nswap, ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv;
	int64_t ru_nsignals, ru_nvcsw, ru_nivcsw;
};

static long sys_wait4(uint64_t pid, uint64_t ustatus, uint64_t options,
		      uint64_t urusage, uint64_t a4, uint64_t a5)
{
	uint64_t ru[2] = { 0, 0 };
	int wstat = 0;
	long r;

	(void)a4, (void)a5;
	if ((options & ~(uint64_t)WNOHANG) != 0)
		return -EINVAL;
	if ((int)pid < -1 || (int)pid == 0)
		return -ECHILD; /* no process groups: only -1 and pids */
	/* Linux looks for children before it looks at the pointers. */
	if (!proc_has_child((int)pid))
		return -ECHILD;
	if (ustatus != 0 && !user_range_ok(ustatus, sizeof(int)))
		return -EFAULT;
	if (urusage != 0 && !user_range_ok(urusage, sizeof(struct krusage)))
		return -EFAULT;
	r = proc_wait((int)pid, &wstat, options & WNOHANG, ru);
	if (r > 0 && ustatus != 0 && copyout(&wstat, (void *)ustatus,
					     sizeof(wstat)) != 0)
		return -EFAULT;
	if (r > 0 && urusage != 0) {
		struct krusage kru;

		memset(&kru, 0, sizeof(kru));
		kru.ru_minflt = (int64_t)ru[0];
		kru.ru_majflt = (int64_t)ru[1];
		if (copyout(&kru, (void *)urusage, sizeof(kru)) != 0)
			return -EFAULT;
	}
	return r;
}

static long sys_getpid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		       uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return curproc->p_pid;
}

static long sys_getppid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5)
{
	proc_t *p = curproc;
	int ppid;

	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	spin_lock(&pidlock);
	ppid = p->p_parent->p_pid;
	spin_unlock(&pidlock);
	return ppid;
}

static long sys_gettid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		       uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	if (curthread->t_lwpid != 0)
		return curthread->t_lwpid;
	return curproc->p_pid; /* the first thread's id is the pid */
}

static long sys_arch_prctl(uint64_t code, uint64_t addr, uint64_t a2,
			   uint64_t a3, uint64_t a4, uint64_t a5)
{
	kthread_t *t = curthread;

	(void)a2, (void)a3, (void)a4, (void)a5;
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USERLIMIT)
			return -EPERM; /* not a user address (Linux: EPERM) */
		t->t_fsbase = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return copyout(&t->t_fsbase, (void *)addr, sizeof(uint64_t));
	default:
		return -EINVAL;
	}
}

static long sys_set_tid_address(uint64_t addr, uint64_t a1, uint64_t a2,
				uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	curproc->p_tidaddr = addr;
	curthread->t_cleartid = addr; /* cleared and woken at exit (lwp.c) */
	if (curthread->t_lwpid != 0)
		return curthread->t_lwpid;
	return curproc->p_pid;
}

static long sys_rt_sigprocmask(uint64_t how, uint64_t uset, uint64_t uold,
			       uint64_t size, uint64_t a4, uint64_t a5)
{
	proc_t *p = curproc;
	uint64_t set, old = p->p_sigmask;
	int err;

	(void)a4, (void)a5;
	if (size != sizeof(uint64_t))
		return -EINVAL;
	if (uset != 0) {
		if (how > SIG_SETMASK)
			return -EINVAL;
		if ((err = copyin((const void *)uset, &set, sizeof(set))) != 0)
			return err;
	}
	if (uold != 0 && (err = copyout(&old, (void *)uold, sizeof(old))) != 0)
		return err;
	if (uset != 0) {
		/* SIGKILL (9) and SIGSTOP (19) cannot be blocked. */
		set &= ~((1UL << (9 - 1)) | (1UL << (19 - 1)));
		if (how == SIG_BLOCK)
			p->p_sigmask |= set;
		else if (how == SIG_SETMASK)
			p->p_sigmask = set;
		else
			p->p_sigmask &= ~set;
	}
	return 0;
}

static long sys_getrusage(uint64_t who, uint64_t uru, uint64_t a2,
			  uint64_t a3, uint64_t a4, uint64_t a5)
{
	proc_t *p = curproc;
	kthread_t *t = curthread;
	struct krusage ru;

	(void)a2, (void)a3, (void)a4, (void)a5;
	memset(&ru, 0, sizeof(ru));
	switch ((int64_t)who) {
	case RUSAGE_SELF:
	case RUSAGE_THREAD:
		ru.ru_minflt = (int64_t)t->t_minflt;
		ru.ru_majflt = (int64_t)t->t_majflt;
		break;
	case RUSAGE_CHILDREN:
		spin_lock(&pidlock);
		/* p_cminflt holds the reaped children's (proc_wait). */
		ru.ru_minflt = (int64_t)p->p_cminflt;
		ru.ru_majflt = (int64_t)p->p_cmajflt;
		spin_unlock(&pidlock);
		break;
	default:
		return -EINVAL;
	}
	return copyout(&ru, (void *)uru, sizeof(ru));
}

static long sys_clock_gettime(uint64_t clk, uint64_t uts, uint64_t a2,
			      uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t hz = lapic_tsc_hz(), tsc = rdtsc();
	int64_t ts[2];

	(void)a2, (void)a3, (void)a4, (void)a5;
	if (clk > CLOCK_BOOTTIME || clk == 3)
		return -EINVAL;
	if (hz == 0)
		hz = 1000000000;
	/* Time since boot for every clock: there is no wall clock here. */
	ts[0] = (int64_t)(tsc / hz);
	ts[1] = (int64_t)((tsc % hz) * 1000000000 / hz);
	return copyout(ts, (void *)uts, sizeof(ts));
}

static long sys_sched_yield(uint64_t a0, uint64_t a1, uint64_t a2,
			    uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	yield();
	return 0;
}

#define SYS(nr, fn) [nr] = { #fn, fn }
static const struct sysent {
	const char *name;
	sysfn_t fn;
} sysent[] = {
	SYS(0, sys_read),
	SYS(1, sys_write),
	SYS(2, sys_open),
	SYS(3, sys_close),
	SYS(5, sys_fstat),
	SYS(8, sys_lseek),
	SYS(9, sys_mmap),
	SYS(10, sys_mprotect),
	SYS(11, sys_munmap),
	SYS(12, sys_brk),
	SYS(14, sys_rt_sigprocmask),
	SYS(16, sys_ioctl),
	SYS(17, sys_pread64),
	SYS(18, sys_pwrite64),
	SYS(20, sys_writev),
	SYS(24, sys_sched_yield),
	SYS(27, sys_mincore),
	SYS(39, sys_getpid),
	SYS(57, sys_fork),
	SYS(58, sys_fork), /* vfork: a fork is a correct vfork */
	SYS(59, sys_execve),
	SYS(60, sys_exit),
	SYS(61, sys_wait4),
	SYS(98, sys_getrusage),
	SYS(110, sys_getppid),
	SYS(158, sys_arch_prctl),
	SYS(186, sys_gettid),
	SYS(218, sys_set_tid_address),
	SYS(228, sys_clock_gettime),
	SYS(56, sys_clone),
	SYS(202, sys_futex),
	SYS(231, sys_exit_group),
	SYS(257, sys_openat),
};

/* System calls made, by number (for tests and the benchmark). */
uint64_t syscall_count;

void syscall_handler(struct regs *rp);
void syscall_handler(struct regs *rp)
{
	kthread_t *t = curthread;
	uint64_t nr = rp->r_rax;
	long r = -ENOSYS;

	ASSERT(t->t_regs == rp);
	ASSERT(thread_is_user(t));
	ASSERT(!(read_rflags() & RFLAGS_IF));
	syscall_count++;
	if (nr < ARRAY_SIZE(sysent) && sysent[nr].fn != NULL)
		r = sysent[nr].fn(rp->r_rdi, rp->r_rsi, rp->r_rdx, rp->r_r10,
				  rp->r_r8, rp->r_r9);
	ASSERT(spin_nheld() == 0);
	lwp_checkexit(); /* its process may be ending (lwp.c) */
	/* Back to user code of its hat: loaded, and not lazily (tlb.h). */
	ASSERT(curcpu()->cpu_hat == &curproc->p_as->a_hat ||
	       nr == 59 || nr == 60 || nr == 231);
	ASSERT(!curcpu()->cpu_tlb_lazy);
	rp->r_rax = (uint64_t)r;
	if (rp->r_trapno == T_SYSCALL && nr != 59) {
		/* The ABI's clobbers, which also let sysret take us back. */
		rp->r_rcx = rp->r_rip;
		rp->r_r11 = rp->r_rfl;
	}
}
