/*
 * acpi.c — just enough ACPI to count the CPUs: RSDP -> XSDT (or RSDT) ->
 * MADT ("APIC"), whose type-0 entries each name one processor's local APIC
 * (ACPI 6.x, section 5.2.12). QEMU's PVH boot passes the RSDP's address.
 * The tables sit in low memory that the boot direct map covers.
 */
#include <kernel.h>
#include <kstring.h>
#include <smp.h>

struct rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;
	char oem[6];
	uint8_t revision;  /* 2 and later have an XSDT */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
} __attribute__((packed));

struct sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_revision, creator, creator_revision;
} __attribute__((packed));

#define MADT_LAPIC 0
#define MADT_LAPIC_ENABLED 0x1

static bool sum_ok(const void *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return sum == 0;
}

/* The table with this signature in the XSDT (8-byte) or RSDT (4-byte). */
static const struct sdt_header *acpi_find(const struct rsdp *r,
					  const char *sig)
{
	bool x = r->revision >= 2 && r->xsdt != 0;
	const struct sdt_header *root = kpm_va(x ? r->xsdt : r->rsdt);
	size_t width = x ? 8 : 4;
	size_t n;

	ASSERT(root->length >= sizeof(*root));
	n = (root->length - sizeof(*root)) / width;
	const uint8_t *entries = (const uint8_t *)(root + 1);

	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		const struct sdt_header *h;

		memcpy(&pa, entries + i * width, width);
		h = kpm_va(pa);
		if (memcmp(h->signature, sig, 4) == 0 && sum_ok(h, h->length))
			return h;
	}
	return NULL;
}

/*
 * Boot CPU, once, before any AP starts: fill cpus[] and ncpus from the
 * MADT's enabled local APICs. Panics if the RSDP, the MADT or every CPU
 * is missing.
 */
void acpi_init(uint64_t rsdp_pa)
{
	const struct rsdp *r = kpm_va(rsdp_pa);
	const struct sdt_header *madt;
	const uint8_t *p, *end;

	if (rsdp_pa == 0 || memcmp(r->signature, "RSD PTR ", 8) != 0 ||
	    !sum_ok(r, 20))
		panic("acpi_init: no valid RSDP at %#lx", rsdp_pa);
	madt = acpi_find(r, "APIC");
	if (madt == NULL)
		panic("acpi_init: no MADT");
	ncpus = 0;
	p = (const uint8_t *)madt + sizeof(*madt) + 8; /* LAPIC address, flags */
	end = (const uint8_t *)madt + madt->length;
	for (; p + 2 <= end && p[1] >= 2; p += p[1]) {
		uint32_t flags;

		if (p[0] != MADT_LAPIC)
			continue;
		memcpy(&flags, p + 4, 4);
		if ((flags & MADT_LAPIC_ENABLED) && ncpus < NCPU) {
			ASSERT(!cpus[ncpus].cpu_online || ncpus == 0);
			cpus[ncpus].cpu_id = ncpus;
			cpus[ncpus].cpu_m.mcpu_apicid = p[3];
			ncpus++;
		}
	}
	if (ncpus == 0)
		panic("acpi_init: the MADT lists no enabled CPU");
}
