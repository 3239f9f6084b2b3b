# lab1-trap-handout.gdb — the gdb session quoted in handouts/lab1-trap.md
# (section 7, "gdb"), in order. grader/gdbcheck boots the kernel as
# `make qemu-gdb KTEST=...` would, runs these commands and checks
# lab1-trap-handout.expect.
# ktest: trap.pf_not_present

break trap if rp->r_trapno == 14
continue
p/x *rp
p/x $cr2
info symbol rp->r_rip
x/22gx rp
p *cpus[0].cpu_onfault
p/x idt[14]
p/x cpus[0].cpu_m.mcpu_tss.ist
info registers gs_base k_gs_base
info registers
monitor info registers
