/* SPDX-License-Identifier: MIT */
/* save.c: saved state in the specification's format (little-endian,
 * CRC-32C); restore validates into temporaries and swaps in only when all
 * of the blob is valid. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
static const uint32_t crc_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu,
    0x35f1141cu, 0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu,
    0x6be22838u, 0x9989ab3bu, 0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u,
    0x5e133c24u, 0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu,
    0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u, 0x9a879fa0u,
    0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u,
    0x33ed7d2au, 0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u,
    0xaa64d611u, 0x580f5512u, 0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu,
    0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau, 0x30e349b1u, 0xc288cab2u,
    0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu, 0x1642ae59u,
    0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu,
    0xb3109ebfu, 0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u,
    0x67dafa54u, 0x95b17957u, 0xcba24573u, 0x39c9c670u, 0x2a993584u,
    0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu, 0xed03a29bu, 0x1f682198u,
    0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u, 0x96bf4dccu,
    0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u,
    0x0f36e6f7u, 0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u,
    0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u, 0xeb1fcbadu,
    0x197448aeu, 0x0a24bb5au, 0xf84f3859u, 0x2c855cb2u, 0xdeeedfb1u,
    0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu, 0x90a324fau,
    0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu,
    0xceb018deu, 0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu,
    0x63cd4b8fu, 0x91a6c88cu, 0x456cac67u, 0xb7072f64u, 0xa457dc90u,
    0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
    0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu, 0x92a8fc17u,
    0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu,
    0x0b21572cu, 0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u,
    0xa24bb5a6u, 0x502036a5u, 0x4370c551u, 0xb11b4652u, 0x65d122b9u,
    0x97baa1bau, 0x84ea524eu, 0x7681d14du, 0x2892ed69u, 0xdaf96e6au,
    0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u, 0x0e330a81u,
    0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u,
    0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au,
    0x1e6dcdeeu, 0xec064eedu, 0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u,
    0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu,
    0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu, 0x8ecee914u,
    0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u,
    0x07198540u, 0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u,
    0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au,
    0x115b2b19u, 0x020bd8edu, 0xf0605beeu, 0x24aa3f05u, 0xd6c1bc06u,
    0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u,
    0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au,
    0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u,
    0x988c474du, 0x6ae7c44eu, 0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u,
    0xad7d5351u,
};

uint32_t vmi__crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* The blob's checksum: CRC-32C of everything with the checksum field 0. */
static uint32_t blob_crc(const uint8_t *b, size_t len)
{
    static const uint8_t zero[4];
    const size_t at = offsetof(struct vmi_save_header, checksum);
    uint32_t crc = vmi__crc32c(0, b, at);

    crc = vmi__crc32c(crc, zero, 4);
    return vmi__crc32c(crc, b + at + 4, len - at - 4);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

#define HDR sizeof(struct vmi_save_header)
#define SEC sizeof(struct vmi_save_section)
#define CFG sizeof(struct vmi_save_config)
/*
 * VM, one VCPU per vCPU, TIMERS, PINNED, RELEASED and, from format 2,
 * CONFIG: in this order (VMI-SAV-041).
 */
#define FIXED_SECTIONS(format) ((format) >= 2 ? 5u : 4u)
#define O(s, f) offsetof(struct s, f)

/* The leaves of struct vmi_save_config, by offset from the base. */
static const uint32_t config_leaf[5] = {
    VMI_CPUID_SIGNATURE, VMI_CPUID_VERSION, VMI_CPUID_FEATURES,
    VMI_CPUID_LIMITS,    VMI_CPUID_TIMING,
};

/*
 * The discovery values a VM keeps for its life (VMI-DSC-038), as struct
 * vmi_save_config holds them: EAX of leaf B counts from B, so the values do
 * not depend on the base the embedder chose (VMI-SAV-047).
 */
static void config_values(struct vmi_host_vm *vm, uint32_t out[20])
{
    const uint32_t base = VMI_CPUID_SCAN_FIRST;

    for (unsigned i = 0; i < 5; i++)
        vmi_host_cpuid(vm, 0, base, base + config_leaf[i], &out[4 * i]);
    if (!VMI__FAULT_IS(vm, SAVE_CONFIG_ABSOLUTE))
        out[0] -= base;
}

static size_t save_size(const struct vmi_host_vm *vm, uint32_t format)
{
    return HDR + (FIXED_SECTIONS(format) + vm->cfg.vcpu_count) * SEC +
           sizeof(struct vmi_save_vm) +
           (size_t)vm->cfg.vcpu_count * sizeof(struct vmi_save_vcpu) +
           (size_t)vm->heap_len * sizeof(struct vmi_save_timer) +
           (size_t)vm->pin_count * sizeof(struct vmi_save_pin) +
           (size_t)vm->extent_count * sizeof(struct vmi_mem_extent) +
           (format >= 2 ? CFG : 0);
}

static uint8_t *put_section(uint8_t *p, uint32_t type, uint64_t size)
{
    put32(p + O(vmi_save_section, type), type);
    put32(p + O(vmi_save_section, version), 1);
    put64(p + O(vmi_save_section, size), size);
    return p + SEC;
}

static void write_blob(struct vmi_host_vm *vm, uint8_t *b, size_t len,
                       uint32_t format)
{
    uint8_t *p = b;

    memset(b, 0, len);
    put64(p + O(vmi_save_header, magic), VMI_SAVE_MAGIC);
    put32(p + O(vmi_save_header, format_version), format);
    put32(p + O(vmi_save_header, header_size), (uint32_t)HDR);
    put64(p + O(vmi_save_header, total_size), len);
    put32(p + O(vmi_save_header, section_count),
          FIXED_SECTIONS(format) + vm->cfg.vcpu_count);
    put32(p + O(vmi_save_header, abi_version), VMI_SPEC_VERSION);
    p += HDR;

    p = put_section(p, VMI_SAVE_SECTION_VM, sizeof(struct vmi_save_vm));
    put32(p + O(vmi_save_vm, lifecycle), vm->lifecycle);
    put32(p + O(vmi_save_vm, version), vm->version);
    put64(p + O(vmi_save_vm, features), vm->features);
    put32(p + O(vmi_save_vm, vcpu_count), vm->cfg.vcpu_count);
    put32(p + O(vmi_save_vm, timer_count), vm->cfg.timer_count);
    put64(p + O(vmi_save_vm, clock_ns), vmi__clock_now(vm));
    put64(p + O(vmi_save_vm, wall_offset_ns), (uint64_t)vm->wall_offset_ns);
    put64(p + O(vmi_save_vm, ram_bytes), vm->cfg.ram_bytes);
    put64(p + O(vmi_save_vm, released_pages), vm->released_pages);
    put32(p + O(vmi_save_vm, shutdown_reason), vm->shutdown_reason);
    put32(p + O(vmi_save_vm, shutdown_status), vm->shutdown_status);
    p += sizeof(struct vmi_save_vm);

    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        const struct vmi__vcpu *v = &vm->vcpus[i];
        p = put_section(p, VMI_SAVE_SECTION_VCPU, sizeof(struct vmi_save_vcpu));
        uint32_t flags = (v->started ? VMI_SAVE_VCPU_STARTED : 0) |
                         (v->blocked ? VMI_SAVE_VCPU_BLOCKED : 0);
        put32(p + O(vmi_save_vcpu, vcpu), i);
        put32(p + O(vmi_save_vcpu, flags), flags);
        put64(p + O(vmi_save_vcpu, clock_gpa), v->clock_gpa);
        put64(p + O(vmi_save_vcpu, event_gpa), v->event_gpa);
        put64(p + O(vmi_save_vcpu, steal_gpa), v->steal_gpa);
        put64(p + O(vmi_save_vcpu, steal_ns), v->steal_ns);
        put64(p + O(vmi_save_vcpu, host_pending), v->host_pending);
        put32(p + O(vmi_save_vcpu, event_vector), v->event_vector);
        put64(p + O(vmi_save_vcpu, block_deadline_ns),
              v->blocked ? v->block_deadline : 0);
        p += sizeof(struct vmi_save_vcpu);
    }

    p = put_section(p, VMI_SAVE_SECTION_TIMERS,
                    (uint64_t)vm->heap_len * sizeof(struct vmi_save_timer));
    for (uint32_t id = 0; id < vm->cfg.timer_count; id++) {
        const struct vmi__timer *t = &vm->timers[id];
        if (t->heap_pos == VMI__NOT_ARMED)
            continue;
        put32(p + O(vmi_save_timer, timer), id);
        put32(p + O(vmi_save_timer, vcpu), t->vcpu);
        put64(p + O(vmi_save_timer, deadline_ns), t->deadline);
        put32(p + O(vmi_save_timer, event), t->event);
        p += sizeof(struct vmi_save_timer);
    }

    p = put_section(p, VMI_SAVE_SECTION_PINNED,
                    (uint64_t)vm->pin_count * sizeof(struct vmi_save_pin));
    for (uint32_t i = 0; i < vm->pin_count; i++) {
        put64(p + O(vmi_save_pin, table_gpa), vm->pins[i].gpa);
        put32(p + O(vmi_save_pin, level), vm->pins[i].level);
        p += sizeof(struct vmi_save_pin);
    }

    p = put_section(p, VMI_SAVE_SECTION_RELEASED,
                    (uint64_t)vm->extent_count * sizeof(struct vmi_mem_extent));
    for (uint32_t i = 0; i < vm->extent_count; i++) {
        const struct vmi__extent *e = &vm->extents[i];
        put64(p + O(vmi_mem_extent, gpa), e->gpa);
        put64(p + O(vmi_mem_extent, pages), (e->end - e->gpa) / VMI_PAGE_SIZE);
        p += sizeof(struct vmi_mem_extent);
    }

    if (format >= 2) {
        uint32_t leaves[20];

        config_values(vm, leaves);
        p = put_section(p, VMI_SAVE_SECTION_CONFIG, CFG);
        for (unsigned i = 0; i < 20; i++)
            put32(p + O(vmi_save_config, leaves) + 4 * i, leaves[i]);
        p += CFG;
    }
    put32(b + O(vmi_save_header, checksum), blob_crc(b, len));
}

