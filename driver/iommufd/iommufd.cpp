#include "driver/iommufd/iommufd.h"

#include <algorithm>
#include <cerrno>

namespace smmu::driver {

using namespace arch;

// ---------------------------------------------------------------- paging HWPT

HwptPaging::HwptPaging(Iommufd& ctx, ArmSmmuDevice& smmu, DomainStage stage, Granule granule, unsigned ias,
                       bool nest_parent, std::optional<unsigned> fixed_vmid, const PageTableOptions& opts)
    : ctx_(ctx),
      pgtbl_(std::make_unique<PageTable>(smmu.bus().memory(), smmu.arena(), stage == DomainStage::S1 ? 1 : 2,
                                         granule, ias, opts)),
      domain_(stage, *pgtbl_, ctx.scheme(), nest_parent) {
    if (stage == DomainStage::S1)
        domain_.finalise_s1(smmu, ctx.asids);
    else
        domain_.finalise_s2(smmu, ctx.profile == VmidProfile::PerS2Domain, fixed_vmid);
}

void HwptPaging::map(uint64_t iova, uint64_t pa, uint64_t size, const PageAttrs& attrs, uint64_t leaf) {
    pgtbl_->map(iova, pa, size, attrs, leaf);
}

uint64_t HwptPaging::unmap(uint64_t iova, uint64_t size, bool queued) {
    driver::IotlbGather gather([&](uint64_t start, uint64_t len, uint64_t pgsize) {
        domain_.tlb_inv_range(start, len, pgsize, true);  // arm_smmu_iotlb_sync
    });
    const uint64_t removed = pgtbl_->unmap(iova, size, [&](uint64_t in, uint64_t leaf) {
        if (!queued) gather.add_page(in, leaf);  // a queued gather: the flush queue invalidates later
    });
    gather.sync();
    return removed;
}

void HwptPaging::destroy() {
    domain_.free(ctx_.asids);  // the flush: arm_smmu_tlb_inv_context
    pgtbl_->free_tables();     // then the tables: free_io_pgtable_ops
}

// ---------------------------------------------------------------- vIOMMU

Viommu::Viommu(Iommufd& ctx, ArmSmmuDevice& smmu, HwptPaging& s2_parent, std::optional<unsigned> fixed_vmid)
    : ctx_(ctx), smmu_(smmu), s2_(s2_parent) {
    if (ctx.profile == VmidProfile::PerS2Domain) {
        if (s2_parent.domain().smmu() != &smmu)
            throw KernelError(-EINVAL, "arm_vsmmu_init: the S2 parent domain belongs to " +
                                           (s2_parent.domain().smmu() ? s2_parent.domain().smmu()->name()
                                                                      : std::string("no SMMU")) +
                                           ", not to " + smmu.name() +
                                           " (mainline: one S2 per SMMU instance, -EINVAL; per-viommu VMIDs allow it)");
        vmid_ = s2_parent.domain().vmid_on(smmu);
        return;
    }
    if (fixed_vmid) {
        smmu.vmid_ida().reserve(*fixed_vmid);
        vmid_ = static_cast<uint16_t>(*fixed_vmid);
    } else {
        vmid_ = static_cast<uint16_t>(smmu.vmid_ida().alloc());
    }
    s2_parent.domain().add_vmid_user(smmu, vmid_, true);
}

void Viommu::add_vdevice(uint32_t vsid, ArmSmmuMaster& m) {
    remove_vdevice(vsid);  // a vSID taken again (a config built in C++ may leave them 0): the last one wins
    vdevs_[vsid] = &m;
    ++vdev_count_[&m];
}

void Viommu::remove_vdevice(uint32_t vsid) {
    auto it = vdevs_.find(vsid);
    if (it == vdevs_.end()) return;
    auto n = vdev_count_.find(it->second);
    if (--n->second == 0) vdev_count_.erase(n);
    vdevs_.erase(it);
}

bool Viommu::has_vdevice(const ArmSmmuMaster& m) const { return vdev_count_.count(&m) != 0; }

void Viommu::destroy() {
    if (ctx_.profile == VmidProfile::PerS2Domain) return;
    smmu_.issue_cmd_with_sync(Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, vmid_}}));
    smmu_.vmid_ida().free(vmid_);
    s2_.domain().remove_vmid_user(smmu_, vmid_);
    vmid_ = 0;
}

ArmSmmuMaster* Viommu::find_vdevice(uint32_t vsid) const {
    auto it = vdevs_.find(vsid);
    return it == vdevs_.end() ? nullptr : it->second;
}

