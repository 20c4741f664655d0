// The queues the SMMU writes and software reads: the event queue (IHI 0070
// 7.2: 32-byte records at EVENTQ_BASE) and the PRI queue (8.1: 16-byte
// records at PRIQ_BASE, models/smmu/priq). The SMMU advances PROD, software
// CONS. A full queue drops the record and flags the overflow in PROD.OVFLG;
// it never stops the SMMU.
#pragma once
#include <cstdint>

#include "models/arch/event.h"
#include "models/memory/memory_port.h"
#include "models/smmu/registers/register_file.h"

namespace smmu {

class OutputQueue {
public:
    enum class Outcome : uint8_t { Written, Disabled, Overflow, WriteAbort };

    OutputQueue(MemoryPort& mem, RegisterFile& regs, OutQueue kind) : mem_(mem), regs_(regs), kind_(kind) {}
    // Enabled, no abort error unacknowledged, room for a record: what a
    // stall's event waits for (IHI 0070 3.12.2, 7.2.1).
    bool writable() const;
    // The queue's MSI, when enabled; false when none was written.
    bool interrupt();

protected:
    // Writes `dwords` words as the next record (and, when `interrupts`, the
    // MSI if enabled). `msi_written` tells the caller.
    Outcome write(const uint64_t* words, unsigned dwords, bool interrupts, bool& msi_written);

private:
    bool abort_active() const;
    MemoryPort& mem_;
    RegisterFile& regs_;
    OutQueue kind_;
};

class EventQueue : public OutputQueue {
public:
    EventQueue(MemoryPort& mem, RegisterFile& regs) : OutputQueue(mem, regs, OutQueue::Event) {}
    Outcome record(const arch::EventRecord& e, bool& msi_written) {
        return write(e.w.data(), arch::EventRecord::kDwords, true, msi_written);
    }
};

}  // namespace smmu
