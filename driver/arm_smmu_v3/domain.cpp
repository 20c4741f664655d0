#include "driver/arm_smmu_v3/domain.h"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <tuple>

namespace smmu::driver {

using namespace arch;

namespace {
unsigned ilog2(uint64_t v) { return 63 - static_cast<unsigned>(__builtin_clzll(v)); }
unsigned ffs0(uint64_t v) { return static_cast<unsigned>(__builtin_ctzll(v)); }  // __ffs
constexpr uint64_t kRangeNumMax = 31;  // CMDQ_TLBI_RANGE_NUM_MAX
constexpr uint64_t kAtcInvSizeAll = 52;

// arm_smmu_atc_inv_master: the whole ATC of `ssid` (SSV 0: every PASID) at
// every StreamID, then SYNC.
void atc_inv_master(ArmSmmuMaster& m, uint32_t ssid) {
    CmdqBatch batch(*m.smmu);
    Command c = atc_inv_to_cmd(ssid, 0, 0);
    for (uint32_t sid : m.sids) {
        c.set(cmd::SID, sid);
        batch.add(c);
    }
    batch.submit();
}
}  // namespace

// ---------------------------------------------------------------- finalise, users, masters

void ArmSmmuDomain::finalise_s1(ArmSmmuDevice& smmu, Ida& asids) {
    smmu_ = &smmu;
    asid_ = static_cast<uint16_t>(asids.alloc());
}

void ArmSmmuDomain::finalise_s2(ArmSmmuDevice& smmu, bool alloc_vmid, std::optional<unsigned> fixed_vmid) {
    smmu_ = &smmu;
    if (!alloc_vmid && !fixed_vmid) return;
    unsigned vmid = 0;
    if (fixed_vmid) {
        smmu.vmid_ida().reserve(*fixed_vmid);
        vmid = *fixed_vmid;
    } else {
        vmid = smmu.vmid_ida().alloc();
    }
    vmid_users_.insert(vmid_users_.begin(), VmidUser{&smmu, static_cast<uint16_t>(vmid), false, true});
}

uint16_t ArmSmmuDomain::vmid_on(const ArmSmmuDevice& smmu) const {
    for (const VmidUser& u : vmid_users_)
        if (u.smmu == &smmu && u.own) return u.vmid;
    return 0;
}

uint16_t ArmSmmuDomain::alloc_vmid_on(ArmSmmuDevice& smmu) {
    if (const uint16_t v = vmid_on(smmu)) return v;
    const auto v = static_cast<uint16_t>(smmu.vmid_ida().alloc());
    vmid_users_.push_back({&smmu, v, false, true});
    return v;
}

void ArmSmmuDomain::add_vmid_user(ArmSmmuDevice& smmu, uint16_t vmid, bool s1_clear) {
    for (VmidUser& u : vmid_users_)
        if (u.smmu == &smmu && u.vmid == vmid) {
            u.s1_clear = u.s1_clear || s1_clear;
            return;
        }
    vmid_users_.push_back({&smmu, vmid, s1_clear});
}

void ArmSmmuDomain::remove_vmid_user(const ArmSmmuDevice& smmu, uint16_t vmid) {
    vmid_users_.erase(std::remove_if(vmid_users_.begin(), vmid_users_.end(),
                                     [&](const VmidUser& u) { return u.smmu == &smmu && u.vmid == vmid; }),
                      vmid_users_.end());
}

void ArmSmmuDomain::add_master(ArmSmmuMaster& m, uint32_t ssid, bool nested_ats_flush) {
    // arm_smmu_attach_prepare: list_add(&master_domain->devices_elm, &smmu_domain->devices).
    devices_.insert(devices_.begin(), {&m, ssid, nested_ats_flush});
}

void ArmSmmuDomain::remove_master(const ArmSmmuMaster& m, uint32_t ssid, bool nested_ats_flush) {
    auto it = std::find_if(devices_.begin(), devices_.end(), [&](const MasterDomain& md) {
        return md.master == &m && md.ssid == ssid && md.nested_ats_flush == nested_ats_flush;
    });
    if (it != devices_.end()) devices_.erase(it);
}

// ---------------------------------------------------------------- invalidation

Command atc_inv_to_cmd(uint32_t ssid, uint64_t iova, uint64_t size) {
    Command c = Command::make(Opcode::ATC_INV, {{cmd::SSV, ssid != 0}, {cmd::SSID, ssid}});
    if (!size) {
        c.set(cmd::AtcSize, kAtcInvSizeAll);
        return c;
    }
    uint64_t ps = iova >> 12;
    const uint64_t pe = (iova + size - 1) >> 12;
    const unsigned log2_span = (ps ^ pe) ? ilog2(ps ^ pe) + 1 : 0;  // fls_long
    ps &= ~((uint64_t{1} << log2_span) - 1);
    c.set(cmd::AtcAddr, ps << 12);
    c.set(cmd::AtcSize, log2_span);
    return c;
}

void tlbi_range_cmds(Command cmd, uint64_t iova, uint64_t size, uint64_t granule, unsigned tg, bool range_inv,
                     const std::function<void(const Command&)>& emit) {
    if (!size) return;
    const uint64_t end = iova + size;
    uint64_t inv_range = granule, num_pages = 0;
    if (range_inv) {
        num_pages = size >> tg;
        cmd.set(cmd::TG, (tg - 10) / 2);  // page size 12, 14, 16 (log2) -> 1, 2, 3
        if (cmd.get(cmd::Leaf))
            cmd.set(cmd::TTL, 4 - ((ilog2(granule) - 3) / (tg - 3)));  // the leaves' level
        else if ((num_pages & kRangeNumMax) == 1)
            ++num_pages;  // non-leaf: avoid SCALE = NUM = 0
    }
    const FieldDef& addr = static_cast<Opcode>(cmd.opcode()) == Opcode::TLBI_S2_IPA ? cmd::IPA : cmd::VA;
    while (iova < end) {
        if (range_inv) {
            // Each command: 5 bits' worth of the aligned size remaining.
            const unsigned scale = ffs0(num_pages);
            const uint64_t num = (num_pages >> scale) & kRangeNumMax;
            cmd.set(cmd::SCALE, scale);
            cmd.set(cmd::NUM, num - 1);
            inv_range = num << (scale + tg);
            num_pages -= num << scale;
        }
        cmd.set(addr, iova);
        emit(cmd);
        iova += inv_range;
    }
}

void IotlbGather::add_page(uint64_t iova, uint64_t size) {
    const bool disjoint = end_ != 0 && (iova + size < start_ || iova > end_ + 1);
    if ((pgsize_ && pgsize_ != size) || disjoint) sync();
    pgsize_ = size;
    start_ = std::min(start_, iova);
    end_ = std::max(end_, iova + size - 1);
}

void IotlbGather::sync() {
    if (pgsize_) sync_(start_, end_ - start_ + 1, pgsize_);
    start_ = ~uint64_t{0};
    end_ = 0;
    pgsize_ = 0;
}

Command ArmSmmuDomain::tlbi_cmd(const InvTarget& t, bool leaf) const {
    // S1: TLBI_NH_VA with the ASID (VMID 0; no E2H: the host kernel is at EL1).
    if (t.type == InvTarget::S1Asid) return Command::make(Opcode::TLBI_NH_VA, {{cmd::ASID, t.id}, {cmd::Leaf, leaf}});
    return Command::make(Opcode::TLBI_S2_IPA, {{cmd::VMID, t.id}, {cmd::Leaf, leaf}});
}

std::vector<InvTarget> ArmSmmuDomain::invs() const {
    std::vector<InvTarget> out;
    if (stage_ == DomainStage::S1) {
        out.push_back({InvTarget::S1Asid, smmu_, asid_});
    } else {
        for (const VmidUser& u : vmid_users_) {
            out.push_back({InvTarget::S2Vmid, u.smmu, u.vmid});
            if (u.s1_clear) out.push_back({InvTarget::S2VmidS1Clear, u.smmu, u.vmid});
        }
    }
    for (const MasterDomain& md : devices_) {
        if (!md.master->ats_enabled) continue;
        for (uint32_t sid : md.master->sids)
            out.push_back({md.nested_ats_flush ? InvTarget::AtsFull : InvTarget::Ats, md.master->smmu, sid, md.ssid});
    }
    // Sorted by instance, then type, then ID (arm_smmu_invs_cmp); instances
    // in the order they were first used.
    std::vector<const ArmSmmuDevice*> order;
    for (const InvTarget& t : out)
        if (std::find(order.begin(), order.end(), t.smmu) == order.end()) order.push_back(t.smmu);
    auto rank = [&](const ArmSmmuDevice* s) { return std::find(order.begin(), order.end(), s) - order.begin(); };
    std::stable_sort(out.begin(), out.end(), [&](const InvTarget& a, const InvTarget& b) {
        return std::make_tuple(rank(a.smmu), a.type, a.id, a.ssid) < std::make_tuple(rank(b.smmu), b.type, b.id, b.ssid);
    });
    return out;
}

void ArmSmmuDomain::tlb_inv_range(uint64_t iova, uint64_t size, uint64_t granule, bool leaf) {
    if (scheme_ == InvalidationScheme::Mainline)
        inv_range_mainline(iova, size, granule, leaf);
    else
        inv_range_invs(iova, size, granule, leaf);
}

void ArmSmmuDomain::inv_range_mainline(uint64_t iova, uint64_t size, uint64_t granule, bool leaf) {
    // arm_smmu_tlb_inv_range_domain (6.18): the domain's one ASID or VMID.
    const InvTarget t = stage_ == DomainStage::S1 ? InvTarget{InvTarget::S1Asid, smmu_, asid_}
                                                  : InvTarget{InvTarget::S2Vmid, smmu_, vmid_on(*smmu_)};
    if (size) {
        CmdqBatch batch(*smmu_);
        tlbi_range_cmds(tlbi_cmd(t, leaf), iova, size, granule, ffs0(granule_bytes(pgtbl_.granule())),
                        smmu_->features().range_inv, [&](const Command& c) { batch.add(c); });
        batch.submit();
    }
    // "When the S2 domain changes all the nested S1 ASIDs have to be flushed too."
    if (nest_parent_) smmu_->issue_cmd_with_sync(Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, t.id}}));
    // "Unfortunately, this can't be leaf-only since we may have zapped an entire table."
    atc_inv_domain(iova, size);
}

