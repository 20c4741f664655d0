#include "testbenches/host/smmu_driver.h"

#include <algorithm>

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

uint64_t field(const FieldDef& f, uint64_t reg) { return f.get(&reg); }
}  // namespace

uint16_t VmidAllocator::alloc() {
    for (uint32_t v = 1; v < (1u << bits_); ++v) {
        if (!used_.count(static_cast<uint16_t>(v))) {
            used_.insert(static_cast<uint16_t>(v));
            return static_cast<uint16_t>(v);
        }
    }
    throw InputError(smmu_ + ": out of " + std::to_string(bits_) + "-bit VMIDs (" + std::to_string(used_.size()) +
                     " in use; smmu.vmid16 widens them)");
}

void VmidAllocator::reserve(uint16_t vmid, const std::string& who) {
    if (bits_ < 16 && vmid >= (1u << bits_))
        throw InputError(who + ": VMID " + std::to_string(vmid) + " does not fit in " + std::to_string(bits_) + " bits");
    if (!used_.insert(vmid).second)
        throw InputError(who + ": VMID " + std::to_string(vmid) + " is already in use on " + smmu_);
}

SmmuDriver::SmmuDriver(HostBus& bus, const Config& cfg, TableArena& arena, std::string name)
    : bus_(bus), cfg_(cfg), arena_(arena), name_(name), vmids_(std::move(name), cfg.smmu.vmid16 ? 16 : 8) {}

void SmmuDriver::check_features(const std::vector<const DeviceConfig*>& devices) {
    const uint64_t idr0 = read32(reg::IDR0);
    for (const DeviceConfig* d : devices) {
        const bool s1 = d->attach == AttachMode::S1 || d->attach == AttachMode::Nested;
        const bool s2 = d->attach == AttachMode::S2 || d->attach == AttachMode::Nested || d->attach == AttachMode::Proxy;
        if ((s1 && !field(idr0::S1P, idr0)) || (s2 && !field(idr0::S2P, idr0)))
            throw HostError("host: device " + d->name + " needs a stage " + name_ + " does not implement (IDR0)");
    }
}

void SmmuDriver::poll(uint32_t off, uint32_t mask, uint32_t want, const char* what) {
    for (unsigned i = 0; i < kMaxPolls; ++i) {
        if ((read32(off) & mask) == want) return;
        bus_.idle();
    }
    throw HostError("host: " + name_ + " did not " + what + " after " + std::to_string(kMaxPolls) + " polls");
}

void SmmuDriver::write_cr0(uint32_t v) {
    write32(reg::CR0, v);
    poll(reg::CR0ACK, 0xffffffffu, v, "acknowledge CR0");
}

void SmmuDriver::reset() {
    const uint64_t idr0 = read32(reg::IDR0), idr1 = read32(reg::IDR1);
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

void SmmuDriver::submit(const Command& c) {
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    // Wait for room: the SMMU moves CONS as it consumes.
    for (unsigned i = 0;; ++i) {
        const uint32_t cons = read32(reg::CMDQ_CONS) & mask;
        if (!QueuePointer::full(cmdq_prod_, cons, cmdq_log2_)) break;
        if (i == kMaxPolls) throw HostError("host: " + name_ + ": command queue stayed full");
        bus_.idle();
    }
    const uint64_t slot = cmdq_base_ + uint64_t{QueuePointer::index(cmdq_prod_, cmdq_log2_)} * Command::kBytes;
    bus_.memory().write_words(slot, c.w.data(), Command::kDwords);
    cmdq_prod_ = QueuePointer::next(cmdq_prod_, cmdq_log2_);
    write32(reg::CMDQ_PROD, cmdq_prod_);
    ++commands_;
}

void SmmuDriver::sync() {
    submit(Command::make(Opcode::SYNC, {{cmd::CS, static_cast<uint64_t>(SyncCs::Sev)}}));
    ++syncs_;
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    for (unsigned i = 0; i < kMaxPolls; ++i) {
        const uint32_t cons = read32(reg::CMDQ_CONS);
        const uint32_t gerror = read32(reg::GERROR), gerrorn = read32(reg::GERRORN);
        if ((gerror ^ gerrorn) & gerror::CMDQ_ERR.mask()) {
            const uint64_t err = field(cmdq_cons::ERR, cons);
            throw HostError("host: " + name_ + ": command queue stopped with CMDQ_CONS.ERR=" + std::to_string(err) +
                            " at index " + std::to_string(cons & mask));
        }
        if ((cons & mask) == cmdq_prod_) return;
        bus_.idle();
    }
    throw HostError("host: " + name_ + ": CMD_SYNC did not complete");
}

std::vector<EventRecord> SmmuDriver::drain_events() {
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

uint64_t SmmuDriver::ste_address(uint32_t sid) const {
    if (cfg_.smmu.stream_table != TableFormat::TwoLevel) return strtab_ + uint64_t{sid} * Ste::kBytes;
    const unsigned split = cfg_.smmu.strtab_split;
    auto it = l2_tables_.find(sid >> split);
    return it == l2_tables_.end() ? 0 : it->second + (sid & ((1u << split) - 1)) * Ste::kBytes;
}

uint64_t SmmuDriver::ste_slot(uint32_t sid) {
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

void SmmuDriver::write_ste(uint32_t sid, const Ste& s) {
    const uint64_t slot = ste_slot(sid);
    // Everything but dword 0 first, then dword 0 with V: the SMMU never sees
    // a valid half-written STE (arm_smmu_write_ste's ordering).
    bus_.memory().write_words(slot + 8, s.w.data() + 1, Ste::kDwords - 1);
    bus_.memory().write64(slot, s.w[0]);
    submit(Command::make(Opcode::CFGI_STE, {{cmd::SID, sid}, {cmd::Leaf, 1}}));
    sync();
}

}  // namespace smmu::sim
