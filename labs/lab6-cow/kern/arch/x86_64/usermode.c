/*
 * usermode.c — see usermode.h.
 *
 * Getting back: when the user code ends the run, the trap frame is
 * rewritten to "return" to usermode_trampoline() in ring 0 with the
 * interrupt flag the caller had, and the trampoline longjmps to
 * usermode_run(). The way out is the same iretq as any trap's.
 */
#include <cpu.h>
#include <kernel.h>
#include <klabel.h>
#include <kstring.h>
#include <usermode.h>
#include <x86.h>

#define RFLAGS_RESERVED 0x2UL

void usermode_enter(struct regs *rp) NORETURN;

static char user_code[PAGESIZE] __attribute__((aligned(4096)));
static char user_stack[PAGESIZE] __attribute__((aligned(4096)));
static char tramp_stack[1024] __attribute__((aligned(16)));
static struct regs entry_regs;
static usertrap_handler_t prev_usertrap;

static struct {
	struct usermode_result *res;
	label_t jmp;
	uint64_t rflags;
} um;

static void usermode_trampoline(void)
{
	longjmp(&um.jmp);
}

/* Make iretq leave rp for the trampoline instead of ring 3. */
static void usermode_end(struct regs *rp)
{
	um.res->end = *rp;
	um.res->end_rp = (uint64_t)rp;
	rp->r_rip = (uint64_t)usermode_trampoline;
	rp->r_cs = KCS_SEL;
	rp->r_ss = KDS_SEL;
	rp->r_rsp = (uint64_t)(tramp_stack + sizeof(tramp_stack));
	rp->r_rfl = um.rflags;
	um.res = NULL;
}

static void usermode_syscall(struct regs *rp)
{
	if ((rp->r_cs & 3) != 3 || um.res == NULL)
		panic("usermode_syscall: int $0x80 outside usermode_run");
	if (rp->r_rax != USYS_SNAPSHOT) {
		usermode_end(rp);
		return;
	}
	um.res->snapshot = *rp;
	um.res->snapshots++;
	um.res->kgsbase = rdmsr(MSR_GS_BASE);
	/* Scribble on every register: trap's way out must restore them. */
	__asm__ volatile("" : : : "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
			 "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
}

/* Any ring-3 trap trap() did not resolve ends the run. */
static bool usermode_usertrap(struct regs *rp, uint64_t cr2)
{
	if (um.res == NULL)
		return false;
	um.res->addr = cr2;
	usermode_end(rp);
	return true;
}

/*
 * Run len bytes of position-independent code in ring 3 until it ends the
 * run (usermode.h). Panics if the code does not fit in a page. Returns
 * on this CPU with the kernel's GS.base, interrupts as they were.
 */
void usermode_run(const void *code, size_t len, struct usermode_result *res)
{
	struct cpu *c = curcpu();

	if (len > sizeof(user_code))
		panic("usermode_run: %zu bytes of code", len);
	memset(res, 0, sizeof(*res));
	memset(user_code, 0xf4, sizeof(user_code)); /* hlt (#GP) past the end */
	memcpy(user_code, code, len);
	*(uint64_t *)user_stack = USER_GS_MAGIC;
	testmap_map(USER_CODE_VA, kimage_pa(user_code), TM_U);
	testmap_map(USER_STACK_VA, kimage_pa(user_stack), TM_U | TM_W | TM_NX);
	intr_register(T_SYSCALL, usermode_syscall);
	prev_usertrap = usertrap_register(usermode_usertrap);
	wrmsr(MSR_KERNEL_GS_BASE, USER_GS_BASE); /* the user's, until swapgs */
	um.res = res;
	um.rflags = read_rflags();
	if (setjmp(&um.jmp) == 0) {
		memset(&entry_regs, 0, sizeof(entry_regs));
		entry_regs.r_rip = USER_CODE_VA;
		entry_regs.r_cs = UCS_SEL;
		entry_regs.r_rfl = RFLAGS_RESERVED;
		entry_regs.r_rsp = USER_STACK_VA + PAGESIZE;
		entry_regs.r_ss = UDS_SEL;
		usermode_enter(&entry_regs);
	}
	/*
	 * A trap path that swaps GS in one direction only leaves the
	 * user's GS.base here: put the kernel's back, so one bug fails
	 * trap.user_gs_swapped alone and not every test after it.
	 */
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	usertrap_register(prev_usertrap); /* processes' own, from lab 5 */
	intr_register(T_SYSCALL, NULL);
	testmap_unmap(USER_CODE_VA);
	testmap_unmap(USER_STACK_VA);
}

/* TSS.rsp0 of this CPU: where a trap from ring 3 lands. */
uint64_t usermode_kstack_top(void)
{
	return curcpu()->cpu_m.mcpu_tss.rsp[0];
}