void ArmSmmuDomain::inv_range_invs(uint64_t iova, uint64_t size, uint64_t granule, bool leaf) {
    // arm_smmu_domain_inv_range: one batch per instance, ended (submitted
    // with its SYNC) when the instance changes, before the first
    // S2_VMID_S1_CLEAR and before the first ATS target.
    const std::vector<InvTarget> list = invs();
    if (list.empty()) return;
    std::unique_ptr<CmdqBatch> batch;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const InvTarget& t = list[i];
        if (!batch) batch = std::make_unique<CmdqBatch>(*t.smmu);
        const Features& f = t.smmu->features();
        // arm_smmu_inv_size_too_big: without RIL, >= 512 per-granule commands (2 MiB of 4K).
        const bool too_big = !size || (!f.range_inv && size >= (uint64_t{1} << (ilog2(granule) - 3)) * granule);
        switch (t.type) {
            case InvTarget::S1Asid:
            case InvTarget::S2Vmid:
                if (too_big) {
                    t.smmu->issue_cmd_with_sync(t.type == InvTarget::S1Asid
                                                    ? Command::make(Opcode::TLBI_NH_ASID, {{cmd::ASID, t.id}})
                                                    : Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, t.id}}));
                } else {
                    tlbi_range_cmds(tlbi_cmd(t, leaf), iova, size, granule, ffs0(granule_bytes(pgtbl_.granule())),
                                    f.range_inv, [&](const Command& c) { batch->add(c); });
                }
                break;
            case InvTarget::S2VmidS1Clear:
                if (!too_big) batch->add(Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, t.id}}));
                break;
            case InvTarget::Ats:
            case InvTarget::AtsFull: {
                Command c = t.type == InvTarget::Ats ? atc_inv_to_cmd(t.ssid, iova, size) : atc_inv_to_cmd(0, 0, 0);
                c.set(cmd::SID, t.id);
                batch->add(c);
                break;
            }
        }
        const InvTarget* next = i + 1 < list.size() ? &list[i + 1] : nullptr;
        // arm_smmu_invs_end_batch
        const bool end = !next || next->smmu != t.smmu ||
                         (t.type != InvTarget::S2VmidS1Clear && next->type == InvTarget::S2VmidS1Clear) ||
                         (t.type < InvTarget::Ats && next->type >= InvTarget::Ats);
        if (end) {
            // A batch left empty (its targets were whole-VMID/ASID commands,
            // already synced) is not submitted: no lone CMD_SYNC. (The patch
            // mail read does not show this case; a lone SYNC would be harmless.)
            if (!batch->empty()) batch->submit();
            batch.reset();
        }
    }
}

