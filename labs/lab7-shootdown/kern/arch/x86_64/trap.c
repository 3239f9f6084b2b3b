/*
 * trap.c — trap(): where every x86-64 trap and interrupt lands in C.
 *
 * Design (read this before writing lab 1):
 *
 * 1. cmntrap hands trap() a struct regs: the interrupted context, complete,
 *    with interrupts off (every gate is an interrupt gate) and the kernel's
 *    %gs loaded. trap() dispatches on rp->r_trapno. Whatever it changes in
 *    *rp is what iretq restores, so a handler can resume anywhere (on_trap
 *    does).
 *
 * 2. Page faults. CR2 holds the faulting address only until the next page
 *    fault, so trap() reads it before anything else can fault. The error
 *    code says why the access failed (trap.h, PF_ERR_*); pf_type() and
 *    pf_rw() put it in illumos's machine-independent terms: F_INVAL (not
 *    present) or F_PROT (present, wrong permission); S_READ, S_WRITE or
 *    S_EXEC. Whether the kernel made the access is the trapped context's
 *    privilege level (CS), as in illumos. Then the fault goes down, once:
 *    pagefault(addr, type, rw, iskernel), which knows nothing of x86. A
 *    reserved bit set in a paging entry (PF_ERR_RSVD) means a corrupt page
 *    table: nothing below can resolve that, so it is a bad trap at once.
 *
 * 3. Protected regions. If this CPU has an on_trap() region armed that
 *    protects this kind of trap, trap() records the trap in it and makes
 *    iretq "return" into on_trap_trampoline(), which longjmps to the
 *    on_trap() call. Going out through iretq, not a longjmp from here,
 *    restores RFLAGS, so the caller gets its interrupt flag back. The
 *    chain of regions is per CPU (struct cpu's cpu_onfault): two CPUs
 *    each inside their own region must never see each other's.
 *
 * 4. Interrupts count in intr_count[]; the LAPIC timer ticks and is
 *    acknowledged with an EOI, or no further interrupt is delivered; a
 *    spurious interrupt is counted and gets no EOI (the APIC did not set
 *    an in-service bit for it).
 *
 * 5. A trap from ring 3 that nothing resolves goes to the handler that the
 *    code which entered ring 3 registered (usertrap_register()). Anything
 *    else is a kernel bug: print the registers and panic with the banner
 *    "BAD TRAP: type=<hex> (<name>)", as illumos does.
 */
#include <cpu.h>
#include <kernel.h>
#include <lapic.h>
#include <trap.h>
#include <x86.h>

#define USERMODE(cs) (((cs) & 3) == 3)

static void bad_trap(struct regs *rp, uint64_t addr) NORETURN;

static void bad_trap(struct regs *rp, uint64_t addr)
{
	regs_print(rp);
	panic("BAD TRAP: type=%lx (%s) rp=%p addr=%#lx", rp->r_trapno,
	      trap_name(rp->r_trapno), (void *)rp, addr);
}

/* F_PROT if the page was present (P set), else F_INVAL. */
enum fault_type pf_type(uint64_t err)
{
	return (err & PF_ERR_P) ? F_PROT : F_INVAL;
}

/* S_EXEC for a fetch (I), else S_WRITE for a write (W), else S_READ. */
enum seg_rw pf_rw(uint64_t err)
{
	if (err & PF_ERR_I)
		return S_EXEC;
	return (err & PF_ERR_W) ? S_WRITE : S_READ;
}

/*
 * Push otp on this CPU's chain, protecting the kinds in prot (OT_*, not
 * 0); returns 0, so that on_trap() goes on to setjmp. otp must not be
 * armed already.
 */
int on_trap_arm(on_trap_data_t *otp, unsigned prot)
{
	struct cpu *c = curcpu();

	ASSERT(otp != NULL && otp != c->cpu_onfault);
	ASSERT(prot != 0 && (prot & ~OT_ANY) == 0);
	otp->ot_prot = (unsigned short)prot;
	otp->ot_trap = 0;
	otp->ot_trapno = otp->ot_err = otp->ot_addr = otp->ot_rip = 0;
	otp->ot_prev = c->cpu_onfault;
	c->cpu_onfault = otp;
	return 0;
}

