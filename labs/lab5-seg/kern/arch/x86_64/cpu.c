/*
 * cpu.c — the boot CPU's GDT and TSS.
 *
 * Long mode ignores segment bases and limits for code and data, but the
 * CPU still needs descriptors: CS selects 64-bit mode and the privilege
 * level, and the TSS holds the stack the CPU switches to on a trap from
 * ring 3 (rsp0) and the interrupt stacks (ist[]) that lab 1 uses for #DF,
 * NMI and #MC.
 */
#include <cpu.h>
#include <kernel.h>
#include <kstring.h>
#include <x86.h>

#define SEG_P (1UL << 47)
#define SEG_S (1UL << 44) /* code or data, not a system descriptor */
#define SEG_CODE (1UL << 43)
#define SEG_RW (1UL << 41) /* readable code / writable data */
#define SEG_L (1UL << 53)  /* 64-bit code */
#define SEG_DB (1UL << 54) /* 32-bit default size */
#define SEG_G (1UL << 55)
#define SEG_DPL(d) ((uint64_t)(d) << 45)
#define SEG_LIMIT_MAX (0xffffUL | (0xfUL << 48))
#define TSS_TYPE_AVAIL (0x9UL << 40)

struct cpu cpus[NCPU];
int ncpus = 1;

/* Each CPU's trap stack from ring 3 (TSS.rsp0), and its IST stacks for
 * #DF, NMI and #MC (trap.h's IST_* are 1-based). */
static char rsp0_stacks[NCPU][KSTACK_SIZE] __attribute__((aligned(16)));
static char ist_stacks[NCPU][3][IST_STACK_SIZE] __attribute__((aligned(16)));

static void gdt_set_tss(uint64_t *slot, struct tss64 *tss)
{
	uint64_t base = (uint64_t)tss;
	uint64_t limit = sizeof(*tss) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		  TSS_TYPE_AVAIL | SEG_P | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

static void gdt_build(uint64_t *gdt, struct tss64 *tss)
{
	uint64_t code = SEG_P | SEG_S | SEG_CODE | SEG_RW | SEG_G |
			SEG_LIMIT_MAX;
	uint64_t data = SEG_P | SEG_S | SEG_RW | SEG_G | SEG_DB |
			SEG_LIMIT_MAX;

	gdt[0] = 0;
	gdt[KCS_SEL >> 3] = code | SEG_L | SEG_DPL(0);
	gdt[KDS_SEL >> 3] = data | SEG_DPL(0);
	gdt[0x18 >> 3] = code | SEG_DB | SEG_DPL(3);
	gdt[UDS_SEL >> 3] = data | SEG_DPL(3);
	gdt[UCS_SEL >> 3] = code | SEG_L | SEG_DPL(3);
	gdt_set_tss(&gdt[TSS_SEL >> 3], tss);
}

static void gdt_load(const uint64_t *gdt)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { 8 * 8 - 1, (uint64_t)gdt };

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 :
			 : "m"(desc), "i"(KCS_SEL), "r"(KDS_SEL)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
}

/*
 * Give CPU c (the one running this) its TSS, IST stacks and GDT, and point
 * its GS.base at c. c->cpu_id must be set and below NCPU.
 */
void cpu_init_ap(struct cpu *c)
{
	int id = c->cpu_id;

	ASSERT(id >= 0 && id < NCPU && c == &cpus[id]);
	c->cpu_self = c;
	memset(&c->cpu_m.mcpu_tss, 0, sizeof(c->cpu_m.mcpu_tss));
	c->cpu_m.mcpu_tss.rsp[0] = (uint64_t)(rsp0_stacks[id] + KSTACK_SIZE);
	for (int i = 0; i < 3; i++)
		c->cpu_m.mcpu_tss.ist[i] = (uint64_t)(ist_stacks[id][i] + IST_STACK_SIZE);
	c->cpu_m.mcpu_tss.iomap_base = sizeof(c->cpu_m.mcpu_tss); /* no I/O bitmap */
	gdt_build(c->cpu_m.mcpu_gdt, &c->cpu_m.mcpu_tss);
	gdt_load(c->cpu_m.mcpu_gdt);
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0); /* the user's GS.base, for swapgs */
}

/* cpu_init_ap() for the boot CPU, cpus[0]. */
void cpu_init(void)
{
	cpus[0].cpu_id = 0;
	cpu_init_ap(&cpus[0]);
}
