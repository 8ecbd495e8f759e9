/* SPDX-License-Identifier: MIT */
/* save.c: cases for the saved-state format and restore (VMI-SAV). */
#include "../cases.h"

#define BLOB_CAP 16384u

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    int k;

    while (n--) {
        c ^= *p++;
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void reseal(uint8_t *b, size_t len)
{
    struct vmi_save_header *h = (struct vmi_save_header *)b;

    h->checksum = 0;
    h->checksum = crc32c(b, len);
}

/* Offset of the first section of `type`, or 0. */
static size_t section(const uint8_t *b, size_t len, uint32_t type)
{
    size_t off = sizeof(struct vmi_save_header);

    while (off + sizeof(struct vmi_save_section) <= len) {
        const struct vmi_save_section *s =
            (const struct vmi_save_section *)(b + off);

        if (s->type == type)
            return off;
        off += sizeof(*s) + ((s->size + 7) & ~(uint64_t)7);
    }
    return 0;
}

/*
 * Set up state worth saving: records, two timers (armed in reverse id
 * order), two pinned tables (pinned in reverse address order) and three
 * released pages forming two extents (released out of order).
 */
static int populate(struct vmi_conform_t *t, struct vmi_event_record **e,
                    struct vmi_clock_record **c)
{
    uint8_t *pg = vmi_conform_alloc(t, 8 * 4096, 4096);
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 3 * 16, 16);
    uint64_t g;

    *e = cases_events(t, 40);
    *c = cases_clock(t);
    if (!*e || !*c || !pg || !x)
        return -1;
    g = vmi_conform_gpa(t, pg);
    if (CALL5(t, VMI_HC_TIMER_ARM, 2, UINT64_C(1) << 62, 0, 6, 0, NULL) ||
        CALL5(t, VMI_HC_TIMER_ARM, 1, vmi_conform_time(t) + 2000000, 0, 5, 0,
              NULL))
        return -1;
    if ((t->g->features & VMI_F_PT) &&
        (CALL3(t, VMI_HC_PT_PIN, g + 4096, 1, 0, NULL) ||
         CALL3(t, VMI_HC_PT_PIN, g, 2, 0, NULL)))
        return -1;
    if (t->g->features & VMI_F_MEM) {
        x[0].gpa = g + 6 * 4096;
        x[0].pages = 1;
        x[1].gpa = g + 3 * 4096;
        x[1].pages = 1;
        x[2].gpa = g + 4 * 4096;
        x[2].pages = 1;
        if (CALL4(t, VMI_HC_MEM_RELEASE, vmi_conform_gpa(t, x), 3, 0, 0, NULL))
            return -1;
    }
    return 0;
}

/* Undo populate's pins and releases (the VM may be shared with others). */
static void unpopulate(struct vmi_conform_t *t,
                       const struct vmi_event_record *e)
{
    /* populate allocated its pages first, right before the event record. */
    uint64_t g = (vmi_conform_gpa(t, e) & ~UINT64_C(4095)) - 8 * 4096;
    struct vmi_mem_extent *x = vmi_conform_alloc(t, 16, 16);

    CALL1(t, VMI_HC_PT_UNPIN, g, NULL);
    CALL1(t, VMI_HC_PT_UNPIN, g + 4096, NULL);
    if (x) {
        x->gpa = g;
        x->pages = 8;
        CALL4(t, VMI_HC_MEM_RECLAIM, vmi_conform_gpa(t, x), 1, 0, 0, NULL);
    }
}

