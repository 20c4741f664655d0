#include "testbenches/host/host_driver.h"

#include <algorithm>

#include "models/arch/cd.h"
#include "testbenches/config/input_error.h"
#include "testbenches/host/host_objects.h"

namespace smmu::sim {

using namespace arch;
using driver::ArmSmmuDevice;
using driver::ArmSmmuMaster;
using driver::DomainStage;
using driver::Features;
using driver::HwptNested;
using driver::HwptPaging;
using driver::KernelError;

namespace {
constexpr uint64_t kGuestTablesDefault = 4ull << 20;
constexpr unsigned kCdLeafSplit = 6;  // 2-level CD tables: 4K leaves of 64 CDs

unsigned ceil_log2(uint64_t n) {
    unsigned b = 0;
    while ((uint64_t{1} << b) < n) ++b;
    return b;
}

std::vector<HostBus*> one(HostBus& bus) { return {&bus}; }

// Where a record the kernel refuses is blamed: a map's input range (a live
// entry in the way, -EEXIST), else the record.
std::string blame(const ChangeRecord& ch) { return ch.where + (ch.kind == ChangeRecord::Kind::Map ? ": in" : ""); }

// A request of the config the kernel refuses: bad input, named where the config said it.
template <class F>
auto as_input_error(const std::string& where, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const KernelError& e) {
        throw InputError(where + ": " + e.what());
    }
}
}  // namespace

HostDriver::HostDriver(HostBus& bus, const Config& cfg) : HostDriver(one(bus), cfg) {}

HostDriver::HostDriver(const std::vector<HostBus*>& buses, const Config& cfg)
    : cfg_(cfg),
      buses_(buses),
      arena_("memory.table_base", cfg.memory.table_base, cfg.memory.table_base, cfg.memory.table_size) {
    if (buses.size() != cfg.smmus.size())
        throw HostError("host: " + std::to_string(buses.size()) + " buses for " + std::to_string(cfg.smmus.size()) +
                        " SMMU instances");
    for (std::size_t i = 0; i < buses.size(); ++i) {
        driver::ArmSmmuParams p;
        p.name = cfg.smmus[i];
        p.cmdq_log2 = cfg.smmu.cmdq_log2size;
        p.evtq_log2 = cfg.smmu.eventq_log2size;
        p.strtab_2lvl = cfg.smmu.stream_table == TableFormat::TwoLevel;
        p.strtab_split = cfg.smmu.strtab_split;
        p.cd_2lvl = cfg.smmu.cd_table == TableFormat::TwoLevel;
        p.skip_prefetch = cfg.host.skip_prefetch;
        p.sync_timeout_ns = 1000.0 * cfg.host.sync_timeout_us;
        p.costs.cmdlist_ns = cfg.host.sw.cmdlist_ns;
        p.costs.cmd_ns = cfg.host.sw.cmd_ns;
        smmus_.push_back(std::make_unique<ArmSmmuDevice>(*buses[i], arena_, p));
    }
    const driver::IommufdCosts costs{static_cast<double>(cfg.host.sw.ioctl_ns), static_cast<double>(cfg.host.sw.trap_ns)};
    iommufd_ = std::make_unique<driver::Iommufd>(cfg.host.vmid_policy == VmidPolicy::PerS2Domain
                                                     ? driver::VmidProfile::PerS2Domain
                                                     : driver::VmidProfile::PerViommu,
                                                 costs, *buses.front());
}

HostDriver::~HostDriver() = default;

unsigned HostDriver::smmu_of(const DeviceConfig& dev) const {
    const int i = cfg_.smmu_index(dev.smmu);
    return i < 0 ? 0 : static_cast<unsigned>(i);
}

