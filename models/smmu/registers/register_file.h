// The SMMU's programming interface as plain C++ (IHI 0070 6.3): ID registers
// built from the capabilities, control registers with their write rules, and
// the queue and stream-table base registers the other blocks read.
#pragma once
#include <cstdint>
#include <vector>
#include <string_view>

#include "models/arch/registers.h"
#include "models/smmu/stream_table/stream_table.h"

namespace smmu {

// Queue PROD/CONS arithmetic (IHI 0070 3.5.1): index in the low LOG2SIZE bits,
// wrap flag just above.
struct QueuePointer {
    static uint32_t index(uint32_t p, unsigned log2) { return p & ((1u << log2) - 1); }
    static uint32_t wrap(uint32_t p, unsigned log2) { return (p >> log2) & 1; }
    static uint32_t mask(unsigned log2) { return (2u << log2) - 1; }  // index + wrap
    static uint32_t next(uint32_t p, unsigned log2) { return (p + 1) & mask(log2); }
    static bool empty(uint32_t prod, uint32_t cons, unsigned log2) {
        return (prod & mask(log2)) == (cons & mask(log2));
    }
    static bool full(uint32_t prod, uint32_t cons, unsigned log2) {
        return index(prod, log2) == index(cons, log2) && wrap(prod, log2) != wrap(cons, log2);
    }
};

struct QueueConfig {
    uint64_t base = 0;
    unsigned log2size = 0;
};

// The queues the SMMU writes and software reads (IHI 0070 7.2, 8.1).
enum class OutQueue : uint8_t { Event, Pri };

// What a register write asks the rest of the SMMU to do.
struct WriteEffect {
    bool cmdq_kick = false;    // CMDQ_PROD written, or the queue was re-enabled
    bool ignored = false;      // the write had no effect (read-only, locked...)
};

enum class MmioStatus : uint8_t { Ok, BusError };

// An ID register value set from outside (`smmu.idr` in a configuration): the
// bits of `mask` at `offset` read as `value`, over what the capabilities give.
// The capabilities that change behaviour (SmmuCaps, queue sizes) are set to
// match by whoever builds the SmmuCoreParams (core_params()).
struct IdrOverride {
    uint32_t offset = 0;
    uint32_t mask = 0;
    uint32_t value = 0;
};

class RegisterFile {
public:
    RegisterFile(const SmmuCaps& caps, unsigned cmdq_max_log2, unsigned eventq_max_log2,
                 const std::vector<IdrOverride>& idr = {});

    // 32-bit accesses to any register, 64-bit to the 64-bit ones; anything
    // else (other sizes, misaligned) is a bus error. Unknown offsets RAZ/WI.
    MmioStatus read(uint32_t offset, unsigned size, uint64_t& value) const;
    MmioStatus write(uint32_t offset, unsigned size, uint64_t value, WriteEffect& effect);

    // State the other blocks act on.
    bool smmu_enabled() const { return cr0_ & 1; }
    bool cmdq_enabled() const { return cr0_ & 8; }
    bool eventq_enabled() const { return cr0_ & 4; }
    bool priq_enabled() const { return cr0_ & 2; }
    bool ats_check() const { return cr0_ & 0x10; }  // CR0.ATSCHK
    bool gbpa_abort() const { return arch::gbpa::ABORT.get(&gbpa_); }
    // CR2.RECINVSID: record C_BAD_STREAMID for invalid input StreamIDs (IHI 0070 6.3.4).
    bool record_invalid_sid() const { return cr2_ & 2; }
    // An ID register field as advertised (IDR0-IDR5, smmu.idr included).
    uint64_t id_field(uint32_t offset, const arch::FieldDef& f) const {
        const uint64_t v = offset == arch::reg::IDR0   ? idr0_
                           : offset == arch::reg::IDR1 ? idr1_
                           : offset == arch::reg::IDR3 ? idr3_
                           : offset == arch::reg::IDR5 ? idr5_
                                                       : 0;
        return f.get(&v);
    }
    // STRTAB_BASE and STRTAB_BASE_CFG decoded. Every translation and
    // prefetch asks for it, so it is decoded when either register is written
    // (the only way they change), not per call.
    const StreamTableConfig& stream_table() const { return strtab_; }
    QueueConfig cmdq() const;
    QueueConfig eventq() const;
    QueueConfig priq() const;

