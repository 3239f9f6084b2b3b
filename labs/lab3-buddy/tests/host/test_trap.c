/*
 * test_trap.c — the logic of kern/arch/x86_64/trap.c on the host: #PF
 * decoding, the per-CPU on_trap() chain, and trap()'s dispatch, with fake
 * regs frames.
 *
 * trap.c's collaborators (panic, the LAPIC, usertrap, intr_dispatch...) are
 * faked below and record how they were called. A #PF frame cannot be
 * replayed here: trap() reads CR2 for it, which only ring 0 may do; the
 * kernel test trap.pf_* covers that path on real hardware.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cpu.h>
#include <trap.h>

/* ---- fakes for trap.c's collaborators ---- */

uint64_t intr_count[NVECTORS];
static int ticks, eois, usertraps, dispatches;
static bool dispatch_result;
static sigjmp_buf panic_jmp;
static bool panic_expected;
static char panic_msg[256];

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (!panic_expected)
		fail_msg("unexpected panic: %s", panic_msg);
	siglongjmp(panic_jmp, 1);
}

int kprintf(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

void regs_print(const struct regs *rp)
{
	(void)rp;
}

const char *trap_name(uint64_t trapno)
{
	return trapno == T_GPFLT ? "#gp General protection" : "other";
}

bool intr_dispatch(struct regs *rp)
{
	(void)rp;
	dispatches++;
	return dispatch_result;
}

void lapic_tick(void)
{
	ticks++;
}

void lapic_eoi(void)
{
	eois++;
}

bool usertrap(struct regs *rp, uint64_t addr)
{
	(void)rp, (void)addr;
	usertraps++;
	return true;
}

int pagefault(uintptr_t addr, enum fault_type type, enum seg_rw rw,
	      bool iskernel)
{
	(void)addr, (void)type, (void)rw, (void)iskernel;
	return -1;
}

int kern_setjmp(label_t *lp)
{
	(void)lp;
	return 0; /* the first return; the second needs a real trap */
}

void kern_longjmp(label_t *lp)
{
	(void)lp;
	fail_msg("longjmp: only the trampoline may jump, after iretq");
	__builtin_unreachable();
}

/* ---- helpers ---- */

static struct regs frame(uint64_t trapno, uint64_t err, uint16_t cs)
{
	struct regs r = { 0 };

	r.r_trapno = trapno;
	r.r_err = err;
	r.r_rip = 0x1000;
	r.r_cs = cs;
	return r;
}

static int reset(void **state)
{
	(void)state;
	ticks = eois = usertraps = dispatches = 0;
	dispatch_result = false;
	panic_expected = false;
	host_curcpu = &cpus[0];
	for (int i = 0; i < NCPU; i++) {
		cpus[i].cpu_id = i;
		cpus[i].cpu_onfault = NULL;
	}
	return 0;
}

/* Run trap() on rp expecting a panic; returns true if it panicked. */
static bool trap_panics(struct regs *rp)
{
	panic_expected = true;
	if (sigsetjmp(panic_jmp, 0) == 0) {
		trap(rp);
		panic_expected = false;
		return false;
	}
	panic_expected = false;
	return true;
}

/* ---- tests ---- */

/* Every error-code combination decodes to illumos's terms. */
static void pf_decode_all_codes(void **state)
{
	(void)state;
	for (uint64_t err = 0; err < 64; err++) {
		assert_int_equal(pf_type(err), (err & PF_ERR_P) ? F_PROT : F_INVAL);
		if (err & PF_ERR_I)
			assert_int_equal(pf_rw(err), S_EXEC);
		else if (err & PF_ERR_W)
			assert_int_equal(pf_rw(err), S_WRITE);
		else
			assert_int_equal(pf_rw(err), S_READ);
	}
}

/*
 * The innermost armed region catches a protected trap: it records the trap
 * and sends iretq to the trampoline; the outer region is left alone.
 */
static void on_trap_inner_region_catches(void **state)
{
	on_trap_data_t outer, inner;
	struct regs r = frame(T_GPFLT, 0x80, KCS_SEL);

	(void)state;
	assert_int_equal(on_trap(&outer, OT_DATA_ACCESS), 0);
	assert_int_equal(on_trap(&inner, OT_DATA_ACCESS), 0);
	trap(&r);
	assert_ptr_equal((void *)r.r_rip, (void *)on_trap_trampoline);
	assert_int_equal(inner.ot_trap, OT_DATA_ACCESS);
	assert_int_equal(inner.ot_trapno, T_GPFLT);
	assert_int_equal(inner.ot_err, 0x80);
	assert_int_equal(inner.ot_rip, 0x1000);
	assert_int_equal(outer.ot_trap, 0);
	no_trap();
	assert_ptr_equal(curcpu()->cpu_onfault, &outer);
	no_trap();
	assert_null(curcpu()->cpu_onfault);
}

/*
 * The chain of regions is per CPU: a region armed on CPU 0 does not catch
 * a trap taken on CPU 1, which has none (a bad trap there), and CPU 1's
 * no_trap() leaves CPU 0's region armed.
 */
static void on_trap_is_per_cpu(void **state)
{
	on_trap_data_t otd;
	struct regs r = frame(T_GPFLT, 0, KCS_SEL);

	(void)state;
	on_trap(&otd, OT_DATA_ACCESS);
	host_curcpu = &cpus[1];
	assert_null(curcpu()->cpu_onfault);
	assert_true(trap_panics(&r));
	no_trap();
	host_curcpu = &cpus[0];
	assert_ptr_equal(curcpu()->cpu_onfault, &otd);
	assert_int_equal(otd.ot_trap, 0);
	no_trap();
}

/* A region protects only the kinds it names: #GP in an OT_ZERODIV region. */
static void on_trap_other_kind_is_bad_trap(void **state)
{
	on_trap_data_t otd;
	struct regs r = frame(T_GPFLT, 0, KCS_SEL);

	(void)state;
	on_trap(&otd, OT_ZERODIV);
	assert_true(trap_panics(&r));
	assert_non_null(strstr(panic_msg, "BAD TRAP: type=d (#gp"));
	assert_int_equal(otd.ot_trap, 0);
	no_trap();
}

/* on_trap() never catches a trap from ring 3: that goes to usertrap(). */
static void user_trap_skips_on_trap(void **state)
{
	on_trap_data_t otd;
	struct regs r = frame(T_GPFLT, 0, UCS_SEL);

	(void)state;
	on_trap(&otd, OT_ANY);
	trap(&r);
	assert_int_equal(usertraps, 1);
	assert_int_equal(otd.ot_trap, 0);
	assert_int_equal(r.r_rip, 0x1000);
	no_trap();
}

/* The timer ticks and gets its EOI; a spurious interrupt gets no EOI. */
static void timer_eoi_spurious_none(void **state)
{
	struct regs t = frame(T_LAPIC_TIMER, 0, KCS_SEL);
	struct regs s = frame(T_SPURIOUS, 0, KCS_SEL);
	uint64_t n = intr_count[T_LAPIC_TIMER];

	(void)state;
	trap(&t);
	assert_int_equal(ticks, 1);
	assert_int_equal(eois, 1);
	assert_int_equal(intr_count[T_LAPIC_TIMER], n + 1);
	trap(&s);
	assert_int_equal(eois, 1);
}

/* int3 returns to the next instruction: r_rip is left as the CPU set it. */
static void breakpoint_resumes(void **state)
{
	struct regs r = frame(T_BPTFLT, 0, KCS_SEL);

	(void)state;
	trap(&r);
	assert_int_equal(r.r_rip, 0x1000);
}

/* An interrupt goes to its registered handler; none registered: BAD TRAP. */
static void interrupt_needs_a_handler(void **state)
{
	struct regs r = frame(0x90, 0, KCS_SEL);

	(void)state;
	dispatch_result = true;
	trap(&r);
	assert_int_equal(dispatches, 1);
	dispatch_result = false;
	assert_true(trap_panics(&r));
	assert_non_null(strstr(panic_msg, "BAD TRAP: type=90"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(pf_decode_all_codes, reset),
		cmocka_unit_test_setup(on_trap_inner_region_catches, reset),
		cmocka_unit_test_setup(on_trap_is_per_cpu, reset),
		cmocka_unit_test_setup(on_trap_other_kind_is_bad_trap, reset),
		cmocka_unit_test_setup(user_trap_skips_on_trap, reset),
		cmocka_unit_test_setup(timer_eoi_spurious_none, reset),
		cmocka_unit_test_setup(breakpoint_resumes, reset),
		cmocka_unit_test_setup(interrupt_needs_a_handler, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
