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
	(void)addr, (void)err, (void)pf;
	panic("pf_decode: lab 1");
}

int on_trap_arm(on_trap_data_t *otp, unsigned prot)
{
	(void)otp, (void)prot;
	panic("on_trap: lab 1");
}

void no_trap(void)
{
	panic("no_trap: lab 1");
}

void on_trap_trampoline(void)
{
	panic("on_trap_trampoline: lab 1");
}

void trap(struct regs *rp)
{
	bad_trap(rp, 0); /* lab 1: dispatch on rp->r_trapno */
}

/* Reached from cmntrap while its lab 1 part is still a stub. */
void cmntrap_stub(const uint64_t *frame)
{
	panic("cmntrap: lab 1 (vector %lu, rip %#lx)", frame[0], frame[2]);
}