VMI_HOST_API int vmi_host_save_format(struct vmi_host_vm *vm, uint32_t format,
                                      void *buf, size_t cap, size_t *len)
{
    size_t need;
    int ret = 0;

    if (!vm || !len)
        return -VMI_E_INVAL;
    if (format < 1 || format > VMI_SAVE_FORMAT_VERSION)
        return -VMI_E_VERSION;
    /* A host that writes only its newest format (VMI-SAV-046). */
    if (VMI__FAULT_IS(vm, SAVE_IGNORES_TARGET_FORMAT))
        format = VMI_SAVE_FORMAT_VERSION;
    vmi__lock(vm);
    need = save_size(vm, format);
    *len = need;
    if (!buf)
        goto out;
    if (cap < need) {
        ret = -VMI_E_LIMIT;
        goto out;
    }
    write_blob(vm, buf, need, format);
out:
    vmi__unlock(vm);
    return ret;
}

VMI_HOST_API int vmi_host_save(struct vmi_host_vm *vm, void *buf, size_t cap,
                               size_t *len)
{
    return vmi_host_save_format(vm, VMI_SAVE_FORMAT_VERSION, buf, cap, len);
}

/* Everything restore builds before it touches the VM. */
struct staged {
    char msg[192]; /* a rejection that names the field and values */
    uint32_t lifecycle, version, shutdown_reason, shutdown_status;
    uint64_t features, clock_ns, released_pages;
    int64_t wall_offset_ns;
    struct vmi__vcpu *vcpus;
    struct vmi__timer *timers;
    uint32_t *armed; /* ids in increasing order */
    uint32_t armed_count;
    struct vmi__pin *pins;
    uint32_t pin_count;
    struct vmi__extent *extents;
    uint32_t extent_count;
};

