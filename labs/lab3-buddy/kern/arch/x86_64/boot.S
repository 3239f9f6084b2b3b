/*
 * boot.S — from QEMU's PVH entry to kmain() in the higher half.
 *
 * QEMU loads this ELF64 file itself (no boot loader, no objcopy) and finds
 * the entry point in the Xen PVH note below. It enters pvh_start in 32-bit
 * protected mode with paging off, flat segments, interrupts off, and %ebx
 * holding the physical address of a struct hvm_start_info (the command line
 * and the memory map).
 *
 * Everything here runs at physical addresses until paging is on, so every
 * symbol is written as (sym - KERNBASE). The steps:
 *
 *   1. clear .bss (nothing may be on the stack yet: the stack is in .bss);
 *   2. load CR3 with the boot page tables, which map the first 1 GiB twice:
 *      at 0 (identity, so the next instruction after paging is on still
 *      exists) and at KERNBASE (where the kernel is linked);
 *   3. turn on PAE, long mode (EFER.LME), no-execute (EFER.NXE), paging and
 *      write protection; load a GDT with a 64-bit code segment and far-jump
 *      into it;
 *   4. jump to the higher-half address of start64, switch to the boot
 *      stack, and call kmain(start_info_pa) with a zero frame pointer so
 *      that backtraces end there.
 */
#include <x86.h>

#define KERNBASE 0xffffffff80000000
#define PHYS(sym) ((sym) - KERNBASE)
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* namesz: "Xen\0" */
	.long 4				/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long PHYS(pvh_start)

	.section .boot.text, "ax"
	.code32
	.globl pvh_start
pvh_start:
	movl %ebx, %esi			/* keep start_info across the setup */

	/* 1. Clear .bss. */
	movl $PHYS(__bss_start), %edi
	movl $PHYS(__bss_end), %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	cld
	rep stosb

	/* 2. Boot page tables. */
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3

	/* 3. PAE, then EFER.LME|NXE, then paging. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4

	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr

	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_PE), %eax
	movl %eax, %cr0

	lgdt PHYS(boot_gdt_desc)
	ljmp $0x08, $PHYS(start64_low)

	.code64
start64_low:
	movabsq $start64, %rax
	jmp *%rax

	.text
start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs

	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl %esi, %edi			/* zero-extends: start_info is below 4 GiB */
	call kmain
1:	cli
	hlt
	jmp 1b

/* A GDT just for the jump into 64-bit code; cpu_init() replaces it. */
	.section .rodata
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff		/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff		/* 0x10: data, DPL 0 */
boot_gdt_end:
boot_gdt_desc:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)

/*
 * Boot page tables: PML4[0] and PML4[511] share nothing but the page
 * directory, which maps physical 0..1 GiB with 2 MiB pages.
 *   identity:  PML4[0]   -> boot_pdpt_low[0]    -> boot_pd
 *   KERNBASE:  PML4[511] -> boot_pdpt_high[510] -> boot_pd
 * kpm_init() later adds PML4[256] for the direct map.
 */
	.data
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad PHYS(boot_pdpt_low) + (PTE_P | PTE_W)
	.fill 510, 8, 0
	.quad PHYS(boot_pdpt_high) + (PTE_P | PTE_W)

	.balign 4096
boot_pdpt_low:
	.quad PHYS(boot_pd) + (PTE_P | PTE_W)
	.fill 511, 8, 0

	.balign 4096
boot_pdpt_high:
	.fill 510, 8, 0
	.quad PHYS(boot_pd) + (PTE_P | PTE_W)
	.quad 0

	.balign 4096
boot_pd:
	.set i, 0
	.rept 512
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS)
	.set i, i + 1
	.endr

	.bss
	.balign 4096
	.globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
	.skip 16384
boot_stack_top:
