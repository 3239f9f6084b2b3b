/*
 * usermode.h — run a few instructions in ring 3 and come back (lab 1's
 * tests). Full user processes arrive with lab 5; this is the minimum that
 * proves the trap path works across a privilege change.
 *
 * usermode_run() copies position-independent code to a user page, enters
 * it with swapgs and iretq, and returns when the code ends the run: with
 * `int $0x80` and rax = USYS_EXIT, or with any trap trap() does not handle
 * (a #GP from hlt, a #PF, ...). The registers at that moment, and where the
 * CPU put them on the kernel stack, come back in the result.
 */
#ifndef USERMODE_H
#define USERMODE_H

#include <stddef.h>
#include <stdint.h>
#include <trap.h>
#include <testmap.h>

#define USER_CODE_VA (TESTMAP_BASE + 0x10000)
#define USER_STACK_VA (TESTMAP_BASE + 0x20000) /* one page; rsp at its top */

/* System calls (rax) that test code makes with int $0x80. */
#define USYS_EXIT 0     /* end the run */
#define USYS_SNAPSHOT 1 /* record the registers and return to ring 3 */

struct usermode_result {
	struct regs end;      /* registers when the run ended */
	struct regs snapshot; /* registers at the last USYS_SNAPSHOT */
	uint64_t addr;        /* CR2, if the run ended in a #PF */
	uint64_t end_rp;      /* where the ending struct regs sat */
	uint64_t snapshots;   /* how many USYS_SNAPSHOT calls were made */
	uint64_t kgsbase;     /* GS.base in the kernel at the last snapshot */
};

/*
 * The user's GS.base during a run: the user stack page, whose first word
 * usermode_run() sets to USER_GS_MAGIC, so ring-3 code that reads %gs:0
 * gets the magic if and only if the kernel swapped GS on the way out.
 */
#define USER_GS_BASE USER_STACK_VA
#define USER_GS_MAGIC 0x5ea5ea5ea5ea5ea5UL

/* Run len bytes of code in ring 3 until it ends the run; see above. */
void usermode_run(const void *code, size_t len, struct usermode_result *res);

/* The top of the kernel stack the CPU switches to from ring 3. */
uint64_t usermode_kstack_top(void);

#endif /* USERMODE_H */
