#include "models/smmu/eventq/event_queue.h"

namespace smmu {

EventQueue::Outcome EventQueue::record(const arch::EventRecord& e, bool& msi_written) {
    msi_written = false;
    // With EVTQEN=0 events are discarded (IHI 0070 7.2).
    if (!regs_.eventq_enabled()) return Outcome::Disabled;
    const QueueConfig q = regs_.eventq();
    const uint32_t prod = regs_.eventq_prod(), cons = regs_.eventq_cons();
    const uint32_t ovflg = arch::eventq_prod::OVFLG.mask();
    if (QueuePointer::full(prod, cons, q.log2size)) {
        // Signal a new overflow by making OVFLG differ from CONS.OVACKFLG; while
        // one is unacknowledged, further drops just add to it (IHI 0070 7.2.2).
        if (((prod ^ cons) & ovflg) == 0) regs_.set_eventq_prod(prod ^ ovflg);
        return Outcome::Overflow;
    }
    const uint64_t addr = q.base + uint64_t{QueuePointer::index(prod, q.log2size)} * arch::EventRecord::kBytes;
    if (!mem_.write_words(addr, e.w.data(), arch::EventRecord::kDwords)) {
        regs_.raise_gerror(arch::gerror::EVTQ_ABT_ERR);
        return Outcome::WriteAbort;
    }
    regs_.set_eventq_prod((prod & ovflg) | QueuePointer::next(prod, q.log2size));
    // Message-signalled interrupt: a 32-bit write of CFG1's data to CFG0's address.
    if (regs_.eventq_irq_enabled() && regs_.eventq_irq_addr() != 0) {
        const uint32_t data = regs_.eventq_irq_data();
        msi_written = mem_.write(regs_.eventq_irq_addr(), &data, 4);
        // An aborted event queue MSI is reported in GERROR.MSI_EVTQ_ABT_ERR (IHI 0070 6.3.11).
        if (!msi_written) regs_.raise_gerror(arch::gerror::MSI_EVTQ_ABT_ERR);
    }
    return Outcome::Written;
}

}  // namespace smmu
