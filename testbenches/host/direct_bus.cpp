#include "testbenches/host/direct_bus.h"

#include "testbenches/config/input_error.h"

namespace smmu::sim {

uint64_t DirectBus::mmio_read(uint32_t offset, unsigned size) {
    uint64_t v = 0;
    if (core_.mmio_read(offset, size, v) != MmioStatus::Ok)
        throw HostError("host: bus error reading SMMU register " + hex(offset));
    return v;
}

void DirectBus::mmio_write(uint32_t offset, unsigned size, uint64_t value) {
    WriteEffect effect;
    if (core_.mmio_write(offset, size, value, effect) != MmioStatus::Ok)
        throw HostError("host: bus error writing SMMU register " + hex(offset));
}

void DirectBus::idle() {
    while (core_.cmdq_pending()) core_.cmdq_step();
}

}  // namespace smmu::sim
