/*
 * errno.h — error numbers, with Linux's values (man 2 uses these).
 * Kernel functions return 0 or a negated errno.
 */
#ifndef ERRNO_H
#define ERRNO_H

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define ENOSPC 28
#define ENOSYS 38

#endif /* ERRNO_H */
