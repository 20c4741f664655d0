// The event queue (IHI 0070 7.2): 32-byte records written at EVENTQ_BASE,
// PROD advanced by the SMMU, CONS by software. A full queue drops the record
// and flags the overflow in EVENTQ_PROD.OVFLG; it never stops the SMMU.
#pragma once
#include <cstdint>

#include "models/arch/event.h"
#include "models/memory/memory_port.h"
#include "models/smmu/registers/register_file.h"

namespace smmu {

class EventQueue {
public:
    enum class Outcome : uint8_t { Written, Disabled, Overflow, WriteAbort };

    EventQueue(MemoryPort& mem, RegisterFile& regs) : mem_(mem), regs_(regs) {}

    // Writes the record (and the MSI, when enabled). `msi_written` tells the caller.
    Outcome record(const arch::EventRecord& e, bool& msi_written);

private:
    MemoryPort& mem_;
    RegisterFile& regs_;
};

}  // namespace smmu
