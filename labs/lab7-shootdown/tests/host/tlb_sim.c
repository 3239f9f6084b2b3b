/*
 * tlb_sim.c (host) — the simulated machine of test_tlb, and the given
 * half of lab 7 faked over it (tlb_sim.h says what it models and what
 * each fake checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <kenv.h>

#include "tlb_sim.h"

struct hat kernel_hat;
struct sim_hat sim_hats[SIM_NHAT];
struct sim_log sim_log[SIM_NCPU];
uint64_t sim_tlb[SIM_NCPU][SIM_NPAGES];
enum sim_ipi_mode sim_ipi_mode;

static int busy[SIM_NCPU];    /* entered: kernel code, interrupts off */
static int serving[SIM_NCPU]; /* inside a tlb_serve() the machine ran */
static uint64_t queued;       /* CPUs with an IPI not yet taken */
static struct cpu *entered_from[16]; /* curcpu() before each sim_enter */
static int depth;
static uint64_t next_root;
static void (*next_wait)(void);
static void (*fail_hook)(void);

void sim_on_fail(void (*fn)(void))
{
	fail_hook = fn;
}

void sim_fail(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (fail_hook != NULL)
		fail_hook();
	fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

/* hat_tlb.c's ASSERTs end here. */
void panic(const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_fail("panic: %s", msg);
}

/* ---- the machine ---- */

void sim_log_clear(void)
{
	memset(sim_log, 0, sizeof(sim_log));
}

void sim_reset(void)
{
	memset(cpus, 0, sizeof(cpus));
	for (int i = 0; i < NCPU; i++) {
		cpus[i].cpu_self = &cpus[i];
		cpus[i].cpu_id = i;
		cpus[i].cpu_online = i < SIM_NCPU;
	}
	ncpus = SIM_NCPU;
	host_curcpu = &cpus[0];
	memset(busy, 0, sizeof(busy));
	memset(serving, 0, sizeof(serving));
	memset(sim_tlb, 0, sizeof(sim_tlb));
	queued = 0;
	depth = 0;
	next_root = 0x100000;
	next_wait = NULL;
	fail_hook = NULL;
	sim_ipi_mode = SIM_IPI_NOW;
	kernel_hat = (struct hat){ .h_root = 0x1000 };
	memset(sim_hats, 0, sizeof(sim_hats));
	for (int i = 0; i < SIM_NHAT; i++)
		sim_hat_remake(i);
	sim_log_clear();
}

void sim_hat_remake(int i)
{
	struct sim_hat *sh = &sim_hats[i];

	if (sh->sh_alive && sh->sh_hat.h_cpus != 0)
		sim_fail("sim_hat_remake: hat %s is still in CR3 of cpus %#lx",
			 sim_hat_name(&sh->sh_hat), sh->sh_hat.h_cpus);
	memset(sh, 0, sizeof(*sh));
	next_root += PAGESIZE;
	sh->sh_hat.h_root = next_root;
	sh->sh_alive = true;
}

uintptr_t sim_va(int p)
{
	return SIM_VA0 + (uintptr_t)p * PAGESIZE;
}

/* The page va is in, or -1 outside the simulated range. */
static int sim_page(uintptr_t va)
{
	if (va < SIM_VA0 || va >= sim_va(SIM_NPAGES))
		return -1;
	return (int)((va - SIM_VA0) / PAGESIZE);
}

struct sim_hat *sim_hat_of(const struct hat *h)
{
	for (int i = 0; i < SIM_NHAT; i++)
		if (h == &sim_hats[i].sh_hat)
			return &sim_hats[i];
	return NULL;
}

const char *sim_hat_name(const struct hat *h)
{
	static const char *const names[SIM_NHAT] = { "A", "B", "C" };
	struct sim_hat *sh = sim_hat_of(h);

	if (h == NULL)
		return "none";
	return sh != NULL ? names[sh - sim_hats] : "?";
}

uint64_t sim_touch(int id, int p)
{
	struct sim_hat *sh = sim_hat_of(cpus[id].cpu_hat);

	if (sh == NULL)
		sim_fail("sim_touch: cpu%d has no user hat in CR3", id);
	if (sim_tlb[id][p] == 0)
		sim_tlb[id][p] = sh->sh_pfn[p]; /* the walk; 0 caches nothing */
	return sim_tlb[id][p];
}

void sim_enter(int id)
{
	if (depth == (int)(sizeof(entered_from) / sizeof(entered_from[0])))
		sim_fail("sim_enter: nested too deep");
	entered_from[depth++] = host_curcpu;
	host_curcpu = &cpus[id];
	busy[id]++;
}

void sim_leave(void)
{
	busy[curcpu()->cpu_id]--;
	host_curcpu = entered_from[--depth];
}

void sim_at_next_wait(void (*fn)(void))
{
	next_wait = fn;
}

/* CPU id serves what was posted to it, from wherever it is. */
static void serve_on(int id)
{
	struct cpu *was = host_curcpu;

	host_curcpu = &cpus[id];
	serving[id]++;
	tlb_serve();
	serving[id]--;
	host_curcpu = was;
}

/* CPU id, idle or in user mode, takes the shootdown IPI. */
static void take_ipi(int id)
{
	sim_enter(id);
	cpus[id].cpu_tlbstat.ts_ipi_recv++;
	serving[id]++;
	tlb_serve();
	serving[id]--;
	sim_leave();
}

void sim_settle(void)
{
	for (int id = 0; id < SIM_NCPU; id++) {
		if (!(queued & (1ULL << id)) || busy[id] != 0)
			continue;
		queued &= ~(1ULL << id);
		take_ipi(id);
	}
}

/* ---- the fakes of tlb.h's given half ---- */

/* The CPU kernel code runs on; fn is the fake it called. */
static int this_cpu(const char *fn)
{
	int id = curcpu()->cpu_id;

	if (id < 0 || id >= SIM_NCPU || busy[id] == 0)
		sim_fail("%s: called outside sim_enter()", fn);
	return id;
}

/*
 * A CPU that flushes while it serves must still owe an ack: once every
 * request is acked, its initiator may already be freeing the page.
 */
static void expect_unacked(int id, const char *fn)
{
	if (serving[id] == 0)
		return;
	for (int i = 0; i < SIM_NCPU; i++)
		if (i != id && __atomic_load_n(&cpus[i].cpu_tlb_req.tr_acks_left,
					       __ATOMIC_SEQ_CST) > 0)
			return;
	sim_fail("cpu%d called %s while it served a request that it had "
		 "already acked: the ack comes only after the flush (tlb.h), "
		 "or the initiator frees a page this CPU can still reach",
		 id, fn);
}

void tlb_flush_page_local(uintptr_t va)
{
	int id = this_cpu("tlb_flush_page_local");
	int p = sim_page(va);

	if ((va & (PAGESIZE - 1)) != 0)
		sim_fail("tlb_flush_page_local: cpu%d, %#lx is not page-aligned",
			 id, (unsigned long)va);
	expect_unacked(id, "tlb_flush_page_local");
	if (p < 0) {
		sim_log[id].sl_invlpg_other++;
	} else {
		sim_log[id].sl_invlpg[p]++;
		sim_tlb[id][p] = 0;
	}
	cpus[id].cpu_tlbstat.ts_invlpg++;
}

void tlb_flush_all_local(void)
{
	int id = this_cpu("tlb_flush_all_local");

	expect_unacked(id, "tlb_flush_all_local");
	memset(sim_tlb[id], 0, sizeof(sim_tlb[id]));
	sim_log[id].sl_flush_all++;
	cpus[id].cpu_tlbstat.ts_flush_all++;
}

/* The cpuset rules of tlb.h: join before the load, leave after it. */
static void expect_cpuset_order(int id, const struct hat *old,
				const struct hat *hat)
{
	if (old != NULL && !cpuset_has(&old->h_cpus, id))
		sim_fail("cpu%d left hat %s's h_cpus before it loaded another "
			 "root: a shootdown of %s then would skip it while its "
			 "TLB still holds %s's entries (hat_switch: leave after "
			 "the load)", id, sim_hat_name(old), sim_hat_name(old),
			 sim_hat_name(old));
	if (hat != NULL && !cpuset_has(&hat->h_cpus, id))
		sim_fail("cpu%d loads hat %s's root without being in its "
			 "h_cpus: a shootdown of %s would miss it (hat_switch: "
			 "join before the load)", id, sim_hat_name(hat),
			 sim_hat_name(hat));
}

void tlb_cr3_load(struct hat *hat)
{
	int id = this_cpu("tlb_cr3_load");
	struct sim_hat *sh = sim_hat_of(hat);

	if (hat == &kernel_hat)
		sim_fail("tlb_cr3_load: cpu%d loads &kernel_hat; NULL names "
			 "the kernel's tables", id);
	if (hat != NULL && (sh == NULL || !sh->sh_alive))
		sim_fail("tlb_cr3_load: cpu%d loads hat %s, which was released",
			 id, sim_hat_name(hat));
	expect_cpuset_order(id, cpus[id].cpu_hat, hat);
	expect_unacked(id, "tlb_cr3_load");
	__atomic_store_n(&cpus[id].cpu_hat, hat, __ATOMIC_SEQ_CST);
	memset(sim_tlb[id], 0, sizeof(sim_tlb[id])); /* no PCIDs */
	sim_log[id].sl_cr3_load++;
	cpus[id].cpu_tlbstat.ts_cr3_load++;
}

void tlb_ipi(int id)
{
	int self = this_cpu("tlb_ipi");

	if (id < 0 || id >= SIM_NCPU)
		sim_fail("tlb_ipi: cpu%d sends to cpu%d, which is not there",
			 self, id);
	if (id == self)
		sim_fail("tlb_ipi: cpu%d sends itself the IPI; it flushes its "
			 "own TLB directly", self);
	if (!(__atomic_load_n(&cpus[id].cpu_tlb_pending, __ATOMIC_SEQ_CST) &
	      (1ULL << self)))
		sim_fail("tlb_ipi: cpu%d sends cpu%d the IPI before setting bit "
			 "%d of cpu%d's cpu_tlb_pending: the target finds "
			 "nothing to serve", self, id, self, id);
	sim_log[id].sl_ipi++;
	cpus[self].cpu_tlbstat.ts_ipi_sent++;
	if (sim_ipi_mode == SIM_IPI_NOW && busy[id] == 0)
		take_ipi(id);
	else
		queued |= 1ULL << id;
}

void tlb_wait_pause(uint64_t *spins, const char *what)
{
	int id = this_cpu("tlb_wait_pause");
	void (*fn)(void) = next_wait;

	serve_on(id);
	if (fn != NULL) {
		next_wait = NULL;
		fn();
	}
	for (int w = 0; w < SIM_NCPU; w++)
		if (w != id && busy[w] != 0)
			serve_on(w); /* its own wait loop's serve */
	sim_settle();
	if (++*spins >= SIM_SPIN_LIMIT)
		sim_fail("%s: cpu%d paused %d times, and every CPU served what "
			 "was posted to it meanwhile: an ack that never comes "
			 "(a target left without its pending bit or its IPI, "
			 "or counted twice)", what, id, SIM_SPIN_LIMIT);
}
