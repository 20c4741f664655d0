// HostBus straight onto an SmmuCore, with no SystemC: the register accesses
// are function calls and the command queue runs whenever the driver waits.
// Used by `smmu-sim translate` and by tests of the driver sequence.
#pragma once
#include "models/smmu/smmu_core.h"
#include "testbenches/host/host_driver.h"

namespace smmu::sim {

class DirectBus : public HostBus {
public:
    DirectBus(SmmuCore& core, MemoryPort& mem) : core_(core), mem_(mem) {}

    uint64_t mmio_read(uint32_t offset, unsigned size) override;
    void mmio_write(uint32_t offset, unsigned size, uint64_t value) override;
    MemoryPort& memory() override { return mem_; }
    void idle() override;
    // No clock without SystemC: software time is only added up.
    void cpu(double ns) override { cpu_ns_ += ns; }
    double now_ns() const override { return cpu_ns_; }

private:
    double cpu_ns_ = 0;
    SmmuCore& core_;
    MemoryPort& mem_;
};

}  // namespace smmu::sim
