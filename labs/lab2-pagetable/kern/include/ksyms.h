/*
 * ksyms.h — kernel symbol lookup and stack backtraces.
 *
 * The build links the kernel twice: the first link's text symbols (from nm)
 * become a sorted table in .ksyms, which the second link includes. The table
 * sits after the text, so no text address moves between the two links; the
 * build verifies that. panic() uses it to print function+offset.
 */
#ifndef KSYMS_H
#define KSYMS_H

#include <stdint.h>
#include <stddef.h>

/*
 * Find the function containing addr. Returns its name and sets *off to
 * addr minus the function's start, or returns NULL if addr is not in text.
 */
const char *ksym_lookup(uintptr_t addr, uintptr_t *off);

/* The address of a function by name, or 0. */
uintptr_t ksym_addr(const char *name);

/*
 * Walk the frame-pointer chain starting at frame pointer fp and store up to
 * max return addresses in pcs. Returns how many were stored. Stops at a
 * NULL, misaligned or out-of-stack frame pointer.
 */
int backtrace_from(uintptr_t fp, uintptr_t *pcs, int max);

/* Print a backtrace starting at frame pointer fp, one frame per line. */
void backtrace_print(uintptr_t fp);
/* The same, each line printed with print (panic() passes kreport). */
void backtrace_report(uintptr_t fp, int (*print)(const char *, ...));

#endif /* KSYMS_H */