void HostDriver::reset() {
    for (unsigned i = 0; i < smmus_.size(); ++i) {
        const driver::Features& f = smmus_[i]->hw_probe();
        // The probe: a device needs the stages its attach uses.
        for (const DeviceConfig& d : cfg_.devices) {
            if (smmu_of(d) != i) continue;
            const bool s1 = d.attach == AttachMode::S1 || d.attach == AttachMode::Nested;
            const bool s2 = d.attach == AttachMode::S2 || d.attach == AttachMode::Nested || d.attach == AttachMode::Proxy;
            if ((s1 && !f.s1p) || (s2 && !f.s2p))
                throw HostError("host: device " + d.name + " needs a stage " + cfg_.smmus[i] +
                                " does not implement (IDR0)");
        }
        as_input_error(cfg_.smmus[i], [&] { smmus_[i]->device_reset(); });
    }
    // The ASID space is global (arm_smmu_asid_xa), as wide as the narrowest instance's.
    for (const auto& s : smmus_) iommufd_->asids.set_max(std::min(iommufd_->asids.max(), (1u << s->features().asid_bits) - 1));
}

HostDriver::Vm& HostDriver::vm(const std::string& name) {
    std::unique_ptr<Vm>& slot = vms_[name];
    if (!slot) {
        slot = std::make_unique<Vm>();
        slot->cfg = cfg_.find_vm(name);
        slot->ioas = slot->cfg->map;
    }
    return *slot;
}

HostDriver::Object& HostDriver::vm_hwpt(const std::string& name, unsigned smmu) {
    if (auto it = objects_.find(name); it != objects_.end() && it->second->kind == ObjectKind::S2) return *it->second;
    const VmConfig& vc = *vm(name).cfg;
    Object* o = nullptr;
    if (installing_)
        as_input_error(vc.where + ": vms." + name, [&] { o = &alloc_s2(name, name, smmu); });
    else
        o = &alloc_s2(name, name, smmu);
    const bool has_nested = std::any_of(cfg_.devices.begin(), cfg_.devices.end(), [&](const DeviceConfig& d) {
        return d.attach == AttachMode::Nested && d.vm == name;
    });
    if (has_nested) guest_ram(vm(name));
    return *o;
}

TableArena& HostDriver::guest_ram(Vm& v) {
    if (v.guest) return *v.guest;
    const VmConfig& vc = *v.cfg;
    const std::string& name = vc.name;
    // vms.<vm>.guest_tables: RAM the VM maps (the loader checks it is), the
    // guest carves its CD table and S1 tables from it; else (also when a
    // config built in C++ names an unmapped window) a window of host
    // memory the host maps in S2, by default the top 4 MiB of the IPA space.
    const uint64_t size = vc.guest_tables_size ? vc.guest_tables_size : kGuestTablesDefault;
    const uint64_t ipa = vc.guest_tables_size ? vc.guest_tables_ipa : (uint64_t{1} << vc.s2.ias) - size;
    const Mapping* m = nullptr;
    bool touches = false;
    for (const Mapping& r : vc.map) {
        if (ipa >= r.in && ipa - r.in < r.size) m = &r;
        touches = touches || (ipa < r.in + r.size && r.in < ipa + size);
    }
    if (m && ipa + size <= m->in + m->size) {
        v.guest = std::make_unique<TableArena>("vms." + name + ".guest_tables", ipa, m->out + (ipa - m->in), size);
    } else if (touches) {
        throw InputError(vc.where + ": vms." + name + ".guest_tables: [" + hex(ipa) + ", " + hex(ipa + size) +
                         ") must lie in one vms." + name + ".map entry (the guest's tables need contiguous RAM)");
    } else {
        const uint64_t pa = arena_.alloc(size, arch::granule_bytes(Granule::K64));
        as_input_error(vc.where + ": vms." + name + ".guest_tables",
                       [&] { ioas_map(v, Mapping{ipa, pa, size, true, true, false, 0, vc.where}); });
        v.guest = std::make_unique<TableArena>("vms." + name + ".guest_tables", ipa, pa, size);
    }
    return *v.guest;
}