/* How many of the n bytes at a and b differ. */
static size_t bytes_differ(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i, d = 0;

    for (i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

static const struct vmi_save_section *sec_at(const uint8_t *b, size_t off)
{
    return (const struct vmi_save_section *)(b + off);
}

TEST(sav_blob_header_sections_and_checksum)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_save_header *h = (struct vmi_save_header *)b;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t len = 0, off;
    uint32_t sum,
        n = 0,
        want[4] = {VMI_SAVE_SECTION_TIMERS, VMI_SAVE_SECTION_PINNED,
                   VMI_SAVE_SECTION_RELEASED, VMI_SAVE_SECTION_CONFIG};
    int order = 1, i;

    VMI_REQUIRE("VMI-SAV-040", b && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-040",
                sim->save(vmi_conform_sim_ctx(t), b, BLOB_CAP, &len) == 0);
    VMI_CHECK_EQ("VMI-SAV-040", h->magic, VMI_SAVE_MAGIC);
    VMI_CHECK_EQ("VMI-SAV-040", h->format_version, VMI_SAVE_FORMAT_VERSION);
    VMI_CHECK_EQ("VMI-SAV-040", h->header_size, 64);
    VMI_CHECK_EQ("VMI-SAV-040", h->total_size, len);
    sum = h->checksum;
    h->checksum = 0;
    VMI_CHECK_EQ("VMI-SAV-003", crc32c(b, len), sum);
    h->checksum = sum;
    VMI_CHECK("VMI-SAV-004", h->reserved0 == 0 && h->reserved1[0] == 0 &&
                                 h->reserved1[1] == 0 && h->reserved1[2] == 0);
    /* VM, then one VCPU per vCPU, then TIMERS, PINNED, RELEASED, CONFIG. */
    off = sizeof(*h);
    for (i = 0; off + 16 <= len; i++) {
        const struct vmi_save_section *s =
            (const struct vmi_save_section *)(b + off);
        uint32_t w;

        if (i == 0)
            w = VMI_SAVE_SECTION_VM;
        else if (i <= (int)t->g->info.vcpu_count)
            w = VMI_SAVE_SECTION_VCPU;
        else if (i - 1 - (int)t->g->info.vcpu_count < 4)
            w = want[i - 1 - t->g->info.vcpu_count];
        else
            w = 0;
        if (s->type != w || s->size % 8)
            order = 0;
        VMI_CHECK_EQ("VMI-SAV-022", s->version, 1);
        if (s->type == VMI_SAVE_SECTION_VCPU) {
            const struct vmi_save_vcpu *v =
                (const struct vmi_save_vcpu *)(b + off + 16);

            VMI_CHECK_EQ("VMI-SAV-024", s->size, sizeof(*v));
            if (v->vcpu == 0)
                VMI_CHECK("VMI-SAV-024", v->flags & VMI_SAVE_VCPU_STARTED);
        }
        off += 16 + s->size;
        n++;
    }
    VMI_CHECK("VMI-SAV-041", order && off == len);
    VMI_CHECK_EQ("VMI-SAV-041", h->section_count, n);
    off = section(b, len, VMI_SAVE_SECTION_VM);
    VMI_CHECK("VMI-SAV-023",
              off && sec_at(b, off)->size == sizeof(struct vmi_save_vm));
    off = section(b, len, VMI_SAVE_SECTION_TIMERS);
    VMI_CHECK("VMI-SAV-005",
              off && sec_at(b, off)->size == 2 * sizeof(struct vmi_save_timer));
    if (off && sec_at(b, off)->size == 2 * sizeof(struct vmi_save_timer)) {
        const struct vmi_save_timer *tm =
            (const struct vmi_save_timer *)(b + off + 16);

        VMI_CHECK("VMI-SAV-025", tm[0].timer == 1 && tm[1].timer == 2 &&
                                     tm[0].event == 5 && tm[1].event == 6);
    } else {
        VMI_CHECK("VMI-SAV-025", 0);
    }
    off = section(b, len, VMI_SAVE_SECTION_PINNED);
    if (off && sec_at(b, off)->size == 2 * sizeof(struct vmi_save_pin)) {
        const struct vmi_save_pin *pn =
            (const struct vmi_save_pin *)(b + off + 16);

        VMI_CHECK("VMI-SAV-026", pn[0].table_gpa + 4096 == pn[1].table_gpa &&
                                     pn[0].level == 2 && pn[1].level == 1);
    } else {
        VMI_CHECK("VMI-SAV-026", !(t->g->features & VMI_F_PT));
    }
    off = section(b, len, VMI_SAVE_SECTION_RELEASED);
    if (off && sec_at(b, off)->size == 2 * sizeof(struct vmi_mem_extent)) {
        const struct vmi_mem_extent *x =
            (const struct vmi_mem_extent *)(b + off + 16);

        /* Pages 3 and 4 merge; page 6 stands alone. */
        VMI_CHECK("VMI-SAV-027", x[0].pages == 2 && x[1].pages == 1 &&
                                     x[0].gpa + 3 * 4096 == x[1].gpa);
    } else {
        VMI_CHECK("VMI-SAV-027", !(t->g->features & VMI_F_MEM));
    }
    unpopulate(t, e);
}

TEST(sav_restore_rejects_malformed_blobs)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *m = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_save_header *h = (struct vmi_save_header *)m;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    struct vmi_save_vm *vm;
    size_t len = 0, off;
    uint64_t r[2];

    VMI_REQUIRE("VMI-SAV-007", b && m && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-007", sim->save(ctx, b, BLOB_CAP, &len) == 0);
#define FRESH() vmi_conform_memcpy(m, b, len)
    FRESH();
    VMI_CHECK("VMI-SAV-007", sim->restore(ctx, m, 40) != 0);
    h->magic ^= 1;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-007", sim->restore(ctx, m, len) != 0);
    FRESH();
    h->total_size = len + 8;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-007", sim->restore(ctx, m, len) != 0);
    FRESH();
    h->format_version = VMI_SAVE_FORMAT_VERSION + 1;
    reseal(m, len);
    VMI_CHECK_ST("VMI-SAV-008", sim->restore(ctx, m, len), -VMI_E_VERSION);
    h->format_version = 0;
    reseal(m, len);
    VMI_CHECK_ST("VMI-SAV-008", sim->restore(ctx, m, len), -VMI_E_VERSION);
    FRESH();
    /* A change that is valid in itself: only the checksum can tell. */
    ((struct vmi_save_vm *)(m + sizeof(*h) + 16))->clock_ns ^= 0x40;
    VMI_CHECK("VMI-SAV-009", sim->restore(ctx, m, len) != 0);
    FRESH();
    m[len - 1] ^= 0x40;
    VMI_CHECK("VMI-SAV-009", sim->restore(ctx, m, len) != 0);
    FRESH();
    off = section(m, len, VMI_SAVE_SECTION_PINNED);
    VMI_REQUIRE("VMI-SAV-042", off != 0);
    ((struct vmi_save_section *)(m + off))->type = 9;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-042", sim->restore(ctx, m, len) != 0);
    FRESH();
    h->reserved1[1] = 1;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-011", sim->restore(ctx, m, len) != 0);
    FRESH();
    vm = (struct vmi_save_vm *)(m + sizeof(*h) + 16);
    vm->vcpu_count += 1;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-012", sim->restore(ctx, m, len) != 0);
    FRESH();
    vm->ram_bytes += 4096;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-012", sim->restore(ctx, m, len) != 0);
    FRESH();
    vm->lifecycle = 7;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-016", sim->restore(ctx, m, len) != 0);
    FRESH();
    off = section(m, len, VMI_SAVE_SECTION_TIMERS);
    VMI_REQUIRE("VMI-SAV-013", off != 0);
    ((struct vmi_save_timer *)(m + off + 16))->timer = t->g->info.timer_count;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-013", sim->restore(ctx, m, len) != 0);
    FRESH();
    ((struct vmi_save_timer *)(m + off + 16))->event = 64;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-013", sim->restore(ctx, m, len) != 0);
    FRESH();
    off = section(m, len, VMI_SAVE_SECTION_VCPU);
    ((struct vmi_save_vcpu *)(m + off + 16))->clock_gpa = GPA_OUTSIDE;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-014", sim->restore(ctx, m, len) != 0);
    FRESH();
    ((struct vmi_save_vcpu *)(m + off + 16))->event_gpa += 8;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-014", sim->restore(ctx, m, len) != 0);
    FRESH();
    off = section(m, len, VMI_SAVE_SECTION_RELEASED);
    if (off && sec_at(m, off)->size == 2 * sizeof(struct vmi_mem_extent)) {
        struct vmi_mem_extent *x = (struct vmi_mem_extent *)(m + off + 16);
        struct vmi_mem_extent tmp = x[0];

        x[0] = x[1]; /* unsorted */
        x[1] = tmp;
        reseal(m, len);
        VMI_CHECK("VMI-SAV-015", sim->restore(ctx, m, len) != 0);
        FRESH();
        x[0].pages = 4; /* overlaps the next, and the count is off */
        reseal(m, len);
        VMI_CHECK("VMI-SAV-015", sim->restore(ctx, m, len) != 0);
        FRESH();
        vm->released_pages += 1;
        reseal(m, len);
        VMI_CHECK("VMI-SAV-015", sim->restore(ctx, m, len) != 0);
    } else {
        VMI_CHECK("VMI-SAV-015", 0);
    }
    /* All rejected: each target VM stayed as it was. */
    VMI_CHECK_EQ("VMI-SAV-017", sim->stat(ctx, VMI_CONFORM_STAT_REJECT_DIRTY),
                 0);
    VMI_CHECK_ST("VMI-SAV-017", CALL1(t, VMI_HC_TIMER_CANCEL, 2, r), 0);
    VMI_CHECK_EQ("VMI-SAV-017", r[0], 1);
    VMI_CHECK_ST("VMI-SAV-017", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL),
                 0);
    VMI_CHECK("VMI-SAV-017", cases_pending(e) & (UINT64_C(1) << 9));
#undef FRESH
    unpopulate(t, e);
}

