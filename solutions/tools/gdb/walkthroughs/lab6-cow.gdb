# ktest: user.cow_semantics
break as_dup
continue
bt
frame 1
p/x rp->r_rsp
set $va = rp->r_rsp & ~0xfff
vm-anon $va
break anon_dup if src == $amp
continue
bt
p npages
p $anon->an_refcnt
finish
p $anon->an_refcnt
vm-anon $va
finish
vm-anon $va
delete
tbreak segvn_fault if addr == $va && rw == S_WRITE
continue
bt
vm-anon $va
vm-anon $va 1
p vminfo.cow_fault
break anon_private if ap == $anon
continue
bt
p ap->an_refcnt
finish
p $->an_refcnt
p $anon->an_refcnt
up
finish
vm-anon $va
vm-anon $va 1
p vminfo.cow_fault
delete
tbreak segvn_fault if addr == $va && rw == S_WRITE
continue
vm-anon $va
finish
vm-anon $va
p vminfo.cow_fault
delete
continue
