// The host software model, shaped like iommufd over arm-smmu-v3 (see
// ../shared/reference/iommufd-topologies.md). Objects: a VM's stage 2
// "nesting parent" domain (one page table, shared by every SMMU instance that
// uses it); vIOMMUs (a VM on one SMMU instance) with their vDEVICEs (vSID ->
// SID); nested domains made from a guest vSTE (ABORT, BYPASS = the proxy
// identity S1, S1_TRANS), checked as the kernel checks them; direct S2
// attaches; host DMA (S1) domains; bypass. VMIDs follow the configured policy:
// per-s2-domain (mainline Linux) or per-viommu (the proposed decoupling).
// Every SMMU instance is programmed by its own SmmuDriver, through its MMIO
// and memory only.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "testbenches/config/change.h"
#include "testbenches/host/smmu_driver.h"

namespace smmu::sim {

// The kernel's vSTE check (arm_smmu_validate_vste): Config ABORT, BYPASS or
// S1_TRANS and no fields but V, Config, S1Fmt, S1ContextPtr, S1CDMax, S1DSS,
// S1CIR, S1COR, S1CSH, S1STALLD, EATS in the two words. Throws InputError
// naming `who` and the offending field (the kernel answers -EIO).
void validate_vste(const arch::Ste& vste, const std::string& who);

// What one invalidation path cost: changes made, commands and SYNCs issued,
// guest commands the kernel refused.
struct PathStats {
    uint64_t changes = 0, commands = 0, syncs = 0, rejected = 0;
    std::map<std::string, uint64_t> by_opcode;
};

class HostDriver {
public:
    static constexpr unsigned kMaxPolls = SmmuDriver::kMaxPolls;

    // One SMMU instance (config with one entry in `smmus`).
    HostDriver(HostBus& bus, const Config& cfg);
    // One bus per instance, in the order of cfg.smmus.
    HostDriver(const std::vector<HostBus*>& buses, const Config& cfg);

    // Every instance: feature probe and Linux's reset sequence.
    void reset();
    // VMs' S2 domains, vIOMMUs, devices: tables, CDs, STEs (+ CFGI_STE, SYNC).
    void install();

    void submit(const arch::Command& c, unsigned smmu = 0) { drivers_.at(smmu)->submit(c); }
    void sync(unsigned smmu = 0) { drivers_.at(smmu)->sync(); }
    std::vector<arch::EventRecord> drain_events(unsigned smmu = 0) { return drivers_.at(smmu)->drain_events(); }
    uint64_t commands_submitted(unsigned smmu = 0) const { return drivers_.at(smmu)->commands_submitted(); }
    uint64_t ste_address(uint32_t sid, unsigned smmu = 0) const { return drivers_.at(smmu)->ste_address(sid); }
    SmmuDriver& driver(unsigned smmu) { return *drivers_.at(smmu); }
    unsigned smmu_count() const { return static_cast<unsigned>(drivers_.size()); }

    // The S2 domain's own VMID on the first instance it has one (0: none).
    uint16_t vmid(const std::string& vm) const;
    uint16_t viommu_vmid(const std::string& viommu) const;
    // The VMID in the device's STE (0 when it has no stage 2).
    uint16_t device_vmid(const std::string& device) const;
    // VMIDs in use on each instance.
    std::vector<unsigned> vmids_per_smmu() const;

    // Applies a map/unmap or a guest command and issues the invalidations its
    // topology needs (docs/topologies.md). Returns the path taken:
    // s2_change, viommu_invalidate, dev_invalidate or dma_domain.
    std::string apply(const ChangeRecord& change);
    const std::map<std::string, PathStats>& paths() const { return paths_; }
    // Guest commands the kernel refused, with where and why.
    const std::vector<std::string>& rejected() const { return rejected_; }

private:
    struct VmState {
        std::unique_ptr<PageTable> s2;
        std::unique_ptr<TableArena> guest;  // guest RAM for S1 tables and CDs (IPA)
        std::map<unsigned, uint16_t> own_vmid;  // per instance: the S2 domain's VMID
    };
    struct ViommuState {
        std::string vm;
        unsigned smmu = 0;
        uint16_t vmid = 0;
        std::map<uint32_t, uint32_t> vdevices;  // vSID -> SID
    };

    void install_vm(const VmConfig& vm);
    ViommuState& install_viommu(const std::string& name, const std::string& vm, unsigned smmu);
    void install_device(const DeviceConfig& dev);
    // The S2 domain's VMID on an instance, allocated on first use.
    uint16_t s2_vmid(const std::string& vm, unsigned smmu);
    // CD table for the device's contexts; returns the STE's S1ContextPtr.
    uint64_t build_cds(const DeviceConfig& dev, TableArena& arena, unsigned& s1cdmax);
    // The guest's vSTE for a nested or proxy device.
    arch::Ste guest_vste(const DeviceConfig& dev);
    void set_stage2(arch::Ste& s, const std::string& vm, uint16_t vmid) const;
    std::string guest_invalidate(const ChangeRecord& change);
    // The VMIDs the S2 of `vm` is used under on instance `smmu`.
    std::vector<uint16_t> vmids_using(const std::string& vm, unsigned smmu) const;
    static std::vector<arch::Command> tlbi_range(arch::Opcode op, uint64_t vmid, uint64_t asid, uint64_t addr,
                                                 uint64_t size);
    void issue(unsigned smmu, const std::vector<arch::Command>& cmds, PathStats& path);
    static arch::Command atc_inv(uint32_t sid, uint64_t addr, uint64_t size);
    static arch::Command atc_inv_all(uint32_t sid);
    void set_stage1(arch::Ste& s, const DeviceConfig& dev, TableArena& arena);
    unsigned smmu_of(const DeviceConfig& dev) const;

    const Config& cfg_;
    MemoryPort& mem_;   // the CPU's path to memory
    TableArena arena_;  // host-owned PA region
    std::vector<std::unique_ptr<SmmuDriver>> drivers_;
    std::map<std::string, VmState> vms_;
    std::map<std::string, ViommuState> viommus_;
    std::map<std::string, uint16_t> device_vmids_;
    struct S1Table {
        std::unique_ptr<PageTable> table;
        uint16_t asid = 0;
    };
    std::map<std::pair<std::string, uint32_t>, S1Table> s1_tables_;  // (device, ssid)
    std::map<std::string, PathStats> paths_;
    std::vector<std::string> rejected_;
};

}  // namespace smmu::sim
