// A host bus straight onto an SmmuCore that records what its command queue
// executed: the golden-sequence tests' view of the SMMU's side.
#pragma once
#include <string>
#include <vector>

#include "driver/host_bus.h"
#include "models/arch/command.h"
#include "models/arch/registers.h"
#include "models/smmu/smmu_core.h"

namespace smmu {

// The CPU's bus straight onto an SmmuCore that records every command its
// queue executes, every CMDQ_PROD write and every register access.
class RecordingBus : public driver::HostBus {
public:
    RecordingBus(SmmuCore& core, MemoryPort& mem) : core_(core), mem_(mem) {}
    uint64_t mmio_read(uint32_t off, unsigned size) override {
        uint64_t v = 0;
        core_.mmio_read(off, size, v);
        accesses.push_back({false, off, v});
        return v;
    }
    void mmio_write(uint32_t off, unsigned size, uint64_t value) override {
        if (off == arch::reg::CMDQ_PROD) ++prod_writes;
        accesses.push_back({true, off, value});
        WriteEffect e;
        core_.mmio_write(off, size, value, e);
    }
    MemoryPort& memory() override { return mem_; }
    void idle() override {
        while (core_.cmdq_pending()) {
            const CommandQueue::Step s = core_.cmdq_step();
            if (s.kind == CommandQueue::Step::Kind::Executed) executed.push_back(s.cmd);
        }
    }
    void cpu(double ns) override { cpu_ns += ns; }
    double now_ns() const override { return cpu_ns; }

    struct Access {
        bool write;
        uint32_t off;
        uint64_t value;  // read or written
    };
    std::vector<arch::Command> executed;
    std::vector<Access> accesses;
    unsigned prod_writes = 0;
    double cpu_ns = 0;

private:
    SmmuCore& core_;
    MemoryPort& mem_;
};

// "NAME" per command, SYNCs included: the shape of a sequence.
inline std::vector<std::string> names(const std::vector<arch::Command>& cmds) {
    std::vector<std::string> out;
    for (const arch::Command& c : cmds) out.emplace_back(c.info()->name);
    return out;
}

}  // namespace smmu
