/*
 * trap.h — x86-64 traps and interrupts: the saved registers, the trap
 * numbers, trap() and the #PF decoding it hands to the machine-independent
 * pagefault() (vm_fault.h), protected regions (on_trap) and the handlers
 * that other code registers on a vector.
 *
 * How a trap reaches C (lab 1):
 *
 *	IDT[v] --> vec_v (tools/mkvectors.py)   pushes a dummy error code if
 *	                                         the CPU pushes none, then v
 *	       --> cmntrap (entry.S)             swapgs if it came from
 *	                                         ring 3, pushes the 15 GPRs
 *	       --> trap(struct regs *rp)         dispatches on rp->r_trapno
 *	       --> pagefault() for a #PF         (vm/vm_fault.c, MI)
 *
 * The stack when trap() is called; rp points at its lowest word, and the
 * fields of struct regs follow the push order exactly:
 *
 *	high  +------------+
 *	      |  r_ss      |  \
 *	      |  r_rsp     |   |
 *	      |  r_rfl     |   |  pushed by the CPU (the iretq frame)
 *	      |  r_cs      |   |
 *	      |  r_rip     |  /
 *	      |  r_err     |  pushed by the CPU, or a dummy 0 by vec_v
 *	      |  r_trapno  |  pushed by vec_v
 *	      |  r_rax     |  \
 *	      |  r_rbx     |   |
 *	      |   ...      |   |  pushed by cmntrap, rax first
 *	      |  r_r14     |   |
 *	rp -> |  r_r15     |  /
 *	low   +------------+
 *
 * A trap from ring 3 arrives on the stack in TSS.rsp0; #DF, NMI and #MC
 * arrive on their own IST stacks, so they work even when the kernel stack
 * is gone.
 *
 * %gs. In ring 0, GS.base points at the running CPU's struct cpu
 * (curcpu()); in ring 3 it is the user's own. swapgs exchanges GS.base
 * with the IA32_KERNEL_GS_BASE MSR, so cmntrap does it first thing on a
 * trap from ring 3 and trap_return does it again on the way back to ring
 * 3: user code never sees the kernel's pointer, and the kernel never runs
 * on the user's.
 */
#ifndef TRAP_H
#define TRAP_H

#include <klabel.h>
#include <stdbool.h>
#include <stdint.h>
#include <vm_fault.h>

struct regs {
	uint64_t r_r15, r_r14, r_r13, r_r12, r_r11, r_r10, r_r9, r_r8;
	uint64_t r_rbp, r_rdi, r_rsi, r_rdx, r_rcx, r_rbx, r_rax;
	uint64_t r_trapno, r_err;
	uint64_t r_rip, r_cs, r_rfl, r_rsp, r_ss;
};

/* Exception vectors (Intel SDM Vol. 3A, Table 6-1); names as in illumos. */
#define T_ZERODIV 0   /* #DE divide error */
#define T_SGLSTP 1    /* #DB debug */
#define T_NMIFLT 2    /* NMI */
#define T_BPTFLT 3    /* #BP breakpoint (int3) */
#define T_OVFLW 4     /* #OF overflow */
#define T_BOUNDFLT 5  /* #BR bound range */
#define T_ILLINST 6   /* #UD invalid opcode */
#define T_NOEXTFLT 7  /* #NM device not available */
#define T_DBLFLT 8    /* #DF double fault */
#define T_EXTOVRFLT 9 /* coprocessor segment overrun (reserved) */
#define T_TSSFLT 10   /* #TS invalid TSS */
#define T_SEGFLT 11   /* #NP segment not present */
#define T_STKFLT 12   /* #SS stack fault */
#define T_GPFLT 13    /* #GP general protection */
#define T_PGFLT 14    /* #PF page fault */
#define T_EXTERRFLT 16 /* #MF x87 error */
#define T_ALIGNMENT 17 /* #AC alignment check */
#define T_MCE 18       /* #MC machine check */
#define T_SIMDFPE 19   /* #XM SIMD floating point */
#define T_VIRTFLT 20   /* #VE virtualization */
#define T_CPFLT 21     /* #CP control protection */

#define T_FIRST_INTR 32     /* vectors from here on are interrupts */
#define T_SYSCALL 0x80      /* int $0x80, callable from ring 3 */
#define T_TEST 0x81         /* a vector the tests raise with int $0x81 */
#define T_LAPIC_TIMER 0xf0  /* the local APIC timer */
#define T_SPURIOUS 0xff     /* the local APIC's spurious vector */
#define NVECTORS 256

/* IST slots in the TSS (1-based, as the gate's IST field counts them). */
#define IST_DF 1
#define IST_NMI 2
#define IST_MC 3