static const char *reject(struct staged *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *reject(struct staged *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
    va_end(ap);
    return s->msg;
}

static int record_ok(struct vmi_host_vm *vm, uint64_t gpa, uint64_t size)
{
    if (gpa == VMI_GPA_NONE)
        return 1;
    return !(gpa & (size - 1)) && vmi__gmem_check(vm, gpa, size) == 0;
}

static const char *parse_vm(struct vmi_host_vm *vm, const uint8_t *p,
                            uint64_t size, struct staged *s)
{
    if (size != sizeof(struct vmi_save_vm))
        return "VM section has the wrong size";
    s->lifecycle = get32(p + O(vmi_save_vm, lifecycle));
    s->version = get32(p + O(vmi_save_vm, version));
    s->features = get64(p + O(vmi_save_vm, features));
    s->clock_ns = get64(p + O(vmi_save_vm, clock_ns));
    s->wall_offset_ns = (int64_t)get64(p + O(vmi_save_vm, wall_offset_ns));
    s->released_pages = get64(p + O(vmi_save_vm, released_pages));
    s->shutdown_reason = get32(p + O(vmi_save_vm, shutdown_reason));
    s->shutdown_status = get32(p + O(vmi_save_vm, shutdown_status));
    if (get32(p + O(vmi_save_vm, vcpu_count)) != vm->cfg.vcpu_count)
        return "vcpu_count differs from the VM's";
    if (get32(p + O(vmi_save_vm, timer_count)) != vm->cfg.timer_count)
        return "timer_count differs from the VM's";
    if (get64(p + O(vmi_save_vm, ram_bytes)) != vm->cfg.ram_bytes)
        return "ram_bytes differs from the VM's";
    for (unsigned i = 0; i < 4; i++)
        if (get64(p + O(vmi_save_vm, reserved0) + 8 * i))
            return "VM reserved0 is not zero";
    if (s->lifecycle > VMI_LIFECYCLE_SHUTDOWN)
        return "unknown lifecycle value";
    /* Version 0: never negotiated (checked against the lifecycle later). */
    if (s->version != 0 &&
        (VMI_VERSION_MAJOR(s->version) != VMI_SPEC_VERSION_MAJOR ||
         VMI_VERSION_MINOR(s->version) > VMI_SPEC_VERSION_MINOR) &&
        !VMI__FAULT_IS(vm, RESTORE_ACCEPTS_UNKNOWN_VERSION))
        return "negotiated version not implemented";
    if ((s->features & ~vm->cfg.features) &&
        !VMI__FAULT_IS(vm, RESTORE_ACCEPTS_UNOFFERED_FEATURES))
        return "features not offered by this VM";
    if (s->lifecycle == VMI_LIFECYCLE_SHUTDOWN) {
        if (s->shutdown_reason > VMI_SHUTDOWN_CRASH ||
            s->shutdown_status > VMI_SHUTDOWN_STATUS_MAX)
            return "shutdown reason or status out of range";
    } else if (s->shutdown_reason || s->shutdown_status) {
        return "shutdown reason or status set while not shut down";
    }
    return NULL;
}

/* The payload of the i-th VCPU section. */
static const char *parse_vcpu(struct vmi_host_vm *vm, const uint8_t *p,
                              uint64_t size, uint32_t i, struct staged *s)
{
    const uint32_t known = VMI_SAVE_VCPU_STARTED | VMI_SAVE_VCPU_BLOCKED;
    struct vmi__vcpu *v = &s->vcpus[i];
    uint32_t flags = get32(p + O(vmi_save_vcpu, flags));
    uint64_t vector = get32(p + O(vmi_save_vcpu, event_vector));
    uint64_t deadline = get64(p + O(vmi_save_vcpu, block_deadline_ns));

    if (size != sizeof(struct vmi_save_vcpu))
        return "VCPU section has the wrong size";
    if (get32(p + O(vmi_save_vcpu, vcpu)) != i)
        return "vCPU records out of order, duplicate or out of range";
    if (flags & ~known)
        return "unknown vCPU flags";
    if (get32(p + O(vmi_save_vcpu, reserved0)))
        return "vCPU reserved field is not zero";
    v->clock_gpa = get64(p + O(vmi_save_vcpu, clock_gpa));
    v->event_gpa = get64(p + O(vmi_save_vcpu, event_gpa));
    v->host_pending = get64(p + O(vmi_save_vcpu, host_pending));
    if (v->host_pending && v->event_gpa != VMI_GPA_NONE)
        return "host-held pending events on a vCPU with an event record";
    v->steal_gpa = get64(p + O(vmi_save_vcpu, steal_gpa));
    v->steal_ns = get64(p + O(vmi_save_vcpu, steal_ns));
    if (!record_ok(vm, v->clock_gpa, sizeof(struct vmi_clock_record)) ||
        !record_ok(vm, v->event_gpa, sizeof(struct vmi_event_record)) ||
        !record_ok(vm, v->steal_gpa, sizeof(struct vmi_steal_record)))
        return "record misaligned or outside RAM";
    /* A registered record always has a valid vector: take_upcall hands it
     * to the embedder.  An unregistered one keeps its old vector, or 0. */
    if ((vector || v->event_gpa != VMI_GPA_NONE) && !vmi__vector_ok(vm, vector))
        return "event vector out of range";
    if (!(flags & VMI_SAVE_VCPU_BLOCKED) && deadline)
        return "block deadline set on a vCPU that is not blocked";
    if ((flags & VMI_SAVE_VCPU_BLOCKED) && v->event_gpa == VMI_GPA_NONE &&
        deadline == VMI_DEADLINE_NONE)
        return "blocked vCPU that could never wake";
    v->event_vector = (uint32_t)vector;
    v->started = !!(flags & VMI_SAVE_VCPU_STARTED);
    v->blocked = !!(flags & VMI_SAVE_VCPU_BLOCKED);
    v->block_deadline = deadline;
    return NULL;
}

static const char *parse_timers(struct vmi_host_vm *vm, const uint8_t *p,
                                uint64_t size, struct staged *s)
{
    uint64_t n = size / sizeof(struct vmi_save_timer);

    if (size % sizeof(struct vmi_save_timer) || n > vm->cfg.timer_count)
        return "TIMERS section has the wrong size";
    for (uint64_t i = 0; i < n; i++, p += sizeof(struct vmi_save_timer)) {
        uint32_t id = get32(p + O(vmi_save_timer, timer));
        struct vmi__timer *t;
        if (id >= vm->cfg.timer_count)
            return "timer id out of range";
        if (i && id <= s->armed[i - 1])
            return "timers out of order or duplicate";
        if (get32(p + O(vmi_save_timer, reserved0)) ||
            get64(p + O(vmi_save_timer, reserved1)))
            return "timer reserved field is not zero";
        t = &s->timers[id];
        t->vcpu = get32(p + O(vmi_save_timer, vcpu));
        t->event = get32(p + O(vmi_save_timer, event));
        t->deadline = get64(p + O(vmi_save_timer, deadline_ns));
        if (t->vcpu >= vm->cfg.vcpu_count)
            return reject(s, "timer %u: vcpu %u does not exist (vcpu_count %u)",
                          id, t->vcpu, vm->cfg.vcpu_count);
        if (t->event >= VMI_EVENT_COUNT)
            return reject(s, "timer %u: event %u out of range (0 to %u)", id,
                          t->event, VMI_EVENT_COUNT - 1);
        s->armed[i] = id;
    }
    s->armed_count = (uint32_t)n;
    return NULL;
}

static const char *parse_pins(struct vmi_host_vm *vm, const uint8_t *p,
                              uint64_t size, struct staged *s)
{
    uint64_t n = size / sizeof(struct vmi_save_pin);

    if (size % sizeof(struct vmi_save_pin))
        return "PINNED section has the wrong size";
    if (n > vm->cfg.max_pinned)
        return reject(s,
                      "PINNED: %llu tables, more than this VM's pin limit "
                      "(%u)",
                      (unsigned long long)n, vm->cfg.max_pinned);
    for (uint64_t i = 0; i < n; i++, p += sizeof(struct vmi_save_pin)) {
        uint64_t gpa = get64(p + O(vmi_save_pin, table_gpa));
        uint32_t level = get32(p + O(vmi_save_pin, level));
        if (get32(p + O(vmi_save_pin, reserved0)))
            return "pin reserved field is not zero";
        if ((gpa & (VMI_PAGE_SIZE - 1)) ||
            vmi__gmem_check(vm, gpa, VMI_PAGE_SIZE))
            return "pinned table misaligned or outside RAM";
        if (level < VMI_PT_LEVEL_MIN || level > VMI_PT_LEVEL_MAX)
            return "pinned table level out of range";
        if (i && gpa <= s->pins[i - 1].gpa)
            return "pinned tables out of order or duplicate";
        s->pins[i].gpa = gpa;
        s->pins[i].level = level;
    }
    s->pin_count = (uint32_t)n;
    return NULL;
}

static const char *parse_released(struct vmi_host_vm *vm, const uint8_t *p,
                                  uint64_t size, struct staged *s)
{
    uint64_t n = size / sizeof(struct vmi_mem_extent), pages = 0;

    if (size % sizeof(struct vmi_mem_extent))
        return "RELEASED section has the wrong size";
    if (n > vm->cfg.max_released_extents)
        return reject(s,
                      "RELEASED: %llu extents, more than this host keeps "
                      "(%u)",
                      (unsigned long long)n, vm->cfg.max_released_extents);
    for (uint64_t i = 0; i < n; i++, p += sizeof(struct vmi_mem_extent)) {
        uint64_t gpa = get64(p + O(vmi_mem_extent, gpa));
        uint64_t np = get64(p + O(vmi_mem_extent, pages)), len, end;
        if ((gpa & (VMI_PAGE_SIZE - 1)) || np == 0 ||
            __builtin_mul_overflow(np, VMI_PAGE_SIZE, &len) ||
            __builtin_add_overflow(gpa, len, &end) ||
            vmi__gmem_check(vm, gpa, len))
            return "released extent misaligned, empty or outside RAM";
        /* Sorted, not overlapping and not adjacent (merged). */
        if (i && gpa <= s->extents[i - 1].end)
            return "released extents unsorted, overlapping or adjacent";
        s->extents[i].gpa = gpa;
        s->extents[i].end = end;
        pages += np;
    }
    s->extent_count = (uint32_t)n;
    if (pages != s->released_pages)
        return "released_pages differs from the extents";
    return NULL;
}

static void staged_free(struct staged *s)
{
    free(s->vcpus);
    free(s->timers);
    free(s->armed);
    free(s->pins);
    free(s->extents);
}

static const char *const feature_names[VMI_F_COUNT] = VMI_F_NAMES_BY_BIT;

/*
 * States that no run of the VM can produce, even though every field is in
 * range on its own (VMI-SAV-028 to VMI-SAV-031).  Each rejection names the
 * field and the values.
 */
static const char *consistent(struct vmi_host_vm *vm, struct staged *s)
{
    const uint64_t f = s->features;
    uint64_t missing = 0;
    uint32_t running = 0;
    int unmet;

    /*
     * Some vCPU runs: VCPU_STOP refuses the last running one and RESET
     * keeps its caller (vCPU 0 itself may be stopped, though).
     */
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++)
        running += s->vcpus[i].started;
    if (!running && s->lifecycle != VMI_LIFECYCLE_SHUTDOWN)
        return reject(s, "no vCPU started: a VM always has a running vCPU");

    /* VMI-SAV-031: NEGOTIATE is what sets the version and the features. */
    if (!VMI__FAULT_IS(vm, RESTORE_ACCEPTS_LIFECYCLE_MISMATCH)) {
        if (s->lifecycle == VMI_LIFECYCLE_INITIAL && (s->version || f))
            return reject(s,
                          "lifecycle INITIAL with version 0x%x and features "
                          "0x%llx: nothing is agreed before NEGOTIATE",
                          s->version, (unsigned long long)f);
        if (s->lifecycle == VMI_LIFECYCLE_NEGOTIATED && !s->version)
            return reject(s, "lifecycle NEGOTIATED with version 0: "
                             "NEGOTIATE always agrees on a version");
        if (!s->version && f)
            return reject(s,
                          "features 0x%llx granted, but version 0 (never "
                          "negotiated)",
                          (unsigned long long)f);
    }
    /* VMI-SAV-029: NEGOTIATE never grants a feature without its needs. */
    unmet = vmi__features_unmet(f, &missing);
    if (unmet >= 0 && !VMI__FAULT_IS(vm, RESTORE_ACCEPTS_UNMET_FEATURES))
        return reject(s,
                      "features 0x%llx: %s granted without 0x%llx, which it "
                      "requires",
                      (unsigned long long)f, feature_names[unmet],
                      (unsigned long long)missing);
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        const struct vmi__vcpu *v = &s->vcpus[i];

        /* VMI-SAV-028: only a running vCPU can call BLOCK. */
        if (v->blocked && !v->started &&
            !VMI__FAULT_IS(vm, RESTORE_ACCEPTS_BLOCKED_UNSTARTED))
            return reject(s,
                          "vcpu %u: flags BLOCKED without STARTED: a vCPU "
                          "that never ran cannot be in BLOCK",
                          i);
        if (VMI__FAULT_IS(vm, RESTORE_ACCEPTS_UNGRANTED_STATE))
            continue;
        /* VMI-SAV-030: state only a granted feature's calls create. */
        if (v->clock_gpa != VMI_GPA_NONE && !(f & VMI_F_CLOCK))
            return reject(s,
                          "vcpu %u: clock_gpa 0x%llx, but VMI_F_CLOCK is "
                          "not granted",
                          i, (unsigned long long)v->clock_gpa);
        if (v->steal_gpa != VMI_GPA_NONE && !(f & VMI_F_STEAL))
            return reject(s,
                          "vcpu %u: steal_gpa 0x%llx, but VMI_F_STEAL is "
                          "not granted",
                          i, (unsigned long long)v->steal_gpa);
        if ((v->event_gpa != VMI_GPA_NONE || v->host_pending ||
             v->event_vector || v->blocked) &&
            !(f & VMI_F_EVENTS))
            return reject(s,
                          "vcpu %u: event_gpa, host_pending, event_vector "
                          "or BLOCKED set, but VMI_F_EVENTS is not granted",
                          i);
    }
    if (VMI__FAULT_IS(vm, RESTORE_ACCEPTS_UNGRANTED_STATE))
        return NULL;
    if (s->armed_count && !(f & VMI_F_TIMER))
        return reject(s, "TIMERS: %u armed, but VMI_F_TIMER is not granted",
                      s->armed_count);
    if (s->pin_count && !(f & VMI_F_PT))
        return reject(s,
                      "PINNED: %u tables pinned, but VMI_F_PT is not granted",
                      s->pin_count);
    if (s->extent_count && !(f & VMI_F_MEM))
        return reject(s,
                      "RELEASED: %u extents released, but VMI_F_MEM is not "
                      "granted",
                      s->extent_count);
    return NULL;
}