Viommu::InvalidateResult Viommu::cache_invalidate(std::vector<Command> cmds) {
    ctx_.ioctl();
    InvalidateResult r;
    std::size_t last = 0, cur = 0;
    while (cur != cmds.size()) {
        // arm_vsmmu_convert_user_cmd
        Command& c = cmds[cur];
        switch (static_cast<Opcode>(c.opcode())) {
            case Opcode::TLBI_NSNH_ALL: c = Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, vmid_}}); break;
            case Opcode::TLBI_NH_VA:
            case Opcode::TLBI_NH_VAA:
            case Opcode::TLBI_NH_ALL:
            case Opcode::TLBI_NH_ASID: c.set(cmd::VMID, vmid_); break;
            case Opcode::ATC_INV:
            case Opcode::CFGI_CD:
            case Opcode::CFGI_CD_ALL: {
                const ArmSmmuMaster* m = find_vdevice(static_cast<uint32_t>(c.get(cmd::SID)));
                if (!m) {
                    r.err = -EIO;
                    r.why = std::string(c.info()->name) + " names vSID " + hex(c.get(cmd::SID)) +
                            ", which no vDEVICE of this vIOMMU has";
                    // Converted commands since the last run are counted, not issued (as the kernel does).
                    r.entry_num = static_cast<uint32_t>(cur);
                    return r;
                }
                c.set(cmd::SID, m->sids.front());
                break;
            }
            default:
                r.err = -EIO;
                r.why = std::string(c.info() ? c.info()->name : "opcode " + std::to_string(c.opcode())) +
                        " is not allowed through VIOMMU_INVALIDATE";
                r.entry_num = static_cast<uint32_t>(cur);
                return r;
        }
        ++cur;
        if (cur != cmds.size() && cur - last != ArmSmmuDevice::kCmdqBatchEntries - 1) continue;
        const int ret = smmu_.issue_cmdlist(
            std::vector<Command>(cmds.begin() + static_cast<long>(last), cmds.begin() + static_cast<long>(cur)), true);
        if (ret) {
            // "if (ret) { cur--; goto out; }": the whole run was issued, entry_num counts one less.
            r.err = ret;
            r.why = "the CMD_SYNC after commands " + std::to_string(last) + ".." + std::to_string(cur - 1) +
                    " timed out (arm_smmu_cmdq_issue_cmdlist)";
            r.entry_num = static_cast<uint32_t>(cur - 1);
            return r;
        }
        last = cur;
    }
    r.entry_num = static_cast<uint32_t>(cur);
    return r;
}

// ---------------------------------------------------------------- nested HWPT

void validate_vste(const Ste& vste) {
    // STRTAB_STE_0_NESTING_ALLOWED and STRTAB_STE_1_NESTING_ALLOWED.
    static const FieldDef allowed[] = {ste::V,     ste::Config, ste::S1Fmt, ste::S1ContextPtr, ste::S1CDMax, ste::S1DSS,
                                       ste::S1CIR, ste::S1COR,  ste::S1CSH, ste::S1STALLD,     ste::EATS};
    if (!vste.valid()) return;  // a V=0 vSTE is zeroed: an abort STE results
    Ste rest = vste;
    for (const FieldDef& f : allowed) rest.set(f, 0);
    for (const FieldDef& f : ste::kAll)
        if (f.word < 2 && rest.get(f) != 0)
            throw KernelError(-EIO, "vSTE field " + std::string(f.name) +
                                        " is not allowed (the kernel rejects the nested domain with -EIO; allowed: "
                                        "V, Config, S1Fmt, S1ContextPtr, S1CDMax, S1DSS, S1CIR, S1COR, S1CSH, "
                                        "S1STALLD, EATS)");
    if ((rest.w[0] | rest.w[1]) != 0) throw KernelError(-EIO, "vSTE has reserved bits set (-EIO)");
    const uint64_t config = vste.get(ste::Config);
    if (config != 0 && config != static_cast<uint64_t>(SteConfig::Bypass) &&
        config != static_cast<uint64_t>(SteConfig::S1Trans))
        throw KernelError(-EIO, "vSTE Config " + std::to_string(config) +
                                    " is not ABORT, BYPASS or S1_TRANS (the kernel rejects it with -EIO)");
    const uint64_t eats = vste.get(ste::EATS);
    if (eats != 0 && eats != 1)
        throw KernelError(-EIO, "vSTE EATS " + std::to_string(eats) + " is not ABT or TRANS (-EIO)");
}

