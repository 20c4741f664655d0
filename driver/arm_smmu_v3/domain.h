// arm-smmu-v3 domains and masters: attach (arm_smmu_attach_dev and its
// prepare/commit), and the invalidation primitives a domain change needs
// (arm_smmu_tlb_inv_range_domain, arm_smmu_tlb_inv_context,
// arm_smmu_atc_inv_domain), in the two forms the profiles follow:
//  - Mainline: the 6.18 code (docs/linux-host.md): one SMMU, one ASID or
//    VMID per domain; S2 range batch + SYNC, then TLBI_NH_ALL + SYNC for a
//    nesting parent, then the ATS masters' ATC_INV batch + SYNC.
//  - InvsArray: the "invs" series (arm_smmu_domain_inv_range over a sorted
//    per-domain array of invalidation targets) that the per-vIOMMU VMID
//    proposal builds on: one S2 domain used under several VMIDs on several
//    SMMUs, a batch per SMMU ended before the TLBI_NH_ALLs and before the
//    ATC_INVs, and a whole-ASID/VMID invalidation when
//    arm_smmu_inv_size_too_big.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "driver/arm_smmu_v3/arm_smmu_v3.h"

namespace smmu::driver {

enum class InvalidationScheme { Mainline, InvsArray };
enum class DomainStage { S1, S2 };

class ArmSmmuDomain;

// struct arm_smmu_master: a device behind one SMMU with its StreamIDs, its
// CD table (allocated on the first stage 1 attach) and its ATS state.
struct ArmSmmuMaster {
    ArmSmmuDevice* smmu = nullptr;
    std::vector<uint32_t> sids;
    bool ats_supported = false;  // a PCIe function with an ATC
    bool ats_enabled = false;    // master->ats_enabled: the driver's view, updated by arm_smmu_attach_commit
    // The function's ATS Control Enable (pci_enable_ats / pci_disable_ats):
    // what the device obeys. arm_smmu_attach_prepare clears it before the STE
    // loses EATS; arm_smmu_enable_ats sets it after the ATC flush.
    bool pci_ats_enabled = false;
    // What arm_smmu_install_ste_for_dev recorded: cd_table.in_ste (an S1
    // CD-table STE is installed) and ste_ats_enabled (its EATS = TRANS).
    bool cd_table_in_ste = false;
    bool ste_ats_enabled = false;
    // dma-can-stall (arm_smmu_probe_device; always with ARM_SMMU_FEAT_STALL_FORCE).
    bool stall_enabled = false;
    bool pri_supported = false;  // a PCIe function with PRI
    // Its PRI capability's "PRG Response PASID Required" (pci_prg_resp_pasid_required).
    bool pri_resp_pasid_required = false;
    // The PRI series' arm_smmu_init_pri: responses carry the request's PASID
    // (STE.PPAR, CMD_PRI_RESP.SSV); set by probe_device.
    bool prg_resp_needs_ssid = false;
    // CD table (arm_smmu_alloc_cd_ptr): linear, 1 << s1cdmax CDs.
    uint64_t cdtab = 0;
    unsigned s1cdmax = 0;
    arch::CdTableFormat cd_fmt = arch::CdTableFormat::Linear;
    std::vector<uint64_t> cd_leaves;  // 2-level: leaf table per L1 index (0: none yet)
    ArmSmmuDomain* domain = nullptr;  // attached to SSID 0
    bool nested_ats_flush = false;    // ... through a nested domain that enabled ATS
    std::map<uint32_t, ArmSmmuDomain*> pasids;  // PASID domains (arm_smmu_set_pasid), by SSID
};

// One entry of the invalidation-target list: who may cache a domain's
// translations (struct arm_smmu_inv of the invs series; the Mainline scheme
// derives the same information from the domain).
struct InvTarget {
    enum Type { S1Asid, S2Vmid, S2VmidS1Clear, Ats, AtsFull } type;
    ArmSmmuDevice* smmu;
    uint32_t id;  // ASID, VMID or StreamID
    uint32_t ssid = 0;
};

// struct arm_smmu_domain: a paging domain over an io-pgtable.
class ArmSmmuDomain {
public:
    ArmSmmuDomain(DomainStage stage, PageTable& pgtbl, InvalidationScheme scheme, bool nest_parent = false)
        : stage_(stage), pgtbl_(pgtbl), scheme_(scheme), nest_parent_(nest_parent) {}

