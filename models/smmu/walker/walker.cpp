#include "models/smmu/walker/walker.h"

namespace smmu {

using arch::Descriptor;
using arch::EventId;
using arch::FaultClass;
namespace pte = arch::pte;

namespace {
// Bits [51:48] of a table/block/page descriptor hold OA bits only with
// FEAT_LPA; here they must be zero or the output is out of range (Arm ARM D8.3).
constexpr uint64_t kHighOaBits = uint64_t{0xf} << 48;

bool out_of_range(uint64_t addr, unsigned bits) { return bits < 64 && (addr >> bits) != 0; }

StageResult fail(EventId id, unsigned stage, uint64_t fetch_addr = 0) {
    StageResult r;
    r.fault.id = id;
    r.fault.s2 = stage == 2;
    r.fault.fetch_addr = fetch_addr;
    return r;
}
}  // namespace

unsigned stage1_start_level(arch::Granule g, unsigned ias) {
    const unsigned ps = arch::page_shift(g), stride = arch::level_stride(g);
    const unsigned levels = (ias - ps + stride - 1) / stride;
    return levels >= 4 ? 0 : 4 - levels;
}

Permissions stage1_permissions(const StageLeaf& leaf, bool privileged) {
    const uint64_t ap = leaf.desc.get(pte::AP);
    const bool read_only = (ap & 2) || leaf.table_read_only;
    Permissions p;
    if (privileged) {
        p.read = true;
        p.exec = !leaf.desc.get(pte::PXN) && !leaf.table_pxn;
    } else {
        p.read = (ap & 1) && !leaf.table_no_unpriv;
        p.exec = p.read && !leaf.desc.get(pte::UXN) && !leaf.table_uxn;
    }
    p.write = p.read && !read_only;
    return p;
}

Permissions stage2_permissions(const StageLeaf& leaf) {
    const uint64_t s2ap = leaf.desc.get(pte::S2AP);
    Permissions p;
    p.read = s2ap & 1;
    p.write = s2ap & 2;
    // XN[1] forbids execution at every level (Arm ARM D8.4.3).
    p.exec = p.read && !(leaf.desc.get(pte::XN) & 2);
    return p;
}

bool permits(const Permissions& p, bool write, bool instruction) {
    if (instruction) return p.exec;
    return write ? p.write : p.read;
}

StageResult Walker::walk_s2(const StageParams& s2, uint64_t ipa, FaultClass cls, bool write, bool instruction) {
    StageResult r;
    Permissions perms;
    // The IPA cache holds final stage 2 translations (VMID + IPA): a hit is the
    // walk's result, a PA, whatever the IPA was for (table, CD or input).
    Tlb* ipa_cache = env_.caches && env_.caches->ipa.enabled() ? &env_.caches->ipa : nullptr;
    const TlbEntry* hit = nullptr;
    if (ipa_cache) {
        advance(env_.caches->ipa_latency);
        hit = ipa_cache->lookup(TlbKind::Stage2, env_.vmid, 0, ipa);
    }
    if (hit) {
        wait_until(hit->ready);
        r.ok = true;
        r.leaf.size = hit->size();
        r.leaf.oa = hit->out_base | (ipa & (r.leaf.size - 1));
        r.leaf.level = hit->level;
        perms = hit->unpriv;
    } else {
        r = walk(s2, ipa, nullptr);
        if (r.ok) {
            perms = stage2_permissions(r.leaf);
            if (ipa_cache) {
                TlbEntry e;
                e.kind = TlbKind::Stage2;
                e.vmid = env_.vmid;
                e.shift = static_cast<uint8_t>(__builtin_ctzll(r.leaf.size));
                e.level = static_cast<uint8_t>(r.leaf.level);
                e.in_base = ipa & ~(r.leaf.size - 1);
                e.out_base = r.leaf.oa & ~(r.leaf.size - 1);
                e.priv = e.unpriv = perms;
                e.ready = env_.now ? *env_.now : 0;
                ipa_cache->fill(e);
            }
        }
    }
    r.leaf.s2_perms = perms;
    if (r.ok && !permits(perms, write, instruction)) {
        r.ok = false;
        r.fault = Fault{EventId::F_PERMISSION};
    }
    if (!r.ok) {
        r.fault.s2 = true;
        r.fault.cls = cls;
        r.fault.ipa = ipa;
    }
    return r;
}

StageResult Walker::walk_s1(const StageParams& s1, uint64_t va, const StageParams* s2) { return walk(s1, va, s2); }

StageResult Walker::walk(const StageParams& p, uint64_t in, const StageParams* s2) {
    const arch::Granule g = p.granule;
    const AccessKind kind = p.stage == 1 ? AccessKind::S1Table : AccessKind::S2Table;
    // TBI: the top byte takes no part in translation (Arm ARM D8.8); it reads
    // as the range's fill (zeros below, ones in the upper range).
    constexpr uint64_t kTopByte = 0xffull << 56;
    const uint64_t addr = !p.tbi ? in : p.upper ? in | kTopByte : in & ~kTopByte;
    // An input beyond TxSZ has no table to walk: translation fault (D8.2.4).
    // The upper range's inputs have every bit above TxSZ set instead.
    if (p.upper ? out_of_range(~addr, p.ias) : out_of_range(addr, p.ias)) return fail(EventId::F_TRANSLATION, p.stage);
    if (out_of_range(p.ttb, p.oas)) return fail(EventId::F_ADDR_SIZE, p.stage);

    StageLeaf leaf;
    uint64_t table = p.ttb;
    unsigned level = p.start_level;
    const uint16_t asid = p.stage == 1 ? env_.asid : 0;
    WalkCaches* caches = env_.caches && env_.caches->any_enabled(p.stage) ? env_.caches : nullptr;
    auto same_walk = [&](const WalkEntry& e, uint64_t prefix, unsigned shift) {
        return e.vmid == env_.vmid && e.asid == asid && e.prefix == prefix && e.shift == shift;
    };
    auto leaf_result = [&](const Descriptor& d, unsigned lvl) {
        leaf.size = uint64_t{1} << arch::level_shift(g, lvl);
        leaf.oa = d.output_address(g, lvl) | (addr & (leaf.size - 1));
        leaf.level = lvl;
        leaf.desc = d;
        StageResult r;
        r.ok = true;
        r.leaf = leaf;
        return r;
    };
    if (caches) {
        // All levels are looked up at once; the deepest hit skips the most reads.
        advance(caches->stage_latency(p.stage));
        for (unsigned l = 4; l-- > p.start_level;) {
            Cache<WalkEntry>& c = caches->level[walk_cache_index(p.stage, l)];
            const unsigned shift = arch::level_shift(g, l);
            const uint64_t prefix = addr >> shift;
            WalkEntry* e = c.enabled() ? c.lookup(prefix, [&](const WalkEntry& w) { return same_walk(w, prefix, shift); })
                                       : nullptr;
            if (!e) continue;
            wait_until(e->ready);
            leaf.table_read_only = e->table_read_only;
            leaf.table_no_unpriv = e->table_no_unpriv;
            leaf.table_uxn = e->table_uxn;
            leaf.table_pxn = e->table_pxn;
            const Descriptor d(e->desc);
            if (e->leaf) return leaf_result(d, l);
            table = d.table_address(g);
            level = l + 1;
            break;
        }
    }
    auto remember = [&](unsigned lvl, uint64_t raw, bool is_leaf) {
        if (!caches) return;
        Cache<WalkEntry>& c = caches->level[walk_cache_index(p.stage, lvl)];
        const unsigned shift = arch::level_shift(g, lvl);
        WalkEntry e;
        e.vmid = env_.vmid;
        e.asid = asid;
        e.prefix = addr >> shift;
        e.shift = static_cast<uint8_t>(shift);
        e.desc = raw;
        e.leaf = is_leaf;
        e.table_read_only = leaf.table_read_only;
        e.table_no_unpriv = leaf.table_no_unpriv;
        e.table_uxn = leaf.table_uxn;
        e.table_pxn = leaf.table_pxn;
        e.ready = env_.now ? *env_.now : 0;
        c.insert(e.prefix, e, [&](const WalkEntry& o) { return same_walk(o, e.prefix, shift); });
    };

    for (; level <= 3; ++level) {
        const unsigned shift = arch::level_shift(g, level);
        // The start level resolves the rest of the input, concatenated tables included.
        const unsigned bits = level == p.start_level ? p.ias - shift : arch::level_stride(g);
        const uint64_t index = (addr >> shift) & ((uint64_t{1} << bits) - 1);
        // Table bases are aligned to their size; low TTB bits are ignored.
        const uint64_t base = level == p.start_level ? table & ~((uint64_t{8} << bits) - 1) : table;
        const uint64_t desc_addr = base + index * 8;

        uint64_t desc_pa = desc_addr;
        if (s2) {
            StageResult t = walk_s2(*s2, desc_addr, FaultClass::TTD, false, false);
            if (!t.ok) return t;
            desc_pa = t.leaf.oa;
        }
        uint64_t raw = 0;
        const bool ok = mem_.read64(desc_pa, raw);
        log_.add({kind, static_cast<uint8_t>(level), addr, desc_pa, raw, ok});
        if (!ok) {
            StageResult r = fail(EventId::F_WALK_EABT, p.stage, desc_pa);
            // IHI 0070 7.3.12: an abort fetching a stage 1 descriptor reports S2=0,
            // CLASS=TT (unlike the other stage 1 faults, CLASS=IN). Stage 2 walks
            // get their CLASS from walk_s2's caller.
            if (p.stage == 1) r.fault.cls = FaultClass::TTD;
            return r;
        }

        const Descriptor d(raw);
        if (!d.valid()) return fail(EventId::F_TRANSLATION, p.stage);
        if (d.is_table(level)) {
            const uint64_t next = d.table_address(g);
            if ((raw & kHighOaBits) || out_of_range(next, p.oas)) return fail(EventId::F_ADDR_SIZE, p.stage);
            if (p.stage == 1) {
                const uint64_t ap_table = d.get(pte::APTable);
                leaf.table_read_only |= (ap_table & 2) != 0;
                leaf.table_no_unpriv |= (ap_table & 1) != 0;
                leaf.table_uxn |= d.get(pte::XNTable) != 0;
                leaf.table_pxn |= d.get(pte::PXNTable) != 0;
            }
            remember(level, raw, false);
            table = next;
            continue;
        }
        // Level 3 with bit 1 clear, or a block where the granule allows none: reserved.
        if (level == 3 ? !d.is_page(level) : !arch::block_allowed(g, level))
            return fail(EventId::F_TRANSLATION, p.stage);
        const uint64_t oa = d.output_address(g, level);
        if ((raw & kHighOaBits) || out_of_range(oa, p.oas)) return fail(EventId::F_ADDR_SIZE, p.stage);
        // No hardware access-flag update (IDR0.HTTU = 0): AF=0 faults unless disabled.
        if (!d.get(pte::AF) && !p.affd) return fail(EventId::F_ACCESS, p.stage);
        remember(level, raw, true);
        return leaf_result(d, level);
    }
    return fail(EventId::F_TRANSLATION, p.stage);  // unreachable: level 3 always ends the walk
}

}  // namespace smmu
