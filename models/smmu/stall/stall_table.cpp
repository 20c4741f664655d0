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
    if (it == entries_.end() || it->second.sid != sid || it->second.resolved || it->second.deferred) return false;
    it->second.resolved = true;
    it->second.action = a;
    it->second.resolved_at = now;
    return true;
}

bool StallTable::has_deferred() const {
    for (const auto& [stag, e] : entries_)
        if (e.deferred && !e.resolved) return true;
    return false;
}

namespace {
// Resolves the unresolved entries `pick` chooses with `a`; their STAGs.
template <class Pick>
std::vector<uint16_t> resolve_if(std::map<uint16_t, StallTable::Entry>& entries, arch::ResumeAction a, Cycle now,
                                 Pick pick) {
    std::vector<uint16_t> out;
    for (auto& [stag, e] : entries) {
        if (e.resolved || !pick(e)) continue;
        e.resolved = true;
        e.action = a;
        e.resolved_at = now;
        out.push_back(stag);
    }
    return out;
}
}  // namespace

std::vector<uint16_t> StallTable::release_deferred(Cycle now) {
    return resolve_if(entries_, arch::ResumeAction::Retry, now, [](const Entry& e) { return e.deferred; });
}

std::vector<uint16_t> StallTable::terminate_all(Cycle now) {
    return resolve_if(entries_, arch::ResumeAction::Abort, now, [](const Entry&) { return true; });
}

std::vector<uint16_t> StallTable::terminate_stream(uint32_t sid, Cycle now) {
    return resolve_if(entries_, arch::ResumeAction::Abort, now, [sid](const Entry& e) { return e.sid == sid; });
}

std::optional<StallTable::Entry> StallTable::take(uint16_t stag) {
    auto it = entries_.find(stag);
    if (it == entries_.end() || !it->second.resolved) return std::nullopt;
    Entry e = it->second;
    entries_.erase(it);
    return e;
}

}  // namespace smmu