    DomainStage stage() const { return stage_; }
    InvalidationScheme scheme() const { return scheme_; }
    bool nest_parent() const { return nest_parent_; }
    PageTable& pgtbl() { return pgtbl_; }
    ArmSmmuDevice* smmu() const { return smmu_; }
    uint16_t asid() const { return asid_; }

    // arm_smmu_domain_finalise_s1 / _s2: the instance and the ASID (from
    // the global arm_smmu_asid_xa) or the VMID (from the instance's IDA).
    void finalise_s1(ArmSmmuDevice& smmu, Ida& asids);
    // Without `alloc_vmid` (the per-vIOMMU proposal) the VMID comes with
    // the first direct attach (alloc_vmid_on) unless `fixed_vmid` names one.
    void finalise_s2(ArmSmmuDevice& smmu, bool alloc_vmid, std::optional<unsigned> fixed_vmid = {});
    // The VMID the domain's own STEs use on `smmu` (0: none there).
    uint16_t vmid_on(const ArmSmmuDevice& smmu) const;
    // The per-vIOMMU proposal: an S2 attached directly on another instance
    // gets a VMID of its own there.
    uint16_t alloc_vmid_on(ArmSmmuDevice& smmu);
    // More (instance, VMID) pairs whose TLB entries come from this stage 2
    // (the per-vIOMMU proposal: a vIOMMU's own VMID); `s1_clear`: nested
    // stage 1 entries live under it too.
    void add_vmid_user(ArmSmmuDevice& smmu, uint16_t vmid, bool s1_clear);
    void remove_vmid_user(const ArmSmmuDevice& smmu, uint16_t vmid);
    // Every (instance, VMID) the domain is used under.
    struct VmidUser {
        ArmSmmuDevice* smmu;
        uint16_t vmid;
        bool s1_clear;
        bool own = false;  // the domain's own VMID there (direct attaches), freed with it
    };
    const std::vector<VmidUser>& vmid_users() const { return vmid_users_; }

    // The masters attached (struct arm_smmu_master_domain), for ATC_INV, in
    // the order of the domain's devices list: arm_smmu_attach_prepare
    // list_adds, so the newest comes first.
    struct MasterDomain {
        ArmSmmuMaster* master;
        uint32_t ssid;
        bool nested_ats_flush;  // a nested master on this nesting parent: flush its whole ATC
    };
    const std::vector<MasterDomain>& devices() const { return devices_; }
    void add_master(ArmSmmuMaster& m, uint32_t ssid, bool nested_ats_flush);
    // arm_smmu_remove_master_domain: the first entry that matches
    // (arm_smmu_find_master_domain); a re-attach of the same domain listed
    // the master twice and leaves one.
    void remove_master(const ArmSmmuMaster& m, uint32_t ssid, bool nested_ats_flush);

    // ---- invalidation ----
    // After an unmap of [iova, iova+size) mapped with `granule` leaves
    // (arm_smmu_iotlb_sync: leaf; arm_smmu_tlb_inv_walk: !leaf).
    void tlb_inv_range(uint64_t iova, uint64_t size, uint64_t granule, bool leaf);
    // arm_smmu_tlb_inv_context (flush_iotlb_all, the flush queue, domain free).
    void tlb_inv_context();
    // arm_smmu_atc_inv_domain: nothing without ATS masters.
    void atc_inv_domain(uint64_t iova, uint64_t size);
    // The list of targets as the invs series sorts it.
    std::vector<InvTarget> invs() const;

    // arm_smmu_domain_free_paging: free_io_pgtable_ops' tlb_flush_all, then
    // the ASID or VMID goes back.
    void free(Ida& asids);

private:
    void inv_range_mainline(uint64_t iova, uint64_t size, uint64_t granule, bool leaf);
    void inv_range_invs(uint64_t iova, uint64_t size, uint64_t granule, bool leaf);
    // The command for a TLB target: NH_VA/S2_IPA with leaf hint.
    arch::Command tlbi_cmd(const InvTarget& t, bool leaf) const;

