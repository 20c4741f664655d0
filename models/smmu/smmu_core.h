// The whole SMMU as plain C++: register file, command queue, event queue and
// the translation unit (caches, slots, ports), over one MemoryPort, in cycles
// of its clock. The SystemC module (smmu.h) wraps it with sockets and turns
// cycles into sc_time; tools and tests drive it directly.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>

#include "models/smmu/cmdq/command_queue.h"
#include "models/smmu/eventq/event_queue.h"
#include "models/smmu/registers/register_file.h"
#include "models/smmu/translation/translation_unit.h"

namespace smmu {

// CFGI_*, TLBI_* and ATC_INV: the commands that remove cached translations.
bool is_invalidation(arch::Opcode op);

struct SmmuCoreParams {
    SmmuCaps caps;
    unsigned cmdq_max_log2 = 19;    // IDR1.CMDQS
    unsigned eventq_max_log2 = 19;  // IDR1.EVENTQS
    std::vector<IdrOverride> idr;   // ID register fields as configured (smmu.idr)
    MicroArchParams uarch;
};

struct SmmuStats {
    uint64_t transactions = 0;
    uint64_t translated = 0, bypassed = 0, aborted = 0, faults = 0;
    uint64_t walk_reads = 0, config_reads = 0;
    std::array<uint64_t, 256> events{};         // recorded, by EventID
    uint64_t events_dropped_disabled = 0;       // EVTQEN=0
    uint64_t events_dropped_overflow = 0;
    uint64_t event_msis = 0;
    std::array<uint64_t, 256> commands{};       // executed, by opcode
    uint64_t command_errors = 0;
    uint64_t invalidated_entries = 0;           // removed by CFGI_* / TLBI_*
    uint64_t sync_msis = 0;
    uint64_t syncs = 0;
    uint64_t sync_cycles_total = 0, sync_cycles_max = 0;  // from consumption to completion
};

// Told what the SMMU does, in cycles of its clock, for a timeline
// (testbenches/platform/timeline.h). The core calls it through one pointer,
// null unless someone records: nothing is built for it otherwise.
class SmmuRecorder {
public:
    virtual ~SmmuRecorder() = default;
    // One upstream transaction on `port`: its result, arrival, the translation
    // unit's phases (`tt`; null with SMMUEN=0: no translation) and `done`, its
    // end (after the event record of a fault is written).
    virtual void translation(unsigned port, const TranslationRequest& req, const TranslationResult& r, Cycle arrival,
                             const TimedTranslation* tt, Cycle done) = 0;
    // A fault's event record offered to the event queue at cycle `at`.
    virtual void event(const TranslationRequest& req, const Fault& fault, EventQueue::Outcome o, Cycle at) = 0;
    // A command consumed at `start` that completes at `done` (a CMD_SYNC: when
    // every earlier translation has), or the command error that stopped the queue.
    virtual void command(const CommandQueue::Step& s, Cycle start, Cycle done) = 0;
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

    // One command off the queue, if any, starting at cycle `now`; `done` (if
    // given) receives the cycle it completes (a SYNC waits for every
    // translation accepted before it).
    // With `defer_cons`, CMDQ_CONS moves only at cmdq_complete() (the SystemC
    // shell calls it at `done`).
    CommandQueue::Step cmdq_step(Cycle now = 0, Cycle* done = nullptr, bool defer_cons = false);
    void cmdq_complete() { cmdq_.complete(); }
    bool cmdq_pending() const { return cmdq_.pending(); }

    // One upstream transaction arriving on `port` at cycle `arrival`: global
    // bypass/abort when disabled (GBPA), else the translation; a fault is
    // recorded in the event queue. `done` receives the completion cycle,
    // `accepted` the cycle a translation slot took the transaction.
    TranslationResult translate(const TranslationRequest& req, AccessLog& log, unsigned port = 0, Cycle arrival = 0,
                                Cycle* done = nullptr, Cycle* accepted = nullptr);
    // The translation `req` would get, from the tables alone, read through
    // `mem` (a debug port): no cache, statistic, event or timeline changes
    // (debuggers' accesses, DMI requests). `ctx`, when given, receives the
    // configuration it was translated under (unchanged with SMMUEN=0 or a
    // configuration fault).
    TranslationResult translate_debug(const TranslationRequest& req, MemoryPort& mem,
                                      TranslationContext* ctx = nullptr) const;

    RegisterFile& regs() { return regs_; }
    const RegisterFile& regs() const { return regs_; }
    const SmmuStats& stats() const { return stats_; }
    const SmmuCaps& caps() const { return regs_.caps(); }
    const TranslationUnit& unit() const { return unit_; }

    // Called with every translation's outcome (checkers, tracers).
    using Observer = std::function<void(const TranslationRequest&, const TranslationResult&)>;
    void set_observer(Observer o) { observer_ = std::move(o); }
    // The timeline's recorder; null: none (the default).
    void set_recorder(SmmuRecorder* r) { recorder_ = r; }
    // The last commands executed, oldest first (at most kRecentCommands).
    static constexpr std::size_t kRecentCommands = 8;
    const std::deque<arch::Command>& recent_commands() const { return recent_; }
    uint64_t period_ps() const { return unit_.params().period_ps(); }

private:
    void execute(const arch::Command& c) override;
    // SMMUEN=0: GBPA's bypass or abort, without a translation.
    TranslationResult global_bypass(const TranslationRequest& req) const;

    RegisterFile regs_;
    TranslationUnit unit_;  // its TimedPort is the SMMU's path to memory
    CommandQueue cmdq_;
    EventQueue eventq_;
    SmmuStats stats_;
    Cycle* cmd_clock_ = nullptr;  // the timeline of the command being executed
    Observer observer_;
    SmmuRecorder* recorder_ = nullptr;
    std::deque<arch::Command> recent_;
};

}  // namespace smmu
