#include "models/smmu/tlb/tlb.h"

namespace smmu {

using arch::Opcode;
namespace cmd = arch::cmd;

TlbInvalidation::TlbInvalidation(const arch::Command& c)
    : op_(static_cast<Opcode>(c.opcode())),
      vmid_(static_cast<uint16_t>(c.get(cmd::VMID))),
      asid_(static_cast<uint16_t>(c.get(cmd::ASID))),
      sid_(static_cast<uint32_t>(c.get(cmd::SID))),
      ssid_(static_cast<uint32_t>(c.get(cmd::SSID))),
      range_(arch::tlbi_range(c)) {
    switch (op_) {
        case Opcode::CFGI_STE_RANGE: {
            // Range+1 low bits of the StreamID ignored; 31 is every StreamID (CFGI_ALL).
            const uint64_t range = c.get(cmd::Range);
            if (range < 31) {
                const uint64_t span = uint64_t{1} << (range + 1);
                sid_lo_ = static_cast<uint32_t>(sid_ & ~(span - 1));
                sid_hi_ = static_cast<uint32_t>(sid_lo_ + span - 1);
            }
            stream_ = true;
            break;
        }
        case Opcode::CFGI_STE:
        case Opcode::CFGI_CD:
        case Opcode::CFGI_CD_ALL: stream_ = true; break;
        case Opcode::TLBI_NH_ALL:
        case Opcode::TLBI_NH_ASID:
        case Opcode::TLBI_NH_VA:
        case Opcode::TLBI_NH_VAA:
        case Opcode::TLBI_S2_IPA:
        case Opcode::TLBI_S12_VMALL:
        case Opcode::TLBI_NSNH_ALL: regime_ = stream_ = true; break;
        default:
            // TLBI_EL2_*: no stream uses the EL2 regime (STE.STRW = EL1), so
            // nothing is cached under it. ATC_INV: a device's ATC, not the SMMU's.
            break;
    }
}

bool TlbInvalidation::removes(const TlbEntry& e, bool by_stream) const {
    switch (op_) {
        case Opcode::CFGI_STE: return by_stream && e.sid == sid_;
        case Opcode::CFGI_STE_RANGE: return by_stream && e.sid >= sid_lo_ && e.sid <= sid_hi_;
        // Stage 1 entries came through a CD: SSID's, or CD 0 for untagged traffic (ssid 0).
        case Opcode::CFGI_CD: return by_stream && e.sid == sid_ && e.kind == TlbKind::Stage1 && e.ssid == ssid_;
        case Opcode::CFGI_CD_ALL: return by_stream && e.sid == sid_ && e.kind == TlbKind::Stage1;
        // Stage 1 (and nested, which stage 1 tags) of one VMID, every ASID.
        case Opcode::TLBI_NH_ALL: return e.kind == TlbKind::Stage1 && e.vmid == vmid_;
        // Global entries belong to no ASID: they stay (IHI 0070 4.4.2).
        case Opcode::TLBI_NH_ASID: return e.kind == TlbKind::Stage1 && e.vmid == vmid_ && !e.global && e.asid == asid_;
        case Opcode::TLBI_NH_VA:
            return e.kind == TlbKind::Stage1 && e.vmid == vmid_ && (e.global || e.asid == asid_) &&
                   e.overlaps(range_.base, range_.size);
        case Opcode::TLBI_NH_VAA:
            return e.kind == TlbKind::Stage1 && e.vmid == vmid_ && e.overlaps(range_.base, range_.size);
        // Stage 2 only entries: combined nested ones need TLBI_NH_ALL or
        // TLBI_S12_VMALL (IHI 0070 4.4.4).
        case Opcode::TLBI_S2_IPA:
            return e.kind == TlbKind::Stage2 && e.vmid == vmid_ && e.overlaps(range_.base, range_.size);
        case Opcode::TLBI_S12_VMALL: return e.vmid == vmid_;
        // Every Non-secure, non-hyp translation: all of them here.
        case Opcode::TLBI_NSNH_ALL: return true;
        default: return false;
    }
}

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
