// The PRI queue (IHI 0070 8.1): one 16-byte record per PCIe Page Request the
// SMMU receives, written at PRIQ_BASE as the event queue's are (OutputQueue):
// PROD advanced by the SMMU, CONS by software, PROD.OVFLG on overflow,
// PRIQ_IRQ_CFG0/1 MSI. Software answers a Page Request Group with
// CMD_PRI_RESP (SmmuCore), which the SMMU passes to the device as a PCIe PRG
// Response message.
#pragma once
#include <cstdint>

#include "models/arch/pri.h"
#include "models/smmu/eventq/event_queue.h"

namespace smmu {

// A PCIe Page Request message (PCIe 6.0 10.4.1) as the SMMU receives it.
struct PageRequest {
    uint32_t sid = 0;
    uint32_t ssid = 0;
    bool ssv = false;      // PASID TLP prefix present
    uint64_t addr = 0;     // page address (bits [11:0] ignored)
    bool read = false, write = false, exec = false, priv = false;
    bool last = false;     // L: the last request of its group
    uint16_t prg_index = 0;  // 9 bits

    arch::PriRecord record() const;
};
PageRequest page_request_from(const arch::PriRecord& r);

class PriQueue : public OutputQueue {
public:
    PriQueue(MemoryPort& mem, RegisterFile& regs) : OutputQueue(mem, regs, OutQueue::Pri) {}
    // `interrupts`: whether the record, once written, interrupts (PRIQ_IRQ_CFG2.LO; SmmuCore decides).
    Outcome record(const PageRequest& pr, bool interrupts, bool& msi_written) {
        const arch::PriRecord r = pr.record();
        return write(r.w.data(), arch::PriRecord::kDwords, interrupts, msi_written);
    }
};

}  // namespace smmu
