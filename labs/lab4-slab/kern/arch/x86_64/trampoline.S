/*
 * trampoline.S — where an application processor (AP) starts (lab 4 on).
 *
 * A Startup IPI starts an AP in 16-bit real mode at vector << 12; this
 * code is copied to TRAMPOLINE_PA (0x8000, SIPI vector 8) before any AP is
 * woken, so every address below is written as (label - ap_trampoline) +
 * TRAMPOLINE_PA. The AP climbs the same steps as the boot CPU did in
 * boot.S: protected mode, PAE, long mode with the boot page tables (they
 * map the trampoline's page at its own address, and the kernel at
 * KERNBASE), then jumps to ap_entry() on the stack the boot CPU left in
 * tramp_stack. smp.c fills tramp_cr3, tramp_stack and tramp_entry.
 */
#include <x86.h>

#define TRAMPOLINE_PA 0x8000
#define T(sym) ((sym) - ap_trampoline + TRAMPOLINE_PA)

	.section .rodata
	.globl ap_trampoline, ap_trampoline_end
	.globl tramp_cr3, tramp_stack, tramp_entry
	.code16
ap_trampoline:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdt_desc)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl T(tramp_cr3), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp64)

	.code64
tramp64:
	movq T(tramp_stack), %rsp
	xorl %ebp, %ebp
	movq T(tramp_entry), %rax
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_desc:
	.word tramp_gdt_desc - tramp_gdt - 1
	.long T(tramp_gdt)

	.balign 8
tramp_cr3:
	.quad 0
tramp_stack:
	.quad 0
tramp_entry:
	.quad 0
ap_trampoline_end:
