#include "testbenches/host/host_driver.h"

#include <algorithm>

#include "models/arch/cd.h"
#include "models/arch/registers.h"
#include "testbenches/config/input_error.h"

namespace smmu::sim {

using namespace arch;

namespace {
constexpr uint64_t kGuestTablesDefault = 4ull << 20;
constexpr unsigned kCdLeafSplit = 6;  // 2-level CD tables: 4K leaves of 64 CDs

unsigned ceil_log2(uint64_t n) {
    unsigned b = 0;
    while ((uint64_t{1} << b) < n) ++b;
    return b;
}

PageAttrs attrs_of(const Mapping& m) { return {m.read, m.write, m.exec}; }

// Encodings of the translation granule in CD.TG0 and STE.S2TG are the Granule values.
unsigned s2sl0(const PageTable& t) { return (t.granule() == Granule::K4 ? 2 : 3) - t.start_level(); }

std::vector<HostBus*> one(HostBus& bus) { return {&bus}; }
}  // namespace

void validate_vste(const Ste& vste, const std::string& who) {
    static const FieldDef allowed[] = {ste::V,     ste::Config, ste::S1Fmt, ste::S1ContextPtr, ste::S1CDMax, ste::S1DSS,
                                       ste::S1CIR, ste::S1COR,  ste::S1CSH, ste::S1STALLD,     ste::EATS};
    Ste rest = vste;
    for (const FieldDef& f : allowed) rest.set(f, 0);
    // Only the two words a guest passes exist; anything left set in them is refused.
    for (const FieldDef& f : ste::kAll) {
        if (f.word < 2 && rest.get(f) != 0)
            throw InputError(who + ": vSTE field " + std::string(f.name) +
                             " is not allowed (the kernel rejects the nested domain with -EIO; allowed: V, Config, "
                             "S1Fmt, S1ContextPtr, S1CDMax, S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS)");
    }
    if ((rest.w[0] | rest.w[1]) != 0)
        throw InputError(who + ": vSTE has reserved bits set (-EIO)");
    const uint64_t config = vste.get(ste::Config);
    if (vste.valid() && config != 0 && config != static_cast<uint64_t>(SteConfig::Bypass) &&
        config != static_cast<uint64_t>(SteConfig::S1Trans))
        throw InputError(who + ": vSTE Config " + std::to_string(config) +
                         " is not ABORT, BYPASS or S1_TRANS (the kernel rejects it with -EIO)");
}

HostDriver::HostDriver(HostBus& bus, const Config& cfg) : HostDriver(one(bus), cfg) {}

HostDriver::HostDriver(const std::vector<HostBus*>& buses, const Config& cfg)
    : cfg_(cfg),
      mem_(buses.at(0)->memory()),
      arena_("memory.table_base", cfg.memory.table_base, cfg.memory.table_base, cfg.memory.table_size) {
    if (buses.size() != cfg.smmus.size())
        throw HostError("host: " + std::to_string(buses.size()) + " buses for " + std::to_string(cfg.smmus.size()) +
                        " SMMU instances");
    for (std::size_t i = 0; i < buses.size(); ++i)
        drivers_.push_back(std::make_unique<SmmuDriver>(*buses[i], cfg, arena_, cfg.smmus[i]));
}

unsigned HostDriver::smmu_of(const DeviceConfig& dev) const {
    const int i = cfg_.smmu_index(dev.smmu);
    return i < 0 ? 0 : static_cast<unsigned>(i);
}

void HostDriver::reset() {
    for (unsigned i = 0; i < drivers_.size(); ++i) {
        std::vector<const DeviceConfig*> devices;
        for (const DeviceConfig& d : cfg_.devices)
            if (smmu_of(d) == i) devices.push_back(&d);
        drivers_[i]->check_features(devices);
        drivers_[i]->reset();
    }
}

void HostDriver::install() {
    for (const VmConfig& vm : cfg_.vms) install_vm(vm);
    for (const ViommuConfig& v : cfg_.viommus)
        install_viommu(v.name, v.vm, static_cast<unsigned>(std::max(0, cfg_.smmu_index(v.smmu))));
    for (const DeviceConfig& dev : cfg_.devices) install_device(dev);
}

uint16_t HostDriver::s2_vmid(const std::string& vm, unsigned smmu) {
    VmState& st = vms_.at(vm);
    auto it = st.own_vmid.find(smmu);
    if (it != st.own_vmid.end()) return it->second;
    const VmConfig* vc = cfg_.find_vm(vm);
    VmidAllocator& alloc = drivers_[smmu]->vmids();
    uint16_t v = 0;
    if (vc->vmid) {
        v = *vc->vmid;
        alloc.reserve(v, vc->where + ": vms." + vm + ".vmid");
    } else {
        v = alloc.alloc();
    }
    st.own_vmid[smmu] = v;
    return v;
}

uint16_t HostDriver::vmid(const std::string& vm) const {
    auto it = vms_.find(vm);
    if (it == vms_.end() || it->second.own_vmid.empty()) return 0;
    return it->second.own_vmid.begin()->second;
}

uint16_t HostDriver::viommu_vmid(const std::string& viommu) const {
    auto it = viommus_.find(viommu);
    return it == viommus_.end() ? 0 : it->second.vmid;
}

uint16_t HostDriver::device_vmid(const std::string& device) const {
    auto it = device_vmids_.find(device);
    return it == device_vmids_.end() ? 0 : it->second;
}

std::vector<unsigned> HostDriver::vmids_per_smmu() const {
    std::vector<unsigned> out;
    for (const auto& d : drivers_) out.push_back(d->vmids().used());
    return out;
}

void HostDriver::install_vm(const VmConfig& vm) {
    VmState& st = vms_[vm.name];
    st.s2 = std::make_unique<PageTable>(mem_, arena_, 2, vm.s2.granule, vm.s2.ias);
    for (const Mapping& m : vm.map) st.s2->map(m.in, m.out, m.size, attrs_of(m), m.page);

    // Guest RAM for the guest's own tables: an IPA window the host maps in S2.
    const bool has_nested = std::any_of(cfg_.devices.begin(), cfg_.devices.end(), [&](const DeviceConfig& d) {
        return d.attach == AttachMode::Nested && d.vm == vm.name;
    });
    if (!has_nested) return;
    const uint64_t size = vm.guest_tables_size ? vm.guest_tables_size : kGuestTablesDefault;
    const uint64_t ipa = vm.guest_tables_size ? vm.guest_tables_ipa : (uint64_t{1} << vm.s2.ias) - size;
    const uint64_t pa = arena_.alloc(size, arch::granule_bytes(Granule::K64));
    st.s2->map(ipa, pa, size, PageAttrs{true, true, false});
    st.guest = std::make_unique<TableArena>("vms." + vm.name + ".guest_tables", ipa, pa, size);
}

HostDriver::ViommuState& HostDriver::install_viommu(const std::string& name, const std::string& vm, unsigned smmu) {
    ViommuState& st = viommus_[name];
    st.vm = vm;
    st.smmu = smmu;
    // per-s2-domain: the vIOMMU copies its S2's VMID (mainline Linux);
    // per-viommu: it holds a VMID of its own on its instance.
    st.vmid = cfg_.host.vmid_policy == VmidPolicy::PerS2Domain ? s2_vmid(vm, smmu) : drivers_[smmu]->vmids().alloc();
    return st;
}

uint64_t HostDriver::build_cds(const DeviceConfig& dev, TableArena& arena, unsigned& s1cdmax) {
    MemoryPort& mem = mem_;
    uint32_t max_ssid = 0;
    for (const ContextConfig& c : dev.contexts) max_ssid = std::max(max_ssid, c.ssid);
    s1cdmax = max_ssid == 0 ? 0 : ceil_log2(uint64_t{max_ssid} + 1);
    const bool two_level = cfg_.smmu.cd_table == TableFormat::TwoLevel && s1cdmax > 0;

    uint64_t ptr = 0;
    std::map<uint32_t, uint64_t> leaves;  // L1 index -> leaf table (arena addresses)
    if (two_level) {
        const uint64_t l1_bytes = (uint64_t{1} << (s1cdmax > kCdLeafSplit ? s1cdmax - kCdLeafSplit : 0)) * 8;
        ptr = arena.alloc(l1_bytes, std::max<uint64_t>(l1_bytes, 64));
    } else {
        const uint64_t bytes = (uint64_t{1} << s1cdmax) * ContextDescriptor::kBytes;
        ptr = arena.alloc(bytes, std::max<uint64_t>(bytes, 64));
    }
    for (const ContextConfig& c : dev.contexts) {
        auto table = std::make_unique<PageTable>(mem, arena, 1, c.granule, c.va_bits);
        PageTable& s1 = *table;
        for (const Mapping& m : c.map) s1.map(m.in, m.out, m.size, attrs_of(m), m.page);
        s1_tables_[{dev.name, c.ssid}] = S1Table{std::move(table), c.asid};

        ContextDescriptor d;
        d.set(cd::T0SZ, 64 - c.va_bits);
        d.set(cd::TG0, static_cast<uint64_t>(c.granule));
        d.set(cd::IR0, 1);
        d.set(cd::OR0, 1);
        d.set(cd::SH0, 3);
        d.set(cd::EPD1, 1);  // no TTB1 region, as Linux
        d.set(cd::V, 1);
        d.set(cd::IPS, pa_encoding(cfg_.smmu.oas).value_or(5));
        d.set(cd::AA64, 1);
        d.set(cd::R, 1);
        d.set(cd::A, 1);
        d.set(cd::ASET, 1);
        d.set(cd::ASID, c.asid);
        d.set(cd::TTB0, s1.root());
        d.set(cd::MAIR, 0xff);  // attr 0: normal write-back
        uint64_t slot = ptr + uint64_t{c.ssid} * ContextDescriptor::kBytes;
        if (two_level) {
            const uint32_t l1 = c.ssid >> kCdLeafSplit;
            if (!leaves.count(l1)) {
                const uint64_t bytes = (uint64_t{1} << kCdLeafSplit) * ContextDescriptor::kBytes;
                const uint64_t leaf = arena.alloc(bytes, bytes);
                L1CdDescriptor l1d;
                l1d.set(l1cd::L2Ptr, leaf);
                l1d.set(l1cd::V, 1);
                mem.write64(arena.to_pa(ptr + uint64_t{l1} * 8), l1d.w[0]);
                leaves[l1] = leaf;
            }
            slot = leaves[l1] + (c.ssid & ((1u << kCdLeafSplit) - 1)) * ContextDescriptor::kBytes;
        }
        mem.write_words(arena.to_pa(slot), d.w.data(), ContextDescriptor::kDwords);
    }
    return ptr;
}

void HostDriver::set_stage2(Ste& s, const std::string& vm, uint16_t vmid) const {
    const PageTable& t = *vms_.at(vm).s2;
    s.set(ste::S2VMID, vmid);
    s.set(ste::S2T0SZ, 64 - t.ias());
    s.set(ste::S2SL0, s2sl0(t));
    s.set(ste::S2IR0, 1);
    s.set(ste::S2OR0, 1);
    s.set(ste::S2SH0, 3);
    s.set(ste::S2TG, static_cast<uint64_t>(t.granule()));
    s.set(ste::S2PS, pa_encoding(cfg_.smmu.oas).value_or(5));
    s.set(ste::S2AA64, 1);
    s.set(ste::S2PTW, 1);
    s.set(ste::S2R, 1);
    s.set(ste::S2TTB, t.root());
}

void HostDriver::set_stage1(Ste& s, const DeviceConfig& dev, TableArena& arena) {
    unsigned s1cdmax = 0;
    const uint64_t ptr = build_cds(dev, arena, s1cdmax);
    const bool two_level = cfg_.smmu.cd_table == TableFormat::TwoLevel && s1cdmax > 0;
    s.set(ste::S1Fmt, static_cast<uint64_t>(two_level ? CdTableFormat::TwoLevel4K : CdTableFormat::Linear));
    s.set(ste::S1ContextPtr, ptr);
    s.set(ste::S1CDMax, s1cdmax);
    s.set(ste::S1CIR, 1);
    s.set(ste::S1COR, 1);
    s.set(ste::S1CSH, 3);
    // With substreams, untagged DMA uses CD 0 (Linux's S1DSS_SSID0).
    if (s1cdmax) s.set(ste::S1DSS, static_cast<uint64_t>(S1Dss::Substream0));
}

Ste HostDriver::guest_vste(const DeviceConfig& dev) {
    Ste v;
    v.set(ste::V, 1);
    if (dev.attach == AttachMode::Proxy) {
        v.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
    } else {
        // The guest's CD table and S1 tables live in guest RAM: addresses are IPAs.
        v.set(ste::Config, static_cast<uint64_t>(SteConfig::S1Trans));
        set_stage1(v, dev, *vms_.at(dev.vm).guest);
    }
    for (const auto& [name, value] : dev.vste_fields)
        for (const FieldDef& f : ste::kAll)
            if (f.name == name) v.set(f, value);
    return v;
}

void HostDriver::install_device(const DeviceConfig& dev) {
    const unsigned smmu = smmu_of(dev);
    Ste s;
    s.set(ste::V, 1);
    uint16_t vmid = 0;
    switch (dev.attach) {
        case AttachMode::Abort: s.set(ste::Config, static_cast<uint64_t>(SteConfig::Abort)); break;
        case AttachMode::Bypass:
            s.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
            s.set(ste::SHCFG, 1);  // use incoming shareability
            break;
        case AttachMode::S1:
            // A host DMA domain: tables in host memory (PA), no stage 2.
            s.set(ste::Config, static_cast<uint64_t>(SteConfig::S1Trans));
            set_stage1(s, dev, arena_);
            break;
        case AttachMode::S2:
            // Direct attach to the S2 domain: its own VMID on this instance.
            s.set(ste::Config, static_cast<uint64_t>(SteConfig::S2Trans));
            s.set(ste::SHCFG, 1);
            vmid = s2_vmid(dev.vm, smmu);
            set_stage2(s, dev.vm, vmid);
            break;
        case AttachMode::Nested:
        case AttachMode::Proxy: {
            // A nested device that named only its VM uses the VM's vIOMMU on its instance.
            const std::string name = dev.viommu.empty() ? dev.vm + "@" + cfg_.smmus.at(smmu) : dev.viommu;
            auto found = viommus_.find(name);
            ViommuState& vi = found != viommus_.end() ? found->second : install_viommu(name, dev.vm, smmu);
            vi.vdevices[dev.vsid] = dev.sid;
            const Ste vste = guest_vste(dev);
            validate_vste(vste, dev.where + ": devices." + dev.name);
            vmid = vi.vmid;
            if (!vste.valid() || vste.config() == SteConfig::Abort) {
                s.set(ste::Config, static_cast<uint64_t>(SteConfig::Abort));
            } else if (vste.config() == SteConfig::Bypass) {
                // The proxy identity S1: S2 only, under the vIOMMU's VMID.
                s.set(ste::Config, static_cast<uint64_t>(SteConfig::S2Trans));
                s.set(ste::SHCFG, 1);
                set_stage2(s, dev.vm, vmid);
            } else {
                // The guest's stage 1 words on top of the shared S2.
                s.w[0] = vste.w[0];
                s.w[1] = vste.w[1];
                s.set(ste::Config, static_cast<uint64_t>(SteConfig::Nested));
                set_stage2(s, dev.vm, vmid);
            }
            break;
        }
    }
    // EATS=0b01: full ATS, translated requests checked against the STE.
    if (dev.ats && s.config() != SteConfig::Abort) s.set(ste::EATS, 1);
    device_vmids_[dev.name] = vmid;
    drivers_[smmu]->write_ste(dev.sid, s);
}

std::vector<uint16_t> HostDriver::vmids_using(const std::string& vm, unsigned smmu) const {
    std::vector<uint16_t> out;
    const VmState& st = vms_.at(vm);
    if (auto it = st.own_vmid.find(smmu); it != st.own_vmid.end()) out.push_back(it->second);
    for (const auto& [name, vi] : viommus_)
        if (vi.vm == vm && vi.smmu == smmu && std::find(out.begin(), out.end(), vi.vmid) == out.end())
            out.push_back(vi.vmid);
    return out;
}

std::vector<Command> HostDriver::tlbi_range(Opcode op, uint64_t vmid, uint64_t asid, uint64_t addr, uint64_t size) {
    // Range invalidation (IDR3.RIL): each command covers (NUM+1) << SCALE 4K
    // pages; a size is cut into such pieces, lowest set bit first (as Linux's
    // __arm_smmu_tlb_inv_range does).
    std::vector<Command> out;
    uint64_t pages = size >> 12;
    while (pages) {
        const unsigned scale = static_cast<unsigned>(__builtin_ctzll(pages));
        const uint64_t num = (pages >> scale) & 31;
        Command c = Command::make(op, {{cmd::NUM, num - 1}, {cmd::SCALE, scale}, {cmd::TG, 1}, {cmd::Leaf, 1}});
        c.set(cmd::VMID, vmid);
        if (op == Opcode::TLBI_NH_VA) c.set(cmd::ASID, asid);
        c.set(op == Opcode::TLBI_S2_IPA ? cmd::IPA : cmd::VA, addr);
        out.push_back(c);
        addr += (num << scale) << 12;
        pages -= num << scale;
    }
    return out;
}

Command HostDriver::atc_inv(uint32_t sid, uint64_t addr, uint64_t size) {
    // ATC_INV covers 2^Size 4K pages aligned to that span (PCIe ATS invalidation).
    unsigned span = 0;
    while (((addr >> 12) >> span) != (((addr + size - 1) >> 12) >> span)) ++span;
    const uint64_t base = (addr >> (12 + span)) << (12 + span);
    return Command::make(Opcode::ATC_INV, {{cmd::SID, sid}, {cmd::AtcSize, span}, {cmd::AtcAddr, base}});
}

Command HostDriver::atc_inv_all(uint32_t sid) {
    // Size 52: the whole address space (Linux's arm_smmu_atc_inv_to_cmd for size 0).
    return Command::make(Opcode::ATC_INV, {{cmd::SID, sid}, {cmd::AtcSize, 52}});
}

void HostDriver::issue(unsigned smmu, const std::vector<Command>& cmds, PathStats& path) {
    for (const Command& c : cmds) {
        drivers_[smmu]->submit(c);
        ++path.commands;
        ++path.by_opcode[std::string(c.info()->name)];
    }
    drivers_[smmu]->sync();
    ++path.syncs;
}

std::string HostDriver::apply(const ChangeRecord& ch) {
    const std::string at = ch.where + ": ";
    if (ch.kind == ChangeRecord::Kind::GuestInvalidate) return guest_invalidate(ch);
    const PageAttrs attrs{ch.read, ch.write, ch.exec};
    // The page table knows no file: an overlap is blamed on the record.
    auto map_into = [&](PageTable& table) {
        try {
            table.map(ch.in, ch.out, ch.size, attrs);
        } catch (const InputError& e) {
            throw InputError(at + "in: " + e.what());
        }
    };
    if (ch.stage2 && ch.target == "*") {
        // Guest RAM changed: every S2 domain that maps it (one per VM, or one
        // per device when S2s are not shared) gets the same edit.
        std::string path;
        for (const VmConfig& vm : cfg_.vms) {
            ChangeRecord one = ch;
            one.target = vm.name;
            path = apply(one);
        }
        return path.empty() ? "s2_change" : path;
    }
    if (ch.stage2) {
        auto vm = vms_.find(ch.target);
        if (vm == vms_.end()) throw InputError(at + "target: unknown vm '" + ch.target + "'");
        PathStats& path = paths_["s2_change"];
        ++path.changes;
        if (ch.kind == ChangeRecord::Kind::Map) {
            map_into(*vm->second.s2);
            return "s2_change";  // a new entry needs no invalidation
        }
        vm->second.s2->unmap(ch.in, ch.size);
        // Every VMID that uses this S2, on every instance: TLBI_S2_IPA for the
        // range, then TLBI_NH_ALL for the nested stage 1 entries built on it
        // (arm_smmu_tlb_inv_range_domain for a nesting parent), or one
        // TLBI_S12_VMALL (host.s2_invalidation), then SYNC.
        for (unsigned i = 0; i < drivers_.size(); ++i) {
            std::vector<Command> cmds;
            for (uint16_t vmid : vmids_using(ch.target, i)) {
                if (cfg_.host.bug_skip_s2_tlbi) continue;  // the injected bug: forget the TLBIs
                if (cfg_.host.s2_invalidation == S2Invalidation::Vmall) {
                    cmds.push_back(Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, vmid}}));
                    continue;
                }
                for (const Command& c : tlbi_range(Opcode::TLBI_S2_IPA, vmid, 0, ch.in, ch.size)) cmds.push_back(c);
                cmds.push_back(Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, vmid}}));
            }
            // ATS devices cache translations in their own ATC: after the SMMU's
            // TLBs, invalidate theirs (all substreams: a nested device's guest
            // mappings of the IPA are unknown to the host).
            for (const DeviceConfig& d : cfg_.devices)
                if (d.ats && d.vm == ch.target && smmu_of(d) == i && !cfg_.host.bug_skip_s2_tlbi)
                    cmds.push_back(d.attach == AttachMode::Nested ? atc_inv_all(d.sid) : atc_inv(d.sid, ch.in, ch.size));
            if (!vmids_using(ch.target, i).empty()) issue(i, cmds, path);
        }
        return "s2_change";
    }
    const DeviceConfig* dev = cfg_.find_device(ch.target);
    if (!dev) throw InputError(at + "target: unknown device '" + ch.target + "'");
    auto t = s1_tables_.find({dev->name, ch.ssid});
    if (t == s1_tables_.end())
        throw InputError(at + "target: device " + dev->name + " has no stage 1 context with ssid " +
                         std::to_string(ch.ssid));
    // A host DMA domain, a guest S1 under an explicit vIOMMU (VIOMMU_INVALIDATE)
    // or a nested device outside any vIOMMU (the per-device DEV_INVALIDATE).
    const std::string name = dev->attach == AttachMode::S1 ? "dma_domain"
                             : dev->viommu.empty() || !cfg_.find_viommu(dev->viommu) ||
                                       cfg_.find_viommu(dev->viommu)->implicit
                                 ? "dev_invalidate"
                                 : "viommu_invalidate";
    PathStats& path = paths_[name];
    ++path.changes;
    if (ch.kind == ChangeRecord::Kind::Map) {
        map_into(*t->second.table);
        return name;
    }
    t->second.table->unmap(ch.in, ch.size);
    const unsigned smmu = smmu_of(*dev);
    std::vector<Command> cmds = tlbi_range(Opcode::TLBI_NH_VA, device_vmid(dev->name), t->second.asid, ch.in, ch.size);
    if (dev->ats) {
        Command atc = atc_inv(dev->sid, ch.in, ch.size);
        if (dev->contexts.size() > 1 || ch.ssid != 0) {
            atc.set(cmd::SSV, 1);
            atc.set(cmd::SSID, ch.ssid);
        }
        cmds.push_back(atc);
    }
    issue(smmu, cmds, path);
    return name;
}

