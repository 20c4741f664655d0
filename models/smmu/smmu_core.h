// The whole SMMU as plain C++: register file, command queue, event queue and
// the translation unit (caches, slots, ports), over one MemoryPort, in cycles
// of its clock. The SystemC module (smmu.h) wraps it with sockets and turns
// cycles into sc_time; tools and tests drive it directly.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "models/smmu/ats/ats.h"
#include "models/smmu/cmdq/command_queue.h"
#include "models/smmu/eventq/event_queue.h"
#include "models/smmu/priq/pri_queue.h"
#include "models/smmu/stall/stall_table.h"
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
    uint64_t sync_sevs = 0;  // CMD_SYNCs with CS=SEV that sent a WFE wake-up event
    uint64_t syncs = 0;
    uint64_t sync_cycles_total = 0, sync_cycles_max = 0;  // from consumption to completion
    // PRI (models/smmu/priq): Page Requests received, written to the PRI queue
    // or dropped, the SMMU's own PRG Responses to dropped last requests, and
    // CMD_PRI_RESPs with the cycles from the group's first request to its response.
    uint64_t page_requests = 0, priq_written = 0, priq_dropped_overflow = 0, priq_dropped_disabled = 0;
    uint64_t priq_msis = 0, prg_auto_responses = 0;
    uint64_t pri_responses = 0, pri_responses_unmatched = 0;
    uint64_t pri_resp_cycles_total = 0, pri_resp_cycles_max = 0;
    // Stalls (models/smmu/stall): transactions held, stallable faults terminated
    // instead (STALL_MAX reached, the event's write aborted), held without an
    // event until the event queue was writable, CMD_RESUME by action and
    // without a match, transactions CMD_STALL_TERM (or clearing SMMUEN)
    // ended, and the cycles from the stall to its resolution.
    uint64_t stalls = 0, stalls_refused = 0, stalls_deferred = 0;
    uint64_t resumes_retry = 0, resumes_abort = 0, resumes_unmatched = 0, stall_terms = 0;
    uint64_t stall_cycles_total = 0, stall_cycles_max = 0;
    // ATS (IHI 0070 3.9.1): Translation Requests by completion status, and
    // Translated transactions passed and aborted.
    uint64_t ats_requests = 0, ats_success = 0, ats_no_access = 0, ats_ur = 0, ats_ca = 0;
    uint64_t ats_translated = 0, ats_translated_aborted = 0;
    // ATC invalidation (IHI 0070 4.5.1, 4.7.3): ATC_INVs sent to devices and
    // answered, their completion time, and what CMD_SYNCs waited for them.
    uint64_t atc_invs_sent = 0, atc_invs_answered = 0;
    uint64_t atc_inv_cycles_total = 0, atc_inv_cycles_max = 0;
    uint64_t sync_atc_waits = 0, sync_atc_wait_cycles = 0;
};

// A PCIe PRG Response message (PCIe 6.0 10.4.2) the SMMU sends to a device:
// from CMD_PRI_RESP, or its own answer to a last request it dropped.
struct PrgResponse {
    uint32_t sid = 0;
    uint32_t ssid = 0;
    bool ssv = false;
    uint16_t prg_index = 0;
    arch::PriResp resp = arch::PriResp::Success;
    bool automatic = false;  // the SMMU's own (no command)
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
    // At cycle `now`. Besides the register's own effect: a write that makes
    // the event queue writable retries the stalls that waited for it, one
    // that clears SMMUEN aborts every held transaction (IHI 0070 3.12.2).
    MmioStatus mmio_write(uint32_t offset, unsigned size, uint64_t value, WriteEffect& effect, Cycle now = 0);

    // One command off the queue, if any, starting at cycle `now`; `done` (if
    // given) receives the cycle it completes (a SYNC waits for every
    // translation accepted before it).
    // With `defer_cons`, the command completes only at cmdq_complete(done)
    // (the SystemC shell calls it at `done`); without, before this returns.
    CommandQueue::Step cmdq_step(Cycle now = 0, Cycle* done = nullptr, bool defer_cons = false);
    // The executed command completes at cycle `done`: a CMD_SYNC's MSI is
    // written (CS=IRQ), then CMDQ_CONS moves past it, so software sees the
    // SYNC done at one time whether it polls the MSI word or CONS.
    void cmdq_complete(Cycle done);
    // Whether a CMD_SYNC sent an SEV since the last call (the shell signals it).
    bool take_sev() { return std::exchange(sev_, false); }
    bool cmdq_pending() const { return cmdq_.pending(); }
    // Whether the next command waiting is `op` (read without executing it).
    bool cmdq_next_is(arch::Opcode op) const;

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