/* The #PF error code (Intel SDM Vol. 3A, 4.7). */
#define PF_ERR_P 0x01    /* 0: not present; 1: protection violation */
#define PF_ERR_W 0x02    /* the access was a write */
#define PF_ERR_U 0x04    /* the access came from ring 3 */
#define PF_ERR_RSVD 0x08 /* a reserved bit was set in a paging entry */
#define PF_ERR_I 0x10    /* the access was an instruction fetch */

/*
 * The fault type and the access kind a #PF error code describes, in the
 * machine-independent terms of vm_fault.h: F_PROT if the page was
 * present, else F_INVAL; S_EXEC for an instruction fetch, else S_WRITE
 * for a write, else S_READ. Pure functions of err.
 */
enum fault_type pf_type(uint64_t err);
enum seg_rw pf_rw(uint64_t err);

/*
 * The C side of every trap and interrupt, called by cmntrap with
 * interrupts off (every gate is an interrupt gate, idt.c) and the
 * kernel's %gs. Returns when rp may be resumed; panics on a bad trap.
 */
void trap(struct regs *rp);

/*
 * Protected regions, after illumos's on_trap() (<sys/ontrap.h>). A caller
 * arms one:
 *
 *	on_trap_data_t otd;
 *	if (on_trap(&otd, OT_DATA_ACCESS)) {
 *		... a trap happened: otd.ot_trap, otd.ot_addr say which ...
 *	} else {
 *		... code that may fault ...
 *	}
 *	no_trap();
 *
 * If a trap of a protected kind arrives while the region is armed, trap()
 * records it in the on_trap_data_t and longjmps back, so on_trap() returns
 * a second time, with a non-zero value. Regions nest. The chain of armed
 * regions is the running CPU's (struct cpu's cpu_onfault): a region armed
 * on one CPU never catches a trap taken on another. Lab 5 moves it to the
 * thread, as illumos keeps it in t_ontrap.
 */
#define OT_DATA_ACCESS 0x1 /* #PF and #GP */
#define OT_ZERODIV 0x2     /* #DE */
#define OT_ILLINST 0x4     /* #UD */
#define OT_ANY 0x7

typedef struct on_trap_data {
	unsigned short ot_prot;   /* the kinds this region protects */
	unsigned short ot_trap;   /* the kind that happened */
	uint64_t ot_trapno;       /* its vector */
	uint64_t ot_err;          /* its error code */
	uint64_t ot_addr;         /* CR2 for #PF */
	uint64_t ot_rip;          /* where it happened */
	label_t ot_jmpbuf;
	struct on_trap_data *ot_prev;
} on_trap_data_t;

/*
 * Push otp on this CPU's chain of regions, protecting the trap kinds in
 * prot (OT_*). Returns 0; on_trap() then calls setjmp. Every on_trap()
 * must be paired with a no_trap() on the same CPU.
 */
int on_trap_arm(on_trap_data_t *otp, unsigned prot);
#define on_trap(otp, prot) \
	(on_trap_arm((otp), (prot)), setjmp(&(otp)->ot_jmpbuf))
/* Pop this CPU's innermost region; does nothing if none is armed. */
void no_trap(void);
/*
 * Where trap() sends iretq after catching a trap: longjmps to the
 * on_trap() of this CPU's innermost region, which must exist.
 */
void on_trap_trampoline(void);

/* This CPU's innermost armed region, or NULL. */
on_trap_data_t *on_trap_current(void);

/*
 * A trap from ring 3 that trap() did not resolve goes to the handler the
 * code that entered ring 3 registered, with the faulting address (CR2)
 * for a #PF. It returns true if it took the trap (rewriting *rp as it
 * needs), false to let trap() call it a bad trap. Until processes exist
 * (lab 5) the only such code is the ring-3 test harness (usermode.c).
 * fn NULL removes the handler.
 */
typedef bool (*usertrap_handler_t)(struct regs *rp, uint64_t addr);
usertrap_handler_t usertrap_register(usertrap_handler_t fn);
/* trap()'s way to that handler: false if there is none or it declines. */
bool usertrap(struct regs *rp, uint64_t addr);

/* A handler another layer registers on a vector (timer, IPIs, tests). */
typedef void (*intr_handler_t)(struct regs *rp);
/* Make fn the handler of vector (NULL: none); panics on a bad vector. */
void intr_register(int vector, intr_handler_t fn);
/* Call the handler registered on rp->r_trapno; false if there is none. */
bool intr_dispatch(struct regs *rp);

/* Per-vector counts, for the intrstat monitor command and the tests. */
extern uint64_t intr_count[NVECTORS];

/* The name of a vector: "#pf Page fault", "LAPIC timer", ... */
const char *trap_name(uint64_t trapno);

/* Set up and load the IDT on the boot CPU. */
void idt_init(void);

/* Print every field of rp, one register per line. */
void regs_print(const struct regs *rp);

#endif /* TRAP_H */