/*
 * CONFIG: the discovery values the guest saw must be the ones this VM
 * shows (VMI-SAV-048); this also holds the destination's limits (batch,
 * timers, pins) to the source's.
 */
static const char *parse_config(struct vmi_host_vm *vm, const uint8_t *p,
                                uint64_t size, struct staged *s)
{
    static const char *const reg[4] = {"EAX", "EBX", "ECX", "EDX"};
    uint32_t mine[20];

    if (size != CFG)
        return "CONFIG section has the wrong size";
    if (VMI__FAULT_IS(vm, RESTORE_IGNORES_CONFIG))
        return NULL;
    config_values(vm, mine);
    for (unsigned i = 0; i < 20; i++) {
        uint32_t v = get32(p + O(vmi_save_config, leaves) + 4 * i);
        if (v != mine[i])
            return reject(s,
                          "CONFIG: leaf B+%u %s is 0x%x in the blob, 0x%x "
                          "on this VM",
                          config_leaf[i / 4], reg[i % 4], v, mine[i]);
    }
    return NULL;
}

/* The type of the i-th of the known sections of a blob, in their order. */
static uint32_t known_type(const struct vmi_host_vm *vm, uint32_t i)
{
    const uint32_t n = vm->cfg.vcpu_count;

    if (i == 0)
        return VMI_SAVE_SECTION_VM;
    if (i <= n)
        return VMI_SAVE_SECTION_VCPU;
    return VMI_SAVE_SECTION_TIMERS + (i - n - 1);
}

