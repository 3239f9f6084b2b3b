/*
 * trap_hidden_test.c — lab 1 tests that run only in the instructor's
 * grading. They check the same layer from angles the public tests leave
 * open, so code written to the public tests alone is caught.
 */
#include <kernel.h>
#include <kstring.h>
#include <ktest.h>
#include <lapic.h>
#include <spinlock.h>
#include <testmap.h>
#include <trap.h>
#include <usermode.h>
#include <x86.h>

#define PROBE_VA (TESTMAP_BASE + 0x60000) /* kept unmapped */

static volatile uint64_t zero, quotient;
static on_trap_data_t inner_seen;

/* Not 1 / zero: gcc turns an unsigned 1 / x into x == 1, with no divide. */
static void divide_by_zero(void)
{
	quotient = 100 / zero;
}

/* Inside an OT_DATA_ACCESS region, an inner OT_ZERODIV region catches #DE. */
static void nested_region(void)
{
	on_trap_data_t inner;

	if (!on_trap(&inner, OT_ZERODIV))
		divide_by_zero();
	no_trap();
	inner_seen = inner;
	(void)*(volatile uint64_t *)(TESTMAP_BASE + 0x50000); /* unmapped */
}

/*
 * Regions nest: the inner one catches #DE and is popped by no_trap(), then
 * the outer one catches a #PF. Fails if no_trap() forgets the previous
 * region or trap() consults the wrong one.
 */