    DomainStage stage_;
    PageTable& pgtbl_;
    InvalidationScheme scheme_;
    bool nest_parent_;
    ArmSmmuDevice* smmu_ = nullptr;
    uint16_t asid_ = 0;
    std::vector<VmidUser> vmid_users_;  // [0]: the own VMID on the instance it was finalised on (S2)
    std::vector<MasterDomain> devices_;
};

// __arm_smmu_tlb_inv_range's command loop: `cmd` (TLBI_NH_VA or
// TLBI_S2_IPA, with its ASID/VMID and Leaf set) for [iova, iova+size) of a
// table with `tg`-bit pages, leaves of `granule` bytes: RIL ranges (TG,
// SCALE, NUM, TTL) or one command per granule. Each goes to `emit`.
void tlbi_range_cmds(arch::Command cmd, uint64_t iova, uint64_t size, uint64_t granule, unsigned tg, bool range_inv,
                     const std::function<void(const arch::Command&)>& emit);

// struct iommu_iotlb_gather: the leaves an unmap cleared, as one range of
// one page size; iommu_iotlb_gather_add_page syncs (calls `sync` with
// start, size, page size) first when the page size changes or the new page
// is disjoint.
class IotlbGather {
public:
    using SyncFn = std::function<void(uint64_t start, uint64_t size, uint64_t pgsize)>;
    explicit IotlbGather(SyncFn sync) : sync_(std::move(sync)) {}
    void add_page(uint64_t iova, uint64_t size);
    // iommu_iotlb_sync: nothing when nothing was gathered.
    void sync();

private:
    SyncFn sync_;
    uint64_t start_ = ~uint64_t{0}, end_ = 0, pgsize_ = 0;
};

// arm_smmu_atc_inv_to_cmd: the CMD_ATC_INV of [iova, iova+size) for `ssid`
// (SSV = ssid != IOMMU_NO_PASID); size 0 is the whole ATC (Size 52), else
// the smallest aligned power-of-two span of 4K pages that covers the range.
// The caller sets the StreamID.
arch::Command atc_inv_to_cmd(uint32_t ssid, uint64_t iova, uint64_t size);

// arm_smmu_probe_device's part the model has: arm_smmu_insert_master (the
// master's StreamIDs in smmu->streams, where the fault threads find it) and
// the PRI series' arm_smmu_init_pri (prg_resp_needs_ssid = the SMMU has
// SubstreamIDs && pci_prg_resp_pasid_required; the device's own PASID width
// is not modelled).
void probe_device(ArmSmmuMaster& m);

// ---- attach (arm_smmu_attach_prepare / install_ste_for_dev / attach_commit) ----
// What the new attachment is.
struct AttachTarget {
    arch::Ste ste;                    // the STE to install
    ArmSmmuDomain* domain = nullptr;  // paging domain to join (S1, S2, or the nested parent)
    bool nested_ats_flush = false;
    bool want_ats = false;  // the STE enables ATS (EATS=TRANS); the master must support it
    // When the RID's CD 0 is written invalid (arm_smmu_clear_cd(master,
    // IOMMU_NO_PASID)): arm_smmu_attach_dev_ste (blocked, identity) after
    // arm_smmu_attach_commit, arm_smmu_attach_dev's S2 case between the STE
    // and the commit, arm_smmu_attach_dev_nested never.
    enum class ClearCd : uint8_t { AfterCommit, BeforeCommit, No };
    ClearCd clear_rid_cd = ClearCd::AfterCommit;
};
// arm_smmu_ssids_in_use: PASIDs attached next to the RID (an S2 or nested
// attach is -EBUSY then, checked before anything is allocated or written).
bool ssids_in_use(const ArmSmmuMaster& m);
// arm_smmu_attach_dev for a stage 1 domain: CD 0 (arm_smmu_write_cd_entry),
// then the CD-table STE, then ATS.
void attach_s1(ArmSmmuMaster& m, ArmSmmuDomain& d, TableArena& arena);
// arm_smmu_s1_set_dev_pasid -> arm_smmu_set_pasid: a stage 1 domain on
// SubstreamID `ssid` of a master whose RID is a stage 1 domain, or blocked
// (`rid_s1dss` Terminate) or identity (Bypass): prepare (the master joins
// the domain's list with the SSID, so its unmaps send ATC_INV with SSV=1),
// the CD, the CD-table STE if it is not installed yet or its EATS changes
// (arm_smmu_update_ste), then commit (ATC_INV of that SSID when ATS stays on).
void set_pasid(ArmSmmuMaster& m, ArmSmmuDomain& d, uint32_t ssid, TableArena& arena,
               arch::S1Dss rid_s1dss = arch::S1Dss::Terminate);
// Any other attach: the STE is installed (arm_smmu_install_ste_for_dev),
// then ATS is switched and the old domain left (arm_smmu_attach_commit),
// with the RID's CD 0 cleared where `clear_rid_cd` says. Blocked or identity with
// PASIDs attached keeps the STE given (the kernel's CD-table STE with S1DSS
// is not modelled).
void attach_ste(ArmSmmuMaster& m, const AttachTarget& t);

}  // namespace smmu::driver
