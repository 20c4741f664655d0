#include "models/smmu/stall/stall_table.h"

namespace smmu {

std::optional<uint16_t> StallTable::stall(uint32_t sid, Cycle now) {
    if (entries_.size() >= max_) return std::nullopt;
    // STAGs are handed out in turn (not lowest-free), so a late RESUME for a
    // finished transaction is unlikely to hit the next one with the same tag.
    while (entries_.count(next_stag_)) ++next_stag_;
    const uint16_t stag = next_stag_++;
    entries_[stag] = Entry{sid, now};
    return stag;
}

bool StallTable::resume(uint32_t sid, uint16_t stag, arch::ResumeAction a, Cycle now) {
    auto it = entries_.find(stag);
    if (it == entries_.end() || it->second.sid != sid || it->second.resolved) return false;
    it->second.resolved = true;
    it->second.action = a;
    it->second.resolved_at = now;
    return true;
}

unsigned StallTable::terminate(uint32_t sid, Cycle now) {
    unsigned n = 0;
    for (auto& [stag, e] : entries_)
        if (e.sid == sid && !e.resolved) n += resume(sid, stag, arch::ResumeAction::Abort, now);
    return n;
}

std::vector<uint16_t> StallTable::stags_of(uint32_t sid) const {
    std::vector<uint16_t> out;
    for (const auto& [stag, e] : entries_)
        if (e.sid == sid && !e.resolved) out.push_back(stag);
    return out;
}

std::optional<StallTable::Entry> StallTable::take(uint16_t stag) {
    auto it = entries_.find(stag);
    if (it == entries_.end() || !it->second.resolved) return std::nullopt;
    Entry e = it->second;
    entries_.erase(it);
    return e;
}

}  // namespace smmu
