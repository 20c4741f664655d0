// The iommufd object layer for arm-smmu-v3 (drivers/iommu/iommufd/ and
// arm-smmu-v3-iommufd.c at torvalds/linux 056daec2): paging HWPTs (a VM's
// stage 2, possibly a nesting parent), vIOMMUs (struct arm_vsmmu), vDEVICEs
// (vSID -> physical SID), nested HWPTs made from a guest's vSTE, their
// attach, and VIOMMU_INVALIDATE (arm_vsmmu_cache_invalidate). Two profiles:
//  - VmidProfile::PerS2Domain (mainline): the S2 domain owns the VMID on the
//    one SMMU it was finalised on; a vIOMMU copies it (arm_vsmmu_init), and
//    an S2 parent on another SMMU is -EINVAL.
//  - VmidProfile::PerViommu (the proposal behind arm_vsmmu_init's FIXME, on
//    the "invs" series): each vIOMMU allocates a VMID of its own on its SMMU;
//    the S2 may be shared across instances and is invalidated for every VMID
//    that uses it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/arm_smmu_v3/domain.h"

namespace smmu::driver {

enum class VmidProfile { PerS2Domain, PerViommu };

// CPU time of the software around the driver (ns).
struct IommufdCosts {
    double ioctl_ns = 1000;  // entering and leaving one iommufd ioctl (syscall, object lookup, copy from user)
    double trap_ns = 2000;   // a guest's access to its vSMMU trapping to the VMM (exit, emulation, return)
};

// The iommufd context (one open /dev/iommu): profile, costs, the global ASID
// space (arm_smmu_asid_xa) and the CPU the ioctls run on.
struct Iommufd {
    Iommufd(VmidProfile p, IommufdCosts c, HostBus& cpu, unsigned asid_bits = 16)
        : profile(p), costs(c), cpu(cpu), asids("ASIDs", 1, (1u << asid_bits) - 1) {}
    InvalidationScheme scheme() const {
        return profile == VmidProfile::PerS2Domain ? InvalidationScheme::Mainline : InvalidationScheme::InvsArray;
    }
    void ioctl() { cpu.cpu(costs.ioctl_ns); }

    VmidProfile profile;
    IommufdCosts costs;
    HostBus& cpu;
    Ida asids;
};

// IOMMU_HWPT_ALLOC of a paging domain: an io-pgtable and its arm-smmu-v3
// domain, finalised on the device's SMMU.
class HwptPaging {
public:
    HwptPaging(Iommufd& ctx, ArmSmmuDevice& smmu, DomainStage stage, arch::Granule granule, unsigned ias,
               bool nest_parent, std::optional<unsigned> fixed_vmid = {}, const PageTableOptions& opts = {});
    ArmSmmuDomain& domain() { return domain_; }
    PageTable& pgtbl() { return *pgtbl_; }

    // Maps: new entries need no invalidation.
    void map(uint64_t iova, uint64_t pa, uint64_t size, const PageAttrs& attrs, uint64_t leaf = 0);
    // iommu_unmap: io-pgtable clears the leaves into an iotlb gather
    // (iommu_iotlb_gather_add_page syncs when the page size changes or the
    // range is disjoint), then iommu_iotlb_sync -> arm_smmu_iotlb_sync.
    // With `queued` (a flush-queue DMA domain) nothing is invalidated.
    // Returns the bytes unmapped.
    uint64_t unmap(uint64_t iova, uint64_t size, bool queued = false);
    // IOMMU_DESTROY: arm_smmu_domain_free_paging.
    void destroy();

private:
    Iommufd& ctx_;
    std::unique_ptr<PageTable> pgtbl_;
    ArmSmmuDomain domain_;
};

// struct arm_vsmmu: a VM's presence on one SMMU instance.
class Viommu {
public:
    // arm_vsmmu_init: PerS2Domain needs the S2 parent on this instance
    // (KernelError -EINVAL otherwise) and takes its VMID; PerViommu allocates
    // one (-ENOSPC when the instance has none left).
    Viommu(Iommufd& ctx, ArmSmmuDevice& smmu, HwptPaging& s2_parent, std::optional<unsigned> fixed_vmid = {});
    ArmSmmuDevice& smmu() { return smmu_; }
    HwptPaging& s2_parent() { return s2_; }
    uint16_t vmid() const { return vmid_; }

