# lab1-trap.gdb — the steps of handouts/lab1-trap-gdb.md, in order.
# grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...` would, runs
# these commands as typed after `make gdb`, and checks lab1-trap.expect.
# ktest: trap.pf_not_present

# 1. The first instruction: pvh_start, at its physical address.
vm-break-entry
continue
info registers cr0
x/3i $pc
# 2. Into C, once paging is on.
break kmain
continue
# 3. The page fault that trap.pf_not_present provokes.
break trap if rp->r_trapno == 14
continue
bt
vm-regs
p/x *rp
p/x $cr2
info registers gs_base k_gs_base
p &cpus[0]
# 4. Out of trap(): where will iretq go?
set $rp = rp
finish
p/a $rp->r_rip
bt 3
p/x *cpus[0].cpu_onfault
# 5. Where setjmp returns the second time (handout section 4, the end).
tbreak *cpus[0].cpu_onfault->ot_jmpbuf.rip
continue
p $rax
delete
continue
