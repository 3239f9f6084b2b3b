"""Object checks: what a student's compiled files may contain.

The student's code runs in ring 0 beside the test harness, so a file could
register tests of its own, call the KTAP printer, or poke the machine in
ways the lab never needs. After make has compiled the student's files, and
before any boot, each of the lab's .c and .S files and its object are
checked against the lab's allowlists in the spec (labs.json: "interface",
"may_call", "privileged", "moncmds"), derived from the reference and the
stub by derive(). A rejection is one line naming the file and the rule,
and fails the build like a compile error:

  1. sources: no .incbin or .include (in a .S, or in a .c's asm), and no
     #include of an absolute path, a ".." path or a macro;
  2. sections: only .text, .rodata, .data and .bss (and their .* variants)
     with their usual permissions, debug info, .comment, .note.GNU-stack
     and .group; so no .ktests (the test registry), no .init_array, no
     custom section; .moncmds only for the lab's own monitor commands;
  3. defined global symbols beyond the lab's interface are flagged for
     review (a clash with a kernel symbol already fails at the link);
  4. undefined symbols: only what the reference and the stub call;
  5. privileged instructions (objdump -d): only those the reference uses.

What passes but looks forged is flagged "needs review", never scored:
a string naming the harness or shaped like a KTAP result, and an indirect
call or jump through a register loaded with a constant address.

Limits: a check reads what the compiler emitted, not what the code means.
Bytes decoded from the middle of an instruction, code built at run time,
or a string split across adjacent C literals (".inc" "bin") get past it;
the sandbox and the harness's own channel are the other walls.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import GraderError
from .build import BuildResult
from .spec import Lab
from .tree import Target

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF = 0
MONCMD_SIZE = 32            # struct moncmd: name, usage, help, fn
STB_LOCAL = 0

# The sections a compiled C or asm file of a lab may hold, and the flags
# (write, exec) each kind must have.
_KINDS = {"text": (False, True), "rodata": (False, False),
          "data": (True, False), "bss": (True, False)}
_KIND = re.compile(r"\.(text|rodata|data|bss)(\..+)?")
_HARMLESS = re.compile(r"|\.comment|\.note\.GNU-stack|\.note\.gnu\.[\w.]+"
                       r"|\.debug_\w+|\.group|\.llvm_addrsig"
                       r"|\.symtab|\.strtab|\.shstrtab")
# What any lab's files may call besides what their reference calls: what a
# compiler calls on its own (a struct copy, a zeroed array), and the
# kernel's library: printing, panic, strings and memory, spinlocks. A debug
# kprintf, or an honest design that differs from the reference, is never
# rejected for it; the harness, the monitor, serial and ksyms stay out.
COMPILER_CALLS = frozenset({
    "memcpy", "memset", "memmove", "memcmp", "memchr",
    "strlen", "strnlen", "strcmp", "strncmp", "strchr", "strrchr",
    "strlcpy", "strlcat",
    "kprintf", "vkprintf", "snprintf", "vsnprintf", "panic",
    "spin_init", "spin_lock", "spin_trylock", "spin_unlock", "spin_held",
    "spin_nheld",
})

_PREFIXES = {"rep", "repz", "repe", "repnz", "repne", "lock", "data16",
             "addr32", "notrack", "bnd", "cs", "ds", "es", "ss", "fs", "gs"}
_PRIVILEGED = [(re.compile(p), name) for p, name in (
    (r"in[bwl]?", "in"), (r"out[bwl]?", "out"),
    (r"ins[bwld]?", "ins"), (r"outs[bwld]?", "outs"),
    (r"(lgdt|lidt|ltr|lldt|lmsw)[wlq]?", r"\1"),
    (r"iret[wlq]?", "iretq"), (r"sysret[lq]?", "sysret"),
    (r"(wrmsr|rdmsr|invlpg|invpcid|cli|sti|hlt|swapgs|sysexit|wbinvd"
     r"|invd|clts|xsetbv|monitor|mwait)", r"\1"))]
_MOV_TO_CONTROL = re.compile(r"mov[q]?\s+%\w+,(%[cd]r\d+)$")

# Strings a graded file has no reason to hold: they name the harness or
# have the shape of a KTAP line.
_FORGED = re.compile(r"KTAP|ktest_|__ktests|__moncmds|# Totals|# Subtest"
                     r"|(^|\n)\s*(not )?ok [0-9%]")
_REGS = ["ax", "bx", "cx", "dx", "si", "di", "bp", "sp"]


class ObjcheckError(GraderError):
    """An object that objdump or the ELF reader cannot read."""


@dataclass
class Verdict:
    """What the checks found: rejections fail the build; review lines
    are reported and change nothing."""
    rejected: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)

    def extend(self, other: Verdict) -> None:
        self.rejected += other.rejected
        self.review += other.review


# -- reading an ELF64 relocatable object -------------------------------------

@dataclass
class Section:
    name: str
    type: int
    flags: int
    data: bytes
    link: int
    info: int


@dataclass
class Symbol:
    name: str
    bind: int
    shndx: int
    value: int


@dataclass
class Elf:
    sections: list[Section]
    symbols: list[Symbol]

    def relocations(self, target: str) -> list[tuple[int, int, int]]:
        """(offset, symbol index, addend) of the RELA section for target."""
        out = []
        for s in self.sections:
            if s.type == 4 and s.name == ".rela" + target:
                for off in range(0, len(s.data) - 23, 24):
                    r_off, info, add = struct.unpack_from("<QQq", s.data, off)
                    out.append((r_off, info >> 32, add))
        return out

    def string_at(self, sym: int, addend: int) -> str | None:
        """The NUL-ended string a relocation against sym+addend points at."""
        if not 0 <= sym < len(self.symbols):
            return None
        s = self.symbols[sym]
        if not 0 < s.shndx < len(self.sections):
            return None
        data = self.sections[s.shndx].data
        start = s.value + addend
        if not 0 <= start < len(data):
            return None
        return data[start:].split(b"\0", 1)[0].decode("latin-1")


def read_elf(path: Path) -> Elf:
    """Sections (with their bytes) and symbols of an ELF64 LE object."""
    raw = path.read_bytes()
    if raw[:6] != b"\x7fELF\x02\x01" or len(raw) < 64:
        raise ObjcheckError(f"{path.name}: not an ELF64 little-endian object")
    try:
        return _parse_elf(raw)
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise ObjcheckError(f"{path.name}: malformed ELF ({e})") from None


def _parse_elf(raw: bytes) -> Elf:
    shoff, = struct.unpack_from("<Q", raw, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", raw, 0x3A)
    heads = [struct.unpack_from("<IIQQQQIIQQ", raw, shoff + i * shentsize)
             for i in range(shnum)]

    def body(h: tuple[int, ...]) -> bytes:
        return b"" if h[1] == 8 else raw[h[4]:h[4] + h[5]]   # NOBITS

    names = body(heads[shstrndx])
    sections = [Section(_cstr(names, h[0]), h[1], h[2], body(h), h[6], h[7])
                for h in heads]
    symbols: list[Symbol] = []
    for s in sections:
        if s.type == 2:                                      # SYMTAB
            strtab = sections[s.link].data
            for off in range(0, len(s.data) - 23, 24):
                name, info, _, shndx, value, _ = struct.unpack_from(
                    "<IBBHQQ", s.data, off)
                symbols.append(Symbol(_cstr(strtab, name), info >> 4, shndx,
                                      value))
    return Elf(sections, symbols)


def _cstr(table: bytes, off: int) -> str:
    return table[off:table.index(b"\0", off)].decode("utf-8")


# -- the rules ---------------------------------------------------------------

@dataclass(frozen=True)
class Allow:
    """One lab's allowlists (spec fields of the same names)."""
    interface: frozenset[str]
    may_call: frozenset[str]
    privileged: frozenset[str]
    moncmds: frozenset[str] = frozenset()

    @staticmethod
    def of(lab: Lab) -> Allow:
        return Allow(frozenset(lab.interface or ()),
                     frozenset(lab.may_call) | COMPILER_CALLS,
                     frozenset(lab.privileged), frozenset(lab.moncmds))


