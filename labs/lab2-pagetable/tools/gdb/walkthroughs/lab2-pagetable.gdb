# lab2-pagetable.gdb — the steps of handouts/lab2-pagetable-gdb.md, in order.
# grader/gdbcheck boots the kernel as plain `make qemu-gdb` would (no KTEST:
# the monitor), runs these commands as typed after `make gdb`, and checks
# lab2-pagetable.expect.

# 1. Stop where the kernel waits for monitor commands: on its own tables.
break monitor
continue
p/x kernel_hat
p/x $cr3
# 2. Kernel text: a 4 KiB page, read-only, executable.
vm-ptwalk 0xffffffff80100000
pipe monitor info tlb | grep '^ffffffff80100000'
# 3. The same frame through the direct map: a 2 MiB page, no-execute.
x/2gx 0xffffffff80100000
x/2gx 0xffff800000100000
vm-ptwalk 0xffff800001000000
pipe monitor info tlb | grep '^ffff800001000000'
# 4. Data is writable and no-execute; nothing is mapped at 0.
vm-ptwalk &kernel_hat
vm-ptwalk 0
monitor info mem