void ArmSmmuDomain::tlb_inv_context() {
    if (scheme_ == InvalidationScheme::InvsArray) {
        // arm_smmu_domain_inv: the whole range of every target.
        inv_range_invs(0, 0, 0, false);
        return;
    }
    // arm_smmu_tlb_inv_context: S1 arm_smmu_tlb_inv_asid; S2 TLBI_S12_VMALL; then the ATCs.
    if (stage_ == DomainStage::S1)
        smmu_->issue_cmd_with_sync(Command::make(Opcode::TLBI_NH_ASID, {{cmd::ASID, asid_}}));
    else
        smmu_->issue_cmd_with_sync(Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, vmid_on(*smmu_)}}));
    atc_inv_domain(0, 0);
}

void ArmSmmuDomain::atc_inv_domain(uint64_t iova, uint64_t size) {
    if (!smmu_ || !smmu_->features().ats) return;
    unsigned nr_ats_masters = 0;
    for (const MasterDomain& md : devices_) nr_ats_masters += md.master->ats_enabled;
    if (!nr_ats_masters) return;
    CmdqBatch batch(*smmu_);
    for (const MasterDomain& md : devices_) {
        if (!md.master->ats_enabled) continue;
        // "If a S2 used as a nesting parent is changed we have no option but to completely flush the ATC."
        Command c = md.nested_ats_flush ? atc_inv_to_cmd(0, 0, 0) : atc_inv_to_cmd(md.ssid, iova, size);
        for (uint32_t sid : md.master->sids) {
            c.set(cmd::SID, sid);
            batch.add(c);
        }
    }
    batch.submit();
}