void HostDriver::install() {
    installing_ = true;
    auto started = [&](const std::string& vm) { return vm.empty() || cfg_.find_vm(vm)->start; };
    // A VM's S2 is allocated by its first user (hwpt_alloc(dev, ...)), on that user's instance.
    for (const ViommuConfig& v : cfg_.viommus) {
        if (!started(v.vm)) continue;
        const unsigned smmu = static_cast<unsigned>(std::max(0, cfg_.smmu_index(v.smmu)));
        vm_hwpt(v.vm, smmu);
        as_input_error(v.where + ": viommus." + v.name, [&] { alloc_viommu(v.name, v.vm, smmu, v.where); });
    }
    for (const DeviceConfig& dev : cfg_.devices) {
        auto owned = std::make_unique<Device>();
        Device& d = *owned;
        devices_[dev.name] = std::move(owned);
        d.cfg = &dev;
        d.smmu = smmu_of(dev);
        d.master.smmu = smmus_[d.smmu].get();
        d.master.sids = {dev.sid};
        d.master.ats_supported = dev.ats;
        d.master.pri_supported = dev.pri.enabled;
        d.master.pri_resp_pasid_required = dev.pri.prg_response_pasid_required;
        // arm_smmu_probe_device: stall_enabled = (FEAT_STALLS && "dma-can-stall") ||
        // FEAT_STALL_FORCE; devices.<d>.stall is the firmware's dma-can-stall.
        const driver::Features& features = d.master.smmu->features();
        d.master.stall_enabled = (features.stalls && dev.stall) || features.stall_force;
        driver::probe_device(d.master);
        if (started(dev.vm)) as_input_error(dev.where + ": devices." + dev.name, [&] { install_device(dev); });
    }
    // A VM nobody uses has no HWPT (hwpt_alloc needs a device): its IOAS has no domain.
    installing_ = false;
    sample_vmids(0);
}

Ste HostDriver::guest_vste(const DeviceConfig& dev, Device& d) {
    if (d.vste) return *d.vste;
    Ste v;
    v.set(ste::V, 1);
    if (dev.attach == AttachMode::Proxy) {
        v.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
    } else {
        // The guest kernel's CD table and S1 tables, in guest RAM (addresses are IPAs).
        TableArena& guest = guest_ram(vm(dev.vm));
        MemoryPort& mem = buses_.front()->memory();
        uint32_t max_ssid = 0;
        for (const ContextConfig& c : dev.contexts) max_ssid = std::max(max_ssid, c.ssid);
        const unsigned s1cdmax = max_ssid == 0 ? 0 : ceil_log2(uint64_t{max_ssid} + 1);
        const bool two_level = cfg_.smmu.cd_table == TableFormat::TwoLevel && s1cdmax > 0;
        const uint64_t bytes = two_level ? (uint64_t{1} << (s1cdmax > kCdLeafSplit ? s1cdmax - kCdLeafSplit : 0)) * 8
                                         : (uint64_t{1} << s1cdmax) * ContextDescriptor::kBytes;
        const uint64_t cdtab = guest.alloc(bytes, std::max<uint64_t>(bytes, 64));
        std::map<uint32_t, uint64_t> leaves;
        for (const ContextConfig& c : dev.contexts) {
            Context& ctx = d.contexts[c.ssid];
            ctx.guest_table =
                std::make_unique<PageTable>(mem, guest, 1, c.granule, c.va_bits, driver::PageTableOptions{{}, c.ttb1});
            for (const Mapping& m : c.map) ctx.guest_table->map(m.in, m.out, m.size, attrs_of(m), m.page);
            ctx.asid = c.asid;
            // The guest's arm_smmu_probe_device sees the same IDR0 (arm_smmu_hw_info
            // reports it): STALL_FORCE makes its master stall_enabled too.
            const driver::Features& gf = smmus_[d.smmu]->features();
            const ContextDescriptor cd = driver::make_s1_cd(gf, *ctx.guest_table, c.asid, gf.stall_force);
            uint64_t slot = cdtab + uint64_t{c.ssid} * ContextDescriptor::kBytes;
            if (two_level) {
                const uint32_t l1 = c.ssid >> kCdLeafSplit;
                if (!leaves.count(l1)) {
                    const uint64_t leaf_bytes = (uint64_t{1} << kCdLeafSplit) * ContextDescriptor::kBytes;
                    leaves[l1] = guest.alloc(leaf_bytes, leaf_bytes);
                    L1CdDescriptor l1d;
                    l1d.set(l1cd::L2Ptr, leaves[l1]);
                    l1d.set(l1cd::V, 1);
                    mem.write64(guest.to_pa(cdtab + uint64_t{l1} * 8), l1d.w[0]);
                }
                slot = leaves[l1] + (c.ssid & ((1u << kCdLeafSplit) - 1)) * ContextDescriptor::kBytes;
            }
            mem.write_words(guest.to_pa(slot), cd.w.data(), ContextDescriptor::kDwords);
        }
        // The guest's arm_smmu_make_cdtable_ste, in the words a vSTE carries.
        const driver::CdTableRef ref{cdtab, two_level ? CdTableFormat::TwoLevel4K : CdTableFormat::Linear, s1cdmax};
        const driver::Features& gf = smmus_[d.smmu]->features();
        const Ste s = driver::make_cdtable_ste(gf, ref, dev.ats, s1cdmax ? S1Dss::Substream0 : S1Dss::Terminate,
                                               gf.stall_force);
        v.w[0] = s.w[0];
        v.w[1] = s.w[1] & ~ste::STRW.mask();
    }
    for (const auto& [name, value] : dev.vste_fields)
        for (const FieldDef& f : ste::kAll)
            if (f.name == name) v.set(f, value);
    d.vste = v;
    return v;
}

