// The arm-smmu-v3 driver layer: one SMMU instance as Linux's
// drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c drives it (struct
// arm_smmu_device). It reaches the SMMU only through a HostBus (MMIO and
// memory): the ID-register probe, the reset sequence, the command queue with
// its batches and CMD_SYNC waits, the stream table and the STE/CD writer
// (arm_smmu_write_entry), the event queue, and the VMID allocator. Plain C++
// parameters: no config file is needed to use it.
//
// Kernel followed: torvalds/linux, docs/linux-host.md names the commit and
// every function each sequence follows.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "driver/errors.h"
#include "driver/host_bus.h"
#include "driver/io_pgtable/io_pgtable_arm.h"
#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/pri.h"
#include "models/arch/ste.h"

namespace smmu::driver {

// CPU time the driver's own code takes (ns), besides its MMIO and memory
// accesses (which the HostBus times). Defaults are estimates for a 2-3 GHz
// Arm server core; docs/linux-host.md says where each is spent.
struct SoftwareCosts {
    double cmdlist_ns = 100;  // arm_smmu_cmdq_issue_cmdlist's fixed part: prod cmpxchg, valid map, owner hand-off
    double cmd_ns = 10;       // building one command (arm_smmu_cmdq_build_cmd) and copying it to the queue
};

struct ArmSmmuParams {
    std::string name = "smmu0";
    unsigned cmdq_log2 = 8;  // wanted queue sizes, clamped to IDR1.CMDQS/EVENTQS
    unsigned evtq_log2 = 7;
    unsigned priq_log2 = 7;  // clamped to IDR1.PRIQS
    bool strtab_2lvl = false;  // 2-level stream table (needs IDR0.ST_LEVEL)
    unsigned strtab_split = 8;  // STRTAB_SPLIT
    bool cd_2lvl = false;       // 2-level CD tables (4K leaves) for masters with SSIDs
    bool skip_prefetch = false;  // ARM_SMMU_OPT_SKIP_PREFETCH: no CMD_PREFETCH_CONFIG after an STE write
    // How long a CMD_SYNC is polled before -ETIMEDOUT (ARM_SMMU_POLL_TIMEOUT_US).
    double sync_timeout_ns = 1e9;
    SoftwareCosts costs;
};

// What arm_smmu_device_hw_probe found in the ID registers.
struct Features {
    bool s1p = false, s2p = false, hyp = false, ats = false, pri = false;
    bool msi = false, sev = false, coherent = false;
    bool range_inv = false;        // IDR3.RIL: ARM_SMMU_FEAT_RANGE_INV
    bool stt = false;              // IDR3.STT (Linux does not probe it): S2SL0 can name a 4K level-3 start
    bool two_level_strtab = false, two_level_cdtab = false;
    bool attr_types_ovr = false;   // IDR1.ATTR_TYPES_OVR: STE.SHCFG = incoming
    bool msipoll = false;          // ARM_SMMU_OPT_MSIPOLL: IDR0.MSI on a coherent SMMU
    bool stalls = false;           // ARM_SMMU_FEAT_STALLS: IDR0.STALL_MODEL 0b00 or 0b10
    bool stall_force = false;      // ARM_SMMU_FEAT_STALL_FORCE: 0b10
    unsigned max_stalls = 0;       // IDR5.STALL_MAX (smmu->evtq.max_stalls)
    unsigned priq_max_log2 = 0;
    unsigned vmid_bits = 8, asid_bits = 8, sid_bits = 0, ssid_bits = 0;
    unsigned cmdq_max_log2 = 0, evtq_max_log2 = 0;
    unsigned oas = 48;
    uint64_t pgsize_bitmap = 0;    // page and block sizes of the granules IDR5 lists
};

// The kernel's IDA (lib/idr.c, ida_alloc_range): the lowest free ID in
// [min, max]; -ENOSPC when none is left.
class Ida {
public:
    Ida(std::string what, unsigned min, unsigned max) : what_(std::move(what)), min_(min), max_(max) {}
    unsigned alloc();
    // Takes a given ID (a config that fixes one); -EEXIST if taken, -EINVAL if out of range.
    void reserve(unsigned id);
    void free(unsigned id) { freed_ += used_.erase(id); }
    unsigned used() const { return static_cast<unsigned>(used_.size()); }
    // IDs handed out (alloc, reserve) and given back over the IDA's life.
    uint64_t allocated() const { return allocated_; }
    uint64_t freed() const { return freed_; }
    bool in_use(unsigned id) const { return used_.count(id) != 0; }
    unsigned max() const { return max_; }
    void set_max(unsigned max) { max_ = max; }

private:
    std::string what_;
    unsigned min_, max_;
    std::set<unsigned> used_;
    uint64_t allocated_ = 0, freed_ = 0;
};

// What the driver issued, in total: commands (CMD_SYNCs included), CMD_SYNCs,
// command lists, by opcode, and the time spent waiting for CMD_SYNCs.
struct CmdqCounters {
    uint64_t commands = 0, syncs = 0, cmdlists = 0, prefetches = 0;
    std::array<uint64_t, 256> by_opcode{};
    double sync_wait_ns = 0;
    // CMD_SYNCs that timed out (arm_smmu_cmdq_poll_until_sync -> -ETIMEDOUT),
    // and the kernel's message for the first.
    uint64_t sync_timeouts = 0;
    std::string first_sync_timeout;
};

struct ArmSmmuMaster;

class ArmSmmuDevice {
public:
    // CMDQ_BATCH_ENTRIES (BITS_PER_LONG on arm64).
    static constexpr unsigned kCmdqBatchEntries = 64;
    // Polls before a register wait is declared dead.
    static constexpr unsigned kMaxPolls = 100000;
    // queue_poll's ARM_SMMU_POLL_SPIN_COUNT: a CMD_SYNC wait's polls (or WFE
    // turns) before a udelay, doubled each time, until
    // ArmSmmuParams::sync_timeout_ns.
    static constexpr unsigned kPollSpinCount = 10;

