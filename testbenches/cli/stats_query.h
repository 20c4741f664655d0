// Reading numbers back out of a --stats JSON (README, "Reading the stats"):
// `compare` and `sweep` name the figures they show by path.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace smmu::sim {

// A stats JSON of the wrong shape: a string or an object where a number or a
// map of counters goes.
struct StatsShapeError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The number at `path` (object keys; a decimal step indexes an array), or
// nullopt when a step is missing; StatsShapeError when a step goes through a
// value that is neither an object nor an array, or the value is no number.
std::optional<double> stats_number(const nlohmann::json& j, const std::vector<std::string>& path);

// Hits / lookups in percent over the caches whose name starts with `prefix`
// ("walk_s2" sums the stage 2 walk caches); nullopt when none was looked up;
// StatsShapeError when a cache is not a map of counters.
std::optional<double> cache_hit_rate(const nlohmann::json& j, const std::string& prefix);

// A dotted path ("latency_ns.p99", "invalidation.dma_during_change.by_time_since_change.0.transactions"),
// or "caches.<prefix>.hit_rate" for cache_hit_rate.
std::optional<double> stats_metric(const nlohmann::json& j, const std::string& dotted);

}  // namespace smmu::sim
