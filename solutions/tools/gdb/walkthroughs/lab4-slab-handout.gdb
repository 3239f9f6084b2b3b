# lab4-slab-handout.gdb — the gdb session quoted in handouts/lab4-slab.md
# (section 7, "gdb"), in order. grader/gdbcheck boots the kernel as
# `make qemu-gdb KTEST=...` would (4 CPUs), runs these commands and checks
# lab4-slab-handout.expect.
# ktest: kmem.thrash_absorbed_by_previous

break kmem_depot_alloc
# Stop once cpu 0's loaded magazine holds rounds (a free that found both its
# magazines full), so that the print of its rounds has something to show
# (gdb refuses "@0").
condition 1 cp->cache_cpu[0].cc_rounds > 0
continue
info threads
p cp->cache_name
p cp->cache_cpu[0]
p cp->cache_cpu[0].cc_loaded->mag_round[0]@cp->cache_cpu[0].cc_rounds
p cpus[1]
p cp->cache_full_mags
thread 3
bt
