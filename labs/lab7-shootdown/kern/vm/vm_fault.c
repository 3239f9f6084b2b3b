/*
 * vm_fault.c — pagefault(), the machine-independent side of a fault
 * (vm_fault.h).
 *
 * Before lab 5 no page fault can be resolved: the expected ones were
 * already taken by on_trap() in trap(), and any other one is a bad trap
 * or the end of a ring-3 test run. From lab 5 on, a fault at a user
 * address goes to the running process's address space (as_fault()), and
 * is counted for getrusage(): a major fault if the page had to be read
 * from the backing store (the driver counts those), else a minor one.
 */
#include <kenv.h>
#include <spinlock.h>
#include <vm_fault.h>
#include <as.h>
#include <proc.h>
#include <thread.h>
#include <vmstat.h>

int pagefault(uintptr_t addr, enum fault_type type, enum seg_rw rw,
	      bool iskernel)
{
	ASSERT(type == F_INVAL || type == F_PROT);
	ASSERT(rw == S_READ || rw == S_WRITE || rw == S_EXEC);
	ASSERT(spin_nheld() == 0);
	{
		kthread_t *t = curthread;
		struct as *as;
		uint64_t majflt;
		faultcode_t fc;

		/* The kernel's own addresses never fault their way in. */
		if (t == NULL || addr >= USERLIMIT)
			return -1;
		as = t->t_procp->p_as;
		if (as == NULL)
			return -1;
		majflt = t->t_majflt;
		VMINFO_ADD(as_fault);
		fc = as_fault(as, addr, 1, type, rw);
		if (fc != FC_OK) {
			t->t_lastfc = fc;
			if (fc == FC_PROT)
				VMINFO_ADD(prot_fault);
			else if (fc == FC_NOMAP)
				VMINFO_ADD(nomap_fault);
			return -1;
		}
		if (t->t_majflt == majflt)
			t->t_minflt++;
		else
			VMINFO_ADD(maj_fault);
		(void)iskernel;
		return 0;
	}
}
