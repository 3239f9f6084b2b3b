/*
 * vnode.h — files as the VM system sees them (illumos's vnode and VOP_*).
 *
 * A vnode is a file the kernel knows: its size, its operations, and the
 * pages of it that are in memory. Those pages live in the page cache,
 * each under its <vnode, offset> name in the page hash (page.h), and
 * everything that reads or writes the file goes through them: read() and
 * write() copy to and from cached pages, and a mapping (seg_vn) maps the
 * very same pages. A file system is a cache over a backing store; here the
 * store is the initrd, and the ramfs (ramfs.c) is its driver: a page that
 * is not cached is read from the initrd by VOP_GETPAGE, a major fault.
 *
 * Locking: v_lock (rank LR_VNODE) protects v_size and v_npages. The pages'
 * identities are the page hash's (page.h). v_ops, v_type and the ramfs's
 * data pointer are set at creation and read-only after.
 */
#ifndef VNODE_H
#define VNODE_H

#include <spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct page;
struct as;

typedef enum vtype { VNON, VREG, VDIR, VCHR } vtype_t;

typedef struct vnode {
	const struct vnodeops *v_ops;
	vtype_t v_type;
	spinlock_t v_lock;
	uint64_t v_size;        /* bytes; v_lock */
	uint64_t v_npages;      /* pages of it in the page cache; v_lock */
	const char *v_path;     /* its name, for messages; set once */
	void *v_data;           /* the file system's own */
} vnode_t;

/*
 * The operations. Offsets and lengths are in bytes. uio-free: read and
 * write move len bytes between the file at off and buf, which is a user
 * address when user is true (copyin/copyout) and a kernel one otherwise.
 */
struct vnodeops {
	const char *vop_name;
	/* Bytes moved (>= 0, short at end of file) or -errno. */
	long (*vop_read)(vnode_t *vp, uint64_t off, void *buf, size_t len,
			 bool user);
	long (*vop_write)(vnode_t *vp, uint64_t off, const void *buf,
			  size_t len, bool user);
	/*
	 * The cached page of vp holding off (page-aligned), found in the page
	 * hash or read in; *major is set when it had to be read. 0, -EFAULT
	 * beyond the end of the file, or -ENOMEM.
	 */
	int (*vop_getpage)(vnode_t *vp, uint64_t off, struct page **ppp,
			   bool *major);
	/*
	 * Map [off, off + len) of vp at *addrp in as: the file system's part
	 * of mmap() (seg_vn for regular files). 0 or -errno.
	 */
	int (*vop_map)(vnode_t *vp, uint64_t off, struct as *as,
		       uintptr_t *addrp, size_t len, unsigned prot,
		       unsigned maxprot, unsigned flags);
	/* ioctl(); -ENOTTY for anything the file does not know. */
	long (*vop_ioctl)(vnode_t *vp, unsigned long cmd, uintptr_t arg);
};

#define VOP_READ(vp, off, buf, len, user) \
	((vp)->v_ops->vop_read((vp), (off), (buf), (len), (user)))
#define VOP_WRITE(vp, off, buf, len, user) \
	((vp)->v_ops->vop_write((vp), (off), (buf), (len), (user)))
#define VOP_GETPAGE(vp, off, ppp, major) \
	((vp)->v_ops->vop_getpage((vp), (off), (ppp), (major)))
#define VOP_MAP(vp, off, as, addrp, len, prot, maxprot, flags)             \
	((vp)->v_ops->vop_map((vp), (off), (as), (addrp), (len), (prot),  \
			      (maxprot), (flags)))
#define VOP_IOCTL(vp, cmd, arg) ((vp)->v_ops->vop_ioctl((vp), (cmd), (arg)))

/* The ramfs over the initrd: build it from the archive (once, at boot). */
void ramfs_init(void);
/* The vnode of an absolute or relative path in the ramfs, or NULL. */
vnode_t *ramfs_lookup(const char *path);
/* How many files the ramfs holds. */
int ramfs_nfiles(void);

/* The console: descriptors 0, 1 and 2 of every process. */
extern vnode_t console_vnode;

struct proc;
/*
 * The console prints whole lines: inside a kernel test, as that test's
 * KTAP diagnostics ("    # ..."), so a program's output shows where it
 * ran and can never pass for a test result. console_flush() ends p's
 * unfinished line; console_printf() prints one line of the kernel's own
 * about a process (its fatal fault) the same way.
 */
void console_flush(struct proc *p);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Linux's TIOCGWINSZ, the one ioctl the console answers. */
#define TIOCGWINSZ 0x5413

#endif /* VNODE_H */