void HostDriver::install_device(const DeviceConfig& dev) {
    Device& d = *devices_.at(dev.name);
    ArmSmmuDevice& smmu = *smmus_[d.smmu];
    switch (dev.attach) {
        case AttachMode::Abort:
        case AttachMode::Bypass: attach(d, dev.attach == AttachMode::Abort ? "abort" : "bypass", dev.where); break;
        case AttachMode::S1: {
            // A host DMA domain per SubstreamID (SSID 0: the default domain;
            // others: PASID domains).
            uint32_t max_ssid = 0;
            for (const ContextConfig& c : dev.contexts) max_ssid = std::max(max_ssid, c.ssid);
            d.master.s1cdmax = max_ssid == 0 ? 0 : ceil_log2(uint64_t{max_ssid} + 1);
            d.master.cd_fmt = cfg_.smmu.cd_table == TableFormat::TwoLevel && d.master.s1cdmax > 0
                                  ? CdTableFormat::TwoLevel4K
                                  : CdTableFormat::Linear;
            for (const ContextConfig& c : dev.contexts) {
                Context& ctx = d.contexts[c.ssid];
                ctx.hwpt = std::make_unique<HwptPaging>(*iommufd_, smmu, DomainStage::S1, c.granule, c.va_bits, false,
                                                        c.asid, driver::PageTableOptions{{}, c.ttb1});
                for (const Mapping& m : c.map) ctx.hwpt->map(m.in, m.out, m.size, attrs_of(m), m.page);
                ctx.asid = c.asid;
                if (cfg_.host.dma_mode == DmaMode::Lazy)
                    ctx.fq = std::make_unique<driver::FlushQueue>(ctx.hwpt->domain());
            }
            // The RID's domain first (SSID 0: arm_smmu_attach_dev; none: the
            // blocked domain), then each PASID domain (iommu_attach_device_pasid
            // -> arm_smmu_s1_set_dev_pasid -> arm_smmu_set_pasid).
            if (d.contexts.count(0)) driver::attach_s1(d.master, d.contexts.at(0).hwpt->domain(), arena_);
            for (auto& [ssid, ctx] : d.contexts)
                if (ssid != 0) driver::set_pasid(d.master, ctx.hwpt->domain(), ssid, arena_);
            break;
        }
        case AttachMode::S2: attach(d, vm_hwpt(dev.vm, d.smmu).name, dev.where); break;
        case AttachMode::Nested:
        case AttachMode::Proxy: {
            // A nested device that named only its VM uses the VM's implicit vIOMMU on its instance.
            const std::string viommu = dev.viommu.empty() ? dev.vm + "@" + cfg_.smmus.at(d.smmu) : dev.viommu;
            if (!objects_.count(viommu)) alloc_viommu(viommu, vm_hwpt(dev.vm, d.smmu).name, d.smmu, dev.where);
            if (!objects_.count(dev.name + ".vdev")) alloc_vdevice(dev.name + ".vdev", viommu, d, dev.vsid, dev.where);
            if (!objects_.count(dev.name + ".nested"))
                alloc_nested(dev.name + ".nested", viommu, guest_vste(dev, d), dev.where);
            attach(d, dev.name + ".nested", dev.where);
            break;
        }
    }
}