HwptNested::HwptNested(Viommu& viommu, const Ste& vste) : viommu_(viommu), vste_(vste) {
    validate_vste(vste);
    if (!vste_.valid()) vste_ = Ste{};
    enable_ats_ = vste_.config() == SteConfig::S1Trans && vste_.get(ste::EATS) == 1;
    vste_.set(ste::EATS, 0);
}

Ste HwptNested::make_ste(bool stall_enabled) const {
    ArmSmmuDevice& smmu = viommu_.smmu();
    const Features& f = smmu.features();
    PageTable& s2 = viommu_.s2_parent().pgtbl();
    const SteConfig cfg = vste_.valid() ? vste_.config() : SteConfig::Abort;
    switch (cfg) {
        case SteConfig::S1Trans: {
            // arm_smmu_make_nested_cd_table_ste: the S2 STE, Config NESTED,
            // the vSTE's words merged in, MEV for DoS mitigation.
            Ste s = make_s2_domain_ste(f, s2, viommu_.vmid(), enable_ats_, stall_enabled);
            s.w[0] = vste_.w[0];
            s.set(ste::Config, static_cast<uint64_t>(SteConfig::Nested));
            s.w[1] |= vste_.w[1];
            s.set(ste::MEV, 1);
            return s;
        }
        case SteConfig::Bypass:  // the proxy identity S1
            return make_s2_domain_ste(f, s2, viommu_.vmid(), false, stall_enabled);
        default: return make_abort_ste();
    }
}

void attach_dev_nested(ArmSmmuMaster& m, HwptNested& nested) {
    if (m.smmu != &nested.viommu().smmu())
        throw KernelError(-EINVAL, "arm_smmu_attach_dev_nested: the vIOMMU is on " + nested.viommu().smmu().name() +
                                       ", the device behind " + m.smmu->name() + " (-EINVAL)");
    if (ssids_in_use(m))
        throw KernelError(-EBUSY, "arm_smmu_attach_dev_nested: PASIDs are attached (arm_smmu_ssids_in_use, -EBUSY)");
    const bool translating = nested.vste().valid() && nested.vste().config() == SteConfig::S1Trans;
    // arm_smmu_attach_prepare_vmaster: an ABORT or BYPASS vSTE needs no vmaster.
    if (translating && !nested.viommu().has_vdevice(m))
        throw KernelError(-ENOENT, "arm_smmu_attach_prepare_vmaster: the device has no vDEVICE on this vIOMMU "
                                   "(an S1_TRANS vSTE needs one, -ENOENT)");
    AttachTarget t;
    t.ste = nested.make_ste(m.stall_enabled);
    t.domain = &nested.viommu().s2_parent().domain();
    t.nested_ats_flush = nested.enable_ats();
    t.want_ats = translating && nested.enable_ats();
    t.clear_rid_cd = AttachTarget::ClearCd::No;
    attach_ste(m, t);
}

void attach_dev_paging(ArmSmmuMaster& m, HwptPaging& hwpt, TableArena& arena) {
    ArmSmmuDomain& d = hwpt.domain();
    if (d.stage() == DomainStage::S1) {
        attach_s1(m, d, arena);
        return;
    }
    uint16_t vmid = d.vmid_on(*m.smmu);
    // Mainline finalises a domain on one SMMU; the per-vIOMMU proposal
    // gives the S2 a VMID of its own on each instance it is attached on.
    if (!vmid && d.scheme() == InvalidationScheme::Mainline)
        throw KernelError(-EINVAL, "arm_smmu_attach_dev: the domain belongs to " + d.smmu()->name() +
                                       ", the device is behind " + m.smmu->name() + " (-EINVAL)");
    // The S2 case, before anything is written or allocated.
    if (ssids_in_use(m))
        throw KernelError(-EBUSY, "arm_smmu_attach_dev: PASIDs are attached (arm_smmu_ssids_in_use, -EBUSY)");
    if (!vmid) vmid = d.alloc_vmid_on(*m.smmu);
    AttachTarget t;
    t.ste = make_s2_domain_ste(m.smmu->features(), hwpt.pgtbl(), vmid, true, m.stall_enabled);
    t.domain = &d;
    t.want_ats = true;
    t.clear_rid_cd = AttachTarget::ClearCd::BeforeCommit;
    attach_ste(m, t);
}

}  // namespace smmu::driver
