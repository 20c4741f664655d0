// The whole SMMU as plain C++: register file, command queue, event queue and
// translation, over one MemoryPort. The SystemC module (smmu.h) wraps it with
// sockets and time; tools and tests drive it directly.
#pragma once
#include <array>
#include <cstdint>

#include "models/smmu/cmdq/command_queue.h"
#include "models/smmu/eventq/event_queue.h"
#include "models/smmu/registers/register_file.h"
#include "models/smmu/translation/translator.h"

namespace smmu {

struct SmmuCoreParams {
    SmmuCaps caps;
    unsigned cmdq_max_log2 = 19;    // IDR1.CMDQS
    unsigned eventq_max_log2 = 19;  // IDR1.EVENTQS
};

struct SmmuStats {
    uint64_t transactions = 0;
    uint64_t translated = 0, bypassed = 0, aborted = 0, faults = 0;
    uint64_t walk_reads = 0, config_reads = 0;
    // PMCG events 1 and 2. With no caches modelled yet every translated
    // transaction misses both: the config is fetched and the tables walked.
    uint64_t tlb_misses = 0, config_cache_misses = 0;
    std::array<uint64_t, 256> events{};         // recorded, by EventID
    uint64_t events_dropped_disabled = 0;       // EVTQEN=0
    uint64_t events_dropped_overflow = 0;
    uint64_t event_msis = 0;
    std::array<uint64_t, 256> commands{};       // executed, by opcode
    uint64_t command_errors = 0;
    uint64_t sync_msis = 0;
};

class SmmuCore : private CommandHandler {
public:
    SmmuCore(MemoryPort& mem, const SmmuCoreParams& p);

    MmioStatus mmio_read(uint32_t offset, unsigned size, uint64_t& value) const {
        return regs_.read(offset, size, value);
    }
    MmioStatus mmio_write(uint32_t offset, unsigned size, uint64_t value, WriteEffect& effect) {
        return regs_.write(offset, size, value, effect);
    }

    // One command off the queue, if any.
    CommandQueue::Step cmdq_step();
    bool cmdq_pending() const { return cmdq_.pending(); }

    // One upstream transaction: global bypass/abort when disabled (GBPA),
    // else the translation; a fault is recorded in the event queue.
    TranslationResult translate(const TranslationRequest& req, AccessLog& log);

    RegisterFile& regs() { return regs_; }
    const RegisterFile& regs() const { return regs_; }
    const SmmuStats& stats() const { return stats_; }
    const SmmuCaps& caps() const { return regs_.caps(); }

private:
    void execute(const arch::Command& c) override;

    MemoryPort& mem_;
    RegisterFile regs_;
    CommandQueue cmdq_;
    EventQueue eventq_;
    Translator translator_;
    SmmuStats stats_;
};

}  // namespace smmu
