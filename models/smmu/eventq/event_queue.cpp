#include "models/smmu/eventq/event_queue.h"

namespace smmu {

OutputQueue::Outcome OutputQueue::write(const uint64_t* words, unsigned dwords, bool interrupts, bool& msi_written) {
    msi_written = false;
    const bool event = kind_ == OutQueue::Event;
    // With EVTQEN=0 events are discarded (IHI 0070 7.2); PRIQEN=0 likewise
    // discards page requests (8.2; SmmuCore answers each).
    if (!regs_.out_enabled(kind_)) return Outcome::Disabled;
    // An unacknowledged EVTQ_ABT_ERR / PRIQ_ABT_ERR stops the queue (IHI 0070
    // 7.2.1; 8.2: as PRIQEN=0 does).
    if (abort_active()) return Outcome::Disabled;
    const QueueConfig q = regs_.out_queue(kind_);
    const uint32_t prod = regs_.out_prod(kind_), cons = regs_.out_cons(kind_);
    const uint32_t ovflg = arch::eventq_prod::OVFLG.mask();
    // An active PRI queue overflow inhibits new entries until software
    // acknowledges it (IHI 0070 8.1; the event queue goes on writing, 7.4).
    const bool overflow_active = ((prod ^ cons) & ovflg) != 0;
    if (!event && overflow_active) return Outcome::Overflow;
    if (QueuePointer::full(prod, cons, q.log2size)) {
        // Signal a new overflow by making OVFLG differ from CONS.OVACKFLG; while
        // one is unacknowledged, further drops just add to it (IHI 0070 7.2.2, 8.1.1).
        if (!overflow_active) regs_.set_out_prod(kind_, prod ^ ovflg);
        return Outcome::Overflow;
    }
    const uint64_t addr = q.base + uint64_t{QueuePointer::index(prod, q.log2size)} * dwords * 8;
    if (!mem_.write_words(addr, words, dwords)) {
        regs_.raise_gerror(event ? arch::gerror::EVTQ_ABT_ERR : arch::gerror::PRIQ_ABT_ERR);
        return Outcome::WriteAbort;
    }
    regs_.set_out_prod(kind_, (prod & ovflg) | QueuePointer::next(prod, q.log2size));
    if (interrupts) msi_written = interrupt();
    return Outcome::Written;
}

bool OutputQueue::abort_active() const {
    return regs_.gerror_active(kind_ == OutQueue::Event ? arch::gerror::EVTQ_ABT_ERR : arch::gerror::PRIQ_ABT_ERR);
}

bool OutputQueue::writable() const {
    return regs_.out_enabled(kind_) && !abort_active() &&
           !QueuePointer::full(regs_.out_prod(kind_), regs_.out_cons(kind_), regs_.out_queue(kind_).log2size);
}

bool OutputQueue::interrupt() {
    // Message-signalled: a 32-bit write of CFG1's data to CFG0's address.
    if (!regs_.out_irq_enabled(kind_) || regs_.out_irq_addr(kind_) == 0) return false;
    const uint32_t data = regs_.out_irq_data(kind_);
    const bool written = mem_.write(regs_.out_irq_addr(kind_), &data, 4);
    // An aborted queue MSI is reported in GERROR.MSI_EVTQ_ABT_ERR / MSI_PRIQ_ABT_ERR (IHI 0070 6.3.11).
    if (!written)
        regs_.raise_gerror(kind_ == OutQueue::Event ? arch::gerror::MSI_EVTQ_ABT_ERR : arch::gerror::MSI_PRIQ_ABT_ERR);
    return written;
}

}  // namespace smmu
