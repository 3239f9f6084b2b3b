# lab6-cow.gdb — the steps of handouts/lab6-cow-gdb.md, in order.
# grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...` would (4
# CPUs), runs these commands as typed after `make gdb`, and checks
# lab6-cow.expect. /bin/cow_test is pid 1. Its first subtest forks pid 2;
# its second, child_writes_are_private, maps four pages at 0x7effffffb000,
# writes them, and forks pid 3, which writes them while pid 1 only waits:
# so only the child ever writes the page this follows, on any CPU.
# ktest: user.cow_semantics

# 1. The second fork, before as_dup: the page has one holder.
break as_dup
ignore 1 1
continue
bt
vm-as 1
vm-anon 0x401000
vm-anon 0x7fffff7ff000
set $va = 0x7effffffb000
vm-anon $va
# 2. segvn_dup shares the segment's slots: anon_dup, then write-protect.
break anon_dup if src == $amp
continue
bt
p $anon->an_refcnt
finish
p $anon->an_refcnt
vm-anon $va
finish
vm-anon $va
# 3. The child's first write to the page: a copy-on-write fault.
delete
tbreak segvn_fault if addr == $va && rw == S_WRITE
continue
bt
vm-anon $va
vm-anon $va 1
break anon_private if ap == $anon
continue
bt
p ap->an_refcnt
finish
p $->an_refcnt
p $anon->an_refcnt
# 4. Out of the fault: a slot each, one holder each.
up
finish
vm-anon $va
vm-anon $va 1
delete
continue
