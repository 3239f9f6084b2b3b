/*
 * lapic.c — the local APIC: enable it, calibrate and run its timer, EOI.
 *
 * The timer counts down from an initial count at the bus clock divided by
 * a divider, and raises its LVT vector at zero (then reloads, in periodic
 * mode). Its rate is not architectural, so it is measured against the PIT,
 * whose 1.193182 MHz is: channel 2 counts down 10 ms while the APIC timer
 * runs free. Under QEMU's -icount both run on virtual time, so the result
 * is the same on every run.
 */
#include <boot.h>
#include <kernel.h>
#include <lapic.h>
#include <thread.h>
#include <trap.h>
#include <x86.h>

#define LAPIC_PA 0xfee00000UL
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_PENDING 0x1000

#define SVR_ENABLE 0x100
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000
#define DIV_BY_16 0x3

#define PIC1 0x20
#define PIC2 0xa0
#define PIC_REMAP_BASE 0x20 /* anywhere clear of the exceptions */

#define PIT_HZ 1193182UL
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61
#define CALIBRATE_MS 10

static volatile uint32_t *lapic;
static uint64_t timer_hz;
static uint64_t tsc_hz;         /* set once, by lapic_calibrate() */
static volatile uint64_t ticks;

static uint32_t lapic_read(unsigned reg)
{
	ASSERT(lapic != NULL && reg % 16 == 0 && reg < PAGESIZE);
	return lapic[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	lapic[reg / 4] = v;
	(void)lapic_read(LAPIC_ID); /* wait for the write to land */
}

/* Let PIT channel 2 count down ms milliseconds; returns when it is done. */
static void pit_wait_start(unsigned ms)
{
	uint32_t count = (uint32_t)(PIT_HZ * ms / 1000);
	uint8_t gate = inb(PIT_GATE) & ~0x03; /* gate low, speaker off */

	outb(PIT_GATE, gate);
	outb(PIT_CMD, 0xb0); /* channel 2, lo/hi byte, mode 0, binary */
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	outb(PIT_GATE, gate | 0x01); /* a rising gate starts the count */
}

static bool pit_done(void)
{
	return (inb(PIT_GATE) & 0x20) != 0; /* OUT2 goes high at zero */
}

static void lapic_calibrate(void)
{
	uint32_t left;
	uint64_t tsc0;

	lapic_write(LAPIC_TIMER_DIV, DIV_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | T_LAPIC_TIMER);
	pit_wait_start(CALIBRATE_MS);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	tsc0 = rdtsc();
	while (!pit_done())
		;
	left = lapic_read(LAPIC_TIMER_CUR);
	tsc_hz = (rdtsc() - tsc0) * (1000 / CALIBRATE_MS);
	lapic_write(LAPIC_TIMER_INIT, 0);
	timer_hz = (uint64_t)(0xffffffffU - left) * (1000 / CALIBRATE_MS);
}

/*
 * The firmware QEMU runs before a PVH entry leaves the legacy 8259 PICs
 * in their real-mode layout: IRQ 0-7 on vectors 8-15, on top of the CPU's
 * exceptions (the PIT's IRQ 0 would look like a #DF). Move them to
 * 0x20-0x2f and mask every line: the local APIC delivers everything this
 * kernel uses.
 */
static void pic_disable(void)
{
	outb(PIC1, 0x11); /* ICW1: initialise, ICW4 follows */
	outb(PIC2, 0x11);
	outb(PIC1 + 1, PIC_REMAP_BASE);     /* ICW2: vector base */
	outb(PIC2 + 1, PIC_REMAP_BASE + 8);
	outb(PIC1 + 1, 0x04); /* ICW3: the slave is on IRQ 2 */
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01); /* ICW4: 8086 mode */
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xff); /* OCW1: mask all */
	outb(PIC2 + 1, 0xff);
}

/*
 * Boot CPU, once: mask the legacy PICs, map and enable this CPU's local
 * APIC, and calibrate its timer against the PIT.
 */
void lapic_init(void)
{
	ASSERT(lapic == NULL);
	pic_disable();
	lapic = kpm_map_mmio(LAPIC_PA);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | T_SPURIOUS);
	lapic_calibrate();
	ASSERT(timer_hz > 0);
	kprintf("lapic: timer %lu Hz after /16\n", timer_hz);
}

/* On an AP, after lapic_init() ran on the boot CPU: enable its APIC. */
void lapic_init_ap(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | T_SPURIOUS);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | T_LAPIC_TIMER);
}

/* This CPU's local APIC ID. */
uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

/*
 * Send the IPI described by icr_low to the CPU with APIC ID apicid, and
 * wait until the APIC has sent it (not until the target took it).
 */
void lapic_ipi(uint32_t apicid, uint32_t icr_low)
{
	ASSERT(apicid <= 0xff); /* xAPIC: 8-bit destination */
	lapic_write(LAPIC_ICR_HIGH, apicid << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
		__asm__ volatile("pause");
}

/* Interrupt this CPU hz times a second on T_LAPIC_TIMER (hz > 0). */
void lapic_timer_start(unsigned hz)
{
	ASSERT(hz > 0 && timer_hz / hz > 0);
	lapic_write(LAPIC_TIMER_DIV, DIV_BY_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | T_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)(timer_hz / hz));
}

/* Mask this CPU's timer and stop its count. */
void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | T_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0);
}

/* Count one timer interrupt (trap() calls it, interrupts off). */
void lapic_tick(void)
{
	ticks++;
	sched_tick();
}

/* End of interrupt: let the APIC deliver the next one of this priority. */
void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint64_t lapic_ticks(void)
{
	return ticks;
}

uint64_t lapic_timer_hz(void)
{
	return timer_hz;
}

uint64_t lapic_tsc_hz(void)
{
	return tsc_hz;
}

uint32_t lapic_timer_current(void)
{
	return lapic_read(LAPIC_TIMER_CUR);
}
