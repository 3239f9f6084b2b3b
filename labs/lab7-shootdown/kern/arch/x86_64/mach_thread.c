/*
 * mach_thread.c — the x86-64 half of threads and processes (thread.h,
 * as.h): the syscall MSRs, the FPU, a new thread's first frame, what a
 * switch changes besides registers, and user page tables that share the
 * kernel's half of the address space.
 */
#include <as.h>
#include <cpu.h>
#include <exec.h>
#include <kernel.h>
#include <kstring.h>
#include <lapic.h>
#include <proc.h>
#include <pte.h>
#include <thread.h>
#include <tlb.h>
#include <trap.h>
#include <x86.h>

/* The first PML4 slot of the kernel's half (0xffff800000000000). */
#define KERNEL_PML4_FIRST 256
#define PML4_ENTRIES 512
/* STAR[63:48]: sysret takes SS = this + 8 and CS = this + 16 (cpu.h). */
#define STAR_SYSRET_BASE (0x18UL | 3)

void syscall_entry(void);
void user_return(void);

_Static_assert(__builtin_offsetof(struct cpu, cpu_kstack) == CPU_KSTACK,
	       "syscall_entry reads cpu_kstack at %gs:CPU_KSTACK");
_Static_assert(__builtin_offsetof(struct cpu, cpu_uscratch) == CPU_USCRATCH,
	       "syscall_entry parks the user's %rsp at %gs:CPU_USCRATCH");
_Static_assert(__builtin_offsetof(kthread_t, t_pcb) == 0,
	       "swtch.S finds pcb_rsp at offset 0");
_Static_assert(sizeof(struct regs) % 16 == 0,
	       "a frame at the stack top keeps the stack 16-aligned");

/* Each CPU's own ring-0 stack, TSS.rsp0 while a kernel thread runs. */
static uint64_t default_rsp0[NCPU];
/* What a user thread's FPU looks like before it first runs. */
static uint8_t fpu_initial[512] __attribute__((aligned(16)));

/*
 * This CPU: SSE on (user programs use it; the kernel itself is built
 * without it), syscall on, and its entry point.
 */
void mach_cpu_init(void)
{
	struct cpu *c = curcpu();

	default_rsp0[c->cpu_id] = c->cpu_m.mcpu_tss.rsp[0];
	write_cr0((read_cr0() & ~(uint64_t)CR0_EM) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	if (c == &cpus[0]) {
		uint32_t mxcsr = 0x1f80; /* every exception masked */

		__asm__ volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
		fxsave(fpu_initial);
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (STAR_SYSRET_BASE << 48) | ((uint64_t)KCS_SEL << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC |
			      RFLAGS_NT);
}

/*
 * A new thread's stack: a struct regs at the very top (a user thread's
 * frame: syscall_entry and traps from ring 3 build theirs there too),
 * then what swtch() pops: six callee-saved registers and a return address
 * into thread_trampoline.
 */
void mach_thread_stack_init(kthread_t *t)
{
	uint64_t *sp;

	ASSERT(t->t_stktop % 16 == 0);
	t->t_regs = (struct regs *)(t->t_stktop - sizeof(struct regs));
	memset(t->t_regs, 0, sizeof(struct regs));
	sp = (uint64_t *)t->t_regs;
	*--sp = (uint64_t)thread_trampoline;
	for (int i = 0; i < 6; i++)
		*--sp = 0; /* rbp, rbx, r12 .. r15 */
	t->t_pcb.pcb_rsp = (uint64_t)sp;
	memcpy(t->t_fpu, fpu_initial, sizeof(t->t_fpu));
}

/*
 * Everything a switch from `from` to `to` changes besides the registers
 * swtch() saves. Every switch to a user thread loads its page tables (this
 * is what keeps single-threaded processes right on several CPUs: a CPU
 * only ever caches the address space it runs); a switch to a kernel
 * thread goes back to the kernel's, so that no CPU keeps a dead process's
 * tables loaded. (The scheduler's tick is disp_unlock()'s, after the
 * switch: no device is touched while disp_lock is held.) From lab 7 on,
 * hat_switch() and hat_switch_lazy() decide (tlb.h): no reload between
 * threads of one process, and a kernel thread runs lazily on the last
 * user hat.
 */
void mach_thread_switch(kthread_t *from, kthread_t *to)
{
	struct cpu *c = curcpu();

	ASSERT(spin_held(&disp_lock));
	if (thread_is_user(from))
		fxsave(from->t_fpu);
	if (thread_is_user(to)) {
		fxrstor(to->t_fpu);
		wrmsr(MSR_FS_BASE, to->t_fsbase);
		c->cpu_kstack = to->t_stktop;
		c->cpu_m.mcpu_tss.rsp[0] = to->t_stktop;
		/* No address space yet: a new process before its exec. */
		if (to->t_procp->p_as != NULL)
			as_activate(to->t_procp->p_as);
		else
			as_deactivate();
	} else {
		c->cpu_kstack = 0;
		c->cpu_m.mcpu_tss.rsp[0] = default_rsp0[c->cpu_id];
		hat_switch_lazy();
	}
}

void as_activate(struct as *as)
{
	ASSERT(as->a_hat.h_root != 0);
	hat_switch(&as->a_hat);
}

void as_deactivate(void)
{
	hat_switch(NULL);
}

/*
 * A user hat: an empty lower half, and the kernel's upper half by sharing
 * its PML4 entries (the tables below them are the kernel hat's, made at
 * boot and never freed, so every process sees every kernel mapping).
 */
int hat_alloc_user(struct hat *hat)
{
	const uint64_t *kroot;
	uint64_t *root;
	int err;

	ASSERT(kernel_hat_active);
	err = hat_init(hat, &pt_mode_4level);
	if (err != 0)
		return err;
	kroot = kpm_va(kernel_hat.h_root);
	root = kpm_va(hat->h_root);
	for (int i = KERNEL_PML4_FIRST; i < PML4_ENTRIES; i++)
		root[i] = kroot[i];
	hat->h_rmap = true; /* its pages' mappings are listed (page.h) */
	return 0;
}

/* Unshare the kernel's half, then free the user's tables. */
void hat_free_user(struct hat *hat)
{
	uint64_t *root = kpm_va(hat->h_root);

	ASSERT((read_cr3() & PTE_ADDR) != hat->h_root);
	/*
	 * Lazy CPUs may still run on these tables (tlb.h): the kernel's
	 * half below would vanish under them. Each must have let go.
	 */
	tlb_hat_release(hat);
	for (int i = 0; i < ncpus; i++)
		if (__atomic_load_n(&cpus[i].cpu_hat, __ATOMIC_SEQ_CST) == hat)
			panic("hat_free_user: cpu%d still has the hat in CR3%s "
			      "(tlb_hat_release must wait for it to let go)", i,
			      cpus[i].cpu_tlb_lazy ? ", lazily" : "");
	if (__atomic_load_n(&hat->h_cpus, __ATOMIC_SEQ_CST) != 0)
		panic("hat_free_user: h_cpus is %#lx, not empty", hat->h_cpus);
	for (int i = KERNEL_PML4_FIRST; i < PML4_ENTRIES; i++)
		root[i] = 0;
	hat_free(hat);
}

/* A new program starts with FS.base 0 and a clean FPU (exec.h). */
void mach_exec_reset(void)
{
	kthread_t *t = curthread;

	t->t_fsbase = 0;
	wrmsr(MSR_FS_BASE, 0);
	memcpy(t->t_fpu, fpu_initial, sizeof(t->t_fpu));
	fxrstor(t->t_fpu);
}
