/*
 * uaccess.h — moving bytes between the kernel and user space (copy.c).
 *
 * System calls validate every user pointer and length before they do any
 * work, and then touch user memory only through these, which turn a bad
 * address into -EFAULT instead of a kernel fault. None may be called with
 * a spinlock held: a copy may fault a page in.
 */
#ifndef UACCESS_H
#define UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Does [uaddr, uaddr + len) lie entirely in user space? */
bool user_range_ok(uintptr_t uaddr, size_t len);
int copyin(const void *uaddr, void *kaddr, size_t len);
int copyout(const void *kaddr, void *uaddr, size_t len);
int copyinstr(const char *uaddr, char *kaddr, size_t max, size_t *lenp);

#endif /* UACCESS_H */