static const char *parse(struct vmi_host_vm *vm, const uint8_t *b, size_t len,
                         struct staged *s, int *version_error)
{
    uint32_t format, n_sections, n_known, known = 0;
    uint64_t off = HDR;
    const char *why = NULL;

    if (len < HDR)
        return "blob shorter than the header";
    if (get64(b + O(vmi_save_header, magic)) != VMI_SAVE_MAGIC)
        return "bad magic";
    /* Every format up to the newest (VMI-SAV-045); the fault: only it. */
    format = get32(b + O(vmi_save_header, format_version));
    if (format < 1 || format > VMI_SAVE_FORMAT_VERSION ||
        (format != VMI_SAVE_FORMAT_VERSION &&
         VMI__FAULT_IS(vm, RESTORE_REJECTS_OLD_FORMAT))) {
        *version_error = 1;
        return reject(s, "format_version %u not implemented (1 to %u)", format,
                      VMI_SAVE_FORMAT_VERSION);
    }
    if (get32(b + O(vmi_save_header, header_size)) != HDR)
        return "header_size mismatch";
    if (get64(b + O(vmi_save_header, total_size)) != len)
        return "total_size mismatch";
    if (!VMI__FAULT_IS(vm, RESTORE_SKIPS_CHECKSUM) &&
        get32(b + O(vmi_save_header, checksum)) != blob_crc(b, len))
        return "checksum mismatch";
    if (get32(b + O(vmi_save_header, reserved0)))
        return "header reserved0 is not zero";
    for (unsigned i = 0; i < 3; i++)
        if (get64(b + O(vmi_save_header, reserved1) + 8 * i))
            return "header reserved1 is not zero";
    if (VMI_VERSION_MAJOR(get32(b + O(vmi_save_header, abi_version))) !=
        VMI_SPEC_VERSION_MAJOR)
        return "abi_version of another major version";
    n_known = FIXED_SECTIONS(format) + vm->cfg.vcpu_count;
    n_sections = get32(b + O(vmi_save_header, section_count));
    if (n_sections < n_known || (format < 2 && n_sections != n_known))
        return reject(s,
                      "section_count %u: format %u needs %u + the vCPU "
                      "count (%u)%s",
                      n_sections, format, FIXED_SECTIONS(format), n_known,
                      format < 2 ? "" : " or more");
    /*
     * The known sections in their one order (VMI-SAV-041); from format 2 an
     * optional section may stand anywhere after the VM section and is
     * skipped, since this host implements no optional type (VMI-SAV-043).
     */
    for (uint32_t i = 0; i < n_sections && !why; i++) {
        const uint8_t *payload;
        uint32_t type, want;
        uint64_t size, end;
        if (len - off < SEC)
            return "truncated section header";
        type = get32(b + off + O(vmi_save_section, type));
        size = get64(b + off + O(vmi_save_section, size));
        if (size % 8)
            return "section size not a multiple of 8";
        if (__builtin_add_overflow(off + SEC, size, &end) || end > len)
            return "section beyond the end of the blob";
        if ((type & VMI_SAVE_SECTION_OPTIONAL) && format >= 2 && i > 0 &&
            !VMI__FAULT_IS(vm, RESTORE_REJECTS_OPTIONAL)) {
            off = end;
            continue;
        }
        if (type < VMI_SAVE_SECTION_VM ||
            type > (format >= 2 ? VMI_SAVE_SECTION_CONFIG
                                : VMI_SAVE_SECTION_RELEASED))
            return reject(s, "section %u: unknown type 0x%x", i, type);
        if (known == n_known)
            return reject(s, "section %u: type %u after the last section", i,
                          type);
        want = known_type(vm, known);
        if (type != want)
            return reject(s,
                          "section %u: type %u where type %u belongs "
                          "(missing, repeated or out of order)",
                          i, type, want);
        if (get32(b + off + O(vmi_save_section, version)) != 1)
            return "unknown section version";
        payload = b + off + SEC;
        switch (type) {
        case VMI_SAVE_SECTION_VM:
            why = parse_vm(vm, payload, size, s);
            break;
        case VMI_SAVE_SECTION_VCPU:
            why = parse_vcpu(vm, payload, size, known - 1, s);
            break;
        case VMI_SAVE_SECTION_TIMERS:
            why = parse_timers(vm, payload, size, s);
            break;
        case VMI_SAVE_SECTION_PINNED:
            why = parse_pins(vm, payload, size, s);
            break;
        case VMI_SAVE_SECTION_RELEASED:
            why = parse_released(vm, payload, size, s);
            break;
        default:
            why = parse_config(vm, payload, size, s);
            break;
        }
        known++;
        off = end;
    }
    if (!why && known != n_known)
        return reject(s, "only %u of the %u sections format %u requires", known,
                      n_known, format);
    if (!why && off != len)
        return "bytes after the last section";
    if (!why)
        why = consistent(vm, s);
    return why;
}

