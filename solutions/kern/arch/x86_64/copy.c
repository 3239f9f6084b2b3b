/*
 * copy.c — copyin(), copyout() and copyinstr(): the only way the kernel
 * touches user memory (uaccess.h).
 *
 * The range is checked first: it must lie below USERLIMIT, so no user
 * pointer can make the kernel read or write its own memory. Then the copy
 * runs under on_trap(). A page fault there is one of two things. Either
 * the page is part of the address space but not loaded yet (demand paging,
 * copy-on-write): pagefault() loads it, exactly as if the user had touched
 * it, and the copy starts over. Or nothing can make the access work: the
 * call fails with EFAULT. on_trap() catches a fault before pagefault()
 * would see it (trap.c), which is why the resolving happens here.
 */
#if LAB >= 5
#include <as.h>
#include <errno.h>
#include <kernel.h>
#include <kstring.h>
#include <trap.h>
#include <uaccess.h>

bool user_range_ok(uintptr_t uaddr, size_t len)
{
	return uaddr < USERLIMIT && len <= USERLIMIT - uaddr;
}

/*
 * memcpy(dst, src, len), one side of which is [ubase, ubase + len) in
 * user space; rw says how the user side is accessed. 0 or -EFAULT.
 */
static int user_copy(void *dst, const void *src, size_t len, uintptr_t ubase,
		     enum seg_rw rw)
{
	on_trap_data_t otd;
	/* Each round loads at least one page; a few more for luck. */
	size_t rounds = len / PAGESIZE + 4;

	if (!user_range_ok(ubase, len))
		return -EFAULT;
	while (rounds-- > 0) {
		if (!on_trap(&otd, OT_DATA_ACCESS)) {
			memcpy(dst, src, len);
			no_trap();
			return 0;
		}
		no_trap();
		if (otd.ot_trapno != T_PGFLT || otd.ot_addr < ubase ||
		    otd.ot_addr - ubase >= len)
			return -EFAULT;
		if (pagefault(otd.ot_addr, pf_type(otd.ot_err), rw, false) != 0)
			return -EFAULT;
	}
	return -EFAULT;
}

int copyin(const void *uaddr, void *kaddr, size_t len)
{
	return user_copy(kaddr, uaddr, len, (uintptr_t)uaddr, S_READ);
}

int copyout(const void *kaddr, void *uaddr, size_t len)
{
	return user_copy(uaddr, kaddr, len, (uintptr_t)uaddr, S_WRITE);
}

/*
 * Copy a NUL-terminated string of at most max bytes (the NUL included)
 * from user space; its length without the NUL in *lenp. 0, -EFAULT, or
 * -ENAMETOOLONG if there is no NUL in max bytes.
 */
int copyinstr(const char *uaddr, char *kaddr, size_t max, size_t *lenp)
{
	uintptr_t u = (uintptr_t)uaddr;
	size_t done = 0;

	while (done < max) {
		/* Up to the end of the page: never touch one we need not. */
		size_t chunk = MIN(max - done, PAGESIZE - ((u + done) % PAGESIZE));
		int err = copyin((const void *)(u + done), kaddr + done, chunk);

		if (err != 0)
			return err;
		for (size_t i = 0; i < chunk; i++) {
			if (kaddr[done + i] == '\0') {
				if (lenp != NULL)
					*lenp = done + i;
				return 0;
			}
		}
		done += chunk;
	}
	return -ENAMETOOLONG;
}
#endif /* LAB >= 5 */