uint16_t HostDriver::vmid(const std::string& vm) const {
    auto it = objects_.find(vm);
    if (it == objects_.end() || it->second->kind != ObjectKind::S2) return 0;
    const driver::ArmSmmuDomain& d = it->second->s2->domain();
    return d.smmu() ? d.vmid_on(*d.smmu()) : 0;
}

uint16_t HostDriver::viommu_vmid(const std::string& viommu) const {
    auto it = objects_.find(viommu);
    return it == objects_.end() || it->second->kind != ObjectKind::Viommu ? 0 : it->second->viommu->vmid();
}

uint16_t HostDriver::device_vmid(const std::string& device) const {
    auto it = devices_.find(device);
    return it == devices_.end() ? 0 : it->second->vmid;
}

bool HostDriver::device_ats_enabled(const std::string& device) const {
    auto it = devices_.find(device);
    return it != devices_.end() && it->second->master.pci_ats_enabled;
}

std::vector<unsigned> HostDriver::vmids_per_smmu() const {
    std::vector<unsigned> out;
    for (const auto& s : smmus_) out.push_back(s->vmid_ida().used());
    return out;
}

uint64_t HostDriver::vmids_allocated() const {
    uint64_t n = 0;
    for (const auto& s : smmus_) n += s->vmid_ida().allocated();
    return n;
}

uint64_t HostDriver::vmids_freed() const {
    uint64_t n = 0;
    for (const auto& s : smmus_) n += s->vmid_ida().freed();
    return n;
}

// ---------------------------------------------------------------- changes

std::string HostDriver::apply(const ChangeRecord& ch) {
    if (ch.kind == ChangeRecord::Kind::GuestInvalidate) return apply_guest_batch({ch});
    if (ch.kind == ChangeRecord::Kind::Lifetime) return apply_lifetime(ch);
    return ch.stage2 ? apply_s2(ch) : apply_s1(ch);
}

std::string HostDriver::apply_s2(const ChangeRecord& ch) {
    // The VMM's IOMMU_IOAS_MAP / IOMMU_IOAS_UNMAP: one ioctl, then every
    // paging domain of the IOAS changes (iopt_unmap_iova walks its domains);
    // an unmap's iotlb gather is synced per domain (arm_smmu_iotlb_sync).
    // `s2:*` is guest RAM: every VM's S2 maps it (one IOAS; one S2 per SMMU
    // under mainline, or one per device when S2s are not shared).
    if (ch.target != "*" && !cfg_.find_vm(ch.target))
        throw InputError(ch.where + ": target: unknown vm '" + ch.target + "'");
    PathStats& path = paths_["s2_change"];
    ++path.changes;
    as_input_error(blame(ch), [&] {
        measure(path, [&] {
            iommufd_->ioctl();
            for (const VmConfig& vc : cfg_.vms) {
                if (ch.target != "*" && ch.target != vc.name) continue;
                if (ch.kind == ChangeRecord::Kind::Map) {
                    ioas_map(vm(vc.name), Mapping{ch.in, ch.out, ch.size, ch.read, ch.write, ch.exec, 0, ch.where});
                } else {
                    ioas_unmap(vm(vc.name), ch.in, ch.size);
                }
            }
        });
    });
    return "s2_change";
}

