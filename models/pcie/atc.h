// A PCIe device's Address Translation Cache (PCIe ATS): translations the
// SMMU granted in Translation Completions, kept in a Tlb (the one cache
// template; entries, ways and policy per device) looked up by PASID, and
// removed by ATS Invalidate Requests (the SMMU's CMD_ATC_INV, IHI 0070 4.5.1).
#pragma once
#include <cstdint>

#include "models/arch/command.h"
#include "models/smmu/tlb/tlb.h"

namespace smmu {

class Atc {
public:
    explicit Atc(const CacheGeometry& g) : tlb_(g) {}

    bool enabled() const { return tlb_.enabled(); }
    // The cached translation of `addr` for the PASID (`ssv`, `ssid`); null
    // on a miss, or when `write` is needed and the entry grants only read.
    const TlbEntry* lookup(bool ssv, uint32_t ssid, uint64_t addr, bool write);
    // A successful completion for the page of `addr`: `pa` and `size` as
    // the SMMU returned them, and the access granted. Nothing is kept for
    // a completion granting no access (R == W == 0).
    void fill(bool ssv, uint32_t ssid, uint64_t addr, uint64_t pa, uint64_t size, bool read, bool write, bool global);
    // A CMD_ATC_INV as the device receives it: [Address, Address + 4 KiB <<
    // Size) (Size 52: the whole ATC); SSV = 0 removes every PASID's entries
    // in the range, SSV = 1 those of SubstreamID SSID, and with Global also
    // global entries (IHI 0070 4.5.1). Returns the entries removed.
    unsigned invalidate(const arch::Command& c);
    const CacheStats& stats() const { return tlb_.stats(); }

private:
    Tlb tlb_;
};

}  // namespace smmu
