/*
 * vm_fault.h — the machine-independent view of a page fault: what kind of
 * fault, what kind of access, and pagefault(), which every architecture's
 * trap() calls with them (illumos's <vm/seg_enum.h> and pagefault()).
 *
 *	entry.S -> trap() (arch/x86_64/trap.c: reads CR2, decodes the
 *	           error code) -> pagefault() (vm/vm_fault.c) -> as_fault()
 *	           (lab 5) -> the segment driver -> the HAT
 *
 * The fault goes down once: nothing below trap() knows about x86 error
 * codes, and trap() knows nothing about address spaces.
 */
#ifndef VM_FAULT_H
#define VM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* Why the access failed. */
enum fault_type {
	F_INVAL,  /* the page is not mapped */
	F_PROT,   /* mapped, but the access broke its protection */
};

/* What the access was. */
enum seg_rw {
	S_READ,
	S_WRITE,
	S_EXEC,
};

/*
 * Resolve a fault at addr of the given type and access, made by the
 * kernel (iskernel) or by user code. Returns 0 if the fault was handled
 * and the access can be retried, -1 if not, in which case the caller
 * decides: a user fault becomes the user's problem, a kernel one is a bad
 * trap. Until address spaces exist (lab 5) no fault can be handled.
 * Called with no spinlock held: resolving a fault may allocate memory.
 */
int pagefault(uintptr_t addr, enum fault_type type, enum seg_rw rw,
	      bool iskernel);

#endif /* VM_FAULT_H */
