// The unit tests' SMMUs with host software on them, without SystemC: one
// SmmuCore over sparse memory, programmed either by the driver library
// directly (DriverRig) or by the scenario layer from a config (HostBench).
// The test files derive their own fixtures from these.
#pragma once
#include <cstdint>
#include <utility>

#include "recording_bus.h"
#include "driver/arm_smmu_v3/arm_smmu_v3.h"
#include "driver/io_pgtable/io_pgtable_arm.h"
#include "driver/iommufd/iommufd.h"
#include "models/arch/ste.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "testbenches/config/config.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/direct_bus.h"
#include "testbenches/host/host_driver.h"

namespace smmu {

// The driver library straight on an SmmuCore (no config): probed and reset
// (arm_smmu_device_hw_probe, arm_smmu_device_reset), the reset's commands
// consumed and forgotten, so `bus.executed` starts empty.
struct DriverRig {
    static constexpr uint64_t kTables = 0x4000'0000;
    SparseMemory mem{48};
    SmmuCore core;
    RecordingBus bus;
    driver::TableArena arena{"tables", kTables, kTables, 64ull << 20};
    driver::ArmSmmuDevice smmu;
    driver::Iommufd ctx;

    DriverRig(const SmmuCoreParams& p, const driver::ArmSmmuParams& a, driver::VmidProfile profile)
        : core(mem, p), bus(core, mem), smmu(bus, arena, a), ctx(profile, driver::IommufdCosts{}, bus) {
        smmu.hw_probe();
        smmu.device_reset();
        bus.idle();
        bus.executed.clear();
    }
    uint64_t rd(uint32_t off, unsigned size = 4) { return bus.mmio_read(off, size); }
};

// A config's platform on one SmmuCore: the scenario layer (HostDriver) over a
// DirectBus. Nothing is programmed until boot().
struct HostBench {
    sim::Config cfg;
    SparseMemory mem;
    SmmuCore core;
    sim::DirectBus bus;
    sim::HostDriver drv;

    explicit HostBench(sim::Config c)
        : cfg(std::move(c)), mem(cfg.memory.pa_bits), core(mem, sim::core_params(cfg)), bus(core, mem), drv(bus, cfg) {}
    // Linux's reset sequence, then every device attached as the config says.
    void boot() {
        drv.reset();
        drv.install();
    }
    // The STE of `sid` as the driver wrote it to memory.
    arch::Ste ste(uint32_t sid) {
        arch::Ste s;
        mem.read_words(drv.ste_address(sid), s.w.data(), arch::Ste::kDwords);
        return s;
    }
    uint64_t rd(uint32_t off, unsigned size = 4) { return bus.mmio_read(off, size); }
};

}  // namespace smmu