    // An ATS Translation Request (IHI 0070 3.9.1.2) for the page of
    // `req.iova` (`nw`: no write permission asked for), through the ATS
    // interface: the configuration and translation caches as a transaction
    // uses them, but no micro-TLB, no fault events (only F_BAD_ATS_TREQ).
    AtsCompletion ats_translate(const TranslationRequest& req, bool nw, Cycle arrival = 0, Cycle* done = nullptr);
    // A transaction marked Translated (IHI 0070 3.9.1.3): `req.iova` is a PA.
    // Passed (outcome Bypassed, pa = iova) or aborted, with F_TRANSL_FORBIDDEN
    // where the table says.
    TranslationResult ats_translated(const TranslationRequest& req, Cycle arrival = 0, Cycle* done = nullptr);
    // ATC invalidation completions (the SystemC shell sends each ATC_INV to
    // its device and reports here): a CMD_SYNC completes only when every
    // ATC_INV before it has been answered (IHI 0070 4.7.3).
    void atc_inv_sent() { ++stats_.atc_invs_sent; }
    void atc_inv_answered(Cycle latency);
    void sync_waited_for_atc(Cycle cycles);

    RegisterFile& regs() { return regs_; }
    const RegisterFile& regs() const { return regs_; }
    const SmmuStats& stats() const { return stats_; }
    const SmmuCaps& caps() const { return regs_.caps(); }
    const TranslationUnit& unit() const { return unit_; }

    // ---- PRI (IHI 0070 8) ----
    // A Page Request message arriving at cycle `arrival`: written to the PRI
    // queue; `done` receives the cycle the write ends. A request the queue
    // drops is answered by the SMMU itself through the PRG responder as
    // IHI 0070 8.1 and 8.2 say (a Last one on overflow: Success; any with
    // PRIQEN=0, SMMUEN=0 or PRIQ_ABT_ERR: ResponseFailure).
    OutputQueue::Outcome page_request(const PageRequest& pr, Cycle arrival, Cycle* done = nullptr);
    // Whether a request that ended so raises the PRI queue's (wired) interrupt.
    bool priq_interrupts(const PageRequest& pr, OutputQueue::Outcome o) const;
    static bool is_stop_marker(const PageRequest& pr);
    // Where PRG Responses go (the platform routes them to the device), with the cycle they leave.
    using PrgResponder = std::function<void(const PrgResponse&, Cycle)>;
    void set_prg_responder(PrgResponder r) { prg_responder_ = std::move(r); }

    // ---- Stalls (IHI 0070 3.12.2) ----
    // Called when CMD_RESUME or CMD_STALL_TERM resolves a stalled
    // transaction, with its STAG and the cycle; its holder then take_stall()s it.
    using StallListener = std::function<void(uint16_t stag, Cycle)>;
    void set_stall_listener(StallListener l) { stall_listener_ = std::move(l); }
    std::optional<StallTable::Entry> take_stall(uint16_t stag) { return stalls_.take(stag); }
    std::size_t stalled() const { return stalls_.size(); }

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
    // Records the fault's event (with Stall and STAG when it stalls) at `t`:
    // whether it was written.
    bool record_fault(const TranslationRequest& req, TranslationResult& r, Cycle& t);
    void pri_resp(const arch::Command& c);
    // Held transactions resolved at `now` (a command, SMMUEN cleared, the
    // event queue writable again): stall statistics, the listener told.
    void stalls_resolved(const std::vector<uint16_t>& stags, Cycle now);
    // The automatic PRG Response to a Last request dropped on overflow.
    PrgResponse overflow_response(const PageRequest& pr);
    void resolve_stall(const arch::Command& c);
    Cycle cmd_now() const { return cmd_clock_ ? *cmd_clock_ : 0; }

    RegisterFile regs_;
    TranslationUnit unit_;  // its TimedPort is the SMMU's path to memory
    CommandQueue cmdq_;
    EventQueue eventq_;
    PriQueue priq_;
    StallTable stalls_;
    SmmuStats stats_;
    PrgResponder prg_responder_;
    StallListener stall_listener_;
    // Page Request Groups waiting for their response: (SID, PRGIndex) -> first request's cycle.
    std::map<std::pair<uint32_t, uint16_t>, Cycle> open_groups_;
    Cycle* cmd_clock_ = nullptr;  // the timeline of the command being executed
    // The executed CMD_SYNC's completion MSI (CS=IRQ), written at cmdq_complete().
    struct SyncMsi {
        uint64_t addr = 0;
        uint32_t data = 0;
    };
    std::optional<SyncMsi> sync_msi_;
    bool sync_sev_ = false;  // the executed CMD_SYNC sends an SEV at completion
    bool sev_ = false;       // an SEV sent, not yet taken by the shell
    Observer observer_;
    SmmuRecorder* recorder_ = nullptr;
    std::deque<arch::Command> recent_;
};

}  // namespace smmu
