/*
 * idt.h — IDT gate descriptors (see the design notes in arch/x86_64/idt.c).
 */
#ifndef IDT_H
#define IDT_H

#include <stdint.h>

#define GATE_INTR 0xe /* 64-bit interrupt gate: clears RFLAGS.IF */
#define GATE_TRAP 0xf /* 64-bit trap gate: leaves RFLAGS.IF alone */
#define GATE_P 0x80   /* present */

struct gate_desc {
	uint16_t off_lo;    /* handler bits 0..15 */
	uint16_t sel;       /* code segment selector */
	uint8_t ist;        /* bits 0..2: IST index, 0 for none */
	uint8_t type_attr;  /* P | DPL << 5 | type */
	uint16_t off_mid;   /* handler bits 16..31 */
	uint32_t off_hi;    /* handler bits 32..63 */
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct gate_desc) == 16, "a 64-bit gate is 16 bytes");

/* Fill g with a gate to handler through code segment sel. */
void idt_gate_encode(struct gate_desc *g, uint64_t handler, uint16_t sel,
		     int ist, int type, int dpl);
/* Load the IDT register with the table. */
void idt_load(void);
/* The gate of a vector as loaded, for tests and the monitor. */
const struct gate_desc *idt_gate(int vector);

#endif /* IDT_H */
