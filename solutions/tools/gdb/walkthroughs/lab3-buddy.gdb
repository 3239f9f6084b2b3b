# lab3-buddy.gdb — the steps of handouts/lab3-buddy-gdb.md, in order.
# grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...` would, runs
# these commands as typed after `make gdb`, and checks lab3-buddy.expect.
# ktest: buddy.split_counts

# 1. Into the test, then to its one allocation.
tbreak ktest_buddy_split_counts
continue
vm-buddy
break page_alloc_pages
continue
bt 2
# 2. Let the allocation run: one block splits all the way down.
finish
set $pp = $
vm-buddy
# 3. The block it returned, and the halves the split put back.
set $pfn = $pp - page_array
p $pfn
p *$pp
set $o = 0
while $o < 5
  set $b = page_array + $pfn + (1 << $o)
  printf "pfn %#lx: p_flags %#x p_order %u\n", $b - page_array, $b->p_flags, $b->p_order
  set $o = $o + 1
end
# 4. Freeing it merges the buddies back into one block: watch the count
# of order-5 blocks to stop where the last merge lands.
break page_free_pages
continue
p pp == $pp
watch zones[1].z_free_area[5].fa_count
continue
bt 3
vm-buddy
