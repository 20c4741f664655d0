// The scenario layer of the host model: what a config and a trace ask of
// the Linux host, carried out through the driver library (driver/): the
// arm-smmu-v3 driver layer (one ArmSmmuDevice per SMMU instance), the
// iommufd object layer (paging HWPTs for each VM's stage 2, vIOMMUs,
// vDEVICEs, nested HWPTs from guest vSTEs) and dma-iommu (host DMA domains,
// strict or lazy). The config's `host.driver` picks the kernel profile
// (docs/linux-host.md): mainline (per-S2-domain VMIDs) or the per-vIOMMU
// VMID proposal. Every SMMU is programmed only through its MMIO and memory.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/dma_iommu/flush_queue.h"
#include "driver/iommufd/iommufd.h"
#include "testbenches/config/change.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

using driver::HostBus;
using driver::HostError;
using driver::PageAttrs;
using driver::PageTable;
using driver::TableArena;

// What one invalidation path cost: changes made, commands (besides SYNCs) and
// CMD_SYNCs issued, guest commands the kernel refused, and the
// time split between the host's software (CPU: commands, MMIO, ioctls,
// traps) and waiting for the SMMU to complete CMD_SYNCs.
struct PathStats {
    uint64_t changes = 0, commands = 0, syncs = 0, rejected = 0;
    std::map<std::string, uint64_t> by_opcode;
    double time_ns = 0, sync_wait_ns = 0;
};

// A guest's invalidation batch (the guest_inv records of one time and one
// vIOMMU): what the guest waits for between its CMDQ_PROD write and its
// CMD_SYNC's completion, split into the trap to the VMM, the
// IOMMU_HWPT_INVALIDATE ioctl's entry and exit, the host queue work
// (converting, building and writing commands, CMDQ_PROD) and the waits for
// the host's CMD_SYNCs.
struct GuestBatchStats {
    uint64_t batches = 0, commands = 0;
    double trap_ns = 0, ioctl_ns = 0, queue_ns = 0, sync_ns = 0;  // totals
    std::map<std::size_t, uint64_t> by_size;                       // batch size -> batches
};

// One vIOMMU's event reporting (iommufd_viommu_report_event): events of its
// nested devices (their vSID in place of the SID), queued in its vEVENTQ up
// to its depth, then lost (the lost_events_header); none reported without a
// vEVENTQ (-EOPNOTSUPP: the host logs them). No guest reads the queue.
struct VeventqStats {
    std::string veventq;  // its name ("" after destroy or before alloc)
    uint64_t depth = 0, queued = 0, lost = 0, unreported = 0;  // queued, lost: over the run
    // The current vEVENTQ's num_events (no guest reads it: it only grows) and
    // its first kMaxRecords events, as the guest would read them; a new
    // vEVENTQ starts empty (iommufd_veventq_alloc), the old one's events go
    // with it (iommufd_veventq_abort).
    uint64_t num_events = 0;
    std::vector<arch::EventRecord> records;
    static constexpr std::size_t kMaxRecords = 16;
};

// The lifetime records' cost and outcome (testbenches/host/host_lifetime.cpp).
struct LifetimeStats {
    std::map<std::string, PathStats> ops;  // by record keyword
    // A record (or a step of vm_start/vm_stop) the kernel refused: the run
    // goes on without it.
    struct Failure {
        uint64_t time_ns;
        std::string where, op, object;
        int err;  // -errno, 0 for a no-op the kernel accepts silently
        std::string why;
    };
    std::vector<Failure> failures;
    // VMIDs in use per SMMU instance after each record (trace time).
    struct VmidSample {
        uint64_t time_ns;
        std::vector<unsigned> in_use;
    };
    std::vector<VmidSample> vmid_samples;
};

// The iommufd objects a VMM allocates: a VM's S2 (IOMMU_HWPT_ALLOC of a
// paging HWPT), a vIOMMU, a vDEVICE, a nested HWPT from a vSTE, a vIOMMU's
// event queue (vEVENTQ).
enum class ObjectKind { S2, Viommu, Vdevice, Nested, Veventq, Any };
const char* object_kind_name(ObjectKind k);

class HostDriver {
public:
    static constexpr unsigned kMaxPolls = driver::ArmSmmuDevice::kMaxPolls;

    // One SMMU instance (config with one entry in `smmus`).
    HostDriver(HostBus& bus, const Config& cfg);
    // One bus per instance, in the order of cfg.smmus.
    HostDriver(const std::vector<HostBus*>& buses, const Config& cfg);
    ~HostDriver();