    ArmSmmuDevice(HostBus& bus, TableArena& arena, ArmSmmuParams params);

    // arm_smmu_device_hw_probe: features from IDR0/1/3/5.
    const Features& hw_probe();
    // arm_smmu_device_reset (after arm_smmu_init_structures): CR0 off, CR1,
    // CR2, stream table (every STE an abort STE: arm_smmu_init_initial_stes
    // with disable_bypass), command queue, CMDQEN, CFGI_ALL + SYNC,
    // TLBI_EL2_ALL + SYNC (HYP), TLBI_NSNH_ALL + SYNC, event queue, EVTQEN,
    // ATSCHK (ATS), IRQ_CTRL, SMMUEN.
    void device_reset();
    const Features& features() const { return features_; }
    const ArmSmmuParams& params() const { return params_; }
    const std::string& name() const { return params_.name; }
    HostBus& bus() { return bus_; }
    TableArena& arena() { return arena_; }

    // ---- Command queue (arm_smmu_cmdq_issue_cmdlist) ----
    // Writes `cmds` (and a CMD_SYNC when `sync`) into the queue, publishes
    // them with one CMDQ_PROD write and, with `sync`, waits for the SYNC:
    // polling its MSI word in memory (OPT_MSIPOLL) or CMDQ_CONS. CONS is read
    // from the register only when the queue looks too full for the list.
    // Returns 0, or -ETIMEDOUT when the SYNC timed out (the kernel's return
    // value, which only arm_vsmmu_cache_invalidate passes on).
    int issue_cmdlist(const std::vector<arch::Command>& cmds, bool sync);
    void issue_cmd(const arch::Command& c) { issue_cmdlist({c}, false); }
    void issue_cmd_with_sync(const arch::Command& c) { issue_cmdlist({c}, true); }

    // ---- Stream table and CDs ----
    // Address of the STE of `sid`, creating its level-2 table (all abort
    // STEs) if needed (arm_smmu_init_l2_strtab).
    uint64_t ste_slot(uint32_t sid);
    // 0 when the level-2 table does not exist.
    uint64_t ste_address(uint32_t sid) const;
    arch::Ste read_ste(uint32_t sid);
    // arm_smmu_write_ste: arm_smmu_write_entry (CFGI_STE + SYNC after each
    // step), then CMD_PREFETCH_CONFIG unless ARM_SMMU_OPT_SKIP_PREFETCH.
    void write_ste(uint32_t sid, const arch::Ste& target);
    // arm_smmu_write_cd_entry: arm_smmu_write_entry on the CD at `cd_pa`,
    // each step followed by CFGI_CD for every StreamID of the master + SYNC
    // (arm_smmu_sync_cd).
    void write_cd(const std::vector<uint32_t>& sids, uint32_t ssid, uint64_t cd_pa, const arch::ContextDescriptor& target);

