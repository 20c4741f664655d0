#include "testbenches/platform/platform.h"

#include <cstdio>

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "testbenches/cli/decode.h"

namespace smmu::sim {

using sc_core::sc_time;

Platform::Platform(sc_core::sc_module_name name, const Config& cfg, TraceReader* trace)
    : sc_module(name),
      cfg_(cfg),
      trace_(trace),
      memory_("memory", cfg.memory.pa_bits, sc_time(cfg.memory.read_latency_ns, sc_core::SC_NS),
              sc_time(cfg.memory.write_latency_ns, sc_core::SC_NS)),
      smmu_("smmu", core_params(cfg), cfg.smmu.mmio_cycles),
      host_("host", cfg) {
    smmu_.downstream.bind(memory_.socket);
    host_.mem.bind(memory_.socket);
    host_.mmio.bind(smmu_.mmio);
    for (const DeviceConfig& d : cfg.devices) {
        gens_.push_back(std::make_unique<TrafficGenerator>(d.name.c_str(), d.sid, d.outstanding));
        gens_.back()->socket.bind(smmu_.upstream);
    }
    SC_THREAD(dispatch);
}

void Platform::dispatch() {
    try {
        if (!host_.is_configured()) wait(host_.configured());
        traffic_start_ = sc_core::sc_time_stamp();
        TraceRecord rec;
        while (trace_ && trace_->next(rec)) {
            const std::size_t dev = resolve_device(cfg_, rec, trace_->filename());
            const sc_time at = traffic_start_ + sc_time(static_cast<double>(rec.time_ns), sc_core::SC_NS);
            if (at > sc_core::sc_time_stamp()) wait(at - sc_core::sc_time_stamp());
            gens_[dev]->push(rec);
        }
        for (auto& g : gens_) g->close();
        for (auto& g : gens_)
            while (!g->done()) wait(g->idle_event());
        traffic_end_ = sc_core::sc_time_stamp();
        host_.finish();
    } catch (...) {
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

void Platform::run() {
    sc_core::sc_start();
    if (error_) std::rethrow_exception(error_);
    if (host_.error()) std::rethrow_exception(host_.error());
}

nlohmann::ordered_json Platform::stats(double wall_s) const {
    using nlohmann::ordered_json;
    const SmmuStats& s = smmu_.core().stats();
    MasterStats all;
    ordered_json devices = ordered_json::object();
    for (std::size_t i = 0; i < gens_.size(); ++i) {
        const MasterStats& m = gens_[i]->stats();
        all.records += m.records;
        all.transactions += m.transactions;
        all.bytes += m.bytes;
        all.faults += m.faults;
        all.latency.merge(m.latency);
        devices[cfg_.devices[i].name] = {{"transactions", m.transactions},
                                         {"bytes", m.bytes},
                                         {"faults", m.faults},
                                         {"latency_ns_mean", m.latency.mean() / 1000.0}};
    }
    auto ns = [](uint64_t ps) { return static_cast<double>(ps) / 1000.0; };

    const UnitStats& u = smmu_.core().unit().stats();
    ordered_json j;
    j["pmu"] = {{"transaction", s.transactions},
                {"tlb_miss", u.tlb_misses},
                {"config_cache_miss", u.config_misses},
                {"trans_table_walk_access", s.walk_reads},
                {"config_struct_access", s.config_reads},
                // Counted over the traffic window, like a PMCG enabled when traffic starts.
                {"cycles", (traffic_end_ - traffic_start_).value() / smmu_.clock_period().value()}};
    ordered_json caches = ordered_json::object();
    smmu_.core().unit().for_each_cache([&](const std::string& name, const CacheStats& c) {
        caches[name] = {{"lookups", c.lookups},         {"hits", c.hits},   {"misses", c.misses},
                        {"evictions", c.evictions}, {"fills", c.fills}, {"invalidations", c.invalidations}};
    });
    j["caches"] = caches;
    ordered_json reads = ordered_json::object();
    for (const auto& [n, count] : u.reads_per_walk) reads[std::to_string(n)] = count;
    j["walks"] = {{"count", u.walks}, {"reads_histogram", reads}, {"merged_misses", u.merged}};
    j["totals"] = {{"records", all.records},
                   {"transactions", all.transactions},
                   {"faults", all.faults},
                   {"bytes", all.bytes},
                   {"translated", s.translated},
                   {"bypassed", s.bypassed},
                   {"aborted", s.aborted}};
    ordered_json histogram = ordered_json::object();
    for (const auto& [ps, count] : all.latency.counts()) {
        // Keys in ns: whole numbers print as such, others with ps precision.
        char key[32];
        if (ps % 1000 == 0)
            std::snprintf(key, sizeof key, "%llu", static_cast<unsigned long long>(ps / 1000));
        else
            std::snprintf(key, sizeof key, "%.3f", ns(ps));
        histogram[key] = count;
    }
    j["latency_ns"] = {{"mean", all.latency.mean() / 1000.0},
                       {"p50", ns(all.latency.percentile(50))},
                       {"p99", ns(all.latency.percentile(99))},
                       {"max", ns(all.latency.max())},
                       {"histogram", histogram}};
    ordered_json events = ordered_json::object();
    for (const auto& info : arch::all_events())
        if (s.events[static_cast<uint8_t>(info.id)]) events[std::string(info.name)] = s.events[static_cast<uint8_t>(info.id)];
    j["events"] = events;
    // The records themselves, as the host drained them from the event queue.
    ordered_json records = ordered_json::array();
    for (const arch::EventRecord& e : host_.events()) records.push_back(describe(e));
    j["event_queue"] = records;
    j["events_dropped"] = {{"eventq_disabled", s.events_dropped_disabled}, {"overflow", s.events_dropped_overflow}};
    ordered_json cmds = ordered_json::object();
    for (const auto& info : arch::all_opcodes())
        if (s.commands[static_cast<uint8_t>(info.opcode)])
            cmds[std::string(info.name)] = s.commands[static_cast<uint8_t>(info.opcode)];
    const double period_ns = static_cast<double>(smmu_.core().period_ps()) / 1000.0;
    j["cmdq"] = {{"by_opcode", cmds},
                 {"errors", s.command_errors},
                 {"invalidated_entries", s.invalidated_entries},
                 {"sync_latency_ns",
                  {{"count", s.syncs},
                   {"mean", s.syncs ? static_cast<double>(s.sync_cycles_total) * period_ns / s.syncs : 0.0},
                   {"max", static_cast<double>(s.sync_cycles_max) * period_ns}}}};
    j["devices"] = devices;
    j["sim"] = {{"sim_time_ns", ns(sc_core::sc_time_stamp().value())},
                {"traffic_time_ns", ns((traffic_end_ - traffic_start_).value())},
                {"host_config_time_ns", ns(host_.configured_at().value())},
                {"wall_s", wall_s},
                {"seed", cfg_.seed}};
    return j;
}

}  // namespace smmu::sim