def check_source(name: str, text: str) -> list[str]:
    """Rejections for one student source file, read before compiling."""
    out = []
    for m in re.finditer(r"\.(incbin|include)\b", text):
        out.append(f"{name}: .{m.group(1)} is not allowed in a student file")
    for m in re.finditer(r"^[ \t]*#[ \t]*include[ \t]*(\S*)", text, re.M):
        arg = m.group(1)
        path = arg[1:-1] if arg[:1] in "\"<" else ""
        if not path or path.startswith("/") or ".." in path.split("/"):
            out.append(f"{name}: #include {arg}: only the kernel's own "
                       "headers may be included, by a plain name")
    return sorted(set(out), key=out.index)


def check_object(name: str, obj: Path, allow: Allow) -> Verdict:
    """Rejections and review flags for one compiled student file."""
    elf = read_elf(obj)
    v = Verdict()
    v.rejected += _sections(name, elf, allow)
    v.rejected += _calls(name, elf, allow)
    v.review += _globals(name, elf, allow) + _strings(name, elf)
    insns = disassemble(obj)
    v.rejected += [f"{name}: privileged instruction {p} (at {where}): the "
                   "lab does not need it"
                   for p, where in privileged(insns)
                   if p not in allow.privileged]
    v.review += [f"{name}: {why}" for why in constant_calls(insns)]
    return v


