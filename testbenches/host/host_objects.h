// The scenario layer's records of what the host holds (private to
// host_driver.cpp and host_lifetime.cpp): VMs with their IOAS, iommufd
// objects, devices and their stage 1 contexts.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/arch/command.h"
#include "testbenches/host/host_driver.h"

namespace smmu::sim {

inline PageAttrs attrs_of(const Mapping& m) { return {m.read, m.write, m.exec}; }

// One VM: its IOAS (what each of its S2 HWPTs maps: the config's map, the
// guest-tables window, the trace's map/unmap records) and the guest RAM its
// guest's own tables are carved from; both outlive a vm_stop.
struct HostDriver::Vm {
    const VmConfig* cfg = nullptr;
    std::vector<Mapping> ioas;
    std::unique_ptr<TableArena> guest;
    // Its live S2 HWPTs by name (the IOAS's domains, in objects_' order):
    // a map or unmap visits these, not every iommufd object.
    std::map<std::string, Object*> hwpts;
};

// An iommufd object (testbenches/host/host_lifetime.cpp).
struct HostDriver::Object {
    ObjectKind kind = ObjectKind::S2;
    std::string name, vm;
    unsigned smmu = 0;
    std::unique_ptr<driver::HwptPaging> s2;
    std::unique_ptr<driver::Viommu> viommu;
    std::unique_ptr<driver::HwptNested> nested;
    std::string parent;  // vIOMMU: its S2; vDEVICE, nested HWPT: its vIOMMU
    Device* device = nullptr;  // vDEVICE
    uint32_t vsid = 0;
    uint64_t depth = 0;  // vEVENTQ
    // References that make IOMMU_DESTROY -EBUSY: devices attached, a S2's
    // vIOMMUs, a vIOMMU's vDEVICEs and nested HWPTs.
    unsigned users = 0;
};

// One SubstreamID's stage 1: a host DMA domain (s1) or a guest's table (nested).
struct HostDriver::Context {
    std::unique_ptr<driver::HwptPaging> hwpt;  // s1: the DMA domain
    std::unique_ptr<PageTable> guest_table;  // nested: the guest's table in guest RAM
    std::unique_ptr<driver::FlushQueue> fq;  // s1, lazy
    uint16_t asid = 0;
};

struct HostDriver::Device {
    const DeviceConfig* cfg = nullptr;
    unsigned smmu = 0;
    driver::ArmSmmuMaster master;
    uint16_t vmid = 0;
    std::string viommu;               // the vIOMMU its guest invalidates through (nested, proxy)
    std::string attached;             // "" (never attached: abort STE), abort, bypass, or an HWPT object
    std::optional<arch::Ste> vste;    // the guest's vSTE, once its tables are written
    // Its vDEVICE, on whichever vIOMMU (idev->vdev: at most one), or null.
    Object* vdev = nullptr;
    // The master's vmaster: set by a nested attach when the device has a
    // vDEVICE on that vIOMMU, whatever the vSTE's Config, and cleared by any
    // other attach (arm_smmu_attach_prepare_vmaster/commit_vmaster); faults
    // go to that vIOMMU with this vSID even if the vDEVICE is destroyed since.
    struct Vmaster {
        std::string viommu;
        uint32_t vsid = 0;
    };
    std::optional<Vmaster> vmaster;
    std::map<uint32_t, Context> contexts;
};

template <class F>
inline void HostDriver::measure(PathStats& path, F&& f) {
    std::vector<driver::CmdqCounters> before;
    for (const auto& s : smmus_) before.push_back(s->counters());
    const double t0 = buses_.front()->now_ns();
    f();
    path.time_ns += buses_.front()->now_ns() - t0;
    for (std::size_t i = 0; i < smmus_.size(); ++i) {
        const driver::CmdqCounters& now = smmus_[i]->counters();
        // Commands besides the CMD_SYNCs, and the SYNCs.
        path.commands += (now.commands - before[i].commands) - (now.syncs - before[i].syncs);
        path.syncs += now.syncs - before[i].syncs;
        path.sync_wait_ns += now.sync_wait_ns - before[i].sync_wait_ns;
        for (unsigned op = 0; op < now.by_opcode.size(); ++op)
            if (const uint64_t n = now.by_opcode[op] - before[i].by_opcode[op]; n && op != static_cast<unsigned>(arch::Opcode::SYNC))
                path.by_opcode[std::string(arch::opcode_info(static_cast<uint8_t>(op))->name)] += n;
    }
}

}  // namespace smmu::sim