    // Every instance: feature probe and arm_smmu_device_reset.
    void reset();
    // VMs' S2 HWPTs, vIOMMUs, devices attached (CDs, STEs with CFGI + SYNC).
    void install();

    // One command (arm_smmu_cmdq_issue_cmd), and a lone CMD_SYNC with its wait.
    void submit(const arch::Command& c, unsigned smmu = 0) { smmus_.at(smmu)->issue_cmd(c); }
    void sync(unsigned smmu = 0) { smmus_.at(smmu)->issue_cmdlist({}, true); }
    std::vector<arch::EventRecord> drain_events(unsigned smmu = 0) { return smmus_.at(smmu)->drain_events(); }
    // arm_smmu_evtq_thread: drains every instance's event queue and hands each
    // record to arm_smmu_handle_event (a nested device's fault to its
    // vIOMMU's vEVENTQ). The records, by instance, are kept for drained().
    void handle_events();
    // The same for records of instance `smmu` already read (the fault thread's).
    void handle_event_records(unsigned smmu, const std::vector<arch::EventRecord>& records);
    // An I/O page fault handler's map of one 4 KiB page (host_fault.cpp): the
    // device's DMA domain (s1: the context of `ssid`) or its VM's IOAS (s2).
    // 0, or the kernel's -errno (-EEXIST: mapped already).
    int fault_map(const std::string& device, uint32_t ssid, uint64_t iova, uint64_t pa);
    const std::vector<std::vector<arch::EventRecord>>& drained() const { return drained_; }
    // A vEVENTQ was allocated: the host handles events as they come (at each
    // record it carries out), not only at the end.
    bool events_in_time() const { return veventq_used_; }
    uint64_t commands_submitted(unsigned smmu = 0) const { return smmus_.at(smmu)->counters().commands; }
    uint64_t ste_address(uint32_t sid, unsigned smmu = 0) const { return smmus_.at(smmu)->ste_address(sid); }
    driver::ArmSmmuDevice& smmu(unsigned i) { return *smmus_.at(i); }
    const driver::CmdqCounters& cmdq_counters(unsigned i) const { return smmus_.at(i)->counters(); }
    unsigned smmu_count() const { return static_cast<unsigned>(smmus_.size()); }

    // The VM's S2 domain's own VMID (0: none yet).
    uint16_t vmid(const std::string& vm) const;
    uint16_t viommu_vmid(const std::string& viommu) const;
    // The VMID in the device's STE (0 when it has no stage 2).
    uint16_t device_vmid(const std::string& device) const;
    // Whether the driver enabled ATS at the device (arm_smmu_enable_ats ->
    // pci_enable_ats; off again after pci_disable_ats): the device's ATS
    // Control Enable bit, which decides whether it sends Translation Requests.
    bool device_ats_enabled(const std::string& device) const;
    // VMIDs in use on each instance.
    std::vector<unsigned> vmids_per_smmu() const;

    // Applies a map/unmap, a guest command or a lifetime record the way the
    // kernel does and returns the path taken: s2_change (IOMMU_IOAS_UNMAP on
    // a VM's S2), viommu_invalidate (a guest's invalidation through
    // VIOMMU_INVALIDATE), dma_domain (a host DMA-API unmap, strict or lazy)
    // or lifetime.<keyword>.
    std::string apply(const ChangeRecord& change);
    // A guest's batch: guest_inv records of one time and one vIOMMU, sent
    // with one trap and one IOMMU_HWPT_INVALIDATE.
    std::string apply_guest_batch(const std::vector<ChangeRecord>& batch);
    // Lazy DMA domains: when the next flush-queue timer fires (ns).
    std::optional<double> next_timer() const;
    // Runs the flush-queue timers due at `now_ns` (fq_flush_timeout).
    void run_timers(double now_ns);
    // Flushes every flush queue (the end of a run).
    void flush_queues();
    // A lazy unmap of this device's IOVA still waits in a flush queue.
    bool lazy_pending(uint32_t sid, unsigned smmu, uint64_t iova) const;

    const std::map<std::string, PathStats>& paths() const { return paths_; }
    const GuestBatchStats& guest_batches() const { return guest_batches_; }
    const LifetimeStats& lifetime() const { return lifetime_; }
    // Per vIOMMU, what arm_vmaster_report_event sent it (VeventqStats).
    const std::map<std::string, VeventqStats>& veventqs() const { return veventqs_; }
    // VMIDs handed out and freed over the run, all instances.
    uint64_t vmids_allocated() const;
    uint64_t vmids_freed() const;
    // Guest commands the kernel refused, with where and why.
    const std::vector<std::string>& rejected() const { return rejected_; }

private:
    struct Vm;
    struct Device;
    struct Context;
    struct Object;

