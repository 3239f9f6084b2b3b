/*
 * lapic.h — the local APIC (xAPIC, memory-mapped): end of interrupt and the
 * timer. QEMU's TCG offers no x2APIC, so every access goes through MMIO.
 */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdint.h>

/* Map and enable the local APIC, and calibrate its timer against the PIT. */
void lapic_init(void);
/* Enable this (application) processor's local APIC (lab 4). */
void lapic_init_ap(void);
/* This CPU's local APIC ID. */
uint32_t lapic_id(void);
/* Send an IPI: destination APIC ID and the ICR's low word; waits until
 * the APIC has sent it. */
void lapic_ipi(uint32_t apicid, uint32_t icr_low);
/* Start the timer, periodic, at hz interrupts per second on T_LAPIC_TIMER. */
void lapic_timer_start(unsigned hz);
/* Stop the timer. */
void lapic_timer_stop(void);
/* Count one timer interrupt (trap() calls this). */
void lapic_tick(void);
/*
 * Signal end of interrupt. Until then the APIC holds back every interrupt
 * of the same or a lower priority class, which for the timer is all of them.
 */
void lapic_eoi(void);
/* Timer interrupts counted since boot. */
uint64_t lapic_ticks(void);
/* Timer counts (after the divider) per second, as calibrated. */
uint64_t lapic_timer_hz(void);
/* TSC ticks per second, measured against the PIT with the timer. */
uint64_t lapic_tsc_hz(void);
/* The timer's current count register. */
uint32_t lapic_timer_current(void);

#endif /* LAPIC_H */
