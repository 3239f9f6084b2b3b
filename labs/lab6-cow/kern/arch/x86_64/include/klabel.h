/*
 * klabel.h — saved register state for non-local jumps inside the kernel.
 *
 * setjmp() saves the callee-saved registers, the stack pointer and the
 * return address into a label_t and returns 0; longjmp() restores them, so
 * that the setjmp() call returns a second time, with 1. illumos uses the
 * same pair under on_trap() and the test harness uses it to end a test early.
 */
#ifndef KLABEL_H
#define KLABEL_H

#include <stdint.h>

typedef struct label {
	uint64_t rbx, rbp, rsp, r12, r13, r14, r15, rip;
} label_t;

int setjmp(label_t *lp) __attribute__((returns_twice));
__attribute__((noreturn)) void longjmp(label_t *lp);

#endif /* KLABEL_H */
