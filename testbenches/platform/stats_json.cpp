#include "testbenches/platform/stats_json.h"

#include <cstdio>
#include <string>

#include "models/arch/command.h"
#include "models/arch/event.h"

namespace smmu::sim {

using nlohmann::ordered_json;

namespace {
double ns(uint64_t ps) { return static_cast<double>(ps) / 1000.0; }
}  // namespace

ordered_json pmu_json(const SmmuCore& core, uint64_t cycles) {
    const SmmuStats& s = core.stats();
    const UnitStats& u = core.unit().stats();
    return {{"transaction", s.transactions},
            {"tlb_miss", u.tlb_misses},
            {"config_cache_miss", u.config_misses},
            {"trans_table_walk_access", s.walk_reads},
            {"config_struct_access", s.config_reads},
            {"cycles", cycles}};
}

ordered_json caches_json(const SmmuCore& core) {
    ordered_json caches = ordered_json::object();
    core.unit().for_each_cache([&](const std::string& name, const CacheStats& c) {
        caches[name] = {{"lookups", c.lookups},         {"hits", c.hits},   {"misses", c.misses},
                        {"evictions", c.evictions}, {"fills", c.fills}, {"invalidations", c.invalidations}};
    });
    return caches;
}

ordered_json walks_json(const SmmuCore& core) {
    const UnitStats& u = core.unit().stats();
    ordered_json reads = ordered_json::object();
    for (const auto& [n, count] : u.reads_per_walk) reads[std::to_string(n)] = count;
    return {{"count", u.walks}, {"reads_histogram", reads}, {"merged_misses", u.merged}};
}

ordered_json latency_json(const LatencyHistogram& latency) {
    ordered_json histogram = ordered_json::object();
    for (const auto& [ps, count] : latency.counts()) {
        // Keys in ns: whole numbers print as such, others with ps precision.
        char key[32];
        if (ps % 1000 == 0)
            std::snprintf(key, sizeof key, "%llu", static_cast<unsigned long long>(ps / 1000));
        else
            std::snprintf(key, sizeof key, "%.3f", ns(ps));
        histogram[key] = count;
    }
    return {{"mean", latency.mean() / 1000.0},
            {"p50", ns(latency.percentile(50))},
            {"p99", ns(latency.percentile(99))},
            {"max", ns(latency.max())},
            {"histogram", histogram}};
}

ordered_json events_json(const SmmuStats& s) {
    ordered_json events = ordered_json::object();
    for (const auto& info : arch::all_events())
        if (s.events[static_cast<uint8_t>(info.id)])
            events[std::string(info.name)] = s.events[static_cast<uint8_t>(info.id)];
    return events;
}

ordered_json events_dropped_json(const SmmuStats& s) {
    return {{"eventq_disabled", s.events_dropped_disabled}, {"overflow", s.events_dropped_overflow}};
}

ordered_json ats_json(const SmmuCore& core) {
    const SmmuStats& s = core.stats();
    if (!s.ats_requests && !s.ats_translated && !s.ats_translated_aborted && !s.atc_invs_sent) return nullptr;
    const double period_ns = static_cast<double>(core.period_ps()) / 1000.0;
    return {{"translation_requests", s.ats_requests},
            {"completions", {{"success", s.ats_success}, {"no_access", s.ats_no_access}, {"ur", s.ats_ur}, {"ca", s.ats_ca}}},
            {"translated", {{"passed", s.ats_translated}, {"aborted", s.ats_translated_aborted}}},
            {"atc_inv",
             {{"sent", s.atc_invs_sent},
              {"answered", s.atc_invs_answered},
              {"latency_ns",
               {{"mean", s.atc_invs_answered ? static_cast<double>(s.atc_inv_cycles_total) * period_ns / s.atc_invs_answered : 0.0},
                {"max", static_cast<double>(s.atc_inv_cycles_max) * period_ns}}}}},
            {"sync_wait_for_atc", {{"syncs", s.sync_atc_waits}, {"total_ns", static_cast<double>(s.sync_atc_wait_cycles) * period_ns}}}};
}

ordered_json cmdq_json(const SmmuCore& core) {
    const SmmuStats& s = core.stats();
    ordered_json cmds = ordered_json::object();
    for (const auto& info : arch::all_opcodes())
        if (s.commands[static_cast<uint8_t>(info.opcode)])
            cmds[std::string(info.name)] = s.commands[static_cast<uint8_t>(info.opcode)];
    const double period_ns = static_cast<double>(core.period_ps()) / 1000.0;
    return {{"by_opcode", cmds},
            {"errors", s.command_errors},
            {"invalidated_entries", s.invalidated_entries},
            {"sync_latency_ns",
             {{"count", s.syncs},
              {"mean", s.syncs ? static_cast<double>(s.sync_cycles_total) * period_ns / s.syncs : 0.0},
              {"max", static_cast<double>(s.sync_cycles_max) * period_ns}}}};
}

ordered_json pri_stall_json(const SmmuCore& core) {
    const SmmuStats& s = core.stats();
    const double period_ns = static_cast<double>(core.period_ps()) / 1000.0;
    const auto mean_ns = [&](uint64_t total, uint64_t n) { return n ? static_cast<double>(total) * period_ns / n : 0.0; };
    const uint64_t matched = s.pri_responses - s.pri_responses_unmatched;
    const uint64_t resumed = s.resumes_retry + s.resumes_abort + s.stall_terms;
    return {{"pri",
             {{"page_requests", s.page_requests},
              {"written", s.priq_written},
              {"dropped_overflow", s.priq_dropped_overflow},
              {"dropped_disabled", s.priq_dropped_disabled},
              {"auto_responses", s.prg_auto_responses},
              {"responses", s.pri_responses},
              {"responses_unmatched", s.pri_responses_unmatched},
              {"response_latency_ns",
               {{"count", matched},
                {"mean", mean_ns(s.pri_resp_cycles_total, matched)},
                {"max", static_cast<double>(s.pri_resp_cycles_max) * period_ns}}}}},
            {"stalls",
             {{"stalled", s.stalls},
              {"refused", s.stalls_refused},
              {"deferred", s.stalls_deferred},
              {"resumed_retry", s.resumes_retry},
              {"resumed_abort", s.resumes_abort},
              {"terminated", s.stall_terms},
              {"resume_unmatched", s.resumes_unmatched},
              {"resume_latency_ns",
               {{"count", resumed},
                {"mean", mean_ns(s.stall_cycles_total, resumed)},
                {"max", static_cast<double>(s.stall_cycles_max) * period_ns}}}}}};
}

}  // namespace smmu::sim
