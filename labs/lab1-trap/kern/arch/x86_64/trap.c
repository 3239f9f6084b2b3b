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
	(void)err;
	panic("pf_type: lab 1");
}

/* S_EXEC for a fetch (I), else S_WRITE for a write (W), else S_READ. */
enum seg_rw pf_rw(uint64_t err)
{
	(void)err;
	panic("pf_rw: lab 1");
}

/*
 * Push otp on this CPU's chain, protecting the kinds in prot (OT_*, not
 * 0); returns 0, so that on_trap() goes on to setjmp. otp must not be
 * armed already.
 */
int on_trap_arm(on_trap_data_t *otp, unsigned prot)
{
	(void)otp, (void)prot;
	panic("on_trap: lab 1");
}

/* Pop this CPU's innermost region, if there is one. */
void no_trap(void)
{
	panic("no_trap: lab 1");
}

/*
 * Reached through iretq after trap() caught a trap in this CPU's
 * innermost region: longjmp to its on_trap(). Never returns.
 */
void on_trap_trampoline(void)
{
	panic("on_trap_trampoline: lab 1");
}

/*
 * Dispatch one trap or interrupt (see the design notes above). Returns
 * when *rp may be resumed; panics with the BAD TRAP banner otherwise.
 */
void trap(struct regs *rp)
{
	bad_trap(rp, 0); /* lab 1: dispatch on rp->r_trapno */
}

/* Reached from cmntrap while its lab 1 part is still a stub. */
void cmntrap_stub(const uint64_t *frame)
{
	panic("cmntrap: lab 1 (vector %lu, rip %#lx)", frame[0], frame[2]);
}
