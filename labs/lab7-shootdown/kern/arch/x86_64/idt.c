/*
 * idt.c — the interrupt descriptor table.
 *
 * Design (read this before writing lab 1):
 *
 * 1. A gate is 16 bytes. It holds the 64-bit address of the handler (split
 *    in three pieces: bits 0-15, 16-31 and 32-63), the code segment to
 *    load (KCS_SEL), an IST index (0: stay on the current stack, or switch
 *    to it if coming from ring 3; 1-7: always switch to TSS.ist[n-1]), the
 *    gate type, the DPL and the present bit (Intel SDM Vol. 3A, 6.14.1).
 *
 *	 127            96 95            64
 *	+----------------+----------------+
 *	|    reserved    |  offset 63..32 |
 *	+--------+-+--+-+----+-----+------+
 *	| offset |P|DPL|0|type|00000| IST  |   bits 63..32
 *	| 31..16 | |   | |    |     |      |
 *	+--------+----------------+-------+
 *	|    selector    |  offset 15..0  |   bits 31..0
 *	+----------------+----------------+
 *
 * 2. Interrupt gates (type 0xE) clear RFLAGS.IF on entry; trap gates (0xF)
 *    leave it alone. Every gate here is an interrupt gate, breakpoints
 *    and system calls included, as in Linux. The reason is swapgs: from
 *    ring 3, cmntrap runs a few instructions on the user's GS.base before
 *    its swapgs. Through a trap gate, a timer interrupt could arrive in
 *    that window; its frame says "from ring 0", so its cmntrap would not
 *    swapgs, and the kernel would take the user's GS.base for its own.
 *    With interrupts off until trap() decides otherwise, there is no
 *    window. (It also keeps CR2 safe until trap() has read it.)
 *
 * 3. DPL is the least privileged ring that may raise the vector by INT n or
 *    INT3: from CPL c only if c <= DPL, else #GP. Hardware exceptions and
 *    external interrupts ignore it. DPL 3 only for #BP (int3) and T_SYSCALL.
 *
 * 4. #DF, NMI and #MC run on their own IST stacks: they must work when the
 *    kernel stack itself is the problem.
 */
#include <cpu.h>
#include <idt.h>
#include <kernel.h>
#include <kstring.h>
#include <trap.h>

static struct gate_desc idt[NVECTORS] __attribute__((aligned(16)));

/* The stubs made by tools/mkvectors.py. */
extern const uint64_t vectors[NVECTORS];

/*
 * Encode a gate to handler through code selector sel, on IST stack ist
 * (0: none, 1-7), of gate type type (GATE_INTR or GATE_TRAP), that INT
 * may raise from rings dpl and below. Every field of *g is written.
 */
void idt_gate_encode(struct gate_desc *g, uint64_t handler, uint16_t sel,
		     int ist, int type, int dpl)
{
	ASSERT(ist >= 0 && ist <= 7);
	ASSERT(type == GATE_INTR || type == GATE_TRAP);
	ASSERT(dpl >= 0 && dpl <= 3);
	g->off_lo = (uint16_t)handler;
	g->sel = sel;
	g->ist = (uint8_t)(ist & 7);
	g->type_attr = (uint8_t)(GATE_P | (dpl & 3) << 5 | (type & 0xf));
	g->off_mid = (uint16_t)(handler >> 16);
	g->off_hi = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

/* The gate type, DPL and IST each vector needs (points 2-4 above). */
static void gate_kind(int v, int *type, int *dpl, int *ist)
{
	*type = GATE_INTR;
	*dpl = 0;
	*ist = 0;
	switch (v) {
	case T_BPTFLT:
	case T_SYSCALL:
		*dpl = 3;
		break;
	case T_DBLFLT:
		*ist = IST_DF;
		break;
	case T_NMIFLT:
		*ist = IST_NMI;
		break;
	case T_MCE:
		*ist = IST_MC;
		break;
	}
}

/* Fill all NVECTORS gates from vectors[] and load the IDT on this CPU. */
void idt_init(void)
{
	for (int v = 0; v < NVECTORS; v++) {
		int type, dpl, ist;

		gate_kind(v, &type, &dpl, &ist);
		idt_gate_encode(&idt[v], vectors[v], KCS_SEL, ist, type, dpl);
	}
	idt_load();
}

/* Load the IDT (filled or not) on the running CPU: the APs call it too. */
void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(desc));
}

/* The gate of vector, for the tests and the monitor. */
const struct gate_desc *idt_gate(int vector)
{
	ASSERT(vector >= 0 && vector < NVECTORS);
	return &idt[vector];
}
