// The missing-invalidation checker: every completed translation is compared
// with a fresh, uncached walk of memory as it is now. A difference while the
// host is between a table change and the SYNC that ends its invalidation is
// allowed (the architecture lets stale entries live until then); any other
// difference means the software forgot an invalidation, and is reported with
// the stream, the address, both results and the last commands executed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/memory/memory_port.h"
#include "models/smmu/smmu_core.h"

namespace smmu::sim {

class InvalidationChecker {
public:
    // `memory`: side-effect-free access to current memory (no timing);
    // `changing`: true while the host has a change whose SYNC has not
    // completed, or (lazy DMA domains) the request's IOVA waits in a flush
    // queue: a cached translation may legitimately differ then.
    InvalidationChecker(std::string smmu, const SmmuCore& core, MemoryPort& memory, std::function<bool(const TranslationRequest&)> changing,
                        std::function<double()> now_ns);

    void check(const TranslationRequest& req, const TranslationResult& cached);

    uint64_t checked() const { return checked_; }
    uint64_t mismatches() const { return mismatches_; }
    uint64_t tolerated() const { return tolerated_; }
    // Up to kMaxReports mismatches, each a JSON object; and as text lines.
    static constexpr std::size_t kMaxReports = 16;
    const nlohmann::ordered_json& reports() const { return reports_; }
    const std::vector<std::string>& lines() const { return lines_; }

private:
    std::string smmu_;
    const SmmuCore& core_;
    MemoryPort& memory_;
    std::function<bool(const TranslationRequest&)> changing_;
    std::function<double()> now_ns_;
    Translator fresh_;
    uint64_t checked_ = 0, mismatches_ = 0, tolerated_ = 0;
    nlohmann::ordered_json reports_ = nlohmann::ordered_json::array();
    std::vector<std::string> lines_;
};

}  // namespace smmu::sim
