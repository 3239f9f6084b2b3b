/*
 * vm_fault.c — pagefault(), the machine-independent side of a fault
 * (vm_fault.h).
 *
 * With no address spaces yet, no page fault can be resolved: the expected
 * ones were already taken by on_trap() in trap(), and any other one is a
 * bad trap or the end of a ring-3 test run. Lab 5 sends faults on to
 * as_fault() here.
 */
#include <kenv.h>
#include <spinlock.h>
#include <vm_fault.h>

int pagefault(uintptr_t addr, enum fault_type type, enum seg_rw rw,
	      bool iskernel)
{
	ASSERT(type == F_INVAL || type == F_PROT);
	ASSERT(rw == S_READ || rw == S_WRITE || rw == S_EXEC);
	ASSERT(spin_nheld() == 0);
	(void)addr, (void)iskernel;
	return -1;
}
