"""vmlab.py — gdb helpers for the vmlab kernel (`make gdb` loads this file).

Commands (each also has `help vm-...`):

  vm-help              list these commands
  vm-break-entry       a breakpoint on pvh_start at its *physical* address
  vm-regs [EXPR]       decode a struct regs (default: `rp` in trap())
  vm-ptwalk VA [CR3]   walk the page tables for VA, as the monitor's ptwalk
  vm-buddy             free blocks per zone and order, and what changed
  vm-kmem [CACHE]      the slab allocator's caches (lab 4)
  vm-proc [PID | -bt TID]  threads, their saved registers and backtraces
                       (lab 5)
  vm-as PID            a process's address space: its segments in address
                       order, with seg_vn's data (lab 5)
  vm-anon ADDR [PID]   the anon slot behind a user address: its refcount,
                       its page and who maps it (lab 6)
  vm-tlb [HAT]         each CPU's user hat, laziness, pending shootdowns
                       and counters, and HAT's set of CPUs (lab 7)

It also teaches gdb to unwind through a trap frame: the caller of the frame
at trap_return (entry.S) is the code the trap interrupted, with the
registers cmntrap saved in its struct regs. So `bt` inside trap() reaches
the faulting function, and `finish` out of trap() stops at trap_return.
From lab 5 the frame at user_return (syscall_entry.S) is read the same
way: `bt` in a system call ends at the user's `syscall` instruction.

Everything is read from guest memory through the kernel's own symbols and
debug info. Page tables are physical memory: they are read through the
direct map (KPM_BASE + pa, as the kernel's kpm_va() does) and, before the
direct map exists, through QEMU's physical-memory mode of its gdb stub.
A helper whose structure this kernel lacks (a lab not reached yet) says so
in one line. This file runs inside gdb's Python; it uses the gdb API only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, Iterator

import gdb
from gdb.FrameDecorator import FrameDecorator
from gdb.unwinder import Unwinder, register_unwinder

KPM_BASE = 0xFFFF800000000000      # the direct map (kernel.h)
PTE_ADDR = 0x000FFFFFFFFFF000      # pte.h
CR0_PG = 1 << 31
CR4_LA57 = 1 << 12
T_PGFLT = 14
PHYS32_ENTRY_NOTE = 18             # XEN_ELFNOTE_PHYS32_ENTRY (boot.S)


class VmError(Exception):
    """A helper cannot do what was asked: a gdb error of one line."""


class Absent(Exception):
    """This kernel has nothing to show yet (a later lab, paging off): one
    line of output, not an error, so a script goes on."""


# ------------------------------------------------------------ reading

def symbol(name: str, absent: str) -> gdb.Value:
    """The value of a kernel symbol, or Absent(absent) if there is none."""
    try:
        return gdb.parse_and_eval(name)
    except gdb.error:
        raise Absent(absent) from None


def has_symbol(name: str) -> bool:
    try:
        gdb.parse_and_eval(f"&{name}")
        return True
    except gdb.error:
        return False


def live_register(name: str) -> int:
    """A register of the stopped CPU (the innermost frame's, not unwound)."""
    try:
        return int(gdb.newest_frame().read_register(name)) & (2**64 - 1)
    except (gdb.error, ValueError) as e:
        raise VmError(f"register {name} is not available ({e}); is gdb "
                      "attached to a halted QEMU (make gdb)?") from None


def read_phys(pa: int, size: int) -> bytes:
    """Guest physical memory: through the direct map, else QEMU's stub."""
    try:
        return bytes(gdb.selected_inferior().read_memory(KPM_BASE + pa,
                                                         size))
    except gdb.MemoryError:
        return _read_phys_qemu(pa, size)


def _phy_mem_mode(on: bool) -> bool:
    out = gdb.execute(f"maintenance packet Qqemu.PhyMemMode:{int(on)}",
                      to_string=True)
    return '"OK"' in out


def _read_phys_qemu(pa: int, size: int) -> bytes:
    """QEMU's gdb stub reads physical addresses after Qqemu.PhyMemMode:1."""
    if not _phy_mem_mode(True):
        raise VmError(f"cannot read physical address {pa:#x}: no direct "
                      "map yet and the gdb stub has no physical mode")
    try:
        return bytes(gdb.selected_inferior().read_memory(pa, size))
    except gdb.MemoryError:
        raise VmError(f"cannot read physical address {pa:#x}") from None
    finally:
        _phy_mem_mode(False)


def u64(data: bytes, i: int = 0) -> int:
    return struct.unpack_from("<Q", data, 8 * i)[0]


def c_string(ptr: gdb.Value, default: str) -> str:
    """A char * the kernel has set, or default while it is still NULL."""
    if int(ptr) == 0:
        return default
    return ptr.string(errors="replace", length=64).split("\0")[0]


def where(addr: int) -> str:
    """addr with its symbol, as gdb prints it: 0x... <func+4>."""
    try:
        return gdb.format_address(addr)
    except (gdb.error, ValueError):
        return f"{addr:#x}"


# ------------------------------------------------------------ commands

class VmCommand(gdb.Command):
    """Base: a vm-* command whose errors are one line, never a traceback."""

    def __init__(self, name: str) -> None:
        super().__init__(name, gdb.COMMAND_USER)
        self.cmd = name

    def invoke(self, arg: str, from_tty: bool) -> None:
        try:
            self.run(gdb.string_to_argv(arg))
        except Absent as e:
            out(f"{self.cmd}: {e}")
        except VmError as e:
            raise gdb.GdbError(f"{self.cmd}: {e}") from None
        except gdb.error as e:
            raise gdb.GdbError(f"{self.cmd}: {e}") from None
        except (ValueError, UnicodeError, OverflowError) as e:
            raise gdb.GdbError(f"{self.cmd}: cannot decode what it read "
                               f"({e})") from None

    def run(self, argv: list[str]) -> None:
        raise NotImplementedError


def expr_int(text: str) -> int:
    """A gdb expression (0x..., a symbol, $cr3, rp->r_rip) as an integer."""
    try:
        return int(gdb.parse_and_eval(text)) & (2**64 - 1)
    except gdb.error as e:
        raise VmError(f"{text}: {e}") from None


def out(line: str = "") -> None:
    gdb.write(line + "\n")


# ------------------------------------------------------ vm-break-entry

def pvh_entry(path: str) -> int:
    """The physical entry in the ELF's Xen PVH note, where QEMU jumps."""
    try:
        with open(path, "rb") as f:
            elf = f.read()
    except OSError as e:
        raise VmError(f"cannot read {path}: {e.strerror}") from None
    if elf[:5] != b"\x7fELF\x02":
        raise VmError(f"{path} is not an ELF64 file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset = struct.unpack_from("<IIQ", elf,
                                                 phoff + i * phentsize)
        p_filesz, = struct.unpack_from("<Q", elf, phoff + i * phentsize + 32)
        if p_type == 4:  # PT_NOTE
            entry = _note_entry(elf[p_offset:p_offset + p_filesz])
            if entry is not None:
                return entry
    raise VmError(f"{path} has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)")


def _note_entry(notes: bytes) -> int | None:
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        name_at = pos + 12
        desc_at = name_at + (namesz + 3) // 4 * 4
        if notes[name_at:name_at + namesz] == b"Xen\0" and \
                ntype == PHYS32_ENTRY_NOTE and descsz >= 4:
            return struct.unpack_from("<I", notes, desc_at)[0]
        pos = desc_at + (descsz + 3) // 4 * 4
    return None


class BreakEntry(VmCommand):
    """Break on pvh_start, the first instruction, at its physical address.

QEMU enters pvh_start in 32-bit protected mode with paging off, so the
instruction runs at its physical address (0x100000), not at the link
address gdb knows for the symbol (0xffffffff80100000): `break pvh_start`
never fires. This sets a hardware breakpoint on the physical address that
the ELF's PVH note gives QEMU. Once paging is on (start64 and later),
ordinary breakpoints on symbols work: `break kmain`."""

    def __init__(self) -> None:
        super().__init__("vm-break-entry")

    def run(self, argv: list[str]) -> None:
        progspace = gdb.current_progspace()
        if progspace is None or progspace.filename is None:
            raise VmError("no kernel loaded (file build/kernel.elf)")
        pa = pvh_entry(progspace.filename)
        gdb.execute(f"hbreak *{pa:#x}")
        link = ""
        if has_symbol("pvh_start"):
            link = f" (linked at {expr_int('&pvh_start'):#x})"
        out(f"vm-break-entry: pvh_start runs at physical {pa:#x}, in 32-bit "
            "mode with paging off;")
        out(f"  `break pvh_start`{link} would never fire")


# ------------------------------------------------------------- vm-regs

GPR_ROWS = (("rax", "rbx", "rcx"), ("rdx", "rsi", "rdi"),
            ("rbp", "r8", "r9"), ("r10", "r11", "r12"),
            ("r13", "r14", "r15"), ("trapno", "err", "rip"),
            ("cs", "rfl", "rsp"), ("ss",))
SHORT = {"trapno": "trp"}
RFLAGS = ((0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"),
          (9, "IF"), (10, "DF"), (11, "OF"))
# trap_name()'s cases past the exception table (kern/arch/x86_64/intr.c).
VECTOR_NAMES = {0x80: "system call", 0x81: "test vector",
                0xF0: "LAPIC timer", 0xFF: "spurious"}
PF_BITS = (("P", "the page is not present", "a protection violation"),
           ("W", "the access was a read", "the access was a write"),
           ("U", "it came from ring 0 (supervisor)",
            "it came from ring 3 (user)"),
           ("RSVD", "no reserved bit set",
            "a paging entry has a reserved bit set"),
           ("I", "a data access", "an instruction fetch"))
SELECTOR_ERR = frozenset({10, 11, 12, 13})


def trap_name(trapno: int) -> str:
    """The kernel's name for a vector, read from its exc_names[] table."""
    if trapno >= 32:
        return VECTOR_NAMES.get(trapno,
                                "interrupt" if trapno < 256 else "bad vector")
    if not has_symbol("exc_names"):
        return "(this kernel has no exc_names[])"
    name = gdb.parse_and_eval("exc_names")[trapno]
    return c_string(name, "reserved")


def regs_type() -> gdb.Type:
    try:
        return gdb.lookup_type("struct regs")
    except gdb.error:
        raise VmError("no struct regs in this kernel's debug info") from None


def regs_at(text: str | None) -> gdb.Value:
    """The struct regs an expression names, or the current frame's."""
    rt = regs_type()
    if text is None:
        return _default_regs(rt)
    try:
        v = gdb.parse_and_eval(text)
    except gdb.error as e:
        raise VmError(f"{text}: {e}") from None
    if v.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        return v
    return v.cast(rt.pointer()).dereference()


def _default_regs(rt: gdb.Type) -> gdb.Value:
    frame = gdb.selected_frame()
    if frame.pc() == trap_return_addr():  # cmntrap's frame: rp is %rsp
        rsp = frame.read_register("rsp")
        return rsp.cast(rt.pointer()).dereference()
    try:
        rp = frame.read_var("rp")
    except ValueError:
        raise VmError("no `rp` in this frame: stop in trap() "
                      "(break trap), or name one: vm-regs EXPR") from None
    if rp.is_optimized_out:
        raise VmError("`rp` is optimized out here; try vm-regs at the "
                      "first line of trap()")
    return rp.dereference()


def field(regs: gdb.Value, name: str) -> int:
    return int(regs["r_" + name]) & (2**64 - 1)


def print_regs(regs: gdb.Value) -> None:
    for row in GPR_ROWS:
        out(" ".join(f"{SHORT.get(r, r):<3} {field(regs, r):016x}"
                     for r in row))
    trapno, cs = field(regs, "trapno"), field(regs, "cs")
    ring = "ring 3 (user)" if cs & 3 == 3 else f"ring {cs & 3} (kernel)"
    out(f"trap   {trapno:#x} = {trapno}: {trap_name(trapno)}, from {ring}")
    out(f"rip    {where(field(regs, 'rip'))}")
    rfl = field(regs, "rfl")
    flags = " ".join(n for bit, n in RFLAGS if rfl >> bit & 1)
    out(f"rflags {rfl:#x} [ {flags} ]")


def print_pf(err: int, cs: int) -> None:
    """The error code bit by bit, then what trap() passes to pagefault():
    pf_type() and pf_rw() of it, and iskernel from the trapped CS."""
    out(f"#pf error code {err:#x}:")
    for bit, (name, off, on) in enumerate(PF_BITS):
        val = err >> bit & 1
        out(f"  {name:<4} = {val}  {on if val else off}")
    if err & 8:
        out("  decoded: RSVD set: a corrupt page table, a bad trap "
            "(no pagefault())")
    else:
        kind = "F_PROT" if err & 1 else "F_INVAL"
        rw = "S_EXEC" if err & 0x10 else "S_WRITE" if err & 2 else "S_READ"
        iskernel = 0 if cs & 3 == 3 else 1
        out(f"  decoded: pf_type {kind}, pf_rw {rw}, "
            f"iskernel {iskernel} (from CS)")
    out(f"cr2    {live_register('cr2'):#018x}  the faulting address "
        "(live CR2)")


def print_selector_err(err: int) -> None:
    if err == 0:
        out("error code 0: no segment selector involved")
        return
    table = "IDT" if err & 2 else ("LDT" if err & 4 else "GDT")
    ext = ", external event" if err & 1 else ""
    out(f"error code {err:#x}: {table} entry {err >> 3}{ext}")


class Regs(VmCommand):
    """Decode a struct regs: vm-regs [EXPR] (default: rp, in trap()).

Prints every register the trap saved, the trap's name (from the kernel's
exc_names[]), the ring it came from, and for a page fault the error code
in words and CR2. EXPR is a struct regs, a pointer to one, or an address:
vm-regs rp, vm-regs $rsp (at trap_return), vm-regs 0xffffffff801228b0."""

    def __init__(self) -> None:
        super().__init__("vm-regs")

    def run(self, argv: list[str]) -> None:
        regs = regs_at(" ".join(argv) if argv else None)
        out(f"struct regs at {int(regs.address):#x}")
        print_regs(regs)
        trapno, err = field(regs, "trapno"), field(regs, "err")
        if trapno == T_PGFLT:
            print_pf(err, field(regs, "cs"))
        elif trapno in SELECTOR_ERR:
            print_selector_err(err)


# ----------------------------------------------------------- vm-ptwalk

@dataclass(frozen=True)
class Level:
    name: str
    shift: int
    bits: int


@dataclass(frozen=True)
class Mode:
    name: str
    va_bits: int
    sign_extend: bool
    levels: tuple[Level, ...]       # index 0 is the page table proper


FALLBACK_4LEVEL = Mode("4-level", 48, True, (
    Level("PT", 12, 9), Level("PD", 21, 9), Level("PDPT", 30, 9),
    Level("PML4", 39, 9)))
PTE_FLAGS = ((0, "P"), (1, "W"), (2, "U"), (3, "T"), (4, "C"), (5, "A"),
             (6, "D"), (7, "S"), (8, "G"), (63, "X"))


def paging_mode() -> Mode:
    """The live mode (CR4.LA57), as the kernel's pt_mode table says."""
    name = "pt_mode_5level" if live_register("cr4") & CR4_LA57 else \
        "pt_mode_4level"
    try:
        m = gdb.parse_and_eval(name)
        m.fetch_lazy()
    except gdb.error:
        if name == "pt_mode_4level":
            return FALLBACK_4LEVEL
        raise VmError(f"CR4.LA57 is set but {name} cannot be read") \
            from None
    levels = tuple(Level(c_string(m["lvl"][i]["name"], f"L{i}"),
                         int(m["lvl"][i]["shift"]), int(m["lvl"][i]["bits"]))
                   for i in range(int(m["levels"])))
    return Mode(c_string(m["name"], name), int(m["va_bits"]),
                bool(m["sign_extend"]), levels)


def va_valid(m: Mode, va: int) -> bool:
    high = va >> (m.va_bits - 1)
    if not m.sign_extend:
        return va >> m.va_bits == 0
    return high in (0, (2**64 - 1) >> (m.va_bits - 1))


def pte_flags(pte: int) -> str:
    return "".join(c if pte >> bit & 1 else "-" for bit, c in PTE_FLAGS)


def leaf_page(pte: int, level: int, lv: Level) -> int:
    """The page a leaf maps; a large leaf's bit 12 is PAT, not address."""
    if level == 0:
        return pte & PTE_ADDR
    return pte & PTE_ADDR & ~((1 << lv.shift) - 1)


def ptwalk(va: int, root: int) -> Iterator[str]:
    """The lines of hat_ptwalk_print() (kern/vm/hat.c) for va from root."""
    m = paging_mode()
    yield (f"ptwalk {va:#x} ({m.name}, root {root:#x}); flags P W U "
           "T(pwt) C(pcd) A D S(ps) G X(nx)")
    if not va_valid(m, va):
        yield f"  not a valid address in {m.name} mode"
        return
    for level, lv, i, pte in walk_entries(m, va, root):
        head = f"  {lv.name:<4} [{i:3d}] {pte:016x} {pte_flags(pte)}"
        if not pte & 1:
            yield head + "  not present"
        elif level == 0 or pte & 0x80:
            page = leaf_page(pte, level, lv)
            pa = page + (va & ((1 << lv.shift) - 1))
            yield f"{head}  -> page {page:#x}, pa {pa:#x}"
        else:
            yield head


def walk_entries(m: Mode, va: int,
                 root: int) -> Iterator[tuple[int, Level, int, int]]:
    """(level, its Level, index, entry) for va, from the top table down;
    the last is an entry that is not present, or the leaf."""
    table = root
    for level in range(len(m.levels) - 1, -1, -1):
        lv = m.levels[level]
        i = va >> lv.shift & ((1 << lv.bits) - 1)
        pte = u64(read_phys(table + 8 * i, 8))
        yield level, lv, i, pte
        if not pte & 1 or level == 0 or pte & 0x80:
            return
        table = pte & PTE_ADDR


def leaf_entry(va: int, root: int) -> int | None:
    """The present leaf entry that maps va from root, or None."""
    m = paging_mode()
    if not va_valid(m, va):
        return None
    level, _, _, pte = list(walk_entries(m, va, root))[-1]
    present_leaf = pte & 1 and (level == 0 or pte & 0x80)
    return pte if present_leaf else None


class PtWalk(VmCommand):
    """Walk the page tables for a VA: vm-ptwalk VA [CR3].

Prints each level's index, entry and flags, then the page and physical
address, in the layout of the monitor's `ptwalk VA` (hat_ptwalk_print).
CR3 defaults to the live $cr3; give another root to walk another tree,
e.g. vm-ptwalk 0x1000 kernel_hat.h_root. VA and CR3 are gdb expressions:
vm-ptwalk &kmain, vm-ptwalk rp->r_rip, vm-ptwalk $cr2."""

    def __init__(self) -> None:
        super().__init__("vm-ptwalk")

    def run(self, argv: list[str]) -> None:
        if len(argv) not in (1, 2):
            raise VmError("usage: vm-ptwalk VA [CR3]   "
                          "(e.g. vm-ptwalk 0xffffffff80100000)")
        va = expr_int(argv[0])
        if not live_register("cr0") & CR0_PG:
            raise Absent("paging is off (CR0.PG = 0): every address is "
                          "physical, there is nothing to walk")
        root = expr_int(argv[1]) if len(argv) == 2 else live_register("cr3")
        for line in ptwalk(va, root & PTE_ADDR):
            out(line)


# ------------------------------------------------------------ vm-buddy

NO_BUDDY = "no buddy allocator in this kernel: it arrives with lab 3"
_last_buddy: dict[str, list[int]] = {}


def zone_counts() -> dict[str, list[int]]:
    """zones[z].z_free_area[o].fa_count, by zone name."""
    zones = symbol("zones", NO_BUDDY)
    lo, hi = zones.type.strip_typedefs().range()
    counts: dict[str, list[int]] = {}
    for z in range(lo, hi + 1):
        fa = zones[z]["z_free_area"]
        olo, ohi = fa.type.strip_typedefs().range()
        counts[c_string(zones[z]["z_name"], f"zone {z}")] = [
            int(fa[o]["fa_count"]) for o in range(olo, ohi + 1)]
    return counts


def buddy_changes(old: dict[str, list[int]],
                  new: dict[str, list[int]]) -> list[str]:
    """'Normal: order 0 +1, order 3 -1' for each zone whose counts moved."""
    lines = []
    for zone, counts in new.items():
        before = old.get(zone, counts)
        moved = [f"order {o} {n - b:+d}"
                 for o, (b, n) in enumerate(zip(before, counts)) if n != b]
        if moved:
            lines.append(f"  {zone}: " + ", ".join(moved))
    return lines


def free_pages(counts: list[int]) -> int:
    return sum(n << o for o, n in enumerate(counts))


class Buddy(VmCommand):
    """Free blocks per zone and order: vm-buddy.

The monitor's buddyinfo, read from zones[].z_free_area[order].fa_count,
then the free pages per zone and in all, and what changed since the last
vm-buddy (a split takes one block at order j and adds one at each order
below j; a merge does the opposite)."""

    def __init__(self) -> None:
        super().__init__("vm-buddy")

    def run(self, argv: list[str]) -> None:
        counts = zone_counts()
        orders = max(len(c) for c in counts.values())
        out(f"{'order:':<20}" + "".join(f" {o:6d}" for o in range(orders)))
        for zone, c in counts.items():
            out(f"Node 0, zone {zone:>8}" + "".join(f" {n:6d}" for n in c))
        total = sum(free_pages(c) for c in counts.values())
        per_zone = ", ".join(f"{z} {free_pages(c)}" for z, c in counts.items())
        out(f"free pages: {total} ({total >> 8} MiB): {per_zone}")
        if has_symbol("page_ready") and \
                not bool(gdb.parse_and_eval("page_ready")):
            out("(page_ready is false: the kernel is on its boot allocator)")
        self.report_changes(counts)

    @staticmethod
    def report_changes(counts: dict[str, list[int]]) -> None:
        if _last_buddy:
            changes = buddy_changes(_last_buddy, counts)
            out("since the last vm-buddy:" if changes else
                "since the last vm-buddy: no change")
            for line in changes:
                out(line)
        _last_buddy.clear()
        _last_buddy.update(counts)


# ------------------------------------------------------------- vm-kmem

NO_KMEM = "no kmem in this kernel: it arrives with lab 4"
SLAB_LIST_CAP = 100000          # a corrupt slab list ends the count here
# What vm-kmem CACHE last saw of each cache, by address: what changed.
_last_kmem: dict[int, dict[str, int]] = {}


def kmem_caches() -> Iterator[gdb.Value]:
    """Every cache on the kernel's list (kmem_caches, cache_next)."""
    cp = symbol("kmem_caches", NO_KMEM)
    seen = set()
    while int(cp) != 0 and int(cp) not in seen:
        seen.add(int(cp))
        yield cp
        cp = cp["cache_next"]


def cache_name(cp: gdb.Value) -> str:
    return cp["cache_name"].string(errors="replace",
                                   length=32).split("\0")[0]


def find_cache(text: str) -> gdb.Value:
    """A cache by its name, else a kmem_cache_t * (or kmem_cache_t)
    expression: vm-kmem kmem_alloc_64, vm-kmem cp."""
    for cp in kmem_caches():
        if cache_name(cp) == text:
            return cp
    try:
        v = gdb.parse_and_eval(text)
    except gdb.error:
        names = ", ".join(cache_name(cp) for cp in kmem_caches())
        raise VmError(f"no cache named {text!r} (and it is not an "
                      f"expression); the caches: {names}") from None
    ctype = gdb.lookup_type("kmem_cache_t")
    if v.type.strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        return v.address
    return v.cast(ctype.pointer())


def online_cpus() -> list[int]:
    """cpus[i] for i < ncpus that have set cpu_online."""
    n = int(symbol("ncpus", NO_KMEM))
    cpus = symbol("cpus", NO_KMEM)
    return [i for i in range(n) if int(cpus[i]["cpu_online"])]


def this_cpu() -> int | None:
    """The stopped CPU's index in cpus[], if gdb can tell: its %gs base
    in the kernel, KERNEL_GS_BASE (k_gs_base) in user mode, where swapgs
    has put the user's %gs base in its place."""
    try:
        base = int(gdb.parse_and_eval("&cpus[0]"))
        size = gdb.parse_and_eval("cpus[0]").type.sizeof
        n = int(gdb.parse_and_eval("ncpus"))
    except gdb.error:
        return None
    for reg in ("gs_base", "k_gs_base"):
        try:
            gs = live_register(reg)
        except VmError:
            continue
        if base <= gs < base + n * size and (gs - base) % size == 0:
            return (gs - base) // size
    return None


def slab_count(head: gdb.Value) -> int:
    n, sp = 0, head
    while int(sp) != 0 and n < SLAB_LIST_CAP:
        n += 1
        sp = sp["slab_next"]
    return n


def kmem_snapshot(cp: gdb.Value, cpus: list[int]) -> dict[str, int]:
    """The counters vm-kmem CACHE reports changes of, by their label."""
    snap = {
        "buffers in slabs": int(cp["cache_bufslab"]),
        "buffers made": int(cp["cache_buftotal"]),
        "slab lock acquisitions": int(cp["cache_lock_acquires"]),
        "depot lock acquisitions": int(cp["cache_depot_acquires"]),
        "depot full magazines": int(cp["cache_full_mags"]["ml_total"]),
        "depot empty magazines": int(cp["cache_empty_mags"]["ml_total"]),
    }
    for i in cpus:
        cc = cp["cache_cpu"][i]
        snap[f"cpu {i} loaded rounds"] = int(cc["cc_rounds"])
        snap[f"cpu {i} previous rounds"] = int(cc["cc_prounds"])
    return snap


def kmem_changes(old: dict[str, int], new: dict[str, int]) -> list[str]:
    """'cpu 0 loaded rounds -1' for each counter that moved."""
    return [f"{k} {new[k] - old[k]:+d}" for k in new
            if k in old and new[k] != old[k]]


def depot_summary(cp: gdb.Value) -> str:
    return (f"{int(cp['cache_full_mags']['ml_total'])}/"
            f"{int(cp['cache_empty_mags']['ml_total'])}")


class Kmem(VmCommand):
    """The slab allocator's caches: vm-kmem [CACHE] (lab 4).

Without an argument: one line per cache on the kernel's list (kmem_caches,
linked through cache_next), as the monitor's kmastat: buffer and chunk
size, buffers free in slabs / made, slabs, magazine size (0: no magazine
layer), the depot's full/empty magazines, and how often the depot lock
and the slab lock (cache_lock) were taken.
With CACHE (a cache name, or a kmem_cache_t * expression such as cp): that
cache in detail: its slab lists, its depot lists (ml_total, ml_min), each
online CPU's loaded and previous magazine with their rounds, and what
changed since the last vm-kmem of that cache."""

    def __init__(self) -> None:
        super().__init__("vm-kmem")

    def run(self, argv: list[str]) -> None:
        if not has_symbol("kmem_caches"):
            raise Absent(NO_KMEM)
        if int(gdb.parse_and_eval("kmem_caches")) == 0:
            raise Absent("no caches yet: kmem_init() has not run (kmain "
                         "calls it after page_init, from lab 4 on)")
        if not argv:
            self.summary()
        else:
            self.detail(find_cache(" ".join(argv)))

    @staticmethod
    def summary() -> None:
        out(f"{'cache':<20} {'buf':>6} {'chunk':>6} {'slab/total':>15} "
            f"{'slabs':>5} {'mag':>4} {'depot f/e':>9} {'depot-lk':>9} "
            f"{'slab-lk':>9}")
        for cp in kmem_caches():
            slabs = int(cp["cache_slab_create"]) - \
                int(cp["cache_slab_destroy"])
            bufs = f"{int(cp['cache_bufslab'])}/{int(cp['cache_buftotal'])}"
            out(f"{cache_name(cp):<20} {int(cp['cache_bufsize']):>6} "
                f"{int(cp['cache_chunksize']):>6} {bufs:>15} {slabs:>5} "
                f"{int(cp['cache_magsize']):>4} {depot_summary(cp):>9} "
                f"{int(cp['cache_depot_acquires']):>9} "
                f"{int(cp['cache_lock_acquires']):>9}")

    @staticmethod
    def detail(cp: gdb.Value) -> None:
        name = cache_name(cp)
        cpus = online_cpus()
        here = this_cpu()
        out(f"cache {name} at {int(cp):#x}: buf {int(cp['cache_bufsize'])}, "
            f"chunk {int(cp['cache_chunksize'])}, align "
            f"{int(cp['cache_align'])}, flags {int(cp['cache_flags']):#x}")
        out(f"  slabs: {int(cp['cache_slabsize'])} bytes (order "
            f"{int(cp['cache_slaborder'])}); partial "
            f"{slab_count(cp['cache_partial'])}, empty "
            f"{slab_count(cp['cache_empty'])}, full "
            f"{slab_count(cp['cache_full'])}; "
            f"{int(cp['cache_slab_create'])} made, "
            f"{int(cp['cache_slab_destroy'])} destroyed")
        out(f"  buffers: {int(cp['cache_bufslab'])} free in slabs of "
            f"{int(cp['cache_buftotal'])} made; slab layer "
            f"{int(cp['cache_slab_alloc'])} allocs, "
            f"{int(cp['cache_slab_free'])} frees, "
            f"{int(cp['cache_alloc_fail'])} failed; cache_lock taken "
            f"{int(cp['cache_lock_acquires'])} times")
        magtype = cp["cache_magtype"]
        mt = cache_name(magtype) if int(magtype) else "none"
        out(f"  depot: magazines of {int(cp['cache_magsize'])} rounds (from "
            f"{mt}); cache_depot_lock taken "
            f"{int(cp['cache_depot_acquires'])} times, "
            f"{int(cp['cache_depot_contention'])} contended")
        for label, ml in (("full", cp["cache_full_mags"]),
                          ("empty", cp["cache_empty_mags"])):
            out(f"    {label + ' magazines:':<17} ml_total "
                f"{int(ml['ml_total'])}, ml_min {int(ml['ml_min'])}, "
                f"taken {int(ml['ml_alloc'])}")
        for i in cpus:
            cc = cp["cache_cpu"][i]
            mark = " (this CPU)" if i == here else ""
            out(f"  cpu {i}{mark}: magsize {int(cc['cc_magsize'])}, "
                f"served {int(cc['cc_alloc'])} allocs, "
                f"{int(cc['cc_free'])} frees")
            out(f"    loaded   {int(cc['cc_loaded']):#018x}  rounds "
                f"{int(cc['cc_rounds'])}")
            out(f"    previous {int(cc['cc_ploaded']):#018x}  rounds "
                f"{int(cc['cc_prounds'])}")
        snap = kmem_snapshot(cp, cpus)
        old = _last_kmem.get(int(cp))
        if old is not None:
            changes = kmem_changes(old, snap)
            out(f"since the last vm-kmem {name}:" +
                ("" if changes else " no change"))
            for line in changes:
                out("  " + line)
        _last_kmem[int(cp)] = snap


# ------------------------------------------------------------- vm-proc

NO_THREADS = "no threads in this kernel: processes arrive with lab 5"
THREAD_LIST_CAP = 4096          # a corrupt t_next chain ends the walk here
BT_DEPTH = 32                   # frames a backtrace follows at most
# What swtch() (swtch.S) leaves at t_pcb.pcb_rsp, from the lowest address:
# the six callee-saved registers it pushed, then its return address.
SWTCH_SAVED = ("r15", "r14", "r13", "r12", "rbx", "rbp")
SWTCH_RET = 6                   # index of the return address, in words


def kthreads() -> Iterator[gdb.Value]:
    """Every thread on the kernel's list (thread_list, through t_next)."""
    t = symbol("thread_list", NO_THREADS)
    seen: set[int] = set()
    while int(t) != 0 and int(t) not in seen and len(seen) < THREAD_LIST_CAP:
        seen.add(int(t))
        yield t
        t = t["t_next"]


def running_threads() -> dict[int, int]:
    """thread address -> the CPU that runs it (cpus[i].cpu_thread)."""
    cpus = symbol("cpus", NO_THREADS)
    return {int(cpus[i]["cpu_thread"]): i
            for i in range(int(symbol("ncpus", NO_THREADS)))
            if int(cpus[i]["cpu_online"]) and int(cpus[i]["cpu_thread"])}


def thread_state(t: gdb.Value) -> str:
    """t_state by its enum name (TS_SLEEP), as the debug info spells it."""
    return str(t["t_state"])


def thread_where(t: gdb.Value, running: dict[int, int]) -> str:
    """What a thread is doing, in a few words."""
    if int(t) in running:
        return f"running on cpu {running[int(t)]}"
    wchan = int(t["t_wchan"])
    if thread_state(t) == "TS_SLEEP" and wchan:
        cv = t["t_wchan"].cast(gdb.lookup_type("kcondvar_t").pointer())
        return f"asleep on {wchan:#x} ({c_string(cv['cv_name'], '?')})"
    return "off cpu" if int(t["t_pcb"]["pcb_rsp"]) else "never switched out"


def thread_label(t: gdb.Value) -> tuple[int, str]:
    """pid and the name ps shows: p_comm, and t_name for the kernel's."""
    p = t["t_procp"]
    if int(p) == 0:
        return -1, c_string(t["t_name"], "?")
    comm = p["p_comm"].string(errors="replace",
                              length=16).split("\0")[0] or "?"
    pid = int(p["p_pid"])
    if pid == 0:
        comm += "/" + c_string(t["t_name"], "?")
    return pid, comm


def saved_words(t: gdb.Value) -> list[int] | None:
    """The seven words swtch() left at t_pcb.pcb_rsp, or None if the
    thread has never been switched out (an AP's idle thread at boot)."""
    rsp = int(t["t_pcb"]["pcb_rsp"])
    if rsp == 0:
        return None
    data = bytes(gdb.selected_inferior().read_memory(rsp, 8 * 7))
    return [u64(data, i) for i in range(7)]


def print_saved(t: gdb.Value) -> None:
    words = saved_words(t)
    if words is None:
        out("      no saved context: it has run since boot without a switch")
        return
    rsp = int(t["t_pcb"]["pcb_rsp"])
    out(f"      pcb_rsp {rsp:#x}, resumes at {where(words[SWTCH_RET])}")
    out("      " + " ".join(f"{name} {words[i]:016x}" for i, name in
                            reversed(list(enumerate(SWTCH_SAVED)))))


def find_thread(pred: Callable[[gdb.Value], bool],
                what: str) -> list[gdb.Value]:
    found = [t for t in kthreads() if pred(t)]
    if not found:
        raise VmError(f"no thread {what} on thread_list (vm-proc lists "
                      "them)")
    return found


def read_word(addr: int) -> int | None:
    try:
        return u64(bytes(gdb.selected_inferior().read_memory(addr, 8)))
    except gdb.MemoryError:
        return None


def frame_walk(pc: int, rbp: int) -> Iterator[tuple[int, int | None]]:
    """(return address, where it was read) up the chain of saved rbps:
    [rbp] is the caller's rbp, [rbp + 8] the return address into it (the
    first pc comes from swtch()'s frame: None). It stops at rbp 0
    (thread_trampoline clears it), at an address outside the kernel's
    half, or past BT_DEPTH frames."""
    slot: int | None = None
    for _ in range(BT_DEPTH):
        yield pc, slot
        if rbp < KPM_BASE or rbp % 8:
            return
        nxt, ret = read_word(rbp), read_word(rbp + 8)
        if nxt is None or ret is None or ret < KPM_BASE:
            return
        pc, slot, rbp = ret, rbp + 8, nxt


def print_backtrace(t: gdb.Value, running: dict[int, int]) -> None:
    tid = int(t["t_tid"])
    if int(t) in running:
        out(f"thread {tid} is running on cpu {running[int(t)]}: its "
            "registers are that CPU's (info threads, thread N, bt)")
        return
    words = saved_words(t)
    if words is None:
        out(f"thread {tid} has never been switched out: no saved frame")
        return
    out(f"thread {tid}, from its saved rbp:")
    ends = frame_ends()
    rbp = words[SWTCH_SAVED.index("rbp")]
    for i, (pc, slot) in enumerate(frame_walk(words[SWTCH_RET], rbp)):
        out(f"#{i:<2} {where(pc)}")
        if pc in ends and slot is not None:
            # The call pushed its return address just below the frame.
            print_frame_regs(slot + 8)
            return


def print_frame_regs(at: int) -> None:
    """The struct regs a call from trap_return or user_return sits on."""
    rptr = _types.get("regs_ptr")
    if rptr is None:
        return
    regs = gdb.Value(at).cast(rptr).dereference()
    trapno, cs = field(regs, "trapno"), field(regs, "cs")
    ring = "user" if cs & 3 == 3 else "kernel"
    out(f"    struct regs at {at:#x}: trap {trapno:#x} ({trap_name(trapno)}) "
        f"from {ring} rip {where(field(regs, 'rip'))}, rax "
        f"{field(regs, 'rax'):#x}")


class Proc(VmCommand):
    """Threads and processes: vm-proc [PID | -bt TID] (lab 5).

Without an argument: every thread on the kernel's list (thread_list,
linked through t_next), as the monitor's ps sees processes: tid, the pid
and command of its process (kernel threads: kernel/NAME), t_state, the CPU
it runs or last ran on, and what it is doing. A thread no CPU is running
has its context where swtch() (swtch.S) left it, at t_pcb.pcb_rsp: r15,
r14, r13, r12, rbx, rbp, then the return address; those are printed too.
With PID: the threads of that process, each with a backtrace. With -bt
TID: the backtrace of thread TID. A backtrace follows the frame pointers
from the saved rbp (the kernel is built with them), names each return
address, and stops at a trap or system call frame, whose struct regs it
decodes in one line."""

    def __init__(self) -> None:
        super().__init__("vm-proc")

    def run(self, argv: list[str]) -> None:
        if not has_symbol("thread_list"):
            raise Absent(NO_THREADS)
        if int(gdb.parse_and_eval("thread_list")) == 0:
            raise Absent("no threads yet: thread_init() has not run "
                         "(kmain calls it once kmem is up)")
        running = running_threads()
        if not argv:
            self.table(running)
        elif argv[0] == "-bt" and len(argv) == 2:
            tid = expr_int(argv[1])
            for t in find_thread(lambda t: int(t["t_tid"]) == tid,
                                 f"with tid {tid}"):
                print_backtrace(t, running)
        elif len(argv) == 1 and argv[0] != "-bt":
            pid = expr_int(argv[0])
            for t in find_thread(lambda t: thread_label(t)[0] == pid,
                                 f"of pid {pid}"):
                self.row(t, running)
                print_backtrace(t, running)
        else:
            raise VmError("usage: vm-proc [PID | -bt TID]")

    @staticmethod
    def table(running: dict[int, int]) -> None:
        out(f"{'tid':>4} {'pid':>4} {'comm':<16} {'state':<9} {'cpu':>3}  "
            "doing")
        for t in kthreads():
            Proc.row(t, running)
            if int(t) not in running:
                print_saved(t)

    @staticmethod
    def row(t: gdb.Value, running: dict[int, int]) -> None:
        pid, comm = thread_label(t)
        cpu = "-" if int(t["t_cpu"]) == 0 else str(int(t["t_cpu"]["cpu_id"]))
        out(f"{int(t['t_tid']):>4} {pid:>4} {comm:<16} "
            f"{thread_state(t):<9} {cpu:>3}  {thread_where(t, running)}")


# --------------------------------------------------------------- vm-as

NO_PROCS = "no processes in this kernel: they arrive with lab 5"
PROT_BITS = ((0x1, "r"), (0x2, "w"), (0x4, "x"))     # hat.h's PROT_*
MAP_TYPES = {0x01: "shared", 0x02: "private"}         # seg_vn.h
SEG_CAP = 1 << 20               # a corrupt tree ends the walk here


def find_proc(pid: int) -> gdb.Value:
    """The proc_t * with p_pid == pid: p0 (the kernel's, in no table) or
    one in proctab[] (proc.c)."""
    if pid == 0 and has_symbol("p0"):
        return gdb.parse_and_eval("&p0")
    tab = symbol("proctab", NO_PROCS)
    lo, hi = tab.type.strip_typedefs().range()
    for i in range(lo, hi + 1):
        p = tab[i]
        if int(p) != 0 and int(p["p_pid"]) == pid:
            return p
    raise VmError(f"no process {pid} in proctab[] (vm-proc lists them)")


def prot_str(prot: int) -> str:
    return "".join(c if prot & bit else "-" for bit, c in PROT_BITS)


def data_name(addr: int) -> str:
    """The symbol at a data address (segvn_ops), or the address."""
    text = gdb.execute(f"info symbol {addr:#x}", to_string=True).strip()
    if text.startswith("No symbol"):
        return f"{addr:#x}"
    return text.split(" in section ")[0].replace(" + ", "+")


def avl_inorder(tree: gdb.Value, objtype: gdb.Type) -> Iterator[gdb.Value]:
    """The objects of an avl_tree_t, smallest first: an in-order walk from
    avl_root through avl_child[0] (left) and avl_child[1] (right). Each
    node sits avl_offset bytes into its object. The walk stops at a node
    seen twice or after SEG_CAP nodes (a corrupt tree)."""
    offset = int(tree["avl_offset"])
    stack: list[gdb.Value] = []
    node = tree["avl_root"]
    seen: set[int] = set()
    while (int(node) != 0 or stack) and len(seen) < SEG_CAP:
        while int(node) != 0 and int(node) not in seen:
            seen.add(int(node))
            stack.append(node)
            node = node["avl_child"][0]
        if not stack:
            return
        node = stack.pop()
        yield gdb.Value(int(node) - offset).cast(objtype.pointer())
        node = node["avl_child"][1]


def seg_line(seg: gdb.Value) -> str:
    """One segment: its range, KiB, driver, and seg_vn's data if it is
    seg_vn's."""
    base, size = int(seg["s_base"]), int(seg["s_size"])
    ops = int(seg["s_ops"])
    line = (f"{base:#018x} {base + size:#018x} {size >> 10:>7}  "
            f"{data_name(ops):<10}")
    if has_symbol("segvn_ops") and ops == expr_int("&segvn_ops"):
        line += " " + segvn_desc(seg)
    return line


def segvn_data(seg: gdb.Value) -> gdb.Value:
    """A seg_vn segment's s_data, as the struct segvn_data * it is."""
    return seg["s_data"].cast(gdb.lookup_type("struct segvn_data").pointer())


def segvn_desc(seg: gdb.Value) -> str:
    """seg_vn's data (struct segvn_data) in one line."""
    svd = segvn_data(seg)
    if int(svd) == 0:
        return "s_data NULL"
    vp = svd["vp"]
    obj = "[anon]" if int(vp) == 0 else c_string(vp["v_path"], "?")
    kind = MAP_TYPES.get(int(svd["type"]), f"type {int(svd['type']):#x}")
    return (f"{prot_str(int(svd['prot']))} {prot_str(int(svd['maxprot']))} "
            f"{kind:<7} {obj} off {int(svd['offset']):#x} amp "
            f"{int(svd['amp']):#x} idx {int(svd['anon_index'])}")


class As(VmCommand):
    """A process's address space, segment by segment: vm-as PID (lab 5).

Finds the process in proctab[] (pid as ps and vm-proc show it), then walks
its struct as's AVL tree of segments (a_segtree: avl_root, left child
avl_child[0], right avl_child[1]; each node is the s_tree field of its
struct seg) in order, so the segments come out by address, one a line:
base, end, size in KiB, the driver's ops table by its symbol, and for
segvn_ops the struct segvn_data: prot and maxprot as rwx, shared or
private, the file's v_path or [anon], the offset of s_base in the file,
the anon_map and anon_index of s_base's page. Then a_size and the count,
checked against the tree's avl_numnodes. It reads memory only: at a stop
inside as_fault the tree is stable, because a_lock is held."""

    def __init__(self) -> None:
        super().__init__("vm-as")

    def run(self, argv: list[str]) -> None:
        if len(argv) != 1:
            raise VmError("usage: vm-as PID   (vm-proc lists the processes)")
        if not has_symbol("proctab"):
            raise Absent(NO_PROCS)
        pid = expr_int(argv[0])
        p = find_proc(pid)
        comm = p["p_comm"].string(errors="replace",
                                  length=16).split("\0")[0] or "?"
        asp = p["p_as"]
        if int(asp) == 0:
            raise VmError(f"pid {pid} ({comm}) has no address space "
                          "(the kernel's process 0, or one exiting)")
        lock = asp["a_lock"]
        held = (f"held by cpu {int(lock['sl_owner'])}"
                if int(lock["sl_locked"]) else "free")
        out(f"pid {pid} ({comm}): struct as {int(asp):#x}, hat root "
            f"{int(asp['a_hat']['h_root']):#x}, a_lock {held}")
        out(f"{'base':<18} {'end':<18} {'KiB':>7}  {'ops':<10} prot max "
            "type    object")
        count = total = 0
        for seg in avl_inorder(asp["a_segtree"],
                               gdb.lookup_type("struct seg")):
            out(seg_line(seg))
            count, total = count + 1, total + int(seg["s_size"])
        self.totals(asp, count, total)

    @staticmethod
    def totals(asp: gdb.Value, count: int, total: int) -> None:
        """a_size and the count, each checked against what the walk saw."""
        size = int(asp["a_size"])
        numnodes = int(asp["a_segtree"]["avl_numnodes"])
        out(f"a_size {size:#x} ({size >> 10} KiB) in {count} segments")
        if count != numnodes:
            out(f"  but avl_numnodes says {numnodes}: the tree and its "
                "count disagree")
        if total != size:
            out(f"  but the segments add up to {total:#x} bytes: a_size "
                "is wrong")


# ------------------------------------------------------------- vm-anon

ANON_CHUNK = 512                # anon.h: slots per chunk
P_FREE = 0x2                    # page.h's p_flags
PG_OWNER_ANON = 6               # page.h: PG_OWNER(PG_ANON)
HMENT_CAP = 4096                # a corrupt p_mapping list ends here


def current_pid() -> int:
    """The pid of the process whose thread the stopped CPU runs."""
    cpu = this_cpu()
    if cpu is None:
        raise VmError("cannot tell which CPU this is (its %gs base is "
                      "not in cpus[]): name a PID (vm-proc lists them)")
    t = symbol("cpus", NO_PROCS)[cpu]["cpu_thread"]
    if int(t) == 0 or int(t["t_procp"]) == 0:
        raise VmError(f"cpu {cpu} runs no thread yet: name a PID")
    return int(t["t_procp"]["p_pid"])


def proc_comm(p: gdb.Value) -> str:
    return p["p_comm"].string(errors="replace",
                              length=16).split("\0")[0] or "?"


def user_as(pid: int) -> tuple[str, gdb.Value]:
    """'pid N (comm)' and that process's struct as *."""
    p = find_proc(pid)
    who = f"pid {pid} ({proc_comm(p)})"
    if int(p["p_as"]) == 0:
        raise VmError(f"{who} has no address space (the kernel's process "
                      "0, or one exiting): name a user PID")
    return who, p["p_as"]


def seg_holding(asp: gdb.Value, va: int) -> gdb.Value | None:
    """The segment of asp whose [s_base, s_base + s_size) holds va."""
    for seg in avl_inorder(asp["a_segtree"], gdb.lookup_type("struct seg")):
        base = int(seg["s_base"])
        if base <= va < base + int(seg["s_size"]):
            return seg
    return None


def anon_slot(amp: gdb.Value, idx: int) -> gdb.Value:
    """What anon_get() returns: slot idx of amp, a struct anon * (NULL if
    the slot, or its whole chunk, is empty)."""
    chunk = amp["am_chunks"][idx // ANON_CHUNK]
    if int(chunk) == 0:
        return gdb.Value(0).cast(gdb.lookup_type("struct anon").pointer())
    return chunk[idx % ANON_CHUNK]


def hat_owner(hat: int) -> str:
    """Who a struct hat * belongs to: the process whose p_as->a_hat it is,
    else the bare struct as (one fork is still making, or a test's)."""
    asp = hat - gdb.lookup_type("struct as")["a_hat"].bitpos // 8
    tab = gdb.parse_and_eval("proctab")
    lo, hi = tab.type.strip_typedefs().range()
    for i in range(lo, hi + 1):
        p = tab[i]
        if int(p) != 0 and int(p["p_as"]) == asp:
            return f"pid {int(p['p_pid'])} ({proc_comm(p)})"
    return f"as {asp:#x} (no process's)"


def refcnt_meaning(refcnt: int, private: bool) -> str:
    """What an_refcnt says the next write fault does."""
    if refcnt == 0:
        return "no holder: the slot was freed, yet a map points at it"
    if not private:
        return "a MAP_SHARED map: every process writes this one page"
    if refcnt == 1:
        return "this map's alone: a write goes to the page in place"
    return (f"{refcnt} maps share it (fork): a write copies it "
            "(anon_private), a read maps it read-only")


def pte_words(pte: int | None) -> str:
    if pte is None:
        return "not mapped"
    rw = "writable" if pte & 2 else "read-only: a write faults"
    return f"pte {pte:016x} {pte_flags(pte)} {rw}"


def print_mappings(pp: gdb.Value) -> None:
    """p_share, then each hment on p_mapping: who maps the page, where,
    and that hat's entry for it."""
    share = int(pp["p_share"])
    out(f"p_share {share}" + (", mapped by:" if share else
                              ": no page table maps it"))
    hm, n = pp["p_mapping"], 0
    while int(hm) != 0 and n < HMENT_CAP:
        va, hat = int(hm["hm_va"]), hm["hm_hat"]
        pte = leaf_entry(va, int(hat["h_root"]))
        out(f"  {hat_owner(int(hat))} at {va:#x}: {pte_words(pte)}")
        hm, n = hm["hm_next"], n + 1
    if n != share:
        out(f"  but p_mapping lists {n}: the reverse map and p_share "
            "disagree")


def print_page(pp: gdb.Value) -> None:
    """A slot's page: page_t, pfn, anything amiss, who maps it."""
    pfn = (int(pp) - int(gdb.parse_and_eval("page_array"))) // \
        pp.dereference().type.sizeof
    out(f"an_page {int(pp):#x}: pfn {pfn:#x} (pa {pfn << 12:#x})")
    if int(pp["p_flags"]) & P_FREE:
        out("  but the page is free (P_FREE): a use after free")
    elif int(pp["p_owner"]) != PG_OWNER_ANON:
        out(f"  but its p_owner is {int(pp['p_owner'])}, not PG_ANON's "
            f"{PG_OWNER_ANON}")
    if has_symbol("hment_add"):
        print_mappings(pp)
    else:
        out("(no reverse map in this kernel: p_mapping arrives with lab 6)")


def file_page(svd: gdb.Value, seg: gdb.Value, va: int) -> str:
    """'page 0x2000 of bin/x': the file's page that va shows."""
    off = int(svd["offset"]) + (va & ~0xFFF) - int(seg["s_base"])
    return f"page {off:#x} of {c_string(svd['vp']['v_path'], '?')}"


def empty_slot(svd: gdb.Value, seg: gdb.Value, va: int, idx: int,
               asp: gdb.Value) -> None:
    """What a fault at va does for a slot that holds nothing yet, and
    what the page table maps there meanwhile (a private file page)."""
    if int(svd["vp"]) == 0:
        what = "a new zeroed page in a new slot (zero-fill)"
    else:
        what = (f"{file_page(svd, seg, va)} (VOP_GETPAGE): a read maps "
                "the file's page read-only, a write copies it to a new slot")
    out(f"slot {idx} is empty: a fault here takes {what}")
    pte = leaf_entry(va & ~0xFFF, int(asp["a_hat"]["h_root"]))
    if pte is not None:
        out(f"  its page table maps {va & ~0xFFF:#x} meanwhile: "
            f"{pte_words(pte)}")


def slot_index(seg: gdb.Value, va: int) -> tuple[gdb.Value, int]:
    """seg's anon_map and the slot of va's page in it, or VmError."""
    svd = segvn_data(seg)
    amp = svd["amp"]
    if int(amp) == 0:
        raise VmError(f"{va:#x} is in a MAP_SHARED file mapping: no "
                      f"anon_map, it shows the file's own "
                      f"{file_page(svd, seg, va)}")
    idx = int(svd["anon_index"]) + ((va - int(seg["s_base"])) >> 12)
    if idx >= int(amp["am_size"]):
        raise VmError(f"{va:#x} is slot {idx} of anon_map {int(amp):#x}, "
                      f"which has {int(amp['am_size'])}: anon_index or "
                      "s_size is wrong")
    return amp, idx


def print_slot(seg: gdb.Value, va: int, asp: gdb.Value, amp: gdb.Value,
               idx: int) -> None:
    """Slot idx of amp, which holds va's page, and what it holds; $amp and
    $anon are set to the map and the slot."""
    svd = segvn_data(seg)
    out(f"anon_map {int(amp):#x} ({int(amp['am_size'])} slots, "
        f"am_refcnt {int(amp['am_refcnt'])}): slot {idx} = anon_index "
        f"{int(svd['anon_index'])} + page {idx - int(svd['anon_index'])}")
    ap = anon_slot(amp, idx)
    gdb.set_convenience_variable("amp", amp)
    gdb.set_convenience_variable("anon", ap)
    if int(ap) == 0:
        empty_slot(svd, seg, va, idx, asp)
        return
    refcnt = int(ap["an_refcnt"])
    private = MAP_TYPES.get(int(svd["type"])) == "private"
    out(f"struct anon {int(ap):#x}: an_refcnt {refcnt}: "
        f"{refcnt_meaning(refcnt, private)}")
    print_page(ap["an_page"])


class Anon(VmCommand):
    """The anon slot behind a user address: vm-anon ADDR [PID] (lab 6).

Finds the segment of process PID (default: the process whose thread this
CPU runs) that holds ADDR, prints it as vm-as does, and reads seg_vn's
slot for ADDR's page as anon_get() does: slot anon_index + the page's
index in the segment, at am_chunks[slot / 512][slot % 512] of the
anon_map. Then the struct anon in it: an_refcnt and what it means for a
write (more than one holder, in a private mapping: the write copies,
anon_private); the page (page_t, pfn); p_share and each hment on the
page's p_mapping: the process whose hat maps it, at which address, and
that hat's page table entry (writable or not). An empty slot says what a
fault there would do: zero-fill for anonymous memory, the file's page for
a private file mapping. ADDR is a gdb expression: $va, 0x7fffffffe000,
addr. It sets $anon (the struct anon *, NULL if the slot is empty) and
$amp (the anon_map), for `p $anon->an_refcnt` or a condition such as
`break anon_dup if src == $amp`. It reads memory only, like vm-as."""

    def __init__(self) -> None:
        super().__init__("vm-anon")

    def run(self, argv: list[str]) -> None:
        if len(argv) not in (1, 2):
            raise VmError("usage: vm-anon ADDR [PID]   (default: this "
                          "CPU's process; vm-proc lists them)")
        if not has_symbol("proctab"):
            raise Absent(NO_PROCS)
        va = expr_int(argv[0])
        if va >= KPM_BASE:
            raise VmError(f"{va:#x} is a kernel address: anon slots hold "
                          "user memory")
        pid = expr_int(argv[1]) if len(argv) == 2 else current_pid()
        who, asp = user_as(pid)
        seg = self.segment(asp, va, who, pid)
        amp, idx = slot_index(seg, va)
        out(f"{who}: {va:#x} is in page {(va - int(seg['s_base'])) >> 12} "
            "of")
        out(seg_line(seg))
        print_slot(seg, va, asp, amp, idx)

    @staticmethod
    def segment(asp: gdb.Value, va: int, who: str, pid: int) -> gdb.Value:
        """The seg_vn segment of asp that holds va, or VmError."""
        seg = seg_holding(asp, va)
        if seg is None:
            raise VmError(f"{va:#x} is in no segment of {who} (vm-as "
                          f"{pid} lists them)")
        if not has_symbol("segvn_ops") or \
                int(seg["s_ops"]) != expr_int("&segvn_ops"):
            raise VmError(f"{va:#x} is in a segment of {who} whose driver "
                          f"is {data_name(int(seg['s_ops']))}, not seg_vn: "
                          "it has no anon slots")
        return seg


# -------------------------------------------------------------- vm-tlb

NO_TLB = "no TLB shootdown in this kernel: it arrives with lab 7"
TLB_FLUSH_CEILING = 33          # tlb.h: past this many pages, a full flush
# struct tlbstat's fields, by the monitor's tlbstat column names.
TLBSTAT = (("ts_ipi_sent", "ipi_sent"), ("ts_ipi_recv", "ipi_recv"),
           ("ts_served", "served"), ("ts_invlpg", "invlpg"),
           ("ts_flush_all", "flush_all"), ("ts_cr3_load", "cr3_load"),
           ("ts_lazy_skip", "lazy_skip"), ("ts_lazy_flush", "lazy_fl"),
           ("ts_shootdowns", "shootdowns"))
# Where cpu_hat, CR3 and h_cpus may disagree for a moment: hat_switch()
# joins the new hat's set, loads CR3 (tlb_cr3_load), then leaves the old
# hat's set (hat_tlb.c, point 1). A CPU with one of these among its
# SWITCH_DEPTH innermost frames is in a switch.
SWITCHING = frozenset({"hat_switch", "tlb_cr3_load"})
SWITCH_DEPTH = 4
CPU_COLUMNS = (("cpu", 5), ("thread", 6), ("user hat", 18), ("lazy", 4),
               ("gen/hat's", 12), ("pending from", 12), ("polling", 0))
# What the last vm-tlb saw of each CPU's counters: what changed.
_last_tlb: dict[int, dict[str, int]] = {}


@dataclass(frozen=True)
class VCpu:
    """What gdb's thread for one vCPU shows of it."""
    thread: int                 # gdb's thread number, for `thread N`
    cr3: int                    # the root in its CR3
    user: bool                  # stopped in ring 3
    switching: bool             # inside hat_switch or tlb_cr3_load


def in_switch() -> bool:
    """Whether the selected thread stopped inside a switch of hats."""
    frame: gdb.Frame | None = gdb.newest_frame()
    try:
        for _ in range(SWITCH_DEPTH):
            if frame is None:
                return False
            if frame.name() in SWITCHING:
                return True
            frame = frame.older()
    except gdb.error:
        pass
    return False


def select_level(level: int) -> None:
    """Select frame `level` of the selected thread (0: the newest)."""
    frame = gdb.newest_frame()
    for _ in range(level):
        older = frame.older()
        if older is None:
            break
        frame = older
    frame.select()


def vcpus() -> dict[int, VCpu]:
    """Each vCPU by its index in cpus[]: QEMU's gdb stub shows each as a
    thread, and this_cpu() tells which CPU a thread is. The thread and
    frame selected before are selected again after."""
    here, level = gdb.selected_thread(), gdb.selected_frame().level()
    found: dict[int, VCpu] = {}
    try:
        for th in gdb.selected_inferior().threads():
            th.switch()
            cpu = this_cpu()
            if cpu is not None:
                found[cpu] = VCpu(th.num, live_register("cr3") & PTE_ADDR,
                                  live_register("cs") & 3 == 3, in_switch())
    finally:
        here.switch()
        select_level(level)
    return found


def cpuset_str(bits: int) -> str:
    """A cpuset_t by its CPUs: {1,2,3}; {} when empty."""
    return "{" + ",".join(str(i) for i in range(64) if bits >> i & 1) + "}"


def tlb_hat_arg(text: str) -> int:
    """The struct hat * an expression names: a struct hat or a struct as,
    or a pointer to one (an address space's hat is its a_hat), or a
    process by its pid (its p_as's)."""
    try:
        v = gdb.parse_and_eval(text)
    except gdb.error as e:
        raise VmError(f"{text}: {e}") from None
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR and \
            t.target().strip_typedefs().code == gdb.TYPE_CODE_STRUCT:
        v, t = v.dereference(), t.target().strip_typedefs()
    if t.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_PTR,
                      gdb.TYPE_CODE_INT):
        raise VmError(f"{text} is a {t}: name a struct hat, a struct as "
                      "or a pid")
    if t.code != gdb.TYPE_CODE_STRUCT:
        n = int(v) & (2**64 - 1)
        hat = n if n >= KPM_BASE else \
            int(user_as(n)[1]["a_hat"].address)
    elif t.tag in ("as", "hat"):
        hat = int((v["a_hat"] if t.tag == "as" else v).address)
    else:
        raise VmError(f"{text} is a struct {t.tag}: name a struct hat, a "
                      "struct as or a pid (hat in tlb_shootdown, p->p_as)")
    if hat == expr_int("&kernel_hat"):
        raise VmError("kernel_hat is every hat's kernel half: it has no "
                      "cpuset and takes no shootdown (name a user hat)")
    return hat


def cpu_val(i: int) -> gdb.Value:
    return gdb.parse_and_eval("cpus")[i]


def hat_val(addr: int) -> gdb.Value:
    return gdb.Value(addr).cast(gdb.lookup_type("struct hat").pointer())


def user_hats(cpus: list[int], given: int | None) -> list[int]:
    """The hat asked about, then every other hat some CPU has loaded."""
    hats = [] if given is None else [given]
    for i in cpus:
        h = int(cpu_val(i)["cpu_hat"])
        if h != 0 and h not in hats:
            hats.append(h)
    return hats


def hat_problems(hat: int, cpus: list[int],
                 live: dict[int, VCpu]) -> list[str]:
    """Where h_cpus and the CPUs' loaded hats disagree (point 1 of
    hat_tlb.c: join before the load, leave after loading another)."""
    members = int(hat_val(hat)["h_cpus"])
    found = []
    for i in cpus:
        loaded = int(cpu_val(i)["cpu_hat"])
        switching = i in live and live[i].switching
        if loaded == hat and not members >> i & 1:
            found.append(f"cpu {i} has it loaded but is not in h_cpus: "
                         "a shootdown would skip it")
        elif loaded != hat and members >> i & 1 and not switching:
            what = f"{loaded:#x}" if loaded else "the kernel's tables"
            found.append(f"cpu {i} is in h_cpus with {what} loaded, "
                         "outside a switch: it never left the set")
    stray = members & ~sum(1 << i for i in cpus)
    if stray:
        found.append(f"h_cpus holds {cpuset_str(stray)}, not online")
    return found


def print_hat(hat: int, cpus: list[int], live: dict[int, VCpu]) -> None:
    h = hat_val(hat)
    out(f"hat {hat:#x} of {hat_owner(hat)}: h_tlb_gen "
        f"{int(h['h_tlb_gen'])}, h_cpus {cpuset_str(int(h['h_cpus']))}")
    for problem in hat_problems(hat, cpus, live):
        out(f"  but {problem}")


def cpu_cells(i: int, here: int | None, live: dict[int, VCpu]) -> list[str]:
    """A CPU's row of the table, by CPU_COLUMNS."""
    c = cpu_val(i)
    hat, pending = int(c["cpu_hat"]), int(c["cpu_tlb_pending"])
    gen = "-"
    if hat:
        mine, its = int(c["cpu_tlb_gen"]), int(c["cpu_hat"]["h_tlb_gen"])
        gen = f"{mine}/{its} " + ("current" if mine == its else "behind")
    return [f"{i} *" if i == here else str(i),
            str(live[i].thread) if i in live else "?",
            f"{hat:#x}" if hat else "kernel",
            "yes" if bool(c["cpu_tlb_lazy"]) else "no", gen,
            cpuset_str(pending) if pending else "-",
            "yes" if int(c["cpu_tlb_polling"]) else "no"]


def row(cells: list[str]) -> str:
    return "  ".join(f"{cell:<{w}}" for cell, (_, w) in
                     zip(cells, CPU_COLUMNS)).rstrip()


def cpu_problems(i: int, v: VCpu | None) -> list[str]:
    """What is wrong with one CPU's own state, as far as gdb can tell."""
    c = cpu_val(i)
    hat, lazy = int(c["cpu_hat"]), bool(c["cpu_tlb_lazy"])
    found = []
    if lazy and hat == 0:
        found.append(f"cpu {i} is lazy with no user hat loaded")
    if lazy and v is not None and v.user:
        found.append(f"cpu {i} runs user code while lazy: shootdowns "
                     "skip it")
    root = int(c["cpu_hat"]["h_root"]) if hat else \
        expr_int("kernel_hat.h_root")
    if v is not None and not v.switching and v.cr3 != root and \
            bool(gdb.parse_and_eval("kernel_hat_active")):
        found.append(f"cpu {i}'s CR3 holds {v.cr3:#x}, not {root:#x}, the "
                     "root of the hat cpu_hat names")
    pending = int(c["cpu_tlb_pending"])
    for j in (j for j in range(64) if pending >> j & 1):
        left = acks_left(j)
        if left <= 0:
            found.append(f"cpu {i} has a request from cpu {j}, which "
                         f"waits for no ack (tr_acks_left {left})")
    return found


def print_cpus(cpus: list[int], live: dict[int, VCpu]) -> None:
    """The table of CPUs, what is wrong with them, and which lazy CPUs
    are behind their hat's generation."""
    here = this_cpu()
    out(row([name for name, _ in CPU_COLUMNS]))
    for i in cpus:
        out(row(cpu_cells(i, here, live)))
    for i in cpus:
        for problem in cpu_problems(i, live.get(i)):
            out(f"  but {problem}")
    behind = sum(1 << i for i in cpus if lazy_behind(cpu_val(i)))
    if behind:
        out(f"  lazy and behind: cpus {cpuset_str(behind)}; each flushes "
            "its whole TLB before it runs user code of its hat again")


def lazy_behind(c: gdb.Value) -> bool:
    """A lazy CPU that missed a shootdown of its hat (tlb_lazy_leave)."""
    return bool(c["cpu_tlb_lazy"]) and int(c["cpu_hat"]) != 0 and \
        int(c["cpu_tlb_gen"]) != int(c["cpu_hat"]["h_tlb_gen"])


def acks_left(i: int) -> int:
    return int(cpu_val(i)["cpu_tlb_req"]["tr_acks_left"])


def request_words(r: gdb.Value) -> str:
    """What a struct tlb_req asks: the range and hat, or a release."""
    hat, va, size = int(r["tr_hat"]), int(r["tr_va"]), int(r["tr_len"])
    if size == 0:
        return f"let go of hat {hat:#x} (a release)"
    pages = size >> 12
    how = ", past the ceiling: one full flush" \
        if pages > TLB_FLUSH_CEILING else ""
    return (f"flush [{va:#x}, {va + size:#x}) of hat {hat:#x} ({pages} "
            f"page{'s' if pages != 1 else ''}{how})")


def print_requests(cpus: list[int]) -> None:
    """Each request in flight (tr_acks_left not 0): what it asks, the
    targets it is still pending at, and how many acks the others still
    owe (they are serving it, or the initiator has not sent it yet)."""
    shown = False
    for i in cpus:
        left = acks_left(i)
        if left == 0:
            continue
        shown = True
        waiting = [t for t in cpus
                   if int(cpu_val(t)["cpu_tlb_pending"]) >> i & 1]
        words = [f"pending at {cpuset_str(sum(1 << t for t in waiting))}"
                 ] if waiting else []
        if left > len(waiting):
            words.append(f"{left - len(waiting)} being served (or not "
                         "sent yet)")
        out(f"cpu {i} waits for {left} ack{'s' if left != 1 else ''}: "
            f"{request_words(cpu_val(i)['cpu_tlb_req'])}; "
            + ", ".join(words))
        if left < 0:
            out("  but tr_acks_left is below 0: more acks than targets")
        elif left < len(waiting):
            out(f"  but {len(waiting)} CPUs have its bit: more than it "
                "waits for")
    if not shown:
        out("no shootdown in flight")


def tlbstat_snapshot(cpus: list[int]) -> dict[int, dict[str, int]]:
    return {i: {name: int(cpu_val(i)["cpu_tlbstat"][f])
                for f, name in TLBSTAT} for i in cpus}


def print_tlbstat(cpus: list[int]) -> None:
    """The monitor's tlbstat, and what changed since the last vm-tlb."""
    snap = tlbstat_snapshot(cpus)
    out("tlbstat " + " ".join(name for _, name in TLBSTAT))
    for i in cpus:
        out(f"{'cpu ' + str(i):<7} " + " ".join(
            f"{snap[i][name]:>{len(name)}}" for _, name in TLBSTAT))
    if _last_tlb:
        moved = [f"  cpu {i}: " + ", ".join(changes)
                 for i in cpus if i in _last_tlb and
                 (changes := kmem_changes(_last_tlb[i], snap[i]))]
        out("since the last vm-tlb:" + ("" if moved else " no change"))
        for line in moved:
            out(line)
    _last_tlb.clear()
    _last_tlb.update(snap)


class Tlb(VmCommand):
    """Each CPU's TLB state, and shootdowns in flight: vm-tlb [HAT] (lab 7).

HAT names a user hat: a struct hat or a struct as, a pointer to one (hat
in tlb_shootdown, T.as in a tlb test), or a pid. vm-tlb prints, in order:
- HAT (if given) and every user hat some CPU has loaded: its owner,
  h_tlb_gen, and h_cpus as a set of CPUs;
- one line per online CPU: the gdb thread that is its vCPU (for `thread
  N`; * marks the CPU gdb stopped), cpu_hat (kernel: none loaded),
  cpu_tlb_lazy, cpu_tlb_gen against its hat's h_tlb_gen (only a lazy CPU
  acts on it: one that is behind flushes its whole TLB before it runs
  user code of the hat again; IPIs keep the others true), the CPUs whose
  requests are pending here (cpu_tlb_pending), and cpu_tlb_polling (a
  CPU in a wait loop's pause serves from the loop and is sent no IPI);
- each request in flight (a cpu_tlb_req with tr_acks_left not 0): the
  range and hat, the targets where it is still pending, and how many
  acks are still owed by CPUs where it is not (being served, or not sent
  yet);
- the monitor's tlbstat, and what changed since the last vm-tlb.
A line that starts with "but" is something wrong: a CPU with a hat
loaded that is not in its h_cpus, or one in h_cpus with another hat
loaded outside a switch (the hats checked are HAT and the loaded ones),
a CR3 that is not the root of the hat cpu_hat names, a lazy CPU with no
hat or in user mode, a pending bit from a CPU that waits for no ack. It
reads memory, and each vCPU's registers, only."""

    def __init__(self) -> None:
        super().__init__("vm-tlb")

    def run(self, argv: list[str]) -> None:
        if not has_symbol("tlb_shootdown"):
            raise Absent(NO_TLB)
        if not live_register("cr0") & CR0_PG:
            raise Absent("paging is off (CR0.PG = 0): the kernel has not "
                         "started, no CPU has a TLB state yet")
        given = tlb_hat_arg(" ".join(argv)) if argv else None
        cpus = online_cpus()
        live = vcpus()
        hats = user_hats(cpus, given)
        for hat in hats:
            print_hat(hat, cpus, live)
        if not hats:
            out("no user hat is loaded: every CPU is on the kernel's tables")
        print_cpus(cpus, live)
        print_requests(cpus)
        print_tlbstat(cpus)


# ------------------------------------------------------------- vm-help

class Help(VmCommand):
    """List vmlab's gdb helpers: vm-help."""

    def __init__(self) -> None:
        super().__init__("vm-help")

    def run(self, argv: list[str]) -> None:
        for cmd in COMMANDS:
            out(f"  {cmd.cmd:<15} {(cmd.__doc__ or '').splitlines()[0]}")
        out("  (help vm-regs and so on say more)")


# ------------------------------------------------ unwinding trap frames

_addrs: dict[str, int | None] = {}
_types: dict[str, gdb.Type | None] = {}
# struct regs fields restored as the interrupted code's registers.
UNWOUND = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
           "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rsp")


def trap_return_addr() -> int | None:
    """Where trap() returns into cmntrap (entry.S), if the kernel has it."""
    if "trap_return" not in _addrs:
        _learn_addresses()
    return _addrs["trap_return"]


def _learn_addresses(_event: object = None) -> None:
    """Cache symbol addresses the unwinder needs (it must not evaluate)."""
    for name in ("trap_return", "user_return"):
        try:
            _addrs[name] = int(gdb.parse_and_eval(f"&{name}"))
        except gdb.error:
            _addrs[name] = None
    try:
        _types["regs_ptr"] = gdb.lookup_type("struct regs").pointer()
    except gdb.error:
        _types["regs_ptr"] = None
    _last_buddy.clear()
    _last_kmem.clear()
    _last_tlb.clear()


class FrameId:
    """A frame's identity for gdb: gdb 13 wants gdb.Value attributes."""

    def __init__(self, sp: int, pc: int) -> None:
        self.sp = gdb.Value(sp)
        self.pc = gdb.Value(pc)


def frame_ends() -> set[int]:
    """The return addresses with a struct regs at %rsp: trap_return
    (cmntrap's call of trap()) and user_return (syscall_entry's call of
    syscall_handler()), those this kernel has."""
    return {a for a in (_addrs.get("trap_return"), _addrs.get("user_return"))
            if a is not None}


class TrapFrameUnwinder(Unwinder):
    """At trap_return (or user_return), %rsp points at the struct regs
    cmntrap (or syscall_entry) pushed: the caller is the interrupted code,
    with the registers saved there. The frame's id is (rp, the return
    address) however it is reached, so `finish` out of trap() recognizes
    the frame it lands in."""

    def __init__(self) -> None:
        super().__init__("vmlab-trap-frame")

    def __call__(self, pending: gdb.PendingFrame) -> gdb.UnwindInfo | None:
        ret = int(pending.read_register("rip"))
        if ret not in frame_ends():
            return None
        rptr = _types.get("regs_ptr")
        if rptr is None:
            return None
        sp = int(pending.read_register("rsp"))
        info = pending.create_unwind_info(FrameId(sp, ret))
        regs = gdb.Value(sp).cast(rptr).dereference()
        for reg in UNWOUND:
            want = pending.read_register(reg).type
            info.add_saved_register(reg, regs["r_" + reg].cast(want))
        return info


class InterruptedFrame(FrameDecorator):
    """The frame a trap interrupted: its pc is where the trap hit, not a
    return address, so name it by pc itself rather than pc - 1."""

    def function(self) -> int | str:
        """The pc, which gdb names; user code has no symbols: '??'."""
        pc = self.inferior_frame().pc()
        return pc if pc >= KPM_BASE else "??"

    def filename(self) -> str | None:
        sal = gdb.find_pc_line(self.inferior_frame().pc())
        return sal.symtab.filename if sal.symtab else None

    def line(self) -> int | None:
        sal = gdb.find_pc_line(self.inferior_frame().pc())
        return sal.line if sal.symtab else None

    def frame_args(self) -> None:
        return None


OUTERMOST = frozenset({"start64"})    # boot.S: calls kmain with %rbp = 0


class TrapFrameFilter:
    """Decorates, in `bt`, each frame that sits right above a trap frame."""

    def __init__(self) -> None:
        self.name = "vmlab-trap-frame"
        self.priority = 100
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames: Iterator[FrameDecorator]) -> Iterator:
        for fd in frames:
            yield self._decorate(fd)
            if self._outermost(fd.inferior_frame()):
                return

    @staticmethod
    def _outermost(frame: gdb.Frame) -> bool:
        """Nothing the kernel knows lies past the boot path's first
        frame, or past a frame of user code (an address below the
        kernel's half): what gdb would guess there is noise."""
        return frame.name() in OUTERMOST or frame.pc() < KPM_BASE

    @staticmethod
    def _decorate(fd: FrameDecorator) -> FrameDecorator:
        newer = fd.inferior_frame().newer()
        if newer is not None and newer.pc() in frame_ends():
            return InterruptedFrame(fd)
        return fd


COMMANDS: list[VmCommand] = []


def _install(makers: tuple[Callable[[], VmCommand], ...]) -> None:
    COMMANDS.extend(make() for make in makers)
    register_unwinder(None, TrapFrameUnwinder(), replace=True)
    TrapFrameFilter()
    gdb.events.new_objfile.connect(_learn_addresses)
    _learn_addresses()
    out("vmlab: gdb helpers loaded: " +
        ", ".join(c.cmd for c in COMMANDS if c.cmd != "vm-help") +
        " (vm-help lists them)")


_install((Help, BreakEntry, Regs, PtWalk, Buddy, Kmem, Proc, As, Anon,
          Tlb))
