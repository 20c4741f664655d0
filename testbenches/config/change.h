// A change the host makes while traffic runs (trace control records, see
// traces/README.md): a map or unmap on a VM's stage 2 or on a device's stage 1
// (host DMA domain or guest S1), or a raw guest command sent through
// VIOMMU_INVALIDATE.
#pragma once
#include <cstdint>
#include <string>

#include "models/arch/command.h"

namespace smmu::sim {

struct ChangeRecord {
    enum class Kind { Map, Unmap, GuestInvalidate } kind = Kind::Map;
    bool stage2 = false;      // map/unmap: a VM's S2 (else a device's S1)
    std::string target;       // VM name (S2), device name (S1) or vIOMMU name (guest_inv)
    uint32_t ssid = 0;        // S1: which context
    uint64_t in = 0, out = 0, size = 0;
    bool read = true, write = true, exec = false;
    arch::Command command;    // guest_inv: the guest's command (SID fields hold vSIDs)
    uint64_t time_ns = 0;
    std::string where;        // "file:line"
};

}  // namespace smmu::sim