std::string HostDriver::apply_s1(const ChangeRecord& ch) {
    auto dit = devices_.find(ch.target);
    if (dit == devices_.end()) throw InputError(ch.where + ": target: unknown device '" + ch.target + "'");
    Device& d = *dit->second;
    auto cit = d.contexts.find(ch.ssid);
    if (cit == d.contexts.end())
        throw InputError(ch.where + ": target: device " + ch.target + " has no stage 1 context with ssid " +
                         std::to_string(ch.ssid));
    Context& ctx = cit->second;
    const PageAttrs attrs{ch.read, ch.write, ch.exec};
    if (ctx.hwpt) {
        // A host DMA domain: dma_map/dma_unmap in the kernel (no ioctl).
        PathStats& path = paths_["dma_domain"];
        ++path.changes;
        as_input_error(blame(ch), [&] {
            measure(path, [&] {
                if (ch.kind == ChangeRecord::Kind::Map) {
                    ctx.hwpt->map(ch.in, ch.out, ch.size, attrs);
                } else if (ctx.fq) {
                    ctx.hwpt->unmap(ch.in, ch.size, true);  // iommu_unmap_fast with a queued gather
                    ctx.fq->queue(ch.in, ch.size, buses_.front()->now_ns());
                } else {
                    ctx.hwpt->unmap(ch.in, ch.size);  // __iommu_dma_unmap: iommu_iotlb_sync
                }
            });
        });
        return "dma_domain";
    }
    // A guest S1 under a vIOMMU: the guest kernel edits its own table and
    // invalidates through its vSMMU (trap, VIOMMU_INVALIDATE): its
    // arm_smmu_tlb_inv_range_domain, then its ATC invalidation, each with
    // its own CMD_SYNC (one guest submission each).
    PathStats& path = paths_["viommu_invalidate"];
    ++path.changes;
    const Features& f = smmus_[d.smmu]->features();
    as_input_error(blame(ch), [&] {
        measure(path, [&] {
            if (ch.kind == ChangeRecord::Kind::Map) {
                ctx.guest_table->map(ch.in, ch.out, ch.size, attrs);
                return;
            }
            // The guest's arm_smmu_iotlb_sync per gathered range (none when
            // nothing was unmapped): arm_smmu_tlb_inv_range_domain's TLBIs, then
            // arm_smmu_atc_inv_domain's ATC_INV (arm_smmu_atc_inv_to_cmd) when
            // its master has ATS (the vSTE's EATS).
            auto nested = objects_.find(d.attached);
            const bool ats = nested != objects_.end() && nested->second->nested && nested->second->nested->enable_ats();
            const unsigned tg = static_cast<unsigned>(__builtin_ctzll(granule_bytes(ctx.guest_table->granule())));
            driver::IotlbGather gather([&](uint64_t start, uint64_t len, uint64_t pgsize) {
                std::vector<Command> tlbis;
                driver::tlbi_range_cmds(Command::make(Opcode::TLBI_NH_VA, {{cmd::ASID, ctx.asid}, {cmd::Leaf, 1}}),
                                        start, len, pgsize, tg, f.range_inv,
                                        [&](const Command& c) { tlbis.push_back(c); });
                guest_submit(d.viommu, tlbis, ch.where, path);
                if (!ats) return;
                Command atc = driver::atc_inv_to_cmd(ch.ssid, start, len);
                atc.set(cmd::SID, d.cfg->vsid);
                guest_submit(d.viommu, {atc}, ch.where, path);
            });
            ctx.guest_table->unmap(ch.in, ch.size, [&](uint64_t in, uint64_t leaf) { gather.add_page(in, leaf); });
            gather.sync();
        });
    });
    return "viommu_invalidate";
}