def _sections(name: str, elf: Elf, allow: Allow) -> list[str]:
    out = []
    for s in elf.sections:
        base = s.name[len(".rela"):] if s.name.startswith(".rela") else s.name
        kind = _KIND.fullmatch(base)
        if kind and not s.name.startswith(".rela"):
            write, execute = _KINDS[kind.group(1)]
            if bool(s.flags & SHF_WRITE) != write or \
                    bool(s.flags & SHF_EXECINSTR) != execute:
                out.append(f"{name}: section {s.name} has the wrong "
                           "permissions (write or execute)")
        elif base == ".moncmds" and allow.moncmds:
            if not s.name.startswith(".rela"):
                out += _moncmds(name, elf, s, allow)
        elif not kind and not _HARMLESS.fullmatch(base):
            out.append(f"{name}: section {s.name} is not allowed (only "
                       ".text, .rodata, .data, .bss and their .* variants)")
    return out


def _moncmds(name: str, elf: Elf, s: Section, allow: Allow) -> list[str]:
    """.moncmds may hold exactly the lab's own commands, by name."""
    names = {off: elf.string_at(sym, add)
             for off, sym, add in elf.relocations(".moncmds")}
    found = [names.get(i) for i in range(0, len(s.data), MONCMD_SIZE)]
    if len(s.data) % MONCMD_SIZE or sorted(map(str, found)) != \
            sorted(allow.moncmds):
        return [f"{name}: section .moncmds must hold exactly the monitor "
                f"commands {', '.join(sorted(allow.moncmds))}"]
    return []


def _globals(name: str, elf: Elf, allow: Allow) -> list[str]:
    """Globals beyond the lab's interface: flagged, not rejected. The kernel
    has no weak symbols, so one that takes the name of a kernel function
    already fails at the link; any other is an honest helper someone
    forgot to make static, or worth a look."""
    return [f"{name}: defines global {sym.name}, which is not part of the "
            "lab's interface (make it static)"
            for sym in elf.symbols
            if sym.name and sym.bind != STB_LOCAL and sym.shndx != SHN_UNDEF
            and sym.name not in allow.interface]


