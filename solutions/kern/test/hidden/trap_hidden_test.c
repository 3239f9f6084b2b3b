/*
 * trap_hidden_test.c — lab 1 tests that run only in the instructor's
 * grading. They check the same layer from angles the public tests leave
 * open, so code written to the public tests alone is caught.
 */
#include <kernel.h>
#include <ktest.h>
#include <testmap.h>
#include <trap.h>
#include <usermode.h>

static volatile uint64_t zero, quotient;
static on_trap_data_t inner_seen;

static void divide_by_zero(void)
{
	quotient = 1 / zero;
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
