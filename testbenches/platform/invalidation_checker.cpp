#include "testbenches/platform/invalidation_checker.h"

#include "testbenches/config/input_error.h"

namespace smmu::sim {

namespace {
std::string describe_result(const TranslationResult& r) {
    switch (r.outcome) {
        case TranslationResult::Outcome::Translated:
        case TranslationResult::Outcome::Bypassed: return "PA " + hex(r.pa);
        case TranslationResult::Outcome::Aborted: return "abort";
        case TranslationResult::Outcome::Faulted: return std::string(arch::event_name(r.fault.id));
    }
    return "?";
}
}  // namespace

InvalidationChecker::InvalidationChecker(std::string smmu, const SmmuCore& core, MemoryPort& memory,
                                         std::function<bool(const TranslationRequest&)> changing, std::function<double()> now_ns)
    : smmu_(std::move(smmu)),
      core_(core),
      memory_(memory),
      changing_(std::move(changing)),
      now_ns_(std::move(now_ns)),
      fresh_(memory_, core.caps()) {}

void InvalidationChecker::check(const TranslationRequest& req, const TranslationResult& cached) {
    if (!core_.regs().smmu_enabled()) return;
    ++checked_;
    AccessLog log;
    const TranslationResult now = fresh_.translate(core_.regs().stream_table(), req, log);
    const bool same = cached.outcome == now.outcome &&
                      (!cached.ok() || cached.pa == now.pa) &&
                      (cached.outcome != TranslationResult::Outcome::Faulted || cached.fault.id == now.fault.id);
    if (same) return;
    if (changing_(req)) {
        ++tolerated_;
        return;
    }
    ++mismatches_;
    if (reports_.size() >= kMaxReports) return;
    nlohmann::ordered_json commands = nlohmann::ordered_json::array();
    std::string last;
    for (const arch::Command& c : core_.recent_commands()) {
        commands.push_back(std::string(c.info() ? c.info()->name : "?"));
        last += (last.empty() ? "" : " ") + commands.back().get<std::string>();
    }
    reports_.push_back({{"time_ns", now_ns_()},
                        {"smmu", smmu_},
                        {"sid", req.sid},
                        {"ssid", req.ssv ? static_cast<int64_t>(req.ssid) : -1},
                        {"iova", req.iova},
                        {"cached", describe_result(cached)},
                        {"memory", describe_result(now)},
                        {"last_commands", commands}});
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f ns", now_ns_());
    lines_.push_back(std::string(buf) + " " + smmu_ + " SID " + hex(req.sid) + " IOVA " + hex(req.iova) + ": cached " +
                     describe_result(cached) + ", memory says " + describe_result(now) +
                     " -- the software forgot an invalidation? last commands: " + last);
}

}  // namespace smmu::sim