def _calls(name: str, elf: Elf, allow: Allow) -> list[str]:
    return [f"{name}: uses {sym.name}, which the lab's files may not call "
            "or reference"
            for sym in elf.symbols
            if sym.name and sym.bind != STB_LOCAL and sym.shndx == SHN_UNDEF
            and sym.name not in allow.may_call]


def _strings(name: str, elf: Elf) -> list[str]:
    out = []
    for s in elf.sections:
        if not re.fullmatch(r"\.(rodata|data)(\..+)?", s.name):
            continue
        for text in s.data.split(b"\0"):
            t = text.decode("latin-1")
            if _FORGED.search(t):
                out.append(f"{name}: {s.name} holds the string {t[:60]!r}, "
                           "which looks like the test harness's")
    return out


# -- disassembly -------------------------------------------------------------

@dataclass
class Insn:
    where: str                  # symbol+offset, or the section offset
    mnemonic: str
    operands: str
    relocated: bool = False     # a relocation patches this instruction


def disassemble(obj: Path) -> list[Insn]:
    """Every instruction of the object's code, with its relocation flag."""
    proc = subprocess.run(["objdump", "-dr", "-w", "--no-show-raw-insn",
                           str(obj)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ObjcheckError(f"objdump failed on {obj.name}: "
                            f"{proc.stderr.strip()[:200]}")
    return parse_disassembly(proc.stdout)


def parse_disassembly(text: str) -> list[Insn]:
    insns: list[Insn] = []
    func = "?"
    for line in text.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if head:
            func = head.group(1)
            insns.append(Insn(func, "<label>", ""))
            continue
        if re.match(r"^\s+[0-9a-f]+: R_", line) and insns:
            insns[-1].relocated = True
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        words = m.group(2).split("#", 1)[0].split()
        while words and words[0] in _PREFIXES:
            words = words[1:]
        if words:
            insns.append(Insn(f"{func}+0x{m.group(1)}", words[0],
                              " ".join(words[1:])))
    return insns


def privileged(insns: list[Insn]) -> list[tuple[str, str]]:
    """(name, where) of every privileged instruction."""
    out = []
    for i in insns:
        ctl = _MOV_TO_CONTROL.match(f"{i.mnemonic} {i.operands}")
        if ctl:
            out.append((f"mov to {ctl.group(1)}", i.where))
            continue
        for pat, name in _PRIVILEGED:
            m = pat.fullmatch(i.mnemonic)
            if m:
                out.append((m.expand(name), i.where))
                break
    return out


def _reg64(op: str) -> str | None:
    """The 64-bit register an operand names (%eax, %rax -> rax)."""
    m = re.fullmatch(r"%([re]?)(ax|bx|cx|dx|si|di|bp|sp)|%(r\d+)[dwb]?", op)
    if not m:
        return None
    return m.group(3) or "r" + m.group(2)


def constant_calls(insns: list[Insn]) -> list[str]:
    """Indirect calls or jumps through a register that holds a constant
    (an immediate with no relocation): a cast of a number to a function."""
    out = []
    consts: dict[str, str] = {}
    for i in insns:
        if i.mnemonic == "<label>":
            consts.clear()
            continue
        ops = i.operands.split(",")
        if i.mnemonic in ("call", "jmp") and i.operands.startswith("*%"):
            reg = _reg64(i.operands[1:])
            if reg in consts:
                out.append(f"indirect {i.mnemonic} at {i.where} to the "
                           f"constant address {consts[reg]}")
            continue
        dest = _reg64(ops[-1].strip()) if len(ops) > 1 else None
        if dest is None:
            continue
        if i.mnemonic in ("mov", "movabs", "movq", "movl") and \
                ops[0].startswith("$") and not i.relocated:
            consts[dest] = ops[0][1:]
        else:
            consts.pop(dest, None)
    return out


# -- a target's files --------------------------------------------------------

def check_lab(tree: Path, outdir: Path, lab: Lab) -> Verdict:
    """Check one lab's student files: their sources in tree, their
    objects in outdir. A lab without an "interface" in the spec is not
    checked."""
    v = Verdict()
    if lab.interface is None:
        return v
    if shutil.which("objdump") is None:
        raise GraderError("objdump not found: install the Debian package "
                          "binutils")
    allow = Allow.of(lab)
    for rel in lab.student_files:
        if not rel.endswith((".c", ".S")):
            continue
        src = tree / rel
        v.rejected += check_source(rel, src.read_text("utf-8", "replace")
                                   if src.is_file() else "")
        obj = outdir / (rel + ".o")
        if not obj.is_file():
            continue
        try:
            v.extend(check_object(rel, obj, allow))
        except ObjcheckError as e:
            v.rejected.append(f"{rel}: {e}")
    return v


def judge(target: Target, built: BuildResult) -> list[str]:
    """Check the target's student files once make is done, before any
    boot: a rejection fails the build (its lines replace make's output,
    which may quote a file the source should not have read). In
    solutions/ every lab up to the target's is checked, reference and
    stub alike; in a lab tree, its own lab. Returns the review lines."""
    v = Verdict()
    for n in sorted(target.spec.labs):
        if n <= target.lab:
            v.extend(check_lab(target.tree, built.outdir, target.spec.lab(n)))
    if v.rejected:
        built.ok, built.kernel = False, None
        built.reason = f"rejected by the object checks: {v.rejected[0]}"
        built.tail = v.rejected
        return []
    return v.review


def derive(objects: dict[str, list[Path]]) -> dict[str, list[str]]:
    """The allowlists that let exactly these objects (one lab's files, in
    the reference and the stub builds) through: what they define, call
    and execute. The unit tests prove labs.json agrees."""
    interface: set[str] = set()
    may_call: set[str] = set()
    priv: set[str] = set()
    moncmds: set[str] = set()
    for paths in objects.values():
        for obj in paths:
            elf = read_elf(obj)
            for sym in elf.symbols:
                if sym.name and sym.bind != STB_LOCAL:
                    (may_call if sym.shndx == SHN_UNDEF
                     else interface).add(sym.name)
            moncmds |= {n for off, sym, add in elf.relocations(".moncmds")
                        if off % MONCMD_SIZE == 0
                        and (n := elf.string_at(sym, add)) is not None}
            priv |= {p for p, _ in privileged(disassemble(obj))}
    return {"interface": sorted(interface), "may_call": sorted(may_call),
            "privileged": sorted(priv), "moncmds": sorted(moncmds)}


def compile_objects(tree: Path, outdir: Path, make_vars: dict[str, str],
                    files: list[str]) -> dict[str, Path]:
    """Compile only these .c/.S files of tree (make's object targets) into
    outdir; their objects by file. ObjcheckError with make's last line."""
    objs = {f: outdir / (f + ".o") for f in files if f.endswith((".c", ".S"))}
    argv = ["make", "-s", "-C", str(tree), f"O={outdir}", "-j4"]
    argv += [f"{k}={v}" for k, v in sorted(make_vars.items())]
    proc = subprocess.run(argv + [str(p) for p in objs.values()],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ObjcheckError(f"make {' '.join(argv[5:])} failed: {last}")
    return objs


def derive_lab(tree: Path, work: Path, lab: Lab, top: int) -> dict[str, list[str]]:
    """Lab's allowlists from its files compiled as the reference (at its
    own level and at the top lab) and as the stub (SOL = lab - 1)."""
    builds = {"ref": (lab.lab, lab.lab), "top": (top, top),
              "stub": (lab.lab, lab.lab - 1)}
    objects: dict[str, list[Path]] = {}
    for tag, (n, m) in builds.items():
        objs = compile_objects(tree, work / tag, {"LAB": str(n), "SOL": str(m)},
                               list(lab.student_files))
        objects[tag] = list(objs.values())
    return derive(objects)