/* The VCPU section payload of vCPU i (sections are in vCPU order). */
static struct vmi_save_vcpu *vcpu_payload(uint8_t *b, size_t len, uint32_t i)
{
    size_t off = section(b, len, VMI_SAVE_SECTION_VCPU);

    if (!off)
        return NULL;
    off += i * (sizeof(struct vmi_save_section) +
                ((sizeof(struct vmi_save_vcpu) + 7) & ~(size_t)7));
    return (struct vmi_save_vcpu *)(b + off + sizeof(struct vmi_save_section));
}

/*
 * Well-formed blobs, every field in range, that no run can produce: each is
 * refused and the VM stays as it was.
 */
TEST(sav_restore_rejects_impossible_states)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *m = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_save_vm *vm;
    struct vmi_save_vcpu *v = NULL;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t len = 0;
    uint32_t i, idle = 0;

    VMI_REQUIRE("VMI-SAV-028", b && m && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-028", sim->save(ctx, b, BLOB_CAP, &len) == 0);
    vm = (struct vmi_save_vm *)(m + sizeof(struct vmi_save_header) + 16);
#define FRESH() vmi_conform_memcpy(m, b, len)
    /* The blob as saved is accepted: the edits below are what is refused. */
    FRESH();
    VMI_REQUIRE("VMI-SAV-017", sim->restore(ctx, m, len) == 0);
    for (i = 1; i < t->g->info.vcpu_count && !idle; i++) {
        v = vcpu_payload(m, len, i);
        if (v && !(v->flags & VMI_SAVE_VCPU_STARTED))
            idle = i;
    }
    if (idle) {
        FRESH();
        v = vcpu_payload(m, len, idle);
        v->flags = VMI_SAVE_VCPU_BLOCKED;
        v->block_deadline_ns = UINT64_C(123456789);
        reseal(m, len);
        VMI_CHECK("VMI-SAV-028", sim->restore(ctx, m, len) != 0);
    } else {
        vmi_conform_na(t, "every vCPU is started: none can be made "
                          "blocked-but-not-started");
        unpopulate(t, e);
        return;
    }
    /* PT without TLB (no other state depends on TLB). */
    FRESH();
    if (vm->features & VMI_F_PT) {
        vm->features &= ~VMI_F_TLB;
        reseal(m, len);
        VMI_CHECK("VMI-SAV-029", sim->restore(ctx, m, len) != 0);
    }
    /* TIMER without EVENTS: also unmet. */
    FRESH();
    vm->features &= ~(VMI_F_EVENTS | VMI_F_VCPU);
    reseal(m, len);
    VMI_CHECK("VMI-SAV-029", sim->restore(ctx, m, len) != 0);
    /* Released extents, pinned tables, records of features not granted. */
    FRESH();
    vm->features &= ~VMI_F_MEM;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-030", sim->restore(ctx, m, len) != 0);
    FRESH();
    if (vm->features & VMI_F_PT) {
        vm->features &= ~VMI_F_PT;
        reseal(m, len);
        VMI_CHECK("VMI-SAV-030", sim->restore(ctx, m, len) != 0);
        FRESH();
    }
    vm->features &=
        ~(VMI_F_CLOCK | VMI_F_TIMER | VMI_F_STEAL | VMI_F_BLOCK_TIMER);
    reseal(m, len);
    VMI_CHECK("VMI-SAV-030", sim->restore(ctx, m, len) != 0);
    /* Lifecycle against version and features. */
    FRESH();
    vm->lifecycle = VMI_LIFECYCLE_INITIAL;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-031", sim->restore(ctx, m, len) != 0);
    FRESH();
    vm->version = 0;
    reseal(m, len);
    VMI_CHECK("VMI-SAV-031", sim->restore(ctx, m, len) != 0);
    /* All refused: the VM is as it was. */
    VMI_CHECK_EQ("VMI-SAV-017", sim->stat(ctx, VMI_CONFORM_STAT_REJECT_DIRTY),
                 0);
#undef FRESH
    unpopulate(t, e);
}

