# lab2-pagetable-handout.gdb — the gdb sessions quoted in
# handouts/lab2-pagetable.md (section 7), in one boot of hat.split_direct_map.
# hat_kern_init() runs at boot, before the test, so the second block of the
# handout ("When the switch to your tables kills the kernel") comes first.
# grader/gdbcheck runs these commands and checks lab2-pagetable-handout.expect.
# ktest: hat.split_direct_map

# Up to the write_cr3() in hat_kern_init(), still on the boot tables.
break hat_kern_init
continue
next
next
next
next
next
call hat_ptwalk_print(&kernel_hat, $pc)
call hat_ptwalk_print(&kernel_hat, $sp)
call hat_ptwalk_print(&kernel_hat, (unsigned long)&idt)
call hat_ptwalk_print(&kernel_hat, 0xffff800000000000 + kernel_hat.h_root)
# Not in the handout: the next session starts with no breakpoint set.
delete

# The session on hat.split_direct_map.
break hat_unload
continue
p/x kernel_hat
p/x $cr3
p/x va
call hat_ptwalk_print(&kernel_hat, va)
finish
call hat_ptwalk_print(&kernel_hat, hole)
call hat_ptwalk_print(&kernel_hat, hole + 4096)
p kernel_hat.h_ptpages
monitor info tlb
