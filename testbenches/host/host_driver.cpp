#include "testbenches/host/host_driver.h"

#include <algorithm>

#include "models/arch/cd.h"
#include "models/arch/registers.h"
#include "models/smmu/registers/register_file.h"
#include "testbenches/config/input_error.h"

namespace smmu::sim {

using namespace arch;

namespace {
// Linux's CR1: tables and queues inner-shareable, write-back cacheable.
constexpr uint32_t kCr1 = (3u << 10) | (1u << 8) | (1u << 6) | (3u << 4) | (1u << 2) | 1u;
// Linux's CR2: record C_BAD_STREAMID, private TLB maintenance.
constexpr uint32_t kCr2 = (1u << 1) | (1u << 2);
constexpr uint64_t kRa = uint64_t{1} << 62;  // read/write-allocate hint in *_BASE
constexpr uint64_t kGuestTablesDefault = 4ull << 20;
constexpr unsigned kCdLeafSplit = 6;  // 2-level CD tables: 4K leaves of 64 CDs

unsigned ceil_log2(uint64_t n) {
    unsigned b = 0;
    while ((uint64_t{1} << b) < n) ++b;
    return b;
}

PageAttrs attrs_of(const Mapping& m) { return {m.read, m.write, m.exec}; }

uint64_t field(const FieldDef& f, uint64_t reg) { return f.get(&reg); }

// Encodings of the translation granule in CD.TG0 and STE.S2TG are the Granule values.
unsigned s2sl0(const PageTable& t) { return (t.granule() == Granule::K4 ? 2 : 3) - t.start_level(); }
}  // namespace

HostDriver::HostDriver(HostBus& bus, const Config& cfg)
    : bus_(bus), cfg_(cfg), arena_("memory.table_base", cfg.memory.table_base, cfg.memory.table_base,
                                   cfg.memory.table_size) {}

void HostDriver::poll(uint32_t off, uint32_t mask, uint32_t want, const char* what) {
    for (unsigned i = 0; i < kMaxPolls; ++i) {
        if ((read32(off) & mask) == want) return;
        bus_.idle();
    }
    throw HostError(std::string("host: SMMU did not ") + what + " after " + std::to_string(kMaxPolls) + " polls");
}

void HostDriver::write_cr0(uint32_t v) {
    write32(reg::CR0, v);
    poll(reg::CR0ACK, 0xffffffffu, v, "acknowledge CR0");
}

void HostDriver::reset() {
    // The probe: what the config needs must be in the ID registers.
    const uint64_t idr0 = read32(reg::IDR0), idr1 = read32(reg::IDR1);
    for (const DeviceConfig& d : cfg_.devices) {
        const bool s1 = d.attach == AttachMode::S1 || d.attach == AttachMode::Nested;
        const bool s2 = d.attach == AttachMode::S2 || d.attach == AttachMode::Nested;
        if ((s1 && !field(idr0::S1P, idr0)) || (s2 && !field(idr0::S2P, idr0)))
            throw HostError("host: device " + d.name + " needs a stage the SMMU does not implement (IDR0)");
    }
    const unsigned sid_bits = static_cast<unsigned>(field(idr1::SIDSIZE, idr1));
    cmdq_log2_ = std::min(cfg_.smmu.cmdq_log2size, static_cast<unsigned>(field(idr1::CMDQS, idr1)));
    eventq_log2_ = std::min(cfg_.smmu.eventq_log2size, static_cast<unsigned>(field(idr1::EVENTQS, idr1)));

    write_cr0(0);
    write32(reg::CR1, kCr1);
    write32(reg::CR2, kCr2);

    // Stream table: zeroed memory is all V=0 STEs, which is what Linux starts from.
    uint64_t cfg = 0;
    strtab_base_cfg::LOG2SIZE.set(&cfg, sid_bits);
    if (cfg_.smmu.stream_table == TableFormat::TwoLevel) {
        const unsigned split = cfg_.smmu.strtab_split;
        const uint64_t l1_bytes = (uint64_t{1} << (sid_bits > split ? sid_bits - split : 0)) * 8;
        strtab_ = arena_.alloc(l1_bytes, std::max<uint64_t>(l1_bytes, 64));
        strtab_base_cfg::SPLIT.set(&cfg, split);
        strtab_base_cfg::FMT.set(&cfg, 1);
    } else {
        const uint64_t bytes = (uint64_t{1} << sid_bits) * Ste::kBytes;
        strtab_ = arena_.alloc(bytes, bytes);
    }
    write64(reg::STRTAB_BASE, strtab_ | kRa);
    write32(reg::STRTAB_BASE_CFG, static_cast<uint32_t>(cfg));

    const uint64_t cmdq_bytes = (uint64_t{1} << cmdq_log2_) * Command::kBytes;
    cmdq_base_ = arena_.alloc(cmdq_bytes, std::max<uint64_t>(cmdq_bytes, 32));
    write64(reg::CMDQ_BASE, cmdq_base_ | cmdq_log2_ | kRa);
    write32(reg::CMDQ_PROD, 0);
    write32(reg::CMDQ_CONS, 0);
    cmdq_prod_ = 0;
    write_cr0(cr0::CMDQEN.mask());

    submit(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}}));  // CFGI_ALL
    sync();
    if (field(idr0::HYP, idr0)) {
        submit(Command::make(Opcode::TLBI_EL2_ALL));
        sync();
    }
    submit(Command::make(Opcode::TLBI_NSNH_ALL));
    sync();

    const uint64_t eventq_bytes = (uint64_t{1} << eventq_log2_) * EventRecord::kBytes;
    eventq_base_ = arena_.alloc(eventq_bytes, std::max<uint64_t>(eventq_bytes, 32));
    write64(reg::EVENTQ_BASE, eventq_base_ | eventq_log2_ | kRa);
    write32(reg::EVENTQ_PROD, 0);
    write32(reg::EVENTQ_CONS, 0);
    write_cr0(cr0::CMDQEN.mask() | cr0::EVTQEN.mask());

    const uint32_t irq = static_cast<uint32_t>(irq_ctrl::GERROR_IRQEN.mask() | irq_ctrl::EVTQ_IRQEN.mask());
    write32(reg::IRQ_CTRL, irq);
    poll(reg::IRQ_CTRLACK, 0xffffffffu, irq, "acknowledge IRQ_CTRL");

    write_cr0(cr0::CMDQEN.mask() | cr0::EVTQEN.mask() | cr0::SMMUEN.mask());
}