TEST(sav_migration_keeps_timers_records_and_clock)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    uint64_t before, after, r[2];

    VMI_REQUIRE("VMI-SAV-005", populate(t, &e, &c) == 0);
    before = vmi_conform_time(t);
    VMI_REQUIRE("VMI-SAV-019", sim->migrate(ctx, UINT64_C(5000000000)) == 0);
    after = vmi_conform_time(t);
    VMI_CHECK("VMI-SAV-019", after >= before && after - before < 1000000);
    VMI_CHECK("VMI-SAV-020", c->flags & VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK("VMI-SAV-006", after - before < 1000000);
    /* Timer 1 fires at its absolute deadline, not before. */
    VMI_CHECK_EQ("VMI-TMR-018", cases_pending(e) & (UINT64_C(1) << 5), 0);
    sim->advance_ns(ctx, 2500000);
    CALL0(t, VMI_HC_NOP, NULL);
    VMI_CHECK("VMI-TMR-018", cases_pending(e) & (UINT64_C(1) << 5));
    VMI_CHECK_ST("VMI-TMR-018", CALL1(t, VMI_HC_TIMER_CANCEL, 2, r), 0);
    VMI_CHECK_EQ("VMI-TMR-018", r[0], 1);
    /* Registration and features survive. */
    VMI_CHECK_ST("VMI-SAV-005", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL),
                 0);
    VMI_CHECK("VMI-SAV-005", cases_pending(e) & (UINT64_C(1) << 9));
    VMI_CHECK_ST("VMI-SAV-005",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), 0, NULL),
                 -VMI_E_STATE);
    unpopulate(t, e);
}