/* Pop this CPU's innermost region, if there is one. */
void no_trap(void)
{
	struct cpu *c = curcpu();

	if (c->cpu_onfault != NULL)
		c->cpu_onfault = c->cpu_onfault->ot_prev;
}

/*
 * Reached through iretq after trap() caught a trap in this CPU's
 * innermost region: longjmp to its on_trap(). Never returns.
 */
void on_trap_trampoline(void)
{
	on_trap_data_t *otp = curcpu()->cpu_onfault;

	ASSERT(otp != NULL && otp->ot_trap != 0);
	longjmp(&otp->ot_jmpbuf);
}

/*
 * If this CPU's armed region protects this kind of kernel trap, record it
 * and send iretq to the trampoline; returns false if the trap is not for
 * us.
 */
static bool on_trap_catch(struct regs *rp, unsigned kind, uint64_t addr)
{
	on_trap_data_t *otp = curcpu()->cpu_onfault;

	if (otp == NULL || USERMODE(rp->r_cs) || !(otp->ot_prot & kind))
		return false;
	otp->ot_trap = (unsigned short)kind;
	otp->ot_trapno = rp->r_trapno;
	otp->ot_err = rp->r_err;
	otp->ot_addr = addr;
	otp->ot_rip = rp->r_rip;
	rp->r_rip = (uint64_t)on_trap_trampoline;
	return true;
}

/* A #PF that no region caught: down to pagefault(), once. */
static bool trap_pagefault(struct regs *rp, uint64_t addr)
{
	if (rp->r_err & PF_ERR_RSVD)
		return false; /* a corrupt page table: a bad trap */
	return pagefault(addr, pf_type(rp->r_err), pf_rw(rp->r_err),
			 !USERMODE(rp->r_cs)) == 0;
}

/* Exceptions: returns true when handled, false for a bad trap. */
static bool trap_exception(struct regs *rp, uint64_t addr)
{
	switch (rp->r_trapno) {
	case T_PGFLT:
		return on_trap_catch(rp, OT_DATA_ACCESS, addr) ||
		       trap_pagefault(rp, addr);
	case T_GPFLT:
		return on_trap_catch(rp, OT_DATA_ACCESS, 0);
	case T_ZERODIV:
		return on_trap_catch(rp, OT_ZERODIV, 0);
	case T_ILLINST:
		return on_trap_catch(rp, OT_ILLINST, 0);
	case T_BPTFLT:
		/* int3 is a trap: r_rip already points past it. */
		intr_dispatch(rp);
		return true;
	default:
		return false;
	}
}

/* Interrupts (vector 32 and up): returns true when handled. */
static bool trap_interrupt(struct regs *rp)
{
	switch (rp->r_trapno) {
	case T_LAPIC_TIMER:
		lapic_tick();
		lapic_eoi();
		return true;
	case T_SPURIOUS:
		return true;
	default:
		return intr_dispatch(rp);
	}
}

/*
 * Dispatch one trap or interrupt (see the design notes above). Returns
 * when *rp may be resumed; panics with the BAD TRAP banner otherwise.
 */
void trap(struct regs *rp)
{
	/* First, before anything can fault again and overwrite it. */
	uint64_t addr = rp->r_trapno == T_PGFLT ? read_cr2() : 0;

	ASSERT(rp->r_trapno < NVECTORS);
	intr_count[rp->r_trapno]++;
	if (rp->r_trapno >= T_FIRST_INTR) {
		if (trap_interrupt(rp))
			return;
	} else if (trap_exception(rp, addr)) {
		return;
	}
	if (USERMODE(rp->r_cs) && usertrap(rp, addr))
		return;
	bad_trap(rp, addr);
}