void HostDriver::guest_submit(const std::string& viommu, const std::vector<Command>& cmds, const std::string& where,
                              PathStats& path) {
    // The guest's CMDQ_PROD write traps to the VMM, which passes the
    // commands before the guest's CMD_SYNC to IOMMU_HWPT_INVALIDATE.
    buses_.front()->cpu(cfg_.host.sw.trap_ns);
    driver::Viommu::InvalidateResult r;
    try {
        r = object(viommu, ObjectKind::Viommu, where, "viommu").viommu->cache_invalidate(cmds);
    } catch (const KernelError& e) {  // the vIOMMU was destroyed: its ID is gone
        r.err = e.err;
        r.why = e.what();
    }
    if (r.err) {
        ++path.rejected;
        rejected_.push_back(where + ": " + r.why + " (" + driver::errno_name(r.err) +
                            ", entry_num=" + std::to_string(r.entry_num) + ")");
    }
}

std::string HostDriver::apply_guest_batch(const std::vector<ChangeRecord>& batch) {
    PathStats& path = paths_["viommu_invalidate"];
    ++path.changes;
    std::vector<Command> cmds;
    for (const ChangeRecord& ch : batch) cmds.push_back(ch.command);
    const double t0 = buses_.front()->now_ns(), wait0 = path.sync_wait_ns;
    measure(path, [&] { guest_submit(batch.front().target, cmds, batch.front().where, path); });
    // The guest waits from its CMDQ_PROD write to its CMD_SYNC's completion:
    // the trap and the ioctl are fixed costs, the SYNC waits the SMMU's, the
    // rest the host's queue work.
    GuestBatchStats& g = guest_batches_;
    const double total = buses_.front()->now_ns() - t0, sync = path.sync_wait_ns - wait0;
    const double trap = cfg_.host.sw.trap_ns, ioctl = cfg_.host.sw.ioctl_ns;
    ++g.batches;
    g.commands += cmds.size();
    ++g.by_size[cmds.size()];
    g.trap_ns += trap;
    g.ioctl_ns += ioctl;
    g.sync_ns += sync;
    g.queue_ns += total - trap - ioctl - sync;
    return "viommu_invalidate";
}

// ---------------------------------------------------------------- flush queues

std::optional<double> HostDriver::next_timer() const {
    // Only lazy DMA domains have flush queues; the host asks at every wait,
    // so strict mode answers without visiting every device's contexts.
    if (cfg_.host.dma_mode != DmaMode::Lazy) return std::nullopt;
    std::optional<double> t;
    for (const auto& [name, d] : devices_)
        for (const auto& [ssid, ctx] : d->contexts)
            if (ctx.fq && ctx.fq->deadline() && (!t || *ctx.fq->deadline() < *t)) t = ctx.fq->deadline();
    return t;
}

void HostDriver::run_timers(double now_ns) {
    for (auto& [name, d] : devices_)
        for (auto& [ssid, ctx] : d->contexts) {
            driver::FlushQueue* fq = ctx.fq.get();
            if (fq && fq->deadline() && *fq->deadline() <= now_ns) measure(paths_["dma_domain"], [fq] { fq->flush(); });
        }
}

void HostDriver::flush_queues() {
    for (auto& [name, d] : devices_)
        for (auto& [ssid, ctx] : d->contexts) {
            driver::FlushQueue* fq = ctx.fq.get();
            if (fq && fq->entries()) measure(paths_["dma_domain"], [fq] { fq->flush(); });
        }
}

bool HostDriver::lazy_pending(uint32_t sid, unsigned smmu, uint64_t iova) const {
    for (const auto& [name, d] : devices_) {
        if (d->smmu != smmu || d->cfg->sid != sid) continue;
        for (const auto& [ssid, ctx] : d->contexts)
            if (ctx.fq && ctx.fq->pending(iova)) return true;
    }
    return false;
}

}  // namespace smmu::sim