    // ---- Event queue (arm_smmu_evtq_thread) ----
    // The thread's loop: PROD read (queue_sync_prod_in), then each record
    // read, CONS written past it (queue_remove_raw: queue_sync_cons_out) and
    // handed to `handle` before the next is read, until PROD shows no more;
    // an overflow acknowledged last (queue_sync_cons_ovf). Returns how many
    // records were read.
    std::size_t consume_events(const std::function<void(const arch::EventRecord&)>& handle);
    // consume_events keeping the records (the thread only logs them).
    std::vector<arch::EventRecord> drain_events();
    // ---- PRI queue (arm_smmu_priq_thread; driver/arm_smmu_v3/fault.cpp) ----
    std::size_t consume_page_requests(const std::function<void(const arch::PriRecord&)>& handle);
    std::vector<arch::PriRecord> drain_page_requests();

    // ---- Masters (smmu->streams: arm_smmu_insert_master / arm_smmu_find_master) ----
    // Registers each StreamID of `m`; a StreamID another master has already
    // is refused (-ENODEV, "Aliasing StreamID ... unsupported") and nothing of
    // `m` stays registered. `m` must outlive the fault threads' use of it.
    void insert_master(ArmSmmuMaster& m);
    // The master a StreamID belongs to; nullptr when none does.
    ArmSmmuMaster* find_master(uint32_t sid) const;

    // ---- IDs ----
    // VMIDs of this instance (smmu->vmid_map: 1..2^vmid_bits-1; VMID 0 stays
    // for stage-2 bypass STEs).
    Ida& vmid_ida() { return vmids_; }

    const CmdqCounters& counters() const { return counters_; }
    // Every command issued, SYNCs included, in order (for tests); nullptr: none kept.
    void set_command_log(std::vector<arch::Command>* log) { log_ = log; }
    // Told of every command list issued (a timeline's invalidation windows):
    // its commands, whether a CMD_SYNC ends it, the host's time when
    // issue_cmdlist began and when it returned (the SYNC seen complete).
    using CmdlistListener =
        std::function<void(const std::vector<arch::Command>& cmds, bool sync, double start_ns, double end_ns)>;
    void set_cmdlist_listener(CmdlistListener l) { cmdlist_listener_ = std::move(l); }

private:
    uint32_t read32(uint32_t off) { return static_cast<uint32_t>(bus_.mmio_read(off, 4)); }
    void write32(uint32_t off, uint32_t v) { bus_.mmio_write(off, 4, v); }
    void write64(uint32_t off, uint64_t v) { bus_.mmio_write(off, 8, v); }
    // arm_smmu_write_reg_sync: write, then poll the ACK register.
    void write_reg_sync(uint32_t reg, uint32_t ack, uint32_t value, const char* what);
    // CMD_SYNC for the slot at `prod` (arm_smmu_cmdq_build_sync_cmd).
    arch::Command sync_cmd(uint32_t prod) const;
    // Waits until the SYNC at `sync_prod` completed; throws HostError naming
    // CMDQ_CONS.ERR when the queue stopped instead. After sync_timeout_ns it
    // gives up as the kernel does (-ETIMEDOUT, "CMD_SYNC timeout"): counted
    // in CmdqCounters, -ETIMEDOUT returned, the caller goes on.
    int wait_for_sync(uint32_t sync_prod, uint64_t sync_slot);
    // GERROR.CMDQ_ERR active: throws HostError naming CMDQ_CONS.ERR. Waits
    // look every kGerrorPollInterval polls, standing in for the GERROR
    // interrupt (arm_smmu_gerror_handler), which is not modelled.
    void check_gerror(const char* while_what);
    static constexpr unsigned kGerrorPollInterval = 64;
    uint64_t cmdq_slot(uint32_t prod) const;
    // The driver's view of an output queue (struct arm_smmu_ll_queue): the
    // PROD it last read, the CONS it last wrote (OVACKFLG in bit 31 of both).
    struct Llq {
        uint32_t prod = 0, cons = 0;
    };
    template <class Record>
    std::size_t consume_queue(uint32_t prod_reg, uint32_t cons_reg, uint64_t base, unsigned log2, Llq& q,
                              const std::function<void(const Record&)>& handle);
    void init_initial_stes(uint64_t addr, uint64_t count);
    // arm_smmu_write_entry over the 8 qwords at `pa`; `sync` runs after each step that changed something.
    template <class Entry>
    void write_entry(uint64_t pa, const Entry& target, void (*get_used)(const Entry&, Entry&),
                     void (*get_update_safe)(const Entry&, const Entry&, Entry&), const std::function<void()>& sync);

