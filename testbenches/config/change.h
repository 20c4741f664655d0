// A change the host makes while traffic runs (trace control records, see
// traces/README.md): a map or unmap on a VM's stage 2 or on a device's stage 1
// (host DMA domain or guest S1), a raw guest command sent through
// VIOMMU_INVALIDATE, or an iommufd object's lifetime step (alloc, destroy,
// attach, detach, VM start/stop: testbenches/config/lifetime_records.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "models/arch/command.h"

namespace smmu::sim {

// An iommufd lifetime record: which ioctl (or VM-wide shorthand), the
// object it names and its key=value arguments (vm=, smmu=, hwpt=, viommu=,
// device=, vsid=, vste=, depth=).
struct LifetimeOp {
    enum class Op { HwptAlloc, ViommuAlloc, VdeviceAlloc, NestedAlloc, VeventqAlloc, Destroy, Attach, Detach, VmStart, VmStop };
    Op op = Op::Destroy;
    std::string name;     // the object (alloc, destroy), the device (attach, detach) or the VM (vm_start/stop)
    std::string target;   // attach: abort, bypass or an HWPT's name
    std::map<std::string, std::string> args;
};

struct ChangeRecord {
    enum class Kind { Map, Unmap, GuestInvalidate, Lifetime } kind = Kind::Map;
    bool stage2 = false;      // map/unmap: a VM's S2 (else a device's S1)
    std::string target;       // VM name (S2), device name (S1) or vIOMMU name (guest_inv)
    uint32_t ssid = 0;        // S1: which context
    uint64_t in = 0, out = 0, size = 0;
    bool read = true, write = true, exec = false;
    arch::Command command;    // guest_inv: the guest's command (SID fields hold vSIDs)
    LifetimeOp lifetime;      // Lifetime
    uint64_t time_ns = 0;
    std::string where;        // "file:line"
};

}  // namespace smmu::sim
