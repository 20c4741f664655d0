// The platform a run simulates, as the YAML config describes it. The format is
// documented in README.md ("Config format"); config_loader.h reads it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/arch/pte.h"

namespace smmu::sim {

// One contiguous mapping: `in` (VA or IPA) -> `out` (IPA or PA), `size` bytes.
struct Mapping {
    uint64_t in = 0;
    uint64_t out = 0;
    uint64_t size = 0;
    bool read = true, write = true, exec = false;
    uint64_t page = 0;   // leaf size to use; 0 = the largest block alignment allows
    std::string where;   // "file:line" of the entry, for later error messages
};

struct S2Config {
    arch::Granule granule = arch::Granule::K4;
    unsigned ias = 48;  // IPA bits (S2T0SZ = 64 - ias)
    // The walk's start level (STE.S2SL0, concatenating up to 16 tables);
    // none: the level io-pgtable-arm picks.
    std::optional<unsigned> start_level;
};

struct VmConfig {
    std::string name;
    std::optional<uint16_t> vmid;  // none: the host allocates one
    S2Config s2;
    std::vector<Mapping> map;      // IPA -> PA
    // Guest RAM the guest's S1 tables and CDs are carved from (nested devices):
    // an IPA range the host also maps in S2. Size 0 = chosen by the host.
    uint64_t guest_tables_ipa = 0;
    uint64_t guest_tables_size = 0;
    // false: the VM is started by a trace's vm_start record; until then its
    // devices stay in the blocked domain (abort STEs) and it has no HWPT.
    bool start = true;
    std::string where;
};

// One context descriptor of a device (one SubstreamID).
struct ContextConfig {
    uint32_t ssid = 0;
    uint16_t asid = 0;
    arch::Granule granule = arch::Granule::K4;
    unsigned va_bits = 48;       // T0SZ = 64 - va_bits (T1SZ with ttb1)
    // The table is the upper VA range's (CD.TTB1, EPD0=1): VAs from
    // 2^64 - 2^va_bits up, as io-pgtable-arm's IO_PGTABLE_QUIRK_ARM_TTBR1.
    bool ttb1 = false;
    std::vector<Mapping> map;    // VA -> IPA (nested) or PA (s1)
    std::string where;
};

// abort, bypass: no translation. s1: a host DMA domain. s2: direct attach to a
// VM's S2 domain. nested: a guest S1 (vSTE S1_TRANS) under a vIOMMU. proxy: a
// vSTE BYPASS under a vIOMMU, the "proxy identity S1": S2 only, with the
// vIOMMU's VMID.
enum class AttachMode { Abort, Bypass, S1, S2, Nested, Proxy };
const char* attach_mode_name(AttachMode m);

// One cache of the SMMU (README, "Caches"); entries 0 = absent.
struct CacheConfig {
    unsigned entries = 0;
    unsigned ways = 0;           // 0 = fully associative (ways = entries)
    std::string policy = "lru";  // lru | plru | random | round-robin
    unsigned latency = 1;        // cycles per lookup
};

// devices.<d>.ats as a map (README, "ATS"): the device's ATC and PCIe timing.
struct AtsDeviceConfig {
    CacheConfig atc{64, 4, "lru", 0};  // the device's ATC (latency unused)
    unsigned pcie_round_trip_ns = 500;  // a Translation Request's PCIe round trip, besides the SMMU's time
    // From an ATS Invalidate Request's arrival to the device's completion;
    // empty ("never"): the device never answers.
    std::optional<unsigned> inv_response_ns = 1000;
};

// devices.<d>.pri (docs/pri-stall.md): the function's PRI capability as the
// driver enables it (pci_enable_pri): Enable, and the Outstanding Page
// Request Allocation (PCIe 6.0 7.8.10.4): page requests it may have
// unanswered at once.
struct PriDeviceConfig {
    bool enabled = false;
    unsigned outstanding = 16;  // the PRI series' max_inflight_pprs in arm_smmu_enable_pri
    // PRI Status "PRG Response PASID Required" (PCIe 6.0 7.8.10.3): the
    // function matches a PRG Response to a request with a PASID only when
    // the response carries that PASID.
    bool prg_response_pasid_required = false;
};

struct DeviceConfig {
    std::string name;
    std::string smmu;                     // the SMMU instance it sits behind
    uint32_t sid = 0;
    std::string viommu;                   // nested, proxy: the vIOMMU (implicit one per VM/SMMU if empty)
    uint32_t vsid = 0;                    // its virtual StreamID there (vDEVICE)
    AttachMode attach = AttachMode::Bypass;
    std::string vm;                       // s2 and nested
    std::vector<ContextConfig> contexts;  // s1 and nested, one per SSID
    unsigned outstanding = 1;             // transactions in flight from this master
    bool ats = false;                     // an ATS-capable device: STE.EATS, an ATC, ATC_INV on changes
    AtsDeviceConfig ats_device;
    PriDeviceConfig pri;
    // The firmware's dma-can-stall (arm_smmu_probe_device: master->stall_enabled
    // with FEAT_STALLS): CD.S / STE.S2S set, its faults stall.
    bool stall = false;
    // nested, proxy: extra fields the guest sets in its vSTE, by STE field name
    // (for testing the kernel's vSTE check: anything outside its list is refused).
    std::vector<std::pair<std::string, uint64_t>> vste_fields;
    std::string where;
};

enum class TableFormat { Linear, TwoLevel };

// The cache names a config may use, in the order stats list them.
const std::vector<std::string>& cache_names();

// One ID register field as a configuration sets it (`smmu.idr.<REG>.<FIELD>`,
// or `smmu.idr.<REG>` for a whole register): what the SMMU advertises.
struct IdrSetting {
    std::string reg, field;  // "IDR0", "MSI" ("" for a whole register)
    uint32_t offset = 0;
    uint32_t mask = 0;       // the field's bits in the register
    unsigned lsb = 0;
    uint64_t value = 0;      // the field's value (not shifted)
};

struct SmmuParams {
    unsigned clock_mhz = 1000;
    unsigned oas = 48;               // IDR5.OAS, bits
    unsigned sid_bits = 16;          // IDR1.SIDSIZE
    unsigned ssid_bits = 8;          // IDR1.SSIDSIZE
    bool vmid16 = true;              // IDR0.VMID16
    TableFormat stream_table = TableFormat::Linear;
    unsigned strtab_split = 8;       // STRTAB_BASE_CFG.SPLIT for 2-level (6, 8 or 10)
    TableFormat cd_table = TableFormat::Linear;  // 2-level uses 4K leaf tables
    unsigned cmdq_log2size = 8;
    unsigned eventq_log2size = 7;
    unsigned pipeline_cycles = 2;    // cycles a translation spends outside memory accesses
    unsigned cmd_cycles = 1;         // cycles to execute one command
    unsigned inv_cycles = 0;         // extra cycles for each CFGI/TLBI/ATC_INV
    unsigned mmio_cycles = 1;        // cycles per register access
    unsigned translation_slots = 0;  // translations in flight; 0 = unlimited
    unsigned walk_slots = 0;         // table walks in flight; 0 = unlimited
    unsigned tlb_ports = 0;          // IOTLB lookups per cycle; 0 = unlimited
    unsigned walk_port_bytes = 0;    // table-walk port bytes per cycle; 0 = unlimited
    std::map<std::string, CacheConfig> caches;  // by name: iotlb, config, walk_s1_l0.., ipa, utlb
    std::vector<IdrSetting> idr;     // smmu.idr: ID register fields (override the defaults above)
};

struct MemoryParams {
    unsigned pa_bits = 48;
    unsigned read_latency_ns = 100;
    unsigned write_latency_ns = 100;
    // Region the host carves STEs, CDs, S2 tables and queues from (PA).
    uint64_t table_base = 0x40000000;
    uint64_t table_size = 0x10000000;
};

// Who owns a VMID (see ../shared/reference/iommufd-topologies.md).
enum class VmidPolicy { PerS2Domain, PerViommu };

// How a DMA-API (host S1) domain invalidates after an unmap
// (drivers/iommu/dma-iommu.c): strict, at every unmap; lazy, through the
// flush queue (IOMMU_DOMAIN_DMA_FQ).
enum class DmaMode { Strict, Lazy };

// A vIOMMU: a VM's presence on one physical SMMU instance.
struct ViommuConfig {
    std::string name;
    std::string vm;
    std::string smmu;
    bool implicit = false;  // made for a nested device that named only its vm
    std::string where;
};

// The host's software costs (ns) besides MMIO (mmio_latency_ns) and memory
// accesses (mem_access_ns): docs/linux-host.md.
struct SoftwareParams {
    unsigned cmdlist_ns = 100;  // arm_smmu_cmdq_issue_cmdlist's fixed part
    unsigned cmd_ns = 10;       // per command built and written
    unsigned ioctl_ns = 1000;   // per iommufd ioctl (IOAS_UNMAP, HWPT_INVALIDATE...)
    unsigned trap_ns = 2000;    // per guest trap to the VMM (a vSMMU CMDQ_PROD write)
};

// What the host does with an I/O page fault (host.fault, docs/pri-stall.md).
//  mainline: arm_smmu_handle_ppr answers page requests DENY; a stall reaches
//    iommu_report_device_fault with no fault handler on the domain
//    (iopf_error_response: INVALID -> CMD_RESUME Abort).
//  iopf: the domain's handler is iommufd's fault queue
//    (IOMMU_FAULT_QUEUE_ALLOC): the VMM maps the page and answers
//    IOMMU_PAGE_RESP_SUCCESS (IOMMU_HWPT_PAGE_RESPONSE, written to the fault
//    fd); page requests as the unmerged PRI series reports them.
//  none: the queues are read but nothing ever answers (a VMM that never
//    writes the response): the run ends with the DMA still waiting.
enum class FaultPolicy { Mainline, Iopf, None };

struct FaultParams {
    FaultPolicy policy = FaultPolicy::Iopf;
    unsigned handling_ns = 2000;        // the handler's work after the map, before the response
    uint64_t pa_base = 0x100000000ull;  // where the handler's pages come from (PA, bump-allocated)
};

struct HostParams {
    // host.driver: linux (mainline, VMIDs per S2 domain) or
    // linux-viommu-vmid (the per-vIOMMU VMID proposal): docs/linux-host.md.
    VmidPolicy vmid_policy = VmidPolicy::PerS2Domain;
    DmaMode dma_mode = DmaMode::Strict;
    SoftwareParams sw;
    // ARM_SMMU_OPT_SKIP_PREFETCH (a firmware quirk of some SMMUs): no
    // CMD_PREFETCH_CONFIG after an STE write.
    bool skip_prefetch = false;
    // Compare every translation with a fresh walk of memory (the
    // missing-invalidation checker).
    bool check_invalidations = false;
    // Fault injection for the checker's own test: the host forgets the TLBI
    // after a stage 2 unmap.
    bool bug_skip_s2_tlbi = false;
    unsigned mmio_latency_ns = 10;  // per register access
    unsigned mem_access_ns = 1;     // per CPU load/store to memory (cached, via DMI)
    // How long the driver polls a CMD_SYNC before -ETIMEDOUT
    // (ARM_SMMU_POLL_TIMEOUT_US in arm_smmu_cmdq_poll_until_sync).
    unsigned sync_timeout_us = 1000000;
    FaultParams fault;
};

// How masters keep time (docs/timing.md, "Timing modes").
enum class TimingMode { Accurate, Fast };

struct SimParams {
    TimingMode mode = TimingMode::Accurate;  // accurate: a wait per transaction; fast: quantum keeper
    unsigned quantum_ns = 1000;              // fast: the global quantum
};

struct Config {
    uint64_t seed = 1;
    SimParams sim;
    SmmuParams smmu;
    MemoryParams memory;
    HostParams host;
    std::vector<std::string> smmus{"smmu0"};  // SMMU instances, by name
    std::vector<VmConfig> vms;          // in file order
    std::vector<ViommuConfig> viommus;  // explicit ones, then implicit ones
    std::vector<DeviceConfig> devices;  // in file order
    std::vector<std::string> sources;   // files read, in order

    const VmConfig* find_vm(const std::string& name) const;
    const DeviceConfig* find_device(const std::string& name) const;
    const ViommuConfig* find_viommu(const std::string& name) const;
    // Index of an SMMU instance by name, or -1.
    int smmu_index(const std::string& name) const;
    // A device can page-fault (PRI or stall, or the SMMU forces stalls):
    // run's host then services the event and PRI queues on their interrupts.
    bool serves_faults() const;
};

}  // namespace smmu::sim