    HostBus& bus_;
    TableArena& arena_;
    ArmSmmuParams params_;
    Features features_;
    Ida vmids_;
    std::map<uint32_t, ArmSmmuMaster*> streams_;
    uint64_t strtab_ = 0;
    unsigned sid_bits_ = 0;
    std::map<uint32_t, uint64_t> l2_tables_;  // L1 index -> L2 table (2-level)
    uint64_t cmdq_base_ = 0, evtq_base_ = 0;
    unsigned cmdq_log2_ = 0, evtq_log2_ = 0;
    uint64_t priq_base_ = 0;
    unsigned priq_log2_ = 0;
    uint32_t cmdq_prod_ = 0, cmdq_cons_ = 0;  // the driver's llq: PROD it wrote, CONS it last saw
    Llq evtq_llq_, priq_llq_;
    CmdqCounters counters_;
    std::vector<arch::Command>* log_ = nullptr;
    CmdlistListener cmdlist_listener_;
};

// arm_smmu_cmdq_batch: commands gathered for one instance and issued
// together; a full batch (CMDQ_BATCH_ENTRIES) goes out without a SYNC,
// submit() sends the rest with one.
class CmdqBatch {
public:
    explicit CmdqBatch(ArmSmmuDevice& smmu) : smmu_(&smmu) {}
    // arm_smmu_cmdq_batch_add
    void add(const arch::Command& c);
    // arm_smmu_cmdq_batch_submit: the rest, then CMD_SYNC (even when empty).
    void submit();
    ArmSmmuDevice& smmu() { return *smmu_; }
    bool empty() const { return cmds_.empty(); }

private:
    ArmSmmuDevice* smmu_;
    std::vector<arch::Command> cmds_;
};

// ---- STEs and CDs as the kernel makes them ----
// arm_smmu_get_ste_used / arm_smmu_get_cd_used: the bits the SMMU uses in
// an entry of this configuration (what arm_smmu_write_entry may change
// without a break).
void get_ste_used(const arch::Ste& ent, arch::Ste& used);
void get_cd_used(const arch::ContextDescriptor& ent, arch::ContextDescriptor& used);
// arm_smmu_get_ste_update_safe: used bits that may change without a break.
void get_ste_update_safe(const arch::Ste& cur, const arch::Ste& target, arch::Ste& safe);

arch::Ste make_abort_ste();
arch::Ste make_bypass_ste(const Features& f);
// arm_smmu_make_cdtable_ste: S1 through the master's CD table.
struct CdTableRef {
    uint64_t cdtab = 0;  // CD table address (a PA, or an IPA for a guest's)
    arch::CdTableFormat fmt = arch::CdTableFormat::Linear;
    unsigned s1cdmax = 0;
};
// `stall_enabled`: master->stall_enabled (S1STALLD clear, CD.S, STE.S2S set).
// `prg_resp_needs_ssid`: master->prg_resp_needs_ssid of the PRI series
// (STRTAB_STE_1_PPAR, set with the S1 configuration in its
// arm_smmu_write_strtab_ent).
arch::Ste make_cdtable_ste(const Features& f, const CdTableRef& cd, bool ats_enabled, arch::S1Dss s1dss,
                           bool stall_enabled = false, bool prg_resp_needs_ssid = false);
// arm_smmu_make_s2_domain_ste: S2 translate with `vmid` over `pgtbl`.
arch::Ste make_s2_domain_ste(const Features& f, const PageTable& pgtbl, uint16_t vmid, bool ats_enabled,
                             bool stall_enabled = false);
// arm_smmu_make_s1_cd: an io-pgtable stage 1 domain's CD.
arch::ContextDescriptor make_s1_cd(const Features& f, const PageTable& pgtbl, uint16_t asid,
                                   bool stall_enabled = false);

}  // namespace smmu::driver