KTEST(trap, nested_on_trap)
{
	on_trap_data_t outer;

	testmap_unmap(TESTMAP_BASE + 0x50000);
	if (!on_trap(&outer, OT_DATA_ACCESS))
		nested_region();
	no_trap();
	EXPECT_EQ(inner_seen.ot_trap, OT_ZERODIV);
	EXPECT_EQ(inner_seen.ot_trapno, (uint64_t)T_ZERODIV);
	EXPECT_EQ(outer.ot_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(outer.ot_addr, TESTMAP_BASE + 0x50000);
	EXPECT_TRUE(on_trap_current() == NULL);
}

/* Ring-3 code: write to its own code page, which is read-only. */
extern const char user_write_code[], user_write_code_end[];
__asm__(".pushsection .rodata\n"
	"user_write_code:\n\t"
	"leaq user_write_code(%rip), %rax\n\t"
	"movq $0, (%rax)\n\t"
	"user_write_code_end:\n"
	".popsection");

/* A ring-3 write to a read-only user page: error code P|W|U, CR2 exact. */
KTEST(trap, pf_user_write_ro)
{
	struct usermode_result res;

	usermode_run(user_write_code, user_write_code_end - user_write_code,
		     &res);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(res.end.r_err, (uint64_t)(PF_ERR_P | PF_ERR_W | PF_ERR_U));
	EXPECT_EQ(res.addr, USER_CODE_VA);
}

/*
 * What trap() hands a handler, seen from assembly: %rsp at its first
 * instruction and RFLAGS. Called through intr_dispatch() like any
 * handler, so "call trap" must have been made with %rsp 16-aligned for
 * %rsp to be 8 mod 16 here.
 */
void trap_abi_probe(struct regs *rp);
uint64_t trap_abi_rsp, trap_abi_rfl;
__asm__(".text\n"
	".globl trap_abi_probe\n"
	"trap_abi_probe:\n\t"
	"movq %rsp, trap_abi_rsp(%rip)\n\t"
	"pushfq\n\t"
	"popq trap_abi_rfl(%rip)\n\t"
	"ret\n");

/*
 * The C code behind cmntrap may assume the System V ABI: DF clear and
 * %rsp 16-aligned at every call. int $0x81 is raised with DF set, from
 * both stack parities. Fails if cmntrap forgets the cld (bug
 * entry-no-cld) or pads the stack before "call trap" (bug
 * entry-misaligned-call), or if the way out does not give the
 * interrupted code its own DF back.
 */
KTEST(trap, entry_abi)
{
	intr_register(T_TEST, trap_abi_probe);
	for (int pad = 0; pad < 2; pad++) {
		uint64_t after;

		trap_abi_rsp = trap_abi_rfl = 0;
		__asm__ volatile("testl %1, %1\n\t"
				 "jz 1f\n\t"
				 "subq $8, %%rsp\n"
				 "1:\n\t"
				 "std\n\t"
				 "int $0x81\n\t"
				 "pushfq\n\t"
				 "popq %0\n\t"
				 "cld\n\t"
				 "testl %1, %1\n\t"
				 "jz 2f\n\t"
				 "addq $8, %%rsp\n"
				 "2:"
				 : "=&r"(after)
				 : "r"(pad)
				 : "memory", "cc");
		EXPECT_NE(trap_abi_rsp, 0UL);
		EXPECT_EQ(trap_abi_rsp % 16, 8UL);
		EXPECT_EQ(trap_abi_rfl & RFLAGS_DF, 0UL);
		EXPECT_EQ(after & RFLAGS_DF, (uint64_t)RFLAGS_DF);
	}
	intr_register(T_TEST, NULL);
}

/*
 * A region's life: no_trap() with none armed does nothing; a region that
 * caught nothing reports nothing; a region that caught a trap is still
 * the armed one in its handler branch, until its no_trap(); armed again,
 * it forgets the last catch. Fails if no_trap() follows a NULL chain
 * (bug no-trap-no-null-check), if on_trap_arm() leaves old results
 * (arm-keeps-ot-trap, arm-keeps-old-results), or if the catch disarms
 * the region itself (trampoline-pops-region).
 */
KTEST(trap, on_trap_lifecycle)
{
	on_trap_data_t otd;
	on_trap_data_t *volatile armed = NULL;

	no_trap();
	EXPECT_TRUE(on_trap_current() == NULL);

	memset(&otd, 0xa5, sizeof(otd));
	if (!on_trap(&otd, OT_DATA_ACCESS))
		quotient = 0;
	no_trap();
	EXPECT_EQ(otd.ot_trap, 0);
	EXPECT_EQ(otd.ot_trapno, 0UL);
	EXPECT_EQ(otd.ot_err, 0UL);
	EXPECT_EQ(otd.ot_addr, 0UL);
	EXPECT_EQ(otd.ot_rip, 0UL);

	if (on_trap(&otd, OT_ZERODIV))
		armed = on_trap_current();
	else
		divide_by_zero();
	no_trap();
	EXPECT_TRUE(armed == &otd);
	EXPECT_EQ(otd.ot_trap, OT_ZERODIV);
	EXPECT_TRUE(on_trap_current() == NULL);

	if (!on_trap(&otd, OT_ZERODIV))
		quotient = 0;
	no_trap();
	EXPECT_EQ(otd.ot_trap, 0);
	EXPECT_EQ(otd.ot_trapno, 0UL);
	EXPECT_EQ(otd.ot_rip, 0UL);
	EXPECT_TRUE(on_trap_current() == NULL);
}

static void run_ud2(void)
{
	__asm__ volatile("ud2" ::: "memory");
}

/*
 * A caught trap gives the code that armed the region its own interrupt
 * flag back, set or clear. Fails if the catch longjmps straight out of
 * trap() (bug catch-longjmps-from-trap: IF stays clear) or the
 * trampoline turns interrupts on (trampoline-sti).
 */
KTEST(trap, on_trap_keeps_if)
{
	on_trap_data_t otd;
	uint64_t rfl_on, rfl_off;

	__asm__ volatile("sti" ::: "memory");
	if (!on_trap(&otd, OT_ZERODIV))
		divide_by_zero();
	no_trap();
	rfl_on = read_rflags();
	cli();
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_ZERODIV);

	if (!on_trap(&otd, OT_ILLINST))
		run_ud2();
	no_trap();
	rfl_off = read_rflags();
	cli();
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_ILLINST);
	EXPECT_EQ(rfl_on & RFLAGS_IF, (uint64_t)RFLAGS_IF);
	EXPECT_EQ(rfl_off & RFLAGS_IF, 0UL);
}

static void read_probe_va(void)
{
	(void)*(volatile uint64_t *)PROBE_VA;
}

static void load_bad_selector(void)
{
	__asm__ volatile("movw %w0, %%fs" : : "r"(0x80) : "memory");
}

static on_trap_data_t probe(unsigned prot, void (*fn)(void))
{
	on_trap_data_t otd;

	if (!on_trap(&otd, prot))
		fn();
	no_trap();
	return otd;
}

/*
 * A region that protects several kinds catches each of them, and
 * records which one it caught. Fails if trap() wants the region's kinds
 * to equal the trap's (bug catch-kind-exact).
 */
KTEST(trap, on_trap_any_kind)
{
	static const struct {
		void (*fn)(void);
		unsigned kind;
		uint64_t trapno;
	} cases[] = {
		{ divide_by_zero, OT_ZERODIV, T_ZERODIV },
		{ run_ud2, OT_ILLINST, T_ILLINST },
		{ read_probe_va, OT_DATA_ACCESS, T_PGFLT },
		{ load_bad_selector, OT_DATA_ACCESS, T_GPFLT },
	};
	on_trap_data_t otd;

	testmap_unmap(PROBE_VA);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		otd = probe(OT_ANY, cases[i].fn);
		EXPECT_EQ((unsigned)otd.ot_trap, cases[i].kind);
		EXPECT_EQ(otd.ot_trapno, cases[i].trapno);
	}
	otd = probe(OT_ZERODIV | OT_DATA_ACCESS, read_probe_va);
	EXPECT_EQ(otd.ot_trap, OT_DATA_ACCESS);
	EXPECT_EQ(otd.ot_addr, PROBE_VA);
	EXPECT_TRUE(on_trap_current() == NULL);
}