    // Queue pointers as the SMMU side moves them.
    uint32_t cmdq_prod() const { return static_cast<uint32_t>(cmdq_prod_); }
    uint32_t cmdq_cons() const { return static_cast<uint32_t>(cmdq_cons_); }
    void set_cmdq_cons(uint32_t v) { cmdq_cons_ = (cmdq_cons_ & ~uint64_t{0xfffff}) | v; }
    uint32_t eventq_prod() const { return static_cast<uint32_t>(eventq_prod_); }
    uint32_t eventq_cons() const { return static_cast<uint32_t>(eventq_cons_); }
    void set_eventq_prod(uint32_t v) { eventq_prod_ = v; }
    uint64_t eventq_irq_addr() const { return eventq_irq_cfg0_; }
    uint32_t eventq_irq_data() const { return static_cast<uint32_t>(eventq_irq_cfg1_); }
    bool eventq_irq_enabled() const { return irq_ctrl_ & 4; }
    uint32_t priq_prod() const { return static_cast<uint32_t>(priq_prod_); }
    uint32_t priq_cons() const { return static_cast<uint32_t>(priq_cons_); }
    void set_priq_prod(uint32_t v) { priq_prod_ = v; }
    // The event queue's or the PRI queue's registers, by kind (EventQueue, PriQueue).
    bool out_enabled(OutQueue k) const { return k == OutQueue::Event ? eventq_enabled() : priq_enabled(); }
    QueueConfig out_queue(OutQueue k) const { return k == OutQueue::Event ? eventq() : priq(); }
    uint32_t out_prod(OutQueue k) const { return k == OutQueue::Event ? eventq_prod() : priq_prod(); }
    uint32_t out_cons(OutQueue k) const { return k == OutQueue::Event ? eventq_cons() : priq_cons(); }
    void set_out_prod(OutQueue k, uint32_t v) { (k == OutQueue::Event ? eventq_prod_ : priq_prod_) = v; }
    bool out_irq_enabled(OutQueue k) const { return irq_ctrl_ & (k == OutQueue::Event ? 4 : 2); }
    uint64_t out_irq_addr(OutQueue k) const { return k == OutQueue::Event ? eventq_irq_cfg0_ : priq_irq_cfg0_; }
    // PRIQ_IRQ_CFG2.LO: interrupt only for page requests with Last set (IHI 0070 6.3.36).
    bool priq_irq_last_only() const { return (priq_irq_cfg2_ >> 31) & 1; }
    uint32_t out_irq_data(OutQueue k) const {
        return static_cast<uint32_t>(k == OutQueue::Event ? eventq_irq_cfg1_ : priq_irq_cfg1_);
    }
    uint64_t gerror_irq_addr() const { return gerror_irq_cfg0_; }
    uint32_t gerror_irq_data() const { return static_cast<uint32_t>(gerror_irq_cfg1_); }
    bool gerror_irq_enabled() const { return irq_ctrl_ & 1; }

    // The command queue stopped on an error: CMDQ_CONS.ERR set and GERROR.CMDQ_ERR
    // toggled (IHI 0070 7.1). It stays stopped until a GERRORN write acknowledges
    // the error (GERRORN.CMDQ_ERR == GERROR.CMDQ_ERR); that write restarts it.
    // A GERRORN toggle with no error active stops nothing (IHI 0070 6.3.18 says
    // software must not; QEMU likewise only stores it).
    void raise_cmdq_error(arch::CmdqError err);
    bool cmdq_error_active() const { return cmdq_stopped_; }
    // Any other global error: toggles the GERROR bit given.
    void raise_gerror(const arch::FieldDef& bit);
    bool gerror_active(const arch::FieldDef& bit) const { return ((gerror_ ^ gerrorn_) & bit.mask()) != 0; }

    const SmmuCaps& caps() const { return caps_; }
    unsigned cmdq_max_log2() const { return cmdq_max_; }
    unsigned eventq_max_log2() const { return eventq_max_; }

    // Register name at an offset, for traces and error messages.
    static std::string_view name(uint32_t offset);

private:
    struct Reg;
    static const Reg* find(uint32_t offset);
    // find(), but nullptr for the registers this SMMU does not have (PRIQ_* without IDR0.PRI).
    const Reg* present(uint32_t offset) const;
    StreamTableConfig decode_stream_table() const;

    const SmmuCaps caps_;
    unsigned cmdq_max_, eventq_max_;
    uint64_t idr0_ = 0, idr1_ = 0, idr2_ = 0, idr3_ = 0, idr4_ = 0, idr5_ = 0;
    uint64_t iidr_ = 0, aidr_ = 0;
    uint64_t cr0_ = 0, cr0ack_ = 0, cr1_ = 0, cr2_ = 0, statusr_ = 0, gbpa_ = 0;
    uint64_t irq_ctrl_ = 0, irq_ctrlack_ = 0, gerror_ = 0, gerrorn_ = 0;
    bool cmdq_stopped_ = false;  // by an error not yet acknowledged through GERRORN
    uint64_t gerror_irq_cfg0_ = 0, gerror_irq_cfg1_ = 0, gerror_irq_cfg2_ = 0;
    uint64_t strtab_base_ = 0, strtab_base_cfg_ = 0;
    StreamTableConfig strtab_;  // decode_stream_table() of the two above
    uint64_t cmdq_base_ = 0, cmdq_prod_ = 0, cmdq_cons_ = 0;
    uint64_t eventq_base_ = 0, eventq_prod_ = 0, eventq_cons_ = 0;
    uint64_t eventq_irq_cfg0_ = 0, eventq_irq_cfg1_ = 0, eventq_irq_cfg2_ = 0;
    uint64_t priq_base_ = 0, priq_prod_ = 0, priq_cons_ = 0;
    uint64_t priq_irq_cfg0_ = 0, priq_irq_cfg1_ = 0, priq_irq_cfg2_ = 0;
};

}  // namespace smmu
