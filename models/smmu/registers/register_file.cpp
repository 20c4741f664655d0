#include "models/smmu/registers/register_file.h"

#include <algorithm>
#include <array>

namespace smmu {

using namespace arch;

// How a write to a register behaves (IHI 0070 6.3).
enum class Rule : uint8_t {
    ReadOnly,    // writes ignored
    ReadWrite,
    Acked,       // CR0, IRQ_CTRL: the ACK register (next word) follows at once
    Gbpa,        // takes effect only with UPDATE=1, which then reads back 0 (update done)
    LockSmmuen,  // STRTAB_BASE(_CFG) while SMMUEN=1: CONSTRAINED UNPREDICTABLE, ignored here
    LockCmdqen,  // CMDQ_BASE, CMDQ_CONS while CMDQEN=1: ignored
    LockEvtqen,  // EVENTQ_BASE, EVENTQ_PROD while EVTQEN=1: ignored
    LockPriqen,  // PRIQ_BASE, PRIQ_PROD while PRIQEN=1: ignored
    CmdqProd,    // kicks the command queue
    Gerrorn,     // acknowledging CMDQ_ERR restarts the command queue
};

struct RegisterFile::Reg {
    uint32_t offset;
    uint8_t bytes;
    uint64_t RegisterFile::*field;
    uint64_t write_mask;
    Rule rule;
    std::string_view name;
};

namespace {
constexpr uint64_t kStrtabBase = 0x400fffffffffffc0ull;  // RA[62], ADDR[51:6]
constexpr uint64_t kQueueBase = 0x400fffffffffffffull;   // RA/WA[62], ADDR[51:5], LOG2SIZE[4:0]
constexpr uint64_t kIrqAddr = 0x000ffffffffffffcull;     // ADDR[51:2]
constexpr uint64_t kQueuePtr = 0xfffff;                  // index + wrap, up to 2^19 entries
}  // namespace

const RegisterFile::Reg* RegisterFile::find(uint32_t offset) {
    using R = RegisterFile;
    static const std::array<Reg, 42> regs{{
        {reg::IDR0, 4, &R::idr0_, 0, Rule::ReadOnly, "IDR0"},
        {reg::IDR1, 4, &R::idr1_, 0, Rule::ReadOnly, "IDR1"},
        {reg::IDR2, 4, &R::idr2_, 0, Rule::ReadOnly, "IDR2"},
        {reg::IDR3, 4, &R::idr3_, 0, Rule::ReadOnly, "IDR3"},
        {reg::IDR4, 4, &R::idr4_, 0, Rule::ReadOnly, "IDR4"},
        {reg::IDR5, 4, &R::idr5_, 0, Rule::ReadOnly, "IDR5"},
        {reg::IIDR, 4, &R::iidr_, 0, Rule::ReadOnly, "IIDR"},
        {reg::AIDR, 4, &R::aidr_, 0, Rule::ReadOnly, "AIDR"},
        // PRIQEN and PRIQ_IRQEN are RES0 without IDR0.PRI (write() clears them).
        {reg::CR0, 4, &R::cr0_, 0x1f, Rule::Acked, "CR0"},
        {reg::CR0ACK, 4, &R::cr0ack_, 0, Rule::ReadOnly, "CR0ACK"},
        {reg::CR1, 4, &R::cr1_, 0xfff, Rule::ReadWrite, "CR1"},
        {reg::CR2, 4, &R::cr2_, 0x7, Rule::ReadWrite, "CR2"},
        {reg::STATUSR, 4, &R::statusr_, 0, Rule::ReadOnly, "STATUSR"},
        {reg::GBPA, 4, &R::gbpa_, 0x801fffff, Rule::Gbpa, "GBPA"},
        {reg::IRQ_CTRL, 4, &R::irq_ctrl_, 0x7, Rule::Acked, "IRQ_CTRL"},
        {reg::IRQ_CTRLACK, 4, &R::irq_ctrlack_, 0, Rule::ReadOnly, "IRQ_CTRLACK"},
        {reg::GERROR, 4, &R::gerror_, 0, Rule::ReadOnly, "GERROR"},
        {reg::GERRORN, 4, &R::gerrorn_, gerror::kDefined, Rule::Gerrorn, "GERRORN"},
        {reg::GERROR_IRQ_CFG0, 8, &R::gerror_irq_cfg0_, kIrqAddr, Rule::ReadWrite, "GERROR_IRQ_CFG0"},
        {reg::GERROR_IRQ_CFG1, 4, &R::gerror_irq_cfg1_, 0xffffffff, Rule::ReadWrite, "GERROR_IRQ_CFG1"},
        {reg::GERROR_IRQ_CFG2, 4, &R::gerror_irq_cfg2_, 0x3f, Rule::ReadWrite, "GERROR_IRQ_CFG2"},
        {reg::STRTAB_BASE, 8, &R::strtab_base_, kStrtabBase, Rule::LockSmmuen, "STRTAB_BASE"},
        {reg::STRTAB_BASE_CFG, 4, &R::strtab_base_cfg_, 0x307ff, Rule::LockSmmuen, "STRTAB_BASE_CFG"},
        {reg::CMDQ_BASE, 8, &R::cmdq_base_, kQueueBase, Rule::LockCmdqen, "CMDQ_BASE"},
        {reg::CMDQ_PROD, 4, &R::cmdq_prod_, kQueuePtr, Rule::CmdqProd, "CMDQ_PROD"},
        {reg::CMDQ_CONS, 4, &R::cmdq_cons_, kQueuePtr, Rule::LockCmdqen, "CMDQ_CONS"},
        {reg::EVENTQ_BASE, 8, &R::eventq_base_, kQueueBase, Rule::LockEvtqen, "EVENTQ_BASE"},
        // Page 1 is the event queue pointers' architectural home (IHI 0070 6.3.28);
        // Linux's page-0-only option (ARM_SMMU_OPT_PAGE0_REGS_ONLY) uses these aliases.
        {reg::EVENTQ_PROD_ALIAS, 4, &R::eventq_prod_, kQueuePtr | (1u << 31), Rule::LockEvtqen, "EVENTQ_PROD"},
        {reg::EVENTQ_CONS_ALIAS, 4, &R::eventq_cons_, kQueuePtr | (1u << 31), Rule::ReadWrite, "EVENTQ_CONS"},
        {reg::EVENTQ_IRQ_CFG0, 8, &R::eventq_irq_cfg0_, kIrqAddr, Rule::ReadWrite, "EVENTQ_IRQ_CFG0"},
        {reg::EVENTQ_IRQ_CFG1, 4, &R::eventq_irq_cfg1_, 0xffffffff, Rule::ReadWrite, "EVENTQ_IRQ_CFG1"},
        {reg::EVENTQ_IRQ_CFG2, 4, &R::eventq_irq_cfg2_, 0x3f, Rule::ReadWrite, "EVENTQ_IRQ_CFG2"},
        {reg::EVENTQ_PROD, 4, &R::eventq_prod_, kQueuePtr | (1u << 31), Rule::LockEvtqen, "EVENTQ_PROD"},
        {reg::EVENTQ_CONS, 4, &R::eventq_cons_, kQueuePtr | (1u << 31), Rule::ReadWrite, "EVENTQ_CONS"},
        {reg::PRIQ_BASE, 8, &R::priq_base_, kQueueBase, Rule::LockPriqen, "PRIQ_BASE"},
        {reg::PRIQ_PROD_ALIAS, 4, &R::priq_prod_, kQueuePtr | (1u << 31), Rule::LockPriqen, "PRIQ_PROD"},
        {reg::PRIQ_CONS_ALIAS, 4, &R::priq_cons_, kQueuePtr | (1u << 31), Rule::ReadWrite, "PRIQ_CONS"},
        {reg::PRIQ_IRQ_CFG0, 8, &R::priq_irq_cfg0_, kIrqAddr, Rule::ReadWrite, "PRIQ_IRQ_CFG0"},
        {reg::PRIQ_IRQ_CFG1, 4, &R::priq_irq_cfg1_, 0xffffffff, Rule::ReadWrite, "PRIQ_IRQ_CFG1"},
        // PRIQ_IRQ_CFG2.LO (bit 31) besides the MSI attributes (IHI 0070 6.3.36).
        {reg::PRIQ_IRQ_CFG2, 4, &R::priq_irq_cfg2_, 0x8000'003f, Rule::ReadWrite, "PRIQ_IRQ_CFG2"},
        {reg::PRIQ_PROD, 4, &R::priq_prod_, kQueuePtr | (1u << 31), Rule::LockPriqen, "PRIQ_PROD"},
        {reg::PRIQ_CONS, 4, &R::priq_cons_, kQueuePtr | (1u << 31), Rule::ReadWrite, "PRIQ_CONS"},
    }};
    for (const Reg& r : regs)
        if (offset >= r.offset && offset < r.offset + r.bytes) return &r;
    return nullptr;
}

RegisterFile::RegisterFile(const SmmuCaps& caps, unsigned cmdq_max_log2, unsigned eventq_max_log2,
                           const std::vector<IdrOverride>& idr)
    : caps_(caps), cmdq_max_(cmdq_max_log2), eventq_max_(eventq_max_log2) {
    idr0::S2P.set(&idr0_, caps.s2p);
    idr0::S1P.set(&idr0_, caps.s1p);
    idr0::TTF.set(&idr0_, 2);  // AArch64 tables only
    idr0::COHACC.set(&idr0_, 1);
    idr0::HYP.set(&idr0_, 1);
    idr0::ATS.set(&idr0_, caps.ats);
    // NS1ATS 1: no Split-stage (stage 1 only) ATS, so STE.EATS 0b10 is ILLEGAL;
    // RES0 without ATS or without both stages (IHI 0070 6.3.1).
    idr0::NS1ATS.set(&idr0_, caps.ats && caps.s1p && caps.s2p);
    idr0::ASID16.set(&idr0_, caps.asid16);
    idr0::MSI.set(&idr0_, 1);
    idr0::SEV.set(&idr0_, 1);
    idr0::VMID16.set(&idr0_, caps.vmid16);
    idr0::CD2L.set(&idr0_, caps.cd2l);
    idr0::TTENDIAN.set(&idr0_, 2);     // little-endian tables only
    idr0::HTTU.set(&idr0_, caps.httu);
    idr0::STALL_MODEL.set(&idr0_, caps.stall_model);
    idr0::PRI.set(&idr0_, caps.pri);
    if (caps.pri) idr1::PRIQS.set(&idr1_, caps.priq_max_log2);
    // STALL_MAX is meaningful only where transactions can stall (IHI 0070 6.3.6).
    if (caps.stall_model != 1) idr5::STALL_MAX.set(&idr5_, caps.stall_max);
    idr0::ST_LEVEL.set(&idr0_, caps.two_level_strtab ? 1 : 0);
    idr1::SIDSIZE.set(&idr1_, caps.sid_bits);
    idr1::SSIDSIZE.set(&idr1_, caps.ssid_bits);
    idr1::EVENTQS.set(&idr1_, eventq_max_log2);
    idr1::CMDQS.set(&idr1_, cmdq_max_log2);
    idr3::RIL.set(&idr3_, 1);
    idr3::STT.set(&idr3_, caps.stt);
    idr5::OAS.set(&idr5_, pa_encoding(caps.oas).value_or(5));
    idr5::GRAN4K.set(&idr5_, caps.gran4k);
    idr5::GRAN16K.set(&idr5_, caps.gran16k);
    idr5::GRAN64K.set(&idr5_, caps.gran64k);
    aidr_ = 0x01;  // SMMUv3.1
    for (const IdrOverride& o : idr) {
        const bool id = o.offset <= reg::IDR5 || o.offset == reg::IIDR || o.offset == reg::AIDR;
        const Reg* r = find(o.offset);
        if (!id || !r) continue;  // only the ID registers
        uint64_t& v = this->*(r->field);
        v = (v & ~uint64_t{o.mask}) | (o.value & o.mask);
    }
    strtab_ = decode_stream_table();
}

const RegisterFile::Reg* RegisterFile::present(uint32_t offset) const {
    const Reg* r = find(offset);
    // The PRI queue's registers are RES0 without IDR0.PRI (IHI 0070 6.3.30-6.3.34).
    const bool priq = r && ((r->offset >= reg::PRIQ_BASE && r->offset <= reg::PRIQ_IRQ_CFG2) ||
                            r->offset == reg::PRIQ_PROD || r->offset == reg::PRIQ_CONS);
    return priq && !caps_.pri ? nullptr : r;
}

std::string_view RegisterFile::name(uint32_t offset) {
    const Reg* r = find(offset);
    return r ? r->name : "RESERVED";
}

MmioStatus RegisterFile::read(uint32_t offset, unsigned size, uint64_t& value) const {
    value = 0;
    if ((size != 4 && size != 8) || offset % size != 0) return MmioStatus::BusError;
    const Reg* r = present(offset);
    if (!r) return MmioStatus::Ok;  // reserved: RAZ
    if (size > r->bytes) return MmioStatus::BusError;
    const unsigned shift = (offset - r->offset) * 8;
    value = this->*(r->field) >> shift;
    if (size == 4) value &= 0xffffffffu;
    return MmioStatus::Ok;
}

MmioStatus RegisterFile::write(uint32_t offset, unsigned size, uint64_t value, WriteEffect& effect) {
    if ((size != 4 && size != 8) || offset % size != 0) return MmioStatus::BusError;
    const Reg* r = present(offset);
    if (!r) {
        effect.ignored = true;  // reserved: WI
        return MmioStatus::Ok;
    }
    if (size > r->bytes) return MmioStatus::BusError;
    const bool locked = r->rule == Rule::ReadOnly || (r->rule == Rule::LockSmmuen && smmu_enabled()) ||
                        (r->rule == Rule::LockCmdqen && cmdq_enabled()) ||
                        (r->rule == Rule::LockEvtqen && eventq_enabled()) ||
                        (r->rule == Rule::LockPriqen && priq_enabled());
    if (locked) {
        effect.ignored = true;
        return MmioStatus::Ok;
    }
    uint64_t& field = this->*(r->field);
    const unsigned shift = (offset - r->offset) * 8;
    const uint64_t lane = size == 8 ? ~uint64_t{0} : uint64_t{0xffffffff} << shift;
    uint64_t v = ((field & ~lane) | ((value << shift) & lane)) & r->write_mask;
    switch (r->rule) {
        case Rule::Acked: {
            const bool cmdq_was_on = cmdq_enabled();
            // CR0.PRIQEN and IRQ_CTRL.PRIQ_IRQEN share bit 1: RES0 without a PRI queue.
            if (!caps_.pri) v &= ~cr0::PRIQEN.mask();
            field = v;
            // The ACK register sits right after its register (CR0/CR0ACK, IRQ_CTRL/IRQ_CTRLACK).
            (r->offset == reg::CR0 ? cr0ack_ : irq_ctrlack_) = v;
            effect.cmdq_kick = !cmdq_was_on && cmdq_enabled();
            break;
        }
        case Rule::Gbpa:
            if (!gbpa::UPDATE.get(&v)) {
                effect.ignored = true;
                break;
            }
            gbpa::UPDATE.set(&v, 0);
            field = v;
            break;
        case Rule::CmdqProd:
            field = v;
            effect.cmdq_kick = true;
            break;
        case Rule::Gerrorn:
            field = v;
            if (cmdq_stopped_ && !gerror_active(gerror::CMDQ_ERR)) {
                cmdq_stopped_ = false;
                effect.cmdq_kick = true;
            }
            break;
        default: field = v; break;
    }
    if (r->field == &RegisterFile::strtab_base_ || r->field == &RegisterFile::strtab_base_cfg_)
        strtab_ = decode_stream_table();
    return MmioStatus::Ok;
}

StreamTableConfig RegisterFile::decode_stream_table() const {
    StreamTableConfig st;
    st.base = strtab_base::ADDR.get(&strtab_base_);
    st.log2size = static_cast<unsigned>(strtab_base_cfg::LOG2SIZE.get(&strtab_base_cfg_));
    // SPLIT other than 6/8/10 is CONSTRAINED UNPREDICTABLE; this model uses 8.
    const auto split = strtab_base_cfg::SPLIT.get(&strtab_base_cfg_);
    st.split = (split == 6 || split == 8 || split == 10) ? static_cast<unsigned>(split) : 8;
    st.two_level = caps_.two_level_strtab && strtab_base_cfg::FMT.get(&strtab_base_cfg_) == 1;
    return st;
}

QueueConfig RegisterFile::cmdq() const {
    return {queue_base::ADDR.get(&cmdq_base_),
            std::min<unsigned>(static_cast<unsigned>(queue_base::LOG2SIZE.get(&cmdq_base_)), cmdq_max_)};
}

QueueConfig RegisterFile::priq() const {
    return {queue_base::ADDR.get(&priq_base_),
            std::min<unsigned>(static_cast<unsigned>(queue_base::LOG2SIZE.get(&priq_base_)), caps_.priq_max_log2)};
}

QueueConfig RegisterFile::eventq() const {
    return {queue_base::ADDR.get(&eventq_base_),
            std::min<unsigned>(static_cast<unsigned>(queue_base::LOG2SIZE.get(&eventq_base_)), eventq_max_)};
}

void RegisterFile::raise_cmdq_error(CmdqError err) {
    cmdq_cons::ERR.set(&cmdq_cons_, static_cast<uint64_t>(err));
    raise_gerror(gerror::CMDQ_ERR);
    cmdq_stopped_ = true;
}

void RegisterFile::raise_gerror(const FieldDef& bit) {
    // A GERROR bit toggles only when it is not already active (IHI 0070 6.3.12).
    if (!gerror_active(bit)) gerror_ ^= bit.mask();
}

}  // namespace smmu
