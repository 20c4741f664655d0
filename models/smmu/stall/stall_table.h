// Stalled transactions (IHI 0070 3.12.2, the stall fault model): a
// transaction whose translation fault is stallable (F_TRANSLATION,
// F_ADDR_SIZE, F_ACCESS, F_PERMISSION with CD.S=1 for stage 1, STE.S2S=1 for
// stage 2) is held, its event recorded with Stall=1 and a STAG, until
// software sends CMD_RESUME (IHI 0070 4.7.1: Retry: translated again; Abort:
// an abort; Terminate: RAZ/WI) or CMD_STALL_TERM for its StreamID. The SMMU holds at most
// IDR5.STALL_MAX of them; a fault beyond that terminates at once (the
// architecture lets an implementation terminate rather than stall).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "models/arch/pri.h"
#include "models/smmu/timing/resources.h"

namespace smmu {

class StallTable {
public:
    struct Entry {
        uint32_t sid = 0;
        Cycle since = 0;
        bool resolved = false;
        arch::ResumeAction action = arch::ResumeAction::Abort;
        Cycle resolved_at = 0;
        // Held because its event could not be written: not visible to
        // software (no RESUME or STALL_TERM reaches it), retried once the
        // event queue is writable (IHI 0070 3.12.2).
        bool deferred = false;
    };

    explicit StallTable(unsigned max) : max_(max) {}

    // A new stalled transaction of `sid`: its STAG, or nullopt when STALL_MAX are held.
    std::optional<uint16_t> stall(uint32_t sid, Cycle now);
    // The stall `stag` waits for the event queue instead (Entry::deferred).
    void defer(uint16_t stag) { entries_.at(stag).deferred = true; }
    bool has_deferred() const;
    // The deferred transactions, resolved Retry: their STAGs.
    std::vector<uint16_t> release_deferred(Cycle now);
    // SMMUEN cleared: every held transaction, deferred ones too, aborted; their STAGs.
    std::vector<uint16_t> terminate_all(Cycle now);
    // CMD_RESUME: resolves the transaction (sid, stag) still stalled; false
    // when there is none (the command is then ignored, IHI 0070 4.7.1).
    bool resume(uint32_t sid, uint16_t stag, arch::ResumeAction a, Cycle now);
    // CMD_STALL_TERM: aborts every transaction of `sid` still held, deferred
    // ones too (IHI 0070 4.7.2); their STAGs.
    std::vector<uint16_t> terminate_stream(uint32_t sid, Cycle now);
    // The resolution of `stag` once resolved, removing it (the STAG is free again).
    std::optional<Entry> take(uint16_t stag);
    // A stalled transaction abandoned by its holder (the STAG is free again).
    void drop(uint16_t stag) { entries_.erase(stag); }

    // When a transaction stalled.
    Cycle since(uint16_t stag) const {
        auto it = entries_.find(stag);
        return it == entries_.end() ? 0 : it->second.since;
    }

    std::size_t size() const { return entries_.size(); }
    unsigned max() const { return max_; }

private:
    unsigned max_;
    uint16_t next_stag_ = 0;
    std::map<uint16_t, Entry> entries_;
};

}  // namespace smmu
