/*
 * trap.c — trap(): where every trap and interrupt lands in C.
 *
 * Design (read this before writing lab 1):
 *
 * 1. cmntrap hands trap() a struct regs: the interrupted context, complete.
 *    trap() dispatches on rp->r_trapno. Whatever it changes in *rp is what
 *    iretq restores, so a handler can resume anywhere (on_trap does).
 *
 * 2. Page faults. CR2 holds the faulting address only until the next page
 *    fault, so trap() reads it before anything else can fault. The error
 *    code says why the access failed (trap.h, PF_ERR_*); pf_decode() turns
 *    it into illumos's terms: F_INVAL (not present) or F_PROT (present,
 *    wrong permission); S_READ, S_WRITE or S_EXEC; user or kernel.
 *
 * 3. Protected regions. If an on_trap() region is armed and protects this
 *    kind of trap, trap() records the trap in it and makes iretq "return"
 *    into on_trap_trampoline(), which longjmps to the on_trap() call. Going
 *    out through iretq, not a longjmp from here, restores RFLAGS, so the
 *    caller gets its interrupt flag back.
 *
 * 4. Interrupts count in intr_count[]; the LAPIC timer ticks and is
 *    acknowledged with an EOI, or no further interrupt is delivered; a
 *    spurious interrupt is counted and gets no EOI (the APIC did not set
 *    an in-service bit for it).
 *
 * 5. A trap from ring 3 that nothing handles goes to usertrap(). Anything
 *    else is a kernel bug: print the registers and panic with the banner
 *    "BAD TRAP: type=<hex> (<name>)", as illumos does.
 */
#include <kernel.h>
#include <lapic.h>
#include <trap.h>
#include <usermode.h>
#include <x86.h>

#define USERMODE(cs) (((cs) & 3) == 3)

on_trap_data_t *curthread_onfault;

static void bad_trap(struct regs *rp, uint64_t addr) NORETURN;

static void bad_trap(struct regs *rp, uint64_t addr)
{
	regs_print(rp);
	panic("BAD TRAP: type=%lx (%s) rp=%p addr=%#lx", rp->r_trapno,
	      trap_name(rp->r_trapno), (void *)rp, addr);
}

void pf_decode(uint64_t addr, uint64_t err, struct pf_info *pf)
{
	pf->addr = addr;
	pf->type = (err & PF_ERR_P) ? F_PROT : F_INVAL;
	if (err & PF_ERR_I)
		pf->rw = S_EXEC;
	else if (err & PF_ERR_W)
		pf->rw = S_WRITE;
	else
		pf->rw = S_READ;
	pf->user = (err & PF_ERR_U) != 0;
	pf->rsvd = (err & PF_ERR_RSVD) != 0;
}

int on_trap_arm(on_trap_data_t *otp, unsigned prot)
{
	otp->ot_prot = (unsigned short)prot;
	otp->ot_trap = 0;
	otp->ot_trapno = otp->ot_err = otp->ot_addr = otp->ot_rip = 0;
	otp->ot_prev = curthread_onfault;
	curthread_onfault = otp;
	return 0;
}

void no_trap(void)
{
	if (curthread_onfault != NULL)
		curthread_onfault = curthread_onfault->ot_prev;
}

void on_trap_trampoline(void)
{
	longjmp(&curthread_onfault->ot_jmpbuf);
}

/*
 * If the armed region protects this kind of trap, record it and send iretq
 * to the trampoline; returns false if the trap is not for us.
 */
static bool on_trap_catch(struct regs *rp, unsigned kind, uint64_t addr)
{
	on_trap_data_t *otp = curthread_onfault;

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

/* Exceptions: returns true when handled, false for a bad trap. */
static bool trap_exception(struct regs *rp, uint64_t cr2)
{
	struct pf_info pf;

	switch (rp->r_trapno) {
	case T_PGFLT:
		if (on_trap_catch(rp, OT_DATA_ACCESS, cr2))
			return true;
		pf_decode(cr2, rp->r_err, &pf);
		return pagefault(pf.addr, pf.type, pf.rw, !pf.user) == 0;
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

void trap(struct regs *rp)
{
	/* First, before anything can fault again and overwrite it. */
	uint64_t cr2 = rp->r_trapno == T_PGFLT ? read_cr2() : 0;

	intr_count[rp->r_trapno & (NVECTORS - 1)]++;
	if (rp->r_trapno >= T_FIRST_INTR) {
		if (trap_interrupt(rp))
			return;
	} else if (trap_exception(rp, cr2)) {
		return;
	}
	if (USERMODE(rp->r_cs) && usertrap(rp, cr2))
		return;
	bad_trap(rp, cr2);
}