void ArmSmmuDomain::free(Ida& asids) {
    if (smmu_) tlb_inv_context();  // free_io_pgtable_ops -> io_pgtable_tlb_flush_all
    if (stage_ == DomainStage::S1) {
        if (asid_) asids.free(asid_);
    } else {
        for (const VmidUser& u : vmid_users_)
            if (u.own) u.smmu->vmid_ida().free(u.vmid);
    }
    smmu_ = nullptr;
    vmid_users_.clear();
}

// ---------------------------------------------------------------- attach

namespace {
constexpr unsigned kCdLeafSplit = 6;  // 4K leaves of 64 CDs

// arm_smmu_get_cd_ptr: the CD slot of `ssid`; 0 when the table, or its
// 2-level leaf, is not allocated.
uint64_t cd_ptr(const ArmSmmuMaster& m, uint32_t ssid) {
    if (!m.cdtab) return 0;
    if (m.cd_fmt == CdTableFormat::Linear) return m.cdtab + uint64_t{ssid} * ContextDescriptor::kBytes;
    const uint32_t l1 = ssid >> kCdLeafSplit;
    if (l1 >= m.cd_leaves.size() || !m.cd_leaves[l1]) return 0;
    return m.cd_leaves[l1] + (ssid & ((1u << kCdLeafSplit) - 1)) * ContextDescriptor::kBytes;
}

// arm_smmu_alloc_cd_ptr: the CD slot of `ssid`, allocating the table (and a
// 2-level leaf, with its L1 descriptor and a non-leaf CFGI_CD) on first use.
uint64_t cd_slot(ArmSmmuMaster& m, uint32_t ssid, TableArena& arena) {
    if (!m.cdtab) {
        const bool two_level = m.cd_fmt != CdTableFormat::Linear;
        const uint64_t bytes = two_level
                                   ? (uint64_t{1} << (m.s1cdmax > kCdLeafSplit ? m.s1cdmax - kCdLeafSplit : 0)) * 8
                                   : (uint64_t{1} << m.s1cdmax) * ContextDescriptor::kBytes;
        m.cdtab = arena.alloc(bytes, std::max<uint64_t>(bytes, 64));
    }
    if (const uint64_t slot = cd_ptr(m, ssid)) return slot;
    // A 2-level table without the leaf of `ssid`.
    const uint32_t l1 = ssid >> kCdLeafSplit;
    if (m.cd_leaves.size() <= l1) m.cd_leaves.resize(l1 + 1, 0);
    const uint64_t bytes = (uint64_t{1} << kCdLeafSplit) * ContextDescriptor::kBytes;
    m.cd_leaves[l1] = arena.alloc(bytes, bytes);
    L1CdDescriptor d;
    d.set(l1cd::L2Ptr, m.cd_leaves[l1]);
    d.set(l1cd::V, 1);
    m.smmu->bus().memory().write64(m.cdtab + uint64_t{l1} * 8, d.w[0]);
    CmdqBatch batch(*m.smmu);  // arm_smmu_sync_cd(master, ssid, false)
    for (uint32_t sid : m.sids) batch.add(Command::make(Opcode::CFGI_CD, {{cmd::SID, sid}, {cmd::SSID, ssid}}));
    batch.submit();
    return cd_ptr(m, ssid);
}

// arm_smmu_clear_cd: the CD of `ssid` written invalid when the master has
// it (arm_smmu_cdtab_allocated, arm_smmu_get_cd_ptr); nothing is written,
// and no CFGI_CD sent, when it is invalid already (arm_smmu_write_entry).
void clear_cd(ArmSmmuMaster& m, uint32_t ssid) {
    if (const uint64_t slot = cd_ptr(m, ssid)) m.smmu->write_cd(m.sids, ssid, slot, ContextDescriptor{});
}

// arm_smmu_install_ste_for_dev: cd_table.in_ste and ste_ats_enabled from
// the target, then each StreamID's STE once (bridged PCI devices may list
// one twice).
void install_ste_for_dev(ArmSmmuMaster& m, const Ste& ste) {
    m.cd_table_in_ste = ste.get(ste::Config) == static_cast<uint64_t>(SteConfig::S1Trans);
    m.ste_ats_enabled = ste.get(ste::EATS) == 1;  // STRTAB_STE_1_EATS_TRANS
    for (std::size_t i = 0; i < m.sids.size(); ++i)
        if (std::find(m.sids.begin(), m.sids.begin() + i, m.sids[i]) == m.sids.begin() + i)
            m.smmu->write_ste(m.sids[i], ste);
}

// struct arm_smmu_attach_state
struct AttachState {
    uint32_t ssid = 0;
    ArmSmmuDomain* old_domain = nullptr;
    bool old_nested_ats_flush = false;
    bool ats_enabled = false;
};

// arm_smmu_attach_prepare: ATS for the new attachment; the master joins the
// new domain's list before any hardware changes (both domains invalidate its
// ATC until commit); ATS switched off at the function before the STE drops
// EATS ("the config write for disabling ATS should complete before the STE is
// configured to generate UR").
AttachState attach_prepare(ArmSmmuMaster& m, ArmSmmuDomain* new_domain, uint32_t ssid, ArmSmmuDomain* old_domain,
                           bool old_nested_ats_flush, bool want_ats, bool nested_ats_flush) {
    AttachState st{ssid, old_domain, old_nested_ats_flush,
                   want_ats && m.ats_supported && m.smmu->features().ats};  // arm_smmu_ats_supported
    if (new_domain) new_domain->add_master(m, ssid, nested_ats_flush);
    if (!st.ats_enabled && m.ats_enabled) m.pci_ats_enabled = false;  // pci_disable_ats(); wmb()
    return st;
}

// arm_smmu_attach_commit: after the STE/CD carry the new EATS.
void attach_commit(ArmSmmuMaster& m, const AttachState& st) {
    if (st.ats_enabled && !m.ats_enabled) {
        // arm_smmu_enable_ats: "ATC invalidation of PASID 0 causes the entire ATC to be flushed", then pci_enable_ats.
        atc_inv_master(m, 0);
        m.pci_ats_enabled = true;
    } else if (st.ats_enabled && m.ats_enabled) {
        atc_inv_master(m, st.ssid);  // "The translation has changed, flush the ATC."
    } else if (!st.ats_enabled && m.ats_enabled) {
        atc_inv_master(m, 0);  // "ATS is being switched off, invalidate the entire ATC"
    }
    if (st.old_domain) st.old_domain->remove_master(m, st.ssid, st.old_nested_ats_flush);
    m.ats_enabled = st.ats_enabled;
}

// The SSID 0 attach: prepare, the writes, commit; the master's RID domain.
template <class Install>
void attach_rid(ArmSmmuMaster& m, ArmSmmuDomain* d, bool want_ats, bool nested_ats_flush, Install&& install) {
    const AttachState st = attach_prepare(m, d, 0, m.domain, m.nested_ats_flush, want_ats, nested_ats_flush);
    install(st.ats_enabled);
    attach_commit(m, st);
    m.domain = d;
    m.nested_ats_flush = nested_ats_flush;
}
}  // namespace

