# lab5-seg.gdb — the steps of handouts/lab5-seg-gdb.md, in order.
# grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...` would (4
# CPUs), runs these commands as typed after `make gdb`, and checks
# lab5-seg.expect. The test runs /bin/mmap_test four times, one process
# after the other: pid 1 is the first, pid 2 the second.
# ktest: user.mmap_faults_kill

# 1. The first program's first instruction fetch: a fault on its text.
break segvn_fault if rw == S_EXEC
continue
bt
p/x addr
p rw
set $va = addr
# 2. The segment it hit, and the whole address space.
p *seg
p *(struct segvn_data *)seg->s_data
vm-as 1
vm-ptwalk $va
p vminfo
# 3. Is the file's page in the page cache? Not yet: a major fault.
tbreak page_lookup
continue
bt
finish
# 4. Out of segvn_fault: the page is mapped, read-only and executable.
frame 2
finish
vm-ptwalk $va
p vminfo.pgin
# 5. The second program, at the same address of the same file.
condition 1 rw == S_EXEC && addr == $va
continue
vm-as 2
p vminfo.pgin
tbreak page_lookup
continue
finish
frame 2
finish
vm-ptwalk $va
p vminfo.pgin
delete
continue