/*
 * A migration through the hypervisor's own stream (QEMU's migrate and
 * -incoming through its driver; a save and restore on the simulator), 2 s
 * between the stop and the continuation: the VM clock continues from where
 * it stopped, the record shows GUEST_STOPPED, an armed timer fires at its
 * absolute deadline and no earlier, another is still armed, and the
 * registrations and the negotiation survive.
 */
/* Leaf B+9 for the first MAP_N vCPU ids: platform id, or ~0 (none). */
#define MAP_N 8u
static void read_vcpu_map(struct vmi_conform_t *t, uint32_t map[MAP_N])
{
    uint32_t b = cases_cpuid_base(t), r[4], i;

    for (i = 0; i < MAP_N; i++) {
        vmi_conform_cpuid_sub(t, b + VMI_CPUID_VCPU_MAP, i, r);
        map[i] = (r[1] & VMI_VCPU_MAP_EXISTS) ? r[0] : ~0u;
    }
}

static uint32_t map_differ(const uint32_t *a, const uint32_t *b)
{
    uint32_t n = 0, i;

    for (i = 0; i < MAP_N; i++)
        n += a[i] != b[i];
    return n;
}

TEST(sav_host_migration_keeps_timers_records_and_clock)
{
    uint32_t map[2][MAP_N];
    struct vmi_event_record *e = cases_events(t, 40);
    struct vmi_clock_record *c = cases_clock(t);
    const uint64_t downtime = UINT64_C(2000000000);
    uint64_t before, after, gap = 0, dl, now, r[2] = {0, 0};
    int rounds = 0;

    VMI_REQUIRE("VMI-SAV-005", e != NULL && c != NULL);
    read_vcpu_map(t, map[0]);
    before = vmi_conform_time(t);
    dl = before + downtime / 2;
    VMI_REQUIRE_ST("VMI-TMR-018",
                   CALL5(t, VMI_HC_TIMER_ARM, 1, dl, 0, 5, 0, NULL), 0);
    VMI_REQUIRE_ST(
        "VMI-SAV-005",
        CALL5(t, VMI_HC_TIMER_ARM, 2, UINT64_C(1) << 62, 0, 6, 0, NULL), 0);
    VMI_REQUIRE("VMI-SAV-019",
                t->be->host_event(t->be->ctx, VMI_CONFORM_HOST_MIGRATE,
                                  downtime, c, &gap) == 0);
    after = vmi_conform_time(t);
    VMI_CHECK("VMI-SAV-020", c->flags & VMI_CLOCK_GUEST_STOPPED);
    VMI_CHECK("VMI-SAV-019", after >= before);
    /* The same vCPUs on the same kind of machine: the same platform ids. */
    read_vcpu_map(t, map[1]);
    VMI_CHECK_EQ("VMI-DSC-043", map_differ(map[0], map[1]), 0);
    VMI_CHECK("VMI-CLK-003", gap < downtime / 2);
    /* Timer 1 fires at its absolute deadline, not before. */
    while (rounds < 100) {
        int pending = (cases_pending(e) & (UINT64_C(1) << 5)) != 0;

        now = vmi_conform_time(t);
        if (pending) {
            VMI_CHECK("VMI-TMR-018", now >= dl);
            break;
        }
        CALL2(t, VMI_HC_BLOCK, dl + downtime, 0, r);
        rounds++;
    }
    VMI_CHECK("VMI-TMR-018", cases_pending(e) & (UINT64_C(1) << 5));
    VMI_CHECK_ST("VMI-SAV-005", CALL1(t, VMI_HC_TIMER_CANCEL, 2, r), 0);
    VMI_CHECK_EQ("VMI-SAV-005", r[0], 1);
    /* Registration and negotiation survive. */
    VMI_CHECK_ST("VMI-SAV-005", CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL),
                 0);
    VMI_CHECK("VMI-SAV-005", cases_pending(e) & (UINT64_C(1) << 9));
    VMI_CHECK_ST("VMI-SAV-005",
                 CALL2(t, VMI_HC_NEGOTIATE, VMI_VERSION(1, 0), 0, NULL),
                 -VMI_E_STATE);
    cases_clear(e, (UINT64_C(1) << 5) | (UINT64_C(1) << 9));
}

