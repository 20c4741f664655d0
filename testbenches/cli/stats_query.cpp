#include "testbenches/cli/stats_query.h"

#include <cstdlib>

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

std::optional<double> stats_metric(const nlohmann::json& j, const std::string& dotted) {
    std::vector<std::string> path;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = dotted.find('.', start);
        path.push_back(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (path.size() == 3 && path[0] == "caches" && path[2] == "hit_rate") return cache_hit_rate(j, path[1]);
    return stats_number(j, path);
}

}  // namespace smmu::sim
