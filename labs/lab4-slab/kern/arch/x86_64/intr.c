/*
 * intr.c — what trap() dispatches to: handlers registered on vectors, the
 * handler of unresolved ring-3 traps, this CPU's on_trap() chain; and
 * per-vector counts, trap names, and the register dump that BAD TRAP
 * prints.
 */
#include <cpu.h>
#include <kernel.h>
#include <monitor.h>
#include <trap.h>
#include <x86.h>

uint64_t intr_count[NVECTORS];
static intr_handler_t handlers[NVECTORS];
static usertrap_handler_t usertrap_handler;

/* Make fn the handler of vector; panics on a vector outside the IDT. */
void intr_register(int vector, intr_handler_t fn)
{
	if (vector < 0 || vector >= NVECTORS)
		panic("intr_register: bad vector %d", vector);
	handlers[vector] = fn;
}

/* Call rp->r_trapno's handler; false if none is registered. */
bool intr_dispatch(struct regs *rp)
{
	intr_handler_t fn;

	ASSERT(rp->r_trapno < NVECTORS);
	fn = handlers[rp->r_trapno];

	if (fn == NULL)
		return false;
	fn(rp);
	return true;
}

usertrap_handler_t usertrap_register(usertrap_handler_t fn)
{
	usertrap_handler_t old = usertrap_handler;

	usertrap_handler = fn;
	return old;
}

/*
 * Give an unresolved ring-3 trap to the registered handler; false if
 * there is none or it declines.
 */
bool usertrap(struct regs *rp, uint64_t addr)
{
	ASSERT((rp->r_cs & 3) == 3);
	return usertrap_handler != NULL && usertrap_handler(rp, addr);
}

on_trap_data_t *on_trap_current(void)
{
	return curcpu()->cpu_onfault;
}

static const char *const exc_names[32] = {
	[T_ZERODIV] = "#de Divide error",
	[T_SGLSTP] = "#db Debug",
	[T_NMIFLT] = "NMI",
	[T_BPTFLT] = "#bp Breakpoint",
	[T_OVFLW] = "#of Overflow",
	[T_BOUNDFLT] = "#br BOUND range exceeded",
	[T_ILLINST] = "#ud Invalid opcode",
	[T_NOEXTFLT] = "#nm Device not available",
	[T_DBLFLT] = "#df Double fault",
	[T_EXTOVRFLT] = "Coprocessor segment overrun",
	[T_TSSFLT] = "#ts Invalid TSS",
	[T_SEGFLT] = "#np Segment not present",
	[T_STKFLT] = "#ss Stack fault",
	[T_GPFLT] = "#gp General protection",
	[T_PGFLT] = "#pf Page fault",
	[T_EXTERRFLT] = "#mf x87 floating-point error",
	[T_ALIGNMENT] = "#ac Alignment check",
	[T_MCE] = "#mc Machine check",
	[T_SIMDFPE] = "#xm SIMD floating-point",
	[T_VIRTFLT] = "#ve Virtualization",
	[T_CPFLT] = "#cp Control protection",
};

const char *trap_name(uint64_t trapno)
{
	if (trapno < 32)
		return exc_names[trapno] ? exc_names[trapno] : "reserved";
	switch (trapno) {
	case T_SYSCALL:
		return "system call";
	case T_TEST:
		return "test vector";
	case T_LAPIC_TIMER:
		return "LAPIC timer";
	case T_SPURIOUS:
		return "spurious";
	default:
		return trapno < NVECTORS ? "interrupt" : "bad vector";
	}
}

void regs_print(const struct regs *rp)
{
	kprintf("rax %016lx rbx %016lx rcx %016lx\n", rp->r_rax, rp->r_rbx,
		rp->r_rcx);
	kprintf("rdx %016lx rsi %016lx rdi %016lx\n", rp->r_rdx, rp->r_rsi,
		rp->r_rdi);
	kprintf("rbp %016lx r8  %016lx r9  %016lx\n", rp->r_rbp, rp->r_r8,
		rp->r_r9);
	kprintf("r10 %016lx r11 %016lx r12 %016lx\n", rp->r_r10, rp->r_r11,
		rp->r_r12);
	kprintf("r13 %016lx r14 %016lx r15 %016lx\n", rp->r_r13, rp->r_r14,
		rp->r_r15);
	kprintf("trp %016lx err %016lx rip %016lx\n", rp->r_trapno, rp->r_err,
		rp->r_rip);
	kprintf("cs  %016lx rfl %016lx rsp %016lx\n", rp->r_cs, rp->r_rfl,
		rp->r_rsp);
	kprintf("ss  %016lx cr2 %016lx cr3 %016lx\n", rp->r_ss, read_cr2(),
		read_cr3());
}

MONCMD(intrstat, "", "how many times each vector has been taken")
{
	(void)argc, (void)argv;
	kprintf("  vector  name                          count\n");
	for (int v = 0; v < NVECTORS; v++)
		if (intr_count[v] != 0)
			kprintf("  %#6x  %-28s %6lu\n", v, trap_name((uint64_t)v),
				intr_count[v]);
	return 0;
}
