#include "testbenches/cli/stats_query.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "testbenches/config/input_error.h"

namespace smmu::sim {

std::optional<double> stats_number(const nlohmann::json& j, const std::vector<std::string>& path) {
    const nlohmann::json* p = &j;
    for (const std::string& k : path) {
        if (p->is_array()) {
            char* end = nullptr;
            const unsigned long i = std::strtoul(k.c_str(), &end, 10);
            if (k.empty() || *end || i >= p->size()) return std::nullopt;
            p = &(*p)[i];
            continue;
        }
        if (!p->is_object()) throw StatsShapeError("'" + k + "' looked up in a " + p->type_name());
        if (!p->contains(k)) return std::nullopt;
        p = &(*p)[k];
    }
    if (!p->is_number()) throw StatsShapeError(std::string("a ") + p->type_name() + " where a number goes");
    return p->get<double>();
}

std::optional<double> cache_hit_rate(const nlohmann::json& j, const std::string& prefix) {
    double hits = 0, lookups = 0;
    if (j.contains("caches") && j["caches"].is_object())
        for (const auto& [name, c] : j["caches"].items())
            if (name.rfind(prefix, 0) == 0) {
                if (!c.is_object()) throw StatsShapeError("cache '" + name + "' is a " + c.type_name());
                hits += stats_number(c, {"hits"}).value_or(0);
                lookups += stats_number(c, {"lookups"}).value_or(0);
            }
    if (lookups == 0) return std::nullopt;
    return 100.0 * hits / lookups;
}

namespace {
std::vector<std::string> split_path(const std::string& dotted) {
    std::vector<std::string> path;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = dotted.find('.', start);
        path.push_back(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return path;
}
bool is_hit_rate(const std::vector<std::string>& path) {
    return path.size() == 3 && path[0] == "caches" && path[2] == "hit_rate";
}
}  // namespace

std::optional<double> stats_metric(const nlohmann::json& j, const std::string& dotted) {
    const std::vector<std::string> path = split_path(dotted);
    if (is_hit_rate(path)) return cache_hit_rate(j, path[1]);
    return stats_number(j, path);
}

bool stats_has(const nlohmann::json& j, const std::string& dotted) {
    const std::vector<std::string> path = split_path(dotted);
    if (is_hit_rate(path)) {
        if (!j.contains("caches") || !j["caches"].is_object()) return false;
        for (const auto& c : j["caches"].items())
            if (c.key().rfind(path[1], 0) == 0) return true;
        return false;
    }
    const nlohmann::json* p = &j;
    for (const std::string& k : path) {
        if (p->is_array()) {
            char* end = nullptr;
            const unsigned long i = std::strtoul(k.c_str(), &end, 10);
            if (k.empty() || *end || i >= p->size()) return false;
            p = &(*p)[i];
        } else if (p->is_object() && p->contains(k)) {
            p = &(*p)[k];
        } else {
            return false;
        }
    }
    return true;
}

void check_metrics_known(const std::vector<const nlohmann::json*>& runs, const std::vector<std::string>& metrics,
                         const std::string& option) {
    for (const std::string& m : metrics) {
        bool known = false;
        for (const nlohmann::json* r : runs) known = known || (r->is_object() && stats_has(*r, m));
        if (!known && !runs.empty())
            throw InputError(option + " " + m + ": no such figure in the stats of any run (README, \"Reading the stats\")");
    }
}

// A number for the table: whole numbers as such, others with two decimals.
std::string metric_cell(const std::optional<double>& v) {
    if (!v) return "-";
    char buf[48];
    if (std::floor(*v) == *v && std::fabs(*v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", *v);
    else std::snprintf(buf, sizeof buf, "%.2f", *v);
    return buf;
}

}  // namespace smmu::sim