std::string HostDriver::guest_invalidate(const ChangeRecord& ch) {
    auto vi = viommus_.find(ch.target);
    if (vi == viommus_.end()) throw InputError(ch.where + ": viommu: unknown viommu '" + ch.target + "'");
    PathStats& path = paths_["viommu_invalidate"];
    ++path.changes;
    // IOMMU_HWPT_INVALIDATE on a vIOMMU (arm_vsmmu_cache_invalidate): only
    // these guest commands pass, with the vIOMMU's VMID forced in and vSIDs
    // turned into physical SIDs; the kernel appends a SYNC to the batch.
    Command c = ch.command;
    const auto op = static_cast<Opcode>(c.opcode());
    switch (op) {
        case Opcode::TLBI_NSNH_ALL:
            c = Command::make(Opcode::TLBI_NH_ALL);
            [[fallthrough]];
        case Opcode::TLBI_NH_ALL:
        case Opcode::TLBI_NH_ASID:
        case Opcode::TLBI_NH_VA:
        case Opcode::TLBI_NH_VAA: c.set(cmd::VMID, vi->second.vmid); break;
        case Opcode::CFGI_CD:
        case Opcode::CFGI_CD_ALL:
        case Opcode::ATC_INV: {
            auto sid = vi->second.vdevices.find(static_cast<uint32_t>(c.get(cmd::SID)));
            if (sid == vi->second.vdevices.end()) {
                ++path.rejected;
                rejected_.push_back(ch.where + ": " + std::string(c.info()->name) + " names vSID " +
                                    hex(c.get(cmd::SID)) + ", which no vDEVICE of " + ch.target + " has (-EIO)");
                return "viommu_invalidate";
            }
            c.set(cmd::SID, sid->second);
            break;
        }
        default:
            ++path.rejected;
            rejected_.push_back(ch.where + ": " + std::string(c.info()->name) +
                                " is not allowed through VIOMMU_INVALIDATE (-EIO)");
            return "viommu_invalidate";
    }
    issue(vi->second.smmu, {c}, path);
    return "viommu_invalidate";
}

}  // namespace smmu::sim
