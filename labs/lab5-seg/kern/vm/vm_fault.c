/*
 * vm_fault.c — pagefault(), the machine-independent side of a #PF.
 *
 * With no address spaces yet, no page fault can be resolved: the expected
 * ones were already taken by on_trap() in trap(), and any other one is a
 * bad trap. Lab 5 sends faults on to as_fault() here.
 */
#include <kernel.h>
#include <trap.h>

int pagefault(uint64_t addr, enum fault_type type, enum seg_rw rw,
	      bool iskernel)
{
	(void)addr, (void)type, (void)rw, (void)iskernel;
	return -1;
}