void HostDriver::submit(const Command& c) {
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    // Wait for room: the SMMU moves CONS as it consumes.
    for (unsigned i = 0;; ++i) {
        const uint32_t cons = read32(reg::CMDQ_CONS) & mask;
        if (!QueuePointer::full(cmdq_prod_, cons, cmdq_log2_)) break;
        if (i == kMaxPolls) throw HostError("host: command queue stayed full");
        bus_.idle();
    }
    const uint64_t slot = cmdq_base_ + uint64_t{QueuePointer::index(cmdq_prod_, cmdq_log2_)} * Command::kBytes;
    bus_.memory().write_words(slot, c.w.data(), Command::kDwords);
    cmdq_prod_ = QueuePointer::next(cmdq_prod_, cmdq_log2_);
    write32(reg::CMDQ_PROD, cmdq_prod_);
    ++commands_;
}

void HostDriver::sync() {
    submit(Command::make(Opcode::SYNC, {{cmd::CS, static_cast<uint64_t>(SyncCs::Sev)}}));
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    for (unsigned i = 0; i < kMaxPolls; ++i) {
        const uint32_t cons = read32(reg::CMDQ_CONS);
        const uint32_t gerror = read32(reg::GERROR), gerrorn = read32(reg::GERRORN);
        if ((gerror ^ gerrorn) & gerror::CMDQ_ERR.mask()) {
            const uint64_t err = field(cmdq_cons::ERR, cons);
            throw HostError("host: command queue stopped with CMDQ_CONS.ERR=" + std::to_string(err) +
                            " at index " + std::to_string(cons & mask));
        }
        if ((cons & mask) == cmdq_prod_) return;
        bus_.idle();
    }
    throw HostError("host: CMD_SYNC did not complete");
}

std::vector<EventRecord> HostDriver::drain_events() {
    std::vector<EventRecord> out;
    const uint32_t mask = QueuePointer::mask(eventq_log2_);
    const uint32_t prod = read32(reg::EVENTQ_PROD);
    uint32_t cons = read32(reg::EVENTQ_CONS);
    while ((cons & mask) != (prod & mask)) {
        EventRecord e;
        const uint64_t slot = eventq_base_ + uint64_t{QueuePointer::index(cons, eventq_log2_)} * EventRecord::kBytes;
        bus_.memory().read_words(slot, e.w.data(), EventRecord::kDwords);
        out.push_back(e);
        cons = (cons & ~mask) | QueuePointer::next(cons & mask, eventq_log2_);
    }
    // Acknowledge an overflow by copying OVFLG into OVACKFLG.
    cons = (cons & mask) | (prod & eventq_prod::OVFLG.mask());
    write32(reg::EVENTQ_CONS, cons);
    return out;
}

void HostDriver::install() {
    for (const VmConfig& vm : cfg_.vms) install_vm(vm);
    for (const DeviceConfig& dev : cfg_.devices) install_device(dev);
}