/*
 * A region protects only the kinds it names: a #GP inside a region for
 * #DE and #UD is a bad trap. The grader expects the panic. Fails if
 * regions protect everything (bug arm-protects-everything).
 */
KTEST_EXPLICIT(trap, on_trap_other_kind_panics)
{
	on_trap_data_t otd;

	if (!on_trap(&otd, OT_ZERODIV | OT_ILLINST))
		load_bad_selector();
	no_trap();
}

/* Ring-3 code: hlt, which needs ring 0. */
extern const char hid_user_hlt[], hid_user_hlt_end[];
__asm__(".pushsection .rodata\n"
	"hid_user_hlt:\n\t"
	"hlt\n\t"
	"hid_user_hlt_end:\n"
	".popsection");

/*
 * A trap from ring 3 is never caught by a kernel region, even one that
 * protects every kind: it goes to usertrap(), and the region stays
 * armed and untouched. Fails (hangs) if on_trap_catch() forgets to check
 * the saved CS (bug catch-user-traps): iretq then sends ring 3 to the
 * kernel trampoline.
 */
KTEST(trap, user_trap_skips_kernel_region)
{
	on_trap_data_t otd;
	struct usermode_result res;
	on_trap_data_t *volatile armed = NULL;

	memset(&res, 0, sizeof(res));
	if (!on_trap(&otd, OT_ANY)) {
		usermode_run(hid_user_hlt, hid_user_hlt_end - hid_user_hlt,
			     &res);
		armed = on_trap_current();
	}
	no_trap();
	EXPECT_TRUE(armed == &otd);
	EXPECT_EQ(otd.ot_trap, 0);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_GPFLT);
	EXPECT_EQ(res.end.r_cs & 3, 3UL);
}

/* Ring-3 code: set TF; the #DB after the next instruction ends the run. */
extern const char hid_user_step[], hid_user_step_end[];
__asm__(".pushsection .rodata\n"
	"hid_user_step:\n\t"
	"pushfq\n\t"
	"orq $0x100, (%rsp)\n\t"
	"popfq\n\t"
	"nop\n\t"
	"nop\n\t"
	"nop\n\t"
	"movl $0, %eax\n\t"
	"int $0x80\n\t"
	"hid_user_step_end:\n"
	".popsection");

/*
 * A ring-3 trap that no case of trap() handles, here the #DB of a
 * single step, is reported to usertrap(), not resumed; and the address
 * usertrap() gets is 0 for anything but a #PF, even with a stale CR2
 * from an earlier fault. Fails if trap() treats an exception it has no
 * case for as handled (bug unknown-exception-ignored: the run goes on to
 * its int $0x80) or reads CR2 for every vector (cr2-read-for-every-trap).
 */
KTEST(trap, user_unhandled_traps_reported)
{
	struct usermode_result res;
	on_trap_data_t otd;

	testmap_unmap(PROBE_VA);
	otd = probe(OT_DATA_ACCESS, read_probe_va); /* CR2 = PROBE_VA */
	EXPECT_EQ(otd.ot_addr, PROBE_VA);

	usermode_run(hid_user_step, hid_user_step_end - hid_user_step, &res);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_SGLSTP);
	EXPECT_EQ(res.end.r_cs & 3, 3UL);
	EXPECT_EQ(res.addr, 0UL);
	EXPECT_EQ(res.end.r_rfl & RFLAGS_TF, (uint64_t)RFLAGS_TF);

	usermode_run(hid_user_hlt, hid_user_hlt_end - hid_user_hlt, &res);
	EXPECT_EQ(res.end.r_trapno, (uint64_t)T_GPFLT);
	EXPECT_EQ(res.addr, 0UL);
}

static spinlock_t probe_lock = SPINLOCK_INIT("trap_probe_lock", LR_TEST_INNER);

/*
 * A #PF inside a region is caught before pagefault() is called: the
 * region's owner may hold a spinlock, where pagefault() may not be
 * called at all. Fails if trap() tries pagefault() first (bug
 * pagefault-before-catch: pagefault()'s ASSERT fires).
 */
KTEST(trap, pf_caught_before_pagefault)
{
	on_trap_data_t otd;

	testmap_unmap(PROBE_VA);
	spin_lock(&probe_lock);
	otd = probe(OT_DATA_ACCESS, read_probe_va);
	spin_unlock(&probe_lock);
	EXPECT_EQ(otd.ot_trapno, (uint64_t)T_PGFLT);
	EXPECT_EQ(otd.ot_addr, PROBE_VA);
}

