// Translation lookaside buffers over the one cache template: the main IOTLB,
// the per-port micro-TLBs and the IPA cache are all a Tlb. Entries carry every
// tag the architecture invalidates by (VMID, ASID, global, stage) and the
// stream that filled them (micro-TLB lookups). A lookup probes one set per
// page size the TLB holds, each indexed by that size's page number, so a
// block entry hits for every address inside it (gem5 indexed every size by
// the 4K page number and missed its 2 MB entries).
#pragma once
#include <cstdint>

#include "models/arch/command.h"
#include "models/smmu/cache/cache.h"
#include "models/smmu/timing/resources.h"
#include "models/smmu/translation/types.h"

namespace smmu {

// Stage1: stage 1 only or nested (input = VA, tagged VMID + ASID/global).
// Stage2: stage 2 only, and the IPA cache (input = IPA, tagged VMID).
enum class TlbKind : uint8_t { Stage1, Stage2 };

struct TlbEntry {
    TlbKind kind = TlbKind::Stage1;
    uint16_t vmid = 0;
    uint16_t asid = 0;
    bool global = false;
    uint32_t sid = 0;   // the stream that filled it
    uint32_t ssid = 0;
    bool ssv = false;
    uint64_t in_base = 0;   // input page/block base
    uint8_t shift = 12;     // log2 of the size: the smaller of the stages' leaves
    uint8_t level = 3;      // level of the (last stage's) leaf
    uint64_t out_base = 0;  // PA
    Permissions priv, unpriv;
    Cycle ready = 0;        // the cycle the walk that filled it completes

    uint64_t size() const { return uint64_t{1} << shift; }
    bool covers(uint64_t addr) const { return (addr >> shift) == (in_base >> shift); }
    // [base, base+size) overlaps this entry; size 0 means the one address base.
    bool overlaps(uint64_t base, uint64_t size) const {
        if (size == 0) return covers(base);
        return base < in_base + this->size() && in_base < base + size;
    }
    const Permissions& perms(bool privileged) const { return privileged ? priv : unpriv; }
};

// What one CFGI/TLBI command removes from a TLB (IHI 0070 4.3, 4.4), decoded
// once and asked per entry. An entry found by stream (a micro-TLB's, or a
// DMI grant the SMMU gave a master) also stands for the STE and CD that led
// to it, so the CFGIs of those remove it too (IHI 0070 4.3: a CFGI
// invalidates everything cached from the structure; 16.2: combined entries
// go with any of their parts); the IOTLB, found by regime, keeps it.
class TlbInvalidation {
public:
    explicit TlbInvalidation(const arch::Command& c);
    // Whether the command reaches entries found by regime (the TLBIs), and
    // entries found by stream (the TLBIs and CFGIs).
    bool reaches_regime() const { return regime_; }
    bool reaches_stream() const { return stream_; }
    bool removes(const TlbEntry& e, bool by_stream) const;

private:
    arch::Opcode op_;
    uint16_t vmid_, asid_;
    uint32_t sid_, ssid_;
    uint32_t sid_lo_ = 0, sid_hi_ = ~uint32_t{0};  // CFGI_STE_RANGE
    arch::TlbiRange range_;
    bool regime_ = false, stream_ = false;
};

class Tlb {
public:
    explicit Tlb(const CacheGeometry& g) : cache_(g) {}

    bool enabled() const { return cache_.enabled(); }
    // Main TLB: by translation regime.
    const TlbEntry* lookup(TlbKind kind, uint16_t vmid, uint16_t asid, uint64_t addr);
    // Micro-TLB: by stream.
    const TlbEntry* lookup_stream(uint32_t sid, bool ssv, uint32_t ssid, uint64_t addr);
    void fill(const TlbEntry& e);
    template <class Pred>
    unsigned invalidate_if(Pred pred) {
        return cache_.invalidate_if(pred);
    }
    const CacheStats& stats() const { return cache_.stats(); }
    template <class Fn>
    void for_each(Fn fn) const {
        cache_.for_each(fn);
    }

private:
    template <class Match>
    const TlbEntry* probe(uint64_t addr, Match match);

    Cache<TlbEntry> cache_;
    uint64_t shifts_ = 0;  // bit n: entries of size 2^n may be present
};

}  // namespace smmu
