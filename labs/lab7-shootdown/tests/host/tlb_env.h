/*
 * tlb_env.h (host) — what kern/vm/hat_tlb.c takes from x86.h, in
 * test_tlb.
 *
 * The kernel calls hat_tlb.c with interrupts off, and hat_tlb.c asserts
 * it by reading RFLAGS. A Linux process always runs with IF set, so the
 * real read_rflags() would fail every one of those ASSERTs. The Makefile
 * force-includes this header (-include) when it compiles hat_tlb.c: it
 * takes x86.h's include guard, so hat_tlb.c's own #include <x86.h> adds
 * nothing, and gives it a read_rflags() that reports interrupts off. The
 * file itself is compiled unchanged.
 */
#ifndef TLB_ENV_H
#define TLB_ENV_H

#define X86_H /* x86.h's guard: this header stands in for it */

#include <stdint.h>

#define RFLAGS_IF 0x00000200

/* Bit 1 always reads 1; IF (bit 9) is clear, as in every kernel path. */
static inline uint64_t read_rflags(void)
{
	return 0x2;
}

#endif /* TLB_ENV_H */