static volatile uint64_t edge_runs, edge_last;

static void edge_handler(struct regs *rp)
{
	edge_runs++;
	edge_last = rp->r_trapno;
}

/*
 * The interrupt range starts at T_FIRST_INTR: vector 0x20 and vector 0xfe
 * reach their handlers, and the spurious vector is counted and ignored.
 * Fails if vector 0x20 is taken for an exception (bug
 * first-interrupt-off-by-one) or the spurious vector is sent to
 * intr_dispatch() and found unhandled (spurious-not-handled).
 */
KTEST(trap, interrupt_range_dispatch)
{
	uint64_t n20 = intr_count[T_FIRST_INTR], nff = intr_count[T_SPURIOUS];

	edge_runs = edge_last = 0;
	intr_register(T_FIRST_INTR, edge_handler);
	intr_register(0xfe, edge_handler);
	__asm__ volatile("int $0x20" ::: "memory");
	EXPECT_EQ(edge_last, (uint64_t)T_FIRST_INTR);
	__asm__ volatile("int $0xfe" ::: "memory");
	EXPECT_EQ(edge_last, 0xfeUL);
	__asm__ volatile("int $0xff" ::: "memory");
	intr_register(T_FIRST_INTR, NULL);
	intr_register(0xfe, NULL);
	EXPECT_EQ(edge_runs, 2UL);
	EXPECT_EQ(intr_count[T_FIRST_INTR], n20 + 1);
	EXPECT_EQ(intr_count[T_SPURIOUS], nff + 1);
}

/*
 * An interrupt no one registered is reported: a kernel one is a bad
 * trap. The grader expects the panic. Fails if trap() drops it silently
 * (bug unregistered-interrupt-dropped).
 */
KTEST_EXPLICIT(trap, unregistered_vector_reported)
{
	intr_register(0x90, NULL);
	__asm__ volatile("int $0x90" ::: "memory");
}

/*
 * The EOI protocol. EOI_HIGH is sent to this CPU and stays in service
 * while its handler runs, which holds back EOI_LOW (a lower priority
 * class) until EOI_HIGH's own EOI. Inside, an exception (int3) and the
 * spurious vector must send no EOI, and EOI_NESTED (a higher class),
 * which sends its own, must get no second one from trap(): any of those
 * would retire EOI_HIGH early and let EOI_LOW in. Fails if trap() sends
 * an EOI for every trap (bug eoi-on-every-trap), for the spurious vector
 * (spurious-gets-eoi), or after a registered handler
 * (dispatch-then-eoi).
 */
#define EOI_LOW 0x50
#define EOI_HIGH 0x90
#define EOI_NESTED 0xa0

static volatile uint64_t low_runs, nested_runs, low_early;

static void self_ipi(int vector)
{
	lapic_ipi(lapic_id(), (uint32_t)vector);
}

/* Let pending interrupts in for a moment; IF is clear again after. */
static void irq_window(void)
{
	__asm__ volatile("sti" ::: "memory");
	for (int i = 0; i < 1000; i++)
		__asm__ volatile("pause" ::: "memory");
	cli();
}

static void low_handler(struct regs *rp)
{
	(void)rp;
	low_runs++;
	lapic_eoi();
}

static void nested_handler(struct regs *rp)
{
	(void)rp;
	nested_runs++;
	lapic_eoi();
}

static void high_handler(struct regs *rp)
{
	(void)rp;
	self_ipi(EOI_LOW);
	__asm__ volatile("int3" ::: "memory");
	__asm__ volatile("int $0xff" ::: "memory");
	self_ipi(EOI_NESTED);
	irq_window();
	irq_window();
	low_early = low_runs;
	lapic_eoi();
}

KTEST(trap, eoi_only_where_due)
{
	uint64_t nff = intr_count[T_SPURIOUS];

	low_runs = nested_runs = 0;
	low_early = ~0UL;
	intr_register(T_BPTFLT, NULL);
	intr_register(EOI_LOW, low_handler);
	intr_register(EOI_HIGH, high_handler);
	intr_register(EOI_NESTED, nested_handler);
	self_ipi(EOI_HIGH);
	irq_window();
	irq_window();
	intr_register(EOI_LOW, NULL);
	intr_register(EOI_HIGH, NULL);
	intr_register(EOI_NESTED, NULL);
	EXPECT_EQ(nested_runs, 1UL);
	EXPECT_EQ(low_early, 0UL);
	EXPECT_EQ(low_runs, 1UL);
	EXPECT_EQ(intr_count[T_SPURIOUS], nff + 1);
}
