/*
 * vm_fault.c — pagefault(), the machine-independent side of a #PF.
 *
 * With no address spaces yet, no page fault can be resolved: the expected
 * ones were already taken by on_trap() in trap(), and any other one is a
 * bad trap. Lab 5 sends faults on to as_fault() here.
 */
#include <kernel.h>
#include <trap.h>

bool pagefault(const struct pf_info *pf, struct regs *rp)
{
	(void)pf, (void)rp;
	return false;
}
