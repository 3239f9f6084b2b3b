/*
 * platform.c — the devices of the QEMU machine that the kernel relies on
 * from its first instruction: COM1, isa-debug-exit, the ib700 watchdog and
 * the CMOS NVRAM.
 */
#include <kernel.h>
#include <platform.h>
#include <x86.h>

#define COM1 0x3f8
#define COM_THR 0 /* transmit holding (write) / receive buffer (read) */
#define COM_IER 1
#define COM_FCR 2
#define COM_LCR 3
#define COM_MCR 4
#define COM_LSR 5
#define LSR_DR 0x01   /* a received byte is waiting */
#define LSR_THRE 0x20 /* the transmitter can take a byte */

#define DEBUG_EXIT_PORT 0xf4

/*
 * ib700: writing n to port 0x443 (re)starts the watchdog with a timeout of
 * 30 - 2n seconds of virtual time; writing to port 0x441 stops it. On
 * expiry QEMU takes the -action watchdog=... the grader chose (it pauses the
 * guest and reports a WATCHDOG event on QMP).
 */
#define WDT_START_PORT 0x443
#define WDT_STOP_PORT 0x441

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

void serial_init(void)
{
	outb(COM1 + COM_IER, 0x00);
	outb(COM1 + COM_LCR, 0x80); /* DLAB: the next two set the divisor */
	outb(COM1 + COM_THR, 0x01); /* 115200 baud */
	outb(COM1 + COM_IER, 0x00);
	outb(COM1 + COM_LCR, 0x03); /* 8N1 */
	/*
	 * FIFOs stay off: switching them on clears the receive side, and a
	 * byte typed (or piped in) before this point would be lost. Polled
	 * I/O needs no FIFO; the emulated UART holds input back until the
	 * one-byte buffer is read.
	 */
	outb(COM1 + COM_FCR, 0x00);
	outb(COM1 + COM_MCR, 0x0b);
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while ((inb(COM1 + COM_LSR) & LSR_THRE) == 0)
		;
	outb(COM1 + COM_THR, (uint8_t)c);
}

int serial_getc(void)
{
	if ((inb(COM1 + COM_LSR) & LSR_DR) == 0)
		return -1;
	return inb(COM1 + COM_THR);
}

void platform_exit(uint32_t status)
{
	cli();
	outl(DEBUG_EXIT_PORT, status);
	/* Only reached without -device isa-debug-exit. */
	kprintf("vmlab: no isa-debug-exit device; halted with status %#x\n",
		status);
	for (;;)
		hlt();
}

void wdt_arm(unsigned secs)
{
	if (secs < 2)
		secs = 2;
	if (secs > 30)
		secs = 30;
	outb(WDT_START_PORT, (uint8_t)((30 - secs) / 2));
}

void wdt_disarm(void)
{
	outb(WDT_STOP_PORT, 0);
}

uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}