void attach_s1(ArmSmmuMaster& m, ArmSmmuDomain& d, TableArena& arena) {
    const uint64_t cd0 = cd_slot(m, 0, arena);  // arm_smmu_alloc_cd_ptr, before the prepare
    attach_rid(m, &d, true, false, [&](bool ats) {
        m.smmu->write_cd(m.sids, 0, cd0, make_s1_cd(m.smmu->features(), d.pgtbl(), d.asid(), m.stall_enabled));
        install_ste_for_dev(m, make_cdtable_ste(m.smmu->features(), CdTableRef{m.cdtab, m.cd_fmt, m.s1cdmax}, ats,
                                                S1Dss::Substream0, m.stall_enabled, m.prg_resp_needs_ssid));
    });
}

void set_pasid(ArmSmmuMaster& m, ArmSmmuDomain& d, uint32_t ssid, TableArena& arena, S1Dss rid_s1dss) {
    if (d.smmu() != m.smmu)
        throw KernelError(-EINVAL, "arm_smmu_set_pasid: the domain belongs to another SMMU (-EINVAL)");
    // The RID must translate through the CD table already, or be blocked or identity.
    if (!m.cd_table_in_ste && m.domain)
        throw KernelError(-EINVAL, "arm_smmu_set_pasid: the RID's domain does not use the CD table (-EINVAL)");
    const uint64_t slot = cd_slot(m, ssid, arena);  // arm_smmu_alloc_cd_ptr
    auto old = m.pasids.find(ssid);
    const AttachState st = attach_prepare(m, &d, ssid, old == m.pasids.end() ? nullptr : old->second, false, true, false);
    m.smmu->write_cd(m.sids, ssid, slot, make_s1_cd(m.smmu->features(), d.pgtbl(), d.asid(), m.stall_enabled));
    // arm_smmu_update_ste: hitless, only when the CD table is not in the STE yet or EATS changes.
    if (!m.cd_table_in_ste || m.ste_ats_enabled != st.ats_enabled)
        install_ste_for_dev(m, make_cdtable_ste(m.smmu->features(), CdTableRef{m.cdtab, m.cd_fmt, m.s1cdmax},
                                                st.ats_enabled, rid_s1dss, m.stall_enabled, m.prg_resp_needs_ssid));
    attach_commit(m, st);
    m.pasids[ssid] = &d;
}

bool ssids_in_use(const ArmSmmuMaster& m) { return !m.pasids.empty(); }

void probe_device(ArmSmmuMaster& m) {
    m.smmu->insert_master(m);
    m.prg_resp_needs_ssid = m.pri_supported && m.smmu->features().ssid_bits > 0 && m.pri_resp_pasid_required;
}

void attach_ste(ArmSmmuMaster& m, const AttachTarget& t) {
    attach_rid(m, t.domain, t.want_ats, t.nested_ats_flush, [&](bool ats) {
        Ste ste = t.ste;
        if (!ats) ste.set(ste::EATS, 0);
        install_ste_for_dev(m, ste);
        if (t.clear_rid_cd == AttachTarget::ClearCd::BeforeCommit) clear_cd(m, 0);
    });
    if (t.clear_rid_cd == AttachTarget::ClearCd::AfterCommit) clear_cd(m, 0);
}

}  // namespace smmu::driver