/* Swap the staged state in.  Both locks held. */
static void commit(struct vmi_host_vm *vm, struct staged *s)
{
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        struct vmi__vcpu *v = &vm->vcpus[i];
        uint8_t *scratch = v->scratch;
        uint32_t platform_id = v->platform_id;

        *v = s->vcpus[i];
        v->scratch = scratch;
        /* The embedder's configuration, not saved state (VMI-DSC-043). */
        v->platform_id = platform_id;
    }
    vm->heap_len = 0;
    for (uint32_t id = 0; id < vm->cfg.timer_count; id++)
        vm->timers[id].heap_pos = VMI__NOT_ARMED;
    for (uint32_t i = 0; i < s->armed_count; i++) {
        uint32_t id = s->armed[i];
        vm->timers[id] = s->timers[id];
        vmi__timer_insert(vm, id);
    }
    memcpy(vm->pins, s->pins, s->pin_count * sizeof(*vm->pins));
    vm->pin_count = s->pin_count;
    memcpy(vm->extents, s->extents, s->extent_count * sizeof(*vm->extents));
    vm->extent_count = s->extent_count;
    vm->released_pages = s->released_pages;
    __atomic_store_n(&vm->lifecycle, s->lifecycle, __ATOMIC_RELEASE);
    vm->version = s->version;
    vm->features = s->features;
    vm->shutdown_reason = s->shutdown_reason;
    vm->shutdown_status = s->shutdown_status;
    vm->wall_offset_ns = s->wall_offset_ns;
    /* The clock continues from the saved value: no time passed while saved. */
    /* A clock that ran on through the stop (VMI-TMR-023 forbids it). */
    vmi__clock_rebase(
        vm,
        s->clock_ns + (VMI__FAULT_IS(vm, CLOCK_COUNTS_STOP) ? 10000000 : 0));
    for (uint32_t i = 0; i < vm->cfg.vcpu_count; i++) {
        if (vm->vcpus[i].clock_gpa != VMI_GPA_NONE) {
            vm->vcpus[i].clock_sticky = VMI_CLOCK_GUEST_STOPPED;
            vm->vcpus[i].clock_shown = 0;
        }
        vmi__clock_write(vm, i);
        vmi__steal_write(vm, i);
        /* The format keeps no upcall state: make one due for any unmasked
         * pending event (a guest tolerates a spurious upcall, not a lost
         * one). */
        vm->vcpus[i].upcall_due =
            VMI__FAULT_IS(vm, RESTORE_DROPS_UPCALL)
                ? 0
                : (uint8_t)vmi__event_wake(vm, i); /* VMI-SAV-035 */
    }
}