    Vm& vm(const std::string& name);
    // The VM's S2 HWPT `name` on `smmu`, allocated (IOMMU_HWPT_ALLOC, a nesting
    // parent when the VM has vIOMMU users) if it does not exist.
    Object& vm_hwpt(const std::string& vm, unsigned smmu);
    // The guest RAM a VM's guest carves its own tables from (nested devices).
    TableArena& guest_ram(Vm& vm);
    void install_device(const DeviceConfig& dev);
    // The guest's own tables for a nested device: CDs and S1 tables in guest
    // RAM, written as the guest kernel would (once). Returns the vSTE.
    arch::Ste guest_vste(const DeviceConfig& dev, Device& d);

    // ---- iommufd objects (host_lifetime.cpp) ----
    Object& add_object(const std::string& name, ObjectKind kind, const std::string& vm, unsigned smmu);
    // The live object `name` of `kind`: KernelError -ENOENT when it was
    // destroyed or is of another kind, InputError when nothing ever made it.
    Object& object(const std::string& name, ObjectKind kind, const std::string& where, const char* field);
    Object& alloc_s2(const std::string& name, const std::string& vm, unsigned smmu);
    Object& alloc_viommu(const std::string& name, const std::string& s2, unsigned smmu, const std::string& where);
    Object& alloc_vdevice(const std::string& name, const std::string& viommu, Device& d, uint32_t vsid,
                          const std::string& where);
    Object& alloc_nested(const std::string& name, const std::string& viommu, const arch::Ste& vste,
                         const std::string& where);
    Object& alloc_veventq(const std::string& name, const std::string& viommu, uint64_t depth, const std::string& where);
    // arm_smmu_handle_event for one record of instance `smmu`.
    void handle_event(unsigned smmu, const arch::EventRecord& e);
    void destroy(const std::string& name, const std::string& where);
    // Attach or replace: "abort" (the blocked domain), "bypass" (identity) or an HWPT.
    void attach(Device& d, const std::string& target, const std::string& where);
    void detach(Device& d, const std::string& where);
    void vm_start(const std::string& vm, const ChangeRecord& ch);
    void vm_stop(const std::string& vm, const ChangeRecord& ch);
    std::string apply_lifetime(const ChangeRecord& ch);
    // Runs one step; a KernelError is recorded as a failure of `op` on `object`.
    template <class F>
    bool step(const ChangeRecord& ch, const std::string& op, const std::string& object, F&& f);
    void sample_vmids(uint64_t time_ns);
    // The VM's IOAS: a map or unmap every S2 HWPT of the VM gets, and later ones too.
    void ioas_map(Vm& vm, const Mapping& m);
    void ioas_unmap(Vm& vm, uint64_t in, uint64_t size);
    unsigned smmu_of(const DeviceConfig& dev) const;
    // Runs `f` as one change on `path`: counts what the SMMUs were sent and
    // the time it took, split into software and SYNC waits.
    template <class F>
    void measure(PathStats& path, F&& f);
    std::string apply_s2(const ChangeRecord& ch);
    std::string apply_s1(const ChangeRecord& ch);
    // A guest kernel's invalidation through its vSMMU: the trap, the VMM's
    // VIOMMU_INVALIDATE, refusals recorded.
    void guest_submit(const std::string& viommu, const std::vector<arch::Command>& cmds, const std::string& where,
                      PathStats& path);

    const Config& cfg_;
    std::vector<HostBus*> buses_;
    TableArena arena_;  // host-owned PA region
    std::vector<std::unique_ptr<driver::ArmSmmuDevice>> smmus_;
    std::unique_ptr<driver::Iommufd> iommufd_;
    std::map<std::string, std::unique_ptr<Vm>> vms_;
    std::map<std::string, std::unique_ptr<Object>> objects_;  // live iommufd objects by name
    std::map<std::string, ObjectKind> destroyed_;            // names of destroyed objects
    std::map<std::string, std::unique_ptr<Device>> devices_;
    std::map<std::string, PathStats> paths_;
    std::vector<std::string> rejected_;
    GuestBatchStats guest_batches_;
    LifetimeStats lifetime_;
    bool installing_ = false;  // install(): a refused request is a config error
    bool veventq_used_ = false;
    std::map<std::string, VeventqStats> veventqs_;  // by vIOMMU
    std::vector<std::vector<arch::EventRecord>> drained_;
};

}  // namespace smmu::sim
