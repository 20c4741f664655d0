#include "testbenches/cli/compare.h"

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testbenches/cli/stats_query.h"
#include "testbenches/config/input_error.h"

namespace smmu::sim {

namespace {
using nlohmann::json;

double num(const json& j, std::initializer_list<const char*> path) {
    return stats_number(j, std::vector<std::string>(path.begin(), path.end())).value_or(0);
}

// hits / lookups over the caches whose name starts with `prefix`, in percent;
// "-" when none of them is present.
std::string hit_rate(const json& j, const std::string& prefix) {
    const std::optional<double> r = cache_hit_rate(j, prefix);
    if (!r) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", *r);
    return buf;
}

std::string fmt(double v, const char* f = "%.0f") {
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// "commands/SYNCs" of one invalidation path ("-" when the run has none).
std::string per_path(const json& j, const char* path) {
    if (!stats_number(j, {"invalidation", "paths", path, "changes"})) return "-";
    return fmt(num(j, {"invalidation", "paths", path, "commands"})) + "/" +
           fmt(num(j, {"invalidation", "paths", path, "syncs"}));
}
}  // namespace

void compare_command(const std::vector<std::string>& args, std::ostream& out) {
    std::vector<std::string> labels, files, metrics;
    std::vector<json> runs;
    for (std::size_t k = 0; k < args.size(); ++k) {
        const std::string& a = args[k];
        if (a == "--metric" || a == "-m") {
            if (k + 1 == args.size()) throw InputError("command line: --metric needs a stats PATH");
            metrics.push_back(args[++k]);
            continue;
        }
        const std::size_t eq = a.find('=');
        if (eq == std::string::npos || eq == 0) throw InputError("compare: '" + a + "' is not LABEL=STATS.json");
        const std::string file = a.substr(eq + 1);
        std::ifstream in(file);
        if (!in) throw InputError("compare: missing file '" + file + "'");
        try {
            runs.push_back(json::parse(in));
        } catch (const json::exception& e) {
            throw InputError("compare: " + file + ": not a stats JSON (" + e.what() + ")");
        }
        // What every `run --stats` (and `replay --stats`) file has: anything else,
        // `{}` or another tool's JSON, would print a table of zeros.
        for (const char* key : {"pmu", "totals", "sim"})
            if (!runs.back().is_object() || !runs.back().contains(key) || !runs.back()[key].is_object())
                throw InputError("compare: " + file + ": not a stats JSON (no '" + key +
                                 "' object; smmu-sim run --stats writes one)");
        labels.push_back(a.substr(0, eq));
        files.push_back(file);
    }
    if (runs.empty()) throw InputError("compare: give LABEL=STATS.json for each run");
    std::vector<const json*> all;
    for (const json& j : runs) all.push_back(&j);
    check_metrics_known(all, metrics, "--metric");
    struct Row {
        const char* name;
        std::function<std::string(const json&)> value;
    };
    std::vector<Row> rows = {
        {"VMIDs used", [](const json& j) { return fmt(num(j, {"vmids", "used"})); }},
        // Robustness: a stats file without vmids.per_smmu must not index a missing key (UB on a const json).
        {"VMIDs per SMMU",
         [](const json& j) {
             return j.contains("vmids") && j["vmids"].is_object() && j["vmids"].contains("per_smmu")
                        ? j["vmids"]["per_smmu"].dump()
                        : "-";
         }},
        {"transactions", [](const json& j) { return fmt(num(j, {"totals", "transactions"})); }},
        {"faults", [](const json& j) { return fmt(num(j, {"totals", "faults"})); }},
        {"micro-TLB hit rate", [](const json& j) { return hit_rate(j, "utlb"); }},
        {"IOTLB hit rate", [](const json& j) { return hit_rate(j, "iotlb"); }},
        {"config cache hit rate", [](const json& j) { return hit_rate(j, "config"); }},
        {"S1 walk-cache hit rate", [](const json& j) { return hit_rate(j, "walk_s1"); }},
        {"S2 walk-cache hit rate", [](const json& j) { return hit_rate(j, "walk_s2"); }},
        {"IPA cache hit rate", [](const json& j) { return hit_rate(j, "ipa"); }},
        {"IOTLB misses", [](const json& j) { return fmt(num(j, {"pmu", "tlb_miss"})); }},
        {"table-walk reads", [](const json& j) { return fmt(num(j, {"pmu", "trans_table_walk_access"})); }},
        {"invalidation commands", [](const json& j) { return fmt(num(j, {"invalidation", "commands"})); }},
        {"  TLBI_S2_IPA", [](const json& j) { return fmt(num(j, {"invalidation", "by_opcode", "TLBI_S2_IPA"})); }},
        {"  TLBI_NH_ALL", [](const json& j) { return fmt(num(j, {"invalidation", "by_opcode", "TLBI_NH_ALL"})); }},
        {"invalidation SYNCs", [](const json& j) { return fmt(num(j, {"invalidation", "syncs"})); }},
        {"  S2 change: commands/SYNCs", [](const json& j) { return per_path(j, "s2_change"); }},
        {"  guest (vIOMMU): commands/SYNCs", [](const json& j) { return per_path(j, "viommu_invalidate"); }},
        {"  DMA domain: commands/SYNCs", [](const json& j) { return per_path(j, "dma_domain"); }},
        {"S2 change to SYNC (ns, mean)",
         [](const json& j) {
             return fmt(num(j, {"invalidation", "paths", "s2_change", "change_to_sync_ns", "mean"}), "%.1f");
         }},
        {"  host software (ns, mean)",
         [](const json& j) {
             return fmt(num(j, {"invalidation", "paths", "s2_change", "host_time_ns", "software_mean"}), "%.1f");
         }},
        {"  waiting for SYNCs (ns, mean)",
         [](const json& j) {
             return fmt(num(j, {"invalidation", "paths", "s2_change", "host_time_ns", "sync_wait_mean"}), "%.1f");
         }},
        {"DMAs during a change",
         [](const json& j) { return fmt(num(j, {"invalidation", "dma_during_change", "transactions"})); }},
        {"  their latency mean (ns)",
         [](const json& j) { return fmt(num(j, {"invalidation", "dma_during_change", "latency_ns_mean"}), "%.1f"); }},
        {"    issued in its first 250 ns",
         [](const json& j) { return fmt(num(j, {"invalidation", "dma_during_change", "by_time_since_change", "0", "latency_ns_mean"}), "%.1f"); }},
        {"    issued 2 us or more after",
         [](const json& j) { return fmt(num(j, {"invalidation", "dma_during_change", "by_time_since_change", "4", "latency_ns_mean"}), "%.1f"); }},
        {"latency mean (ns)", [](const json& j) { return fmt(num(j, {"latency_ns", "mean"}), "%.1f"); }},
        {"latency p99 (ns)", [](const json& j) { return fmt(num(j, {"latency_ns", "p99"}), "%.1f"); }},
    };
    // --metric PATH: one more row each, as `sweep` shows it.
    for (const std::string& m : metrics)
        rows.push_back({m.c_str(), [&m](const json& j) { return metric_cell(stats_metric(j, m)); }});
    // Every cell first: a JSON of the wrong shape (a string where a number goes...)
    // is bad input, reported before anything is printed (docs/robustness.md).
    std::vector<std::vector<std::string>> cells(rows.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
        try {
            for (std::size_t r = 0; r < rows.size(); ++r) cells[r].push_back(rows[r].value(runs[i]));
        } catch (const std::exception& e) {  // json::exception, StatsShapeError
            throw InputError("compare: " + files[i] + ": not a stats JSON (" + e.what() + ")");
        }
    }
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-30s", "");
    out << buf;
    for (const std::string& l : labels) {
        std::snprintf(buf, sizeof buf, " %16s", l.c_str());
        out << buf;
    }
    out << "\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::snprintf(buf, sizeof buf, "%-30s", rows[r].name);
        out << buf;
        for (const std::string& cell : cells[r]) {
            std::snprintf(buf, sizeof buf, " %16s", cell.c_str());
            out << buf;
        }
        out << "\n";
    }
}

}  // namespace smmu::sim