    // IOMMU_VDEVICE_ALLOC: vSID -> the master's first StreamID.
    void add_vdevice(uint32_t vsid, ArmSmmuMaster& m);
    // IOMMU_DESTROY of a vDEVICE: its vSID no longer converts.
    void remove_vdevice(uint32_t vsid);
    ArmSmmuMaster* find_vdevice(uint32_t vsid) const;
    // iommufd_viommu_get_vdev_id: whether `m` has a vDEVICE here.
    bool has_vdevice(const ArmSmmuMaster& m) const;

    // IOMMU_DESTROY (iommufd_viommu_destroy): arm_vsmmu_ops has no destroy
    // op in mainline, where the VMID is the S2 domain's. Under PerViommu the
    // vIOMMU's own VMID is flushed like a freed S2 domain's
    // (arm_smmu_tlb_inv_context: [TLBI_S12_VMALL, SYNC]) and only then goes
    // back to the IDA.
    void destroy();

    // IOMMU_HWPT_INVALIDATE on the vIOMMU (arm_vsmmu_cache_invalidate): each
    // guest command converted (arm_vsmmu_convert_user_cmd), issued in runs of
    // CMDQ_BATCH_ENTRIES - 1 each with its CMD_SYNC. Returns entry_num (how
    // many were handled) and the error (0; -EIO with `why`; -ETIMEDOUT when a
    // run's CMD_SYNC timed out, entry_num then one short of that run's end).
    struct InvalidateResult {
        uint32_t entry_num = 0;
        int err = 0;
        std::string why;
    };
    InvalidateResult cache_invalidate(std::vector<arch::Command> cmds);

private:
    Iommufd& ctx_;
    ArmSmmuDevice& smmu_;
    HwptPaging& s2_;
    uint16_t vmid_ = 0;
    std::map<uint32_t, ArmSmmuMaster*> vdevs_;
    // vSIDs per master, so has_vdevice() does not scan vdevs_ (one attach
    // per device: quadratic in a vIOMMU's devices otherwise).
    std::map<const ArmSmmuMaster*, unsigned> vdev_count_;
};

// The kernel's vSTE check (arm_smmu_validate_vste): KernelError(-EIO) naming
// the field when a bit outside STRTAB_STE_0/1_NESTING_ALLOWED is set, Config
// is not ABORT, BYPASS or S1_TRANS, or EATS is not ABT or TRANS.
void validate_vste(const arch::Ste& vste);

// IOMMU_HWPT_ALLOC of a nested domain under a vIOMMU, from a vSTE.
class HwptNested {
public:
    HwptNested(Viommu& viommu, const arch::Ste& vste);
    Viommu& viommu() { return viommu_; }
    const arch::Ste& vste() const { return vste_; }
    bool enable_ats() const { return enable_ats_; }
    // arm_smmu_make_nested_domain_ste for a master with `stall_enabled`
    // (master->stall_enabled: STE.S2S on the S1_TRANS and BYPASS STEs).
    arch::Ste make_ste(bool stall_enabled = false) const;

private:
    Viommu& viommu_;
    arch::Ste vste_;  // validated, EATS cleared
    bool enable_ats_ = false;
};

// arm_smmu_attach_dev_nested: -EINVAL when the vIOMMU is on another SMMU,
// -ENOENT for an S1_TRANS vSTE of a master without a vDEVICE there
// (arm_smmu_attach_prepare_vmaster); the STE from the vSTE, the master on
// the S2 parent's device list.
void attach_dev_nested(ArmSmmuMaster& m, HwptNested& nested);
// Direct attach of a paging HWPT (arm_smmu_attach_dev): S2 or S1.
void attach_dev_paging(ArmSmmuMaster& m, HwptPaging& hwpt, TableArena& arena);

}  // namespace smmu::driver