uint16_t HostDriver::vmid(const std::string& vm) const {
    auto it = vms_.find(vm);
    return it == vms_.end() ? 0 : it->second.vmid;
}

void HostDriver::install_vm(const VmConfig& vm) {
    VmState& st = vms_[vm.name];
    const unsigned vmid_bits = cfg_.smmu.vmid16 ? 16 : 8;
    if (vm.vmid) {
        st.vmid = *vm.vmid;
    } else {
        if (next_vmid_ >= (1u << vmid_bits))
            throw InputError(vm.where + ": vms." + vm.name + ": out of " + std::to_string(vmid_bits) + "-bit VMIDs");
        st.vmid = static_cast<uint16_t>(next_vmid_++);
    }
    MemoryPort& mem = bus_.memory();
    st.s2 = std::make_unique<PageTable>(mem, arena_, 2, vm.s2.granule, vm.s2.ias);
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

uint64_t HostDriver::ste_address(uint32_t sid) const {
    if (cfg_.smmu.stream_table != TableFormat::TwoLevel) return strtab_ + uint64_t{sid} * Ste::kBytes;
    const unsigned split = cfg_.smmu.strtab_split;
    auto it = l2_tables_.find(sid >> split);
    return it == l2_tables_.end() ? 0 : it->second + (sid & ((1u << split) - 1)) * Ste::kBytes;
}

uint64_t HostDriver::ste_slot(uint32_t sid) {
    if (cfg_.smmu.stream_table == TableFormat::TwoLevel) {
        const unsigned split = cfg_.smmu.strtab_split;
        const uint32_t l1 = sid >> split;
        if (!l2_tables_.count(l1)) {
            // One full L2 table per L1 entry: Span = SPLIT + 1 (Linux's layout).
            const uint64_t bytes = (uint64_t{1} << split) * Ste::kBytes;
            const uint64_t l2 = arena_.alloc(bytes, bytes);
            L1StreamDescriptor d;
            d.set(l1std::L2Ptr, l2);
            d.set(l1std::Span, split + 1);
            bus_.memory().write64(strtab_ + uint64_t{l1} * 8, d.w[0]);
            l2_tables_[l1] = l2;
        }
    }
    return ste_address(sid);
}

uint64_t HostDriver::build_cds(const DeviceConfig& dev, TableArena& arena, unsigned& s1cdmax) {
    MemoryPort& mem = bus_.memory();
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
        PageTable s1(mem, arena, 1, c.granule, c.va_bits);
        for (const Mapping& m : c.map) s1.map(m.in, m.out, m.size, attrs_of(m), m.page);

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

Ste HostDriver::make_ste(const DeviceConfig& dev) {
    Ste s;
    s.set(ste::V, 1);
    switch (dev.attach) {
        case AttachMode::Abort: s.set(ste::Config, static_cast<uint64_t>(SteConfig::Abort)); return s;
        case AttachMode::Bypass:
            s.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
            s.set(ste::SHCFG, 1);  // use incoming shareability
            return s;
        case AttachMode::S1: s.set(ste::Config, static_cast<uint64_t>(SteConfig::S1Trans)); break;
        case AttachMode::S2: s.set(ste::Config, static_cast<uint64_t>(SteConfig::S2Trans)); break;
        case AttachMode::Nested: s.set(ste::Config, static_cast<uint64_t>(SteConfig::Nested)); break;
    }
    if (dev.attach == AttachMode::S1 || dev.attach == AttachMode::Nested) {
        // Stage 1 tables live in host memory (PA) for S1, in guest RAM (IPA) when nested.
        TableArena& arena = dev.attach == AttachMode::Nested ? *vms_.at(dev.vm).guest : arena_;
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
    } else {
        s.set(ste::SHCFG, 1);
    }
    if (dev.attach == AttachMode::S2 || dev.attach == AttachMode::Nested) {
        const VmState& vm = vms_.at(dev.vm);
        const PageTable& t = *vm.s2;
        s.set(ste::S2VMID, vm.vmid);
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
    return s;
}

void HostDriver::install_device(const DeviceConfig& dev) {
    const Ste s = make_ste(dev);
    const uint64_t slot = ste_slot(dev.sid);
    // Everything but dword 0 first, then dword 0 with V: the SMMU never sees
    // a valid half-written STE (arm_smmu_write_ste's ordering).
    bus_.memory().write_words(slot + 8, s.w.data() + 1, Ste::kDwords - 1);
    bus_.memory().write64(slot, s.w[0]);
    submit(Command::make(Opcode::CFGI_STE, {{cmd::SID, dev.sid}, {cmd::Leaf, 1}}));
    sync();
}

}  // namespace smmu::sim