TEST(sav_save_after_restore_is_identical)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *a = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t la = 0, lb = 0;

    VMI_REQUIRE("VMI-SAV-021", a && b && populate(t, &e, &c) == 0);
    /* A kept event (no record on vCPU 1 is fine: send to self instead). */
    VMI_REQUIRE("VMI-SAV-021", sim->save(ctx, a, BLOB_CAP, &la) == 0);
    VMI_REQUIRE("VMI-SAV-021", sim->restore(ctx, a, la) == 0);
    VMI_REQUIRE("VMI-SAV-021", sim->save(ctx, b, BLOB_CAP, &lb) == 0);
    VMI_CHECK_EQ("VMI-SAV-021", la, lb);
    VMI_CHECK_EQ("VMI-SAV-021", la == lb ? bytes_differ(a, b, la) : la, 0);
    unpopulate(t, e);
}

/*
 * A blob this host could not run: features it does not offer (VMI-SAV-032),
 * a version it does not implement (VMI-SAV-033).
 */
TEST(sav_restore_refuses_what_this_host_cannot_run)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *m = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_save_vm *vm;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t len = 0;

    VMI_REQUIRE("VMI-SAV-032", b && m && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-032", sim->save(ctx, b, BLOB_CAP, &len) == 0);
    vm = (struct vmi_save_vm *)(m + sizeof(struct vmi_save_header) + 16);
    vmi_conform_memcpy(m, b, len);
    VMI_REQUIRE("VMI-SAV-017", sim->restore(ctx, m, len) == 0);
    vm->features |= UINT64_C(1) << 40; /* no version defines it */
    reseal(m, len);
    VMI_CHECK("VMI-SAV-032", sim->restore(ctx, m, len) != 0);
    vmi_conform_memcpy(m, b, len);
    vm->version = VMI_VERSION(VMI_SPEC_VERSION_MAJOR, 0x7F);
    reseal(m, len);
    VMI_CHECK("VMI-SAV-033", sim->restore(ctx, m, len) != 0);
    vm->version = VMI_VERSION(VMI_SPEC_VERSION_MAJOR + 1, 0);
    reseal(m, len);
    VMI_CHECK("VMI-SAV-033", sim->restore(ctx, m, len) != 0);
    unpopulate(t, e);
}

/*
 * An event pending and unmasked at the save makes an upcall due after the
 * restore (VMI-SAV-035), though the upcall was taken before the save.
 */
TEST(sav_restore_recomputes_the_due_upcall)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_event_record *e = cases_events(t, 77);
    size_t len = 0;
    uint32_t vec = 0;

    VMI_REQUIRE("VMI-SAV-035", b && e);
    while (sim->take_upcall(ctx, 0, &vec))
        ;
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL);
    VMI_REQUIRE("VMI-SAV-035", sim->take_upcall(ctx, 0, &vec) == 1);
    VMI_REQUIRE("VMI-SAV-035", sim->save(ctx, b, BLOB_CAP, &len) == 0);
    VMI_REQUIRE("VMI-SAV-035", sim->restore(ctx, b, len) == 0);
    VMI_CHECK_EQ("VMI-SAV-035", sim->take_upcall(ctx, 0, &vec), 1);
    VMI_CHECK_EQ("VMI-SAV-035", vec, 77);
    /* Masked: none. */
    cases_clear(e, ~UINT64_C(0));
    vmi_conform_store64(&e->mask, UINT64_C(1) << 9);
    CALL4(t, VMI_HC_EVENT_SEND, 0, 1, 9, 0, NULL);
    VMI_REQUIRE("VMI-SAV-035", sim->save(ctx, b, BLOB_CAP, &len) == 0);
    VMI_REQUIRE("VMI-SAV-035", sim->restore(ctx, b, len) == 0);
    VMI_CHECK_EQ("VMI-SAV-035", sim->take_upcall(ctx, 0, &vec), 0);
}

