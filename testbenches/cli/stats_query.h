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

// A metric's value as `sweep` and `compare` show it: whole numbers as such,
// others with two decimals, "-" for none.
std::string metric_cell(const std::optional<double>& v);

// Whether `dotted` names something in these stats (for a hit rate: whether a
// cache of that prefix is present, looked up or not): a metric that is
// absent reads "-" in a table, one absent from every run is a typo.
bool stats_has(const nlohmann::json& j, const std::string& dotted);

// InputError "OPTION PATH: no such figure..." for the first of `metrics` that
// no run's stats have (exit 2 naming it, docs/robustness.md); nothing when
// there are no runs to look in.
void check_metrics_known(const std::vector<const nlohmann::json*>& runs, const std::vector<std::string>& metrics,
                         const std::string& option);

}  // namespace smmu::sim
