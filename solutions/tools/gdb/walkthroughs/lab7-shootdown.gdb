# lab7-shootdown.gdb — the steps of handouts/lab7-shootdown-gdb.md, in
# order. grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...`
# would (4 CPUs), runs these commands as typed after `make gdb`, and
# checks lab7-shootdown.expect. In the test, CPU 0 unmaps the page that
# CPUs 1 to 3 have just read; they wait in tlb_wait_pause loops, so they
# serve the request from the loop (polling), not from the T_TLB
# interrupt. gdb's thread N is CPU N - 1. From the first stop on, only
# one CPU runs at a time (scheduler-locking) until CPU 1 has acked, so
# the steps are the same in every run.
# ktest: tlb.shootdown_reaches_every_cpu

# 1. CPU 0 has unmapped the page: its shootdown, before it posts.
break tlb_shootdown
continue
bt
info threads
vm-tlb hat
# 2. Only CPU 0 runs: it posts the request to CPUs 1-3 and waits.
set scheduler-locking on
break tlb_wait_pause
continue
bt 3
p cpus[0].cpu_tlb_req
vm-tlb
# 3. Only CPU 1 runs: it takes the request, flushes, then acks.
thread 2
break tlb_flush_range_local
continue
bt 5
vm-tlb
finish
p cpus[0].cpu_tlb_req.tr_acks_left
next
p cpus[0].cpu_tlb_req.tr_acks_left
next
p cpus[0].cpu_tlb_req.tr_acks_left
vm-tlb
# 4. Every CPU runs: CPUs 2 and 3 ack, and CPU 0's shootdown returns.
thread 1
delete
set scheduler-locking off
frame function tlb_shootdown
finish
vm-tlb
continue