/*
 * Format 1, the first draft's, is written on request (VMI-SAV-046, the
 * header saying so: VMI-SAV-040) and read back (VMI-SAV-045): the state it
 * restores saves as the same format 2 blob the VM gave before.
 */
TEST(sav_older_formats_are_written_and_read)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *a = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *o = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    const struct vmi_save_header *h = (const struct vmi_save_header *)o;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t la = 0, lo = 0, lb = 0;

    VMI_REQUIRE("VMI-SAV-046", a && o && b && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-046", sim->save(ctx, a, BLOB_CAP, &la) == 0);
    VMI_REQUIRE("VMI-SAV-046", sim->save_format(ctx, 1, o, BLOB_CAP, &lo) == 0);
    VMI_CHECK_EQ("VMI-SAV-040", h->format_version, 1);
    VMI_CHECK_EQ("VMI-SAV-046", h->section_count, 4 + t->g->info.vcpu_count);
    VMI_CHECK("VMI-SAV-046", section(o, lo, VMI_SAVE_SECTION_CONFIG) == 0);
    VMI_CHECK_EQ("VMI-SAV-046", lo,
                 la - sizeof(struct vmi_save_section) -
                     sizeof(struct vmi_save_config));
    VMI_CHECK_EQ("VMI-SAV-045", sim->restore(ctx, o, lo), 0);
    VMI_REQUIRE("VMI-SAV-045", sim->save(ctx, b, BLOB_CAP, &lb) == 0);
    VMI_CHECK_EQ("VMI-SAV-045", la, lb);
    VMI_CHECK_EQ("VMI-SAV-045", la == lb ? bytes_differ(a, b, la) : la, 0);
    unpopulate(t, e);
}

/*
 * An optional section this host does not know is skipped (VMI-SAV-043);
 * the same section without the bit is refused (VMI-SAV-042).
 */
TEST(sav_unknown_optional_sections_are_skipped)
{
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *m = vmi_conform_alloc(t, BLOB_CAP, 64);
    struct vmi_save_header *h = (struct vmi_save_header *)m;
    struct vmi_save_section *x;
    struct vmi_event_record *e;
    struct vmi_clock_record *c;
    size_t len = 0, vm_end, extra = sizeof(*x) + 16;

    VMI_REQUIRE("VMI-SAV-043", b && m && populate(t, &e, &c) == 0);
    VMI_REQUIRE("VMI-SAV-043", sim->save(ctx, b, BLOB_CAP - extra, &len) == 0);
    /* Header, VM section, then a 16-byte optional section of type 0x77. */
    vm_end = sizeof(*h) + sizeof(*x) + sizeof(struct vmi_save_vm);
    vmi_conform_memcpy(m, b, vm_end);
    x = (struct vmi_save_section *)(m + vm_end);
    x->type = VMI_SAVE_SECTION_OPTIONAL | 0x77;
    x->version = 3;
    x->size = 16;
    for (unsigned i = 0; i < 16; i++)
        m[vm_end + sizeof(*x) + i] = 0xA5;
    vmi_conform_memcpy(m + vm_end + extra, b + vm_end, len - vm_end);
    h->section_count += 1;
    h->total_size += extra;
    reseal(m, len + extra);
    VMI_CHECK_EQ("VMI-SAV-043", sim->restore(ctx, m, len + extra), 0);
    x->type = 0x77;
    reseal(m, len + extra);
    VMI_CHECK("VMI-SAV-042", sim->restore(ctx, m, len + extra) != 0);
    unpopulate(t, e);
}

/*
 * The CONFIG section holds the discovery values the guest reads
 * (VMI-SAV-047); a blob whose values this VM would not show is refused
 * (VMI-SAV-048): here a source whose pin limit was one larger.
 */