VMI_HOST_API int vmi_host_restore(struct vmi_host_vm *vm, const void *buf,
                                  size_t len, char *why, size_t why_len)
{
    struct staged s = {0};
    const char *msg = NULL;
    int version_error = 0;
    int ret;

    if (!vm || !buf) {
        msg = "vm or buf is NULL";
        ret = -VMI_E_INVAL;
        goto out;
    }
    s.vcpus = calloc(vm->cfg.vcpu_count, sizeof(*s.vcpus));
    s.timers = calloc(vm->cfg.timer_count, sizeof(*s.timers));
    s.armed = calloc(vm->cfg.timer_count, sizeof(*s.armed));
    s.pins = calloc(vm->cfg.max_pinned + 1, sizeof(*s.pins));
    s.extents = calloc(vm->cfg.max_released_extents, sizeof(*s.extents));
    if (!s.vcpus || !s.timers || !s.armed || !s.pins || !s.extents) {
        msg = "out of memory";
        ret = -VMI_E_LIMIT;
        goto out;
    }
    msg = parse(vm, buf, len, &s, &version_error);
    if (msg) {
        ret = version_error ? -VMI_E_VERSION : -VMI_E_INVAL;
        goto out;
    }
    pthread_mutex_lock(&vm->mem_lock);
    vmi__lock(vm);
    commit(vm, &s);
    vmi__unlock(vm);
    pthread_mutex_unlock(&vm->mem_lock);
    ret = 0;
out:
    staged_free(&s);
    if (msg && why && why_len)
        snprintf(why, why_len, "%s", msg);
    return ret;
}
