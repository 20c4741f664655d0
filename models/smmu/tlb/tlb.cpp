#include "models/smmu/tlb/tlb.h"

namespace smmu {

template <class Match>
const TlbEntry* Tlb::probe(uint64_t addr, Match match) {
    const TlbEntry* hit = nullptr;
    for (uint64_t s = shifts_; s && !hit; s &= s - 1) {
        const unsigned shift = static_cast<unsigned>(__builtin_ctzll(s));
        hit = cache_.find(addr >> shift, [&](const TlbEntry& e) { return e.shift == shift && match(e); });
    }
    cache_.count_lookup(hit != nullptr);
    return hit;
}

const TlbEntry* Tlb::lookup(TlbKind kind, uint16_t vmid, uint16_t asid, uint64_t addr) {
    return probe(addr, [&](const TlbEntry& e) {
        return e.kind == kind && e.vmid == vmid && (kind == TlbKind::Stage2 || e.global || e.asid == asid) &&
               e.covers(addr);
    });
}

const TlbEntry* Tlb::lookup_stream(uint32_t sid, bool ssv, uint32_t ssid, uint64_t addr) {
    // The page first: it tells the entries of a fully associative micro-TLB
    // apart soonest.
    return probe(addr, [&](const TlbEntry& e) {
        return e.covers(addr) && e.sid == sid && e.ssv == ssv && (!ssv || e.ssid == ssid);
    });
}

void Tlb::fill(const TlbEntry& e) {
    if (!enabled()) return;
    shifts_ |= uint64_t{1} << e.shift;
    cache_.insert(e.in_base >> e.shift, e, [&](const TlbEntry& o) {
        return o.in_base == e.in_base && o.shift == e.shift && o.kind == e.kind && o.vmid == e.vmid &&
               o.asid == e.asid && o.global == e.global && o.sid == e.sid && o.ssv == e.ssv && o.ssid == e.ssid;
    });
}

}  // namespace smmu