TEST(sav_config_section_holds_and_checks_discovery)
{
    static const uint32_t leaf[5] = {
        VMI_CPUID_SIGNATURE, VMI_CPUID_VERSION, VMI_CPUID_FEATURES,
        VMI_CPUID_LIMITS,    VMI_CPUID_TIMING,
    };
    const struct vmi_conform_sim_hooks *sim = vmi_conform_sim(t);
    void *ctx = vmi_conform_sim_ctx(t);
    uint8_t *b = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint8_t *m = vmi_conform_alloc(t, BLOB_CAP, 64);
    uint32_t base = cases_cpuid_base(t), r[4], wrong = 0;
    struct vmi_save_config *cf;
    size_t len = 0, off;

    VMI_REQUIRE("VMI-SAV-047", b && m && base != 0);
    VMI_REQUIRE("VMI-SAV-047", sim->save(ctx, b, BLOB_CAP, &len) == 0);
    off = section(b, len, VMI_SAVE_SECTION_CONFIG);
    VMI_REQUIRE("VMI-SAV-047",
                off && sec_at(b, off)->size == sizeof(struct vmi_save_config));
    cf = (struct vmi_save_config *)(b + off + sizeof(struct vmi_save_section));
    for (unsigned i = 0; i < 5; i++) {
        vmi_conform_cpuid(t, base + leaf[i], r);
        if (i == 0)
            r[0] -= base;
        for (unsigned k = 0; k < 4; k++)
            wrong += cf->leaves[4 * i + k] != r[k];
    }
    VMI_CHECK_EQ("VMI-SAV-047", wrong, 0);
    vmi_conform_memcpy(m, b, len);
    VMI_REQUIRE("VMI-SAV-048", sim->restore(ctx, m, len) == 0);
    cf = (struct vmi_save_config *)(m + off + sizeof(struct vmi_save_section));
    cf->leaves[4 * 3 + 3] += 1; /* leaf B + 3 EDX: the pin limit */
    reseal(m, len);
    VMI_CHECK("VMI-SAV-048", sim->restore(ctx, m, len) != 0);
    vmi_conform_memcpy(m, b, len);
    cf->leaves[4 * 2 + 2] += 1; /* leaf B + 2 ECX: the vCPU count */
    reseal(m, len);
    VMI_CHECK("VMI-SAV-048", sim->restore(ctx, m, len) != 0);
}

#define SAV(name, cl)                                                          \
    {                                                                          \
#name, cl, VMI_PROFILE_MIGRATION, VMI_CONFORM_SIM,                     \
            VMI_F_TIMER | VMI_F_CLOCK | VMI_F_EVENTS | VMI_F_MEM, 1, 3000,     \
            name                                                               \
    }

static const struct vmi_conform_test tests[] = {
    SAV(sav_blob_header_sections_and_checksum,
        "VMI-SAV-040 VMI-SAV-041 VMI-SAV-003 VMI-SAV-004 VMI-SAV-005 "
        "VMI-SAV-022 VMI-SAV-023 VMI-SAV-024 VMI-SAV-025 VMI-SAV-026 "
        "VMI-SAV-027"),
    SAV(sav_restore_rejects_malformed_blobs,
        "VMI-SAV-007 VMI-SAV-008 VMI-SAV-009 VMI-SAV-042 VMI-SAV-011 "
        "VMI-SAV-012 VMI-SAV-013 VMI-SAV-014 VMI-SAV-015 VMI-SAV-016 "
        "VMI-SAV-017"),
    SAV(sav_restore_rejects_impossible_states,
        "VMI-SAV-028 VMI-SAV-029 VMI-SAV-030 VMI-SAV-031 VMI-SAV-017"),
    SAV(sav_migration_keeps_timers_records_and_clock,
        "VMI-SAV-005 VMI-SAV-006 VMI-SAV-019 VMI-SAV-020 VMI-TMR-018"),
    SAV(sav_save_after_restore_is_identical, "VMI-SAV-021"),
    SAV(sav_restore_refuses_what_this_host_cannot_run,
        "VMI-SAV-032 VMI-SAV-033 VMI-SAV-017"),
    SAV(sav_restore_recomputes_the_due_upcall, "VMI-SAV-035"),
    SAV(sav_older_formats_are_written_and_read,
        "VMI-SAV-040 VMI-SAV-045 VMI-SAV-046"),
    SAV(sav_unknown_optional_sections_are_skipped, "VMI-SAV-043 VMI-SAV-042"),
    SAV(sav_config_section_holds_and_checks_discovery,
        "VMI-SAV-047 VMI-SAV-048"),
    {"sav_host_migration_keeps_timers_records_and_clock",
     "VMI-SAV-005 VMI-SAV-019 VMI-SAV-020 VMI-CLK-003 VMI-TMR-018 "
     "VMI-DSC-043",
     VMI_PROFILE_MIGRATION, VMI_CONFORM_HOST_EVENT,
     VMI_F_TIMER | VMI_F_CLOCK | VMI_F_EVENTS, 1, 20000,
     sav_host_migration_keeps_timers_records_and_clock},
};

AREA(vmi_conform_area_save, "save", tests);
