#include "testbenches/platform/platform.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <time.h>
#include <unistd.h>

#include "testbenches/cli/decode.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/platform/stats_json.h"

namespace smmu::sim {

using nlohmann::ordered_json;
using sc_core::sc_time;

namespace {
double ns(uint64_t ps) { return static_cast<double>(ps) / 1000.0; }

// Adds per-instance stats into a total: numbers add, "max" keeps the larger,
// "mean" is left for the caller (it needs the counts).
void accumulate(ordered_json& total, const ordered_json& part) {
    for (const auto& [key, value] : part.items()) {
        if (!total.contains(key)) {
            total[key] = value;
        } else if (value.is_object()) {
            accumulate(total[key], value);
        } else if (value.is_number()) {
            if (key == "max")
                total[key] = std::max(total[key].get<double>(), value.get<double>());
            else if (value.is_number_float())
                total[key] = total[key].get<double>() + value.get<double>();
            else
                total[key] = total[key].get<uint64_t>() + value.get<uint64_t>();
        }
    }
}

// The DMAs issued during host changes: how many, their mean latency, and the
// same by time since the change began (MasterStats::since_change).
ordered_json during_change_json(const MasterStats& m) {
    ordered_json buckets = ordered_json::array();
    for (std::size_t b = 0; b < m.since_change.size(); ++b) {
        ordered_json one = {{"from_ns", b ? MasterStats::kSinceChangeNs[b - 1] : 0}};
        if (b < std::size(MasterStats::kSinceChangeNs)) one["to_ns"] = MasterStats::kSinceChangeNs[b];
        one["transactions"] = m.since_change[b].count();
        one["latency_ns_mean"] = m.since_change[b].mean() / 1000.0;
        buckets.push_back(one);
    }
    return {{"transactions", m.during_change.count()},
            {"latency_ns_mean", m.during_change.mean() / 1000.0},
            {"by_time_since_change", buckets}};
}
}  // namespace

namespace {
// The progress line on stderr. By default only when stderr is a terminal and
// the run has lasted kAfter; at most 4 updates a second, redrawn in place and
// erased at the end. With an interval (run --progress SECONDS) a line every
// that many seconds whatever stderr is (a log, a batch job), and a last one
// at the end.
class Progress {
public:
    Progress(const TraceReader* t, double every_s)
        : trace_(t), every_s_(every_s), on_(t && (every_s > 0 || isatty(2))), t0_(Clock::now()) {
        if (every_s_ > 0) next_ = t0_ + interval();
    }
    void tick() {
        if (!on_ || ++records_ % 1024) return;
        const Clock::time_point now = Clock::now();
        if (now < next_) return;
        const double elapsed = std::chrono::duration<double>(now - t0_).count();
        if (every_s_ <= 0 && elapsed < 3.0) return;
        next_ = now + (every_s_ > 0 ? interval() : std::chrono::milliseconds(250));
        show(elapsed);
    }
    void finish() {
        if (every_s_ > 0 && on_) show(std::chrono::duration<double>(Clock::now() - t0_).count(), " done");
        else if (shown_) std::fputs("\r\033[K", stderr), std::fflush(stderr);
        on_ = shown_ = false;
    }
    ~Progress() { finish(); }

private:
    using Clock = std::chrono::steady_clock;
    Clock::duration interval() const {
        return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every_s_));
    }
    void show(double elapsed, const char* done = "") {
        char line[192];
        const double rate = elapsed > 0 ? static_cast<double>(records_) / elapsed : 0;
        const uint64_t size = trace_->file_size(), read = trace_->bytes_read();
        // In place on a terminal; whole lines otherwise.
        const char* start = every_s_ > 0 ? "" : "\r";
        const char* end = every_s_ > 0 ? "\n" : "\033[K";
        if (size > 0 && read > 0) {
            const double f = std::min(1.0, static_cast<double>(read) / static_cast<double>(size));
            std::snprintf(line, sizeof line, "%s  trace: %llu records, %.0f records/s, %.0f%%, ETA %.0f s%s%s", start,
                          static_cast<unsigned long long>(records_), rate, 100.0 * f, elapsed * (1.0 - f) / f, done, end);
        } else {
            std::snprintf(line, sizeof line, "%s  trace: %llu records, %.0f records/s%s%s", start,
                          static_cast<unsigned long long>(records_), rate, done, end);
        }
        std::fputs(line, stderr);
        std::fflush(stderr);
        shown_ = true;
    }
    const TraceReader* trace_;
    double every_s_;
    bool on_;
    Clock::time_point t0_, next_;
    uint64_t records_ = 0;
    bool shown_ = false;
};

// Peak resident set size of this process (VmHWM), 0 where /proc is missing.
uint64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}
// devices.<d>.ats: the device's ATC and what its ATS traffic met.
ordered_json ats_device_json(const AtsAgent& a) {
    const CacheStats& c = a.atc().stats();
    const AtsStats& s = a.stats();
    return {{"atc", {{"lookups", c.lookups}, {"hits", c.hits}, {"hit_rate", c.lookups ? static_cast<double>(c.hits) / c.lookups : 0.0}, {"fills", c.fills}, {"evictions", c.evictions}}},
            {"translation_requests", s.translation_requests},
            {"denied", s.denied},
            {"ur", s.unsupported},
            {"ca", s.aborted},
            {"invalidations", s.invalidations},
            {"entries_invalidated", s.entries_invalidated},
            {"invalidations_unanswered", s.invalidations_unanswered}};
}

// devices.<d>.pri: the function's Page Requests and the PRG Responses it got.
ordered_json pri_device_json(const PriDeviceStats& p) {
    const uint64_t answered = p.resp_success + p.resp_invalid + p.resp_failure;
    return {{"page_requests", p.page_requests},
            {"responses", {{"success", p.resp_success}, {"invalid", p.resp_invalid}, {"failure", p.resp_failure}}},
            {"unexpected", p.responses_unexpected},
            {"retries", p.retries},
            {"wait_ns", {{"mean", answered ? p.wait_ns_total / static_cast<double>(answered) : 0.0}, {"max", p.wait_ns_max}}}};
}

// devices.<d>.faults and the platform's faults: what the host's fault thread
// read (page requests, stall events) and answered, and how long it took
// from the interrupt to each response.
ordered_json faults_json(const FaultDeviceStats& f) {
    return {{"page_requests", f.page_requests},
            {"stalls", f.stalls},
            {"pri_responses", {{"success", f.pri_success}, {"invalid", f.pri_invalid}, {"failure", f.pri_failure}}},
            {"resumes", {{"retry", f.resume_retry}, {"abort", f.resume_abort}}},
            {"pages_mapped", f.pages_mapped},
            {"handling_ns", {{"mean", f.responses ? f.handling_ns_total / static_cast<double>(f.responses) : 0.0},
                             {"max", f.handling_ns_max}}}};
}

// A device's ATS side from devices.<d>.ats.
std::unique_ptr<AtsAgent> make_ats_agent(const DeviceConfig& d, uint64_t seed) {
    const AtsDeviceConfig& a = d.ats_device;
    AtsParams p;
    p.atc.entries = a.atc.entries;
    p.atc.ways = a.atc.ways ? a.atc.ways : a.atc.entries;
    p.atc.policy = *replacement_from_name(a.atc.policy);
    p.atc.seed = seed;
    p.pcie_round_trip = sc_time(a.pcie_round_trip_ns, sc_core::SC_NS);
    if (a.inv_response_ns) p.inv_response = sc_time(*a.inv_response_ns, sc_core::SC_NS);
    return std::make_unique<AtsAgent>((d.name + "_ats").c_str(), p);
}
}  // namespace

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

Platform::Platform(sc_core::sc_module_name name, const Config& cfg, TraceReader* trace)
    : sc_module(name),
      cfg_(cfg),
      trace_(trace),
      devices_(cfg),
      memory_("memory", cfg.memory.pa_bits, sc_time(cfg.memory.read_latency_ns, sc_core::SC_NS),
              sc_time(cfg.memory.write_latency_ns, sc_core::SC_NS)),
      host_("host", cfg),
      calendar_("calendar") {
    for (std::size_t i = 0; i < cfg.smmus.size(); ++i) {
        smmus_.push_back(std::make_unique<Smmu>(cfg.smmus[i].c_str(), core_params(cfg), cfg.smmu.mmio_cycles));
        smmus_.back()->downstream.bind(memory_.socket);
        host_.mmio[i]->bind(smmus_.back()->mmio);
        host_.connect_sev(static_cast<unsigned>(i), smmus_.back()->sev());
    }
    host_.mem.bind(memory_.socket);
    if (cfg.host.check_invalidations) {
        for (std::size_t i = 0; i < smmus_.size(); ++i) {
            SmmuCore& core = smmus_[i]->core();
            checkers_.push_back(std::make_unique<InvalidationChecker>(
                cfg.smmus[i], core, memory_.store(),
                [this, i](const TranslationRequest& req) {
                    return !host_.idle() || host_.driver().lazy_pending(req.sid, static_cast<unsigned>(i), req.iova);
                },
                // The transaction's time (fast mode: the master's local time).
                [smmu = smmus_[i].get()] { return static_cast<double>(smmu->arrival_time().value()) / 1000.0; }));
            InvalidationChecker* checker = checkers_.back().get();
            core.set_observer([checker](const TranslationRequest& req, const TranslationResult& r) { checker->check(req, r); });
        }
    }
    for (const DeviceConfig& d : cfg.devices) {
        gens_.push_back(std::make_unique<TrafficGenerator>(
            d.name.c_str(), d.sid, d.outstanding,
            MasterTiming{cfg.sim.mode == TimingMode::Fast, sc_time(cfg.sim.quantum_ns, sc_core::SC_NS)}));
        gens_.back()->watch_changes([this] { return host_.change_started(); });
        gens_.back()->set_calendar(&calendar_);
        const int smmu = cfg.smmu_index(d.smmu);
        Smmu& s = *smmus_.at(smmu < 0 ? 0 : smmu);
        gens_.back()->socket.bind(s.upstream);
        pri_.push_back(d.pri.enabled ? std::make_unique<PriFunction>(d.sid, d.pri.outstanding,
                                                                          d.pri.prg_response_pasid_required)
                                     : nullptr);
        gens_.back()->set_pri(pri_.back().get());
        ats_.push_back(d.ats ? make_ats_agent(d, cfg.seed) : nullptr);
        if (!ats_.back()) continue;
        // The SMMU's ATC_INVs for the device's StreamID reach its ATC.
        s.set_ats_stream(static_cast<unsigned>(s.ats_inv.size()), d.sid);
        s.ats_inv.bind(ats_.back()->atc_inv);
        ats_.back()->set_enabled([this, name = d.name] { return host_.driver().device_ats_enabled(name); });
        gens_.back()->set_ats(ats_.back().get());
    }
    if (cfg.serves_faults()) {
        for (std::size_t i = 0; i < smmus_.size(); ++i) {
            Smmu& s = *smmus_[i];
            host_.connect_fault_irqs(static_cast<unsigned>(i), s.evtq_irq(), s.priq_irq());
            // A PRG Response goes to the function of its StreamID.
            s.set_prg_handler([this, i](const PrgResponse& m, sc_time delay) {
                for (std::size_t d = 0; d < cfg_.devices.size(); ++d)
                    if (pri_[d] && cfg_.devices[d].sid == m.sid &&
                        static_cast<std::size_t>(std::max(0, cfg_.smmu_index(cfg_.devices[d].smmu))) == i)
                        pri_[d]->prg_response(m, delay);
            });
        }
    }
    SC_THREAD(dispatch);
}

void Platform::dispatch() {
    try {
        if (!host_.is_configured()) wait(host_.configured());
        build_wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count();
        build_bytes_ = memory_.store().bytes_allocated();
        traffic_start_ = sc_core::sc_time_stamp();
        const double cpu_start = process_cpu_seconds();
        TraceRecord rec;
        Progress progress(trace_, progress_every_s_);
        // The reader runs ahead of simulated time: a DMA record goes to its
        // device at once, and the worker that takes it waits for its time
        // (TrafficGenerator::push). It waits for a record's time itself only
        // for a host change (posted at its time), every kLookahead DMAs (the
        // records handed out ahead stay bounded) and for back-pressure; through
        // the calendar, in the record's place among same-time DMAs.
        uint64_t seq = 0;
        auto wait_until = [&](const sc_time& at) {
            if (at > sc_core::sc_time_stamp()) calendar_.wait_until(at, seq, wake_);
        };
        std::size_t ahead = 0;
        for (; trace_ && trace_->next(rec); ++seq) {
            progress.tick();
            const sc_time at = traffic_start_ + sc_time(static_cast<double>(rec.time_ns), sc_core::SC_NS);
            if (rec.change) {
                wait_until(at);
                check_change(cfg_, *rec.change);
                host_.post(*rec.change);
                continue;
            }
            TrafficGenerator& g = *gens_[devices_.resolve(rec, trace_->filename())];
            if (++ahead == kLookahead) wait_until(at), ahead = 0;
            // Back-pressure: a device far behind its records holds the trace
            // (and every later record) until it catches up, so memory stays
            // flat. At the record's time every record queued before it is due:
            // the count is of records waiting for a worker, as it was when
            // records were handed over at their time.
            if (g.queued() >= kMaxQueued) {
                wait_until(at);
                g.wait_for_room(kMaxQueued);
            }
            g.push(rec, at, seq);
        }
        progress.finish();
        for (auto& g : gens_) g->close();
        for (auto& g : gens_)
            while (!g->done()) wait(g->idle_event());
        while (!host_.idle()) wait(host_.idle_event());
        traffic_end_ = sc_core::sc_time_stamp();
        traffic_cpu_s_ = process_cpu_seconds() - cpu_start;
        end_bytes_ = memory_.store().bytes_allocated();
        host_.finish();
        finished_ = true;
    } catch (...) {
        error_ = std::current_exception();
        sc_core::sc_stop();
    }
}

void Platform::record_timeline(Timeline& timeline) {
    for (std::size_t i = 0; i < smmus_.size(); ++i) {
        // Upstream ports in the order the constructor bound the devices.
        std::vector<std::string> masters;
        for (const DeviceConfig& d : cfg_.devices) {
            const int smmu = cfg_.smmu_index(d.smmu);
            if (static_cast<std::size_t>(smmu < 0 ? 0 : smmu) == i) masters.push_back(d.name);
        }
        SmmuCore& core = smmus_[i]->core();
        core.set_recorder(&timeline.smmu(cfg_.smmus[i], core.period_ps(), masters));
        host_.driver().smmu(static_cast<unsigned>(i)).set_cmdlist_listener(
            [&timeline, name = cfg_.smmus[i]](const std::vector<arch::Command>& cmds, bool sync, double start_ns,
                                              double end_ns) { timeline.cmdlist(name, cmds, sync, start_ns, end_ns); });
    }
    host_.set_op_listener([&timeline](const std::string& name, const std::string& where, sc_time start, sc_time end) {
        timeline.host_op(name, where, start.value(), end.value());  // sc_time's resolution: 1 ps
    });
}

void Platform::write_vmid_csv(std::ostream& out) const {
    out << "time_ns";
    for (const std::string& s : cfg_.smmus) out << "," << s;
    out << ",total\n";
    for (const LifetimeStats::VmidSample& v : host_.driver().lifetime().vmid_samples) {
        out << v.time_ns;
        unsigned total = 0;
        for (unsigned n : v.in_use) out << "," << n, total += n;
        out << "," << total << "\n";
    }
}

std::vector<std::string> Platform::checker_lines() const {
    std::vector<std::string> out;
    for (const auto& c : checkers_)
        for (const std::string& l : c->lines()) out.push_back(l);
    return out;
}

void Platform::run() {
    sc_core::sc_start();
    if (error_) std::rethrow_exception(error_);
    if (host_.error()) std::rethrow_exception(host_.error());
    if (!finished_) {
        // Nothing left to happen, yet DMA is unfinished: transactions held
        // for a CMD_RESUME or page requests waiting for a PRG Response that
        // nobody will send (host.fault.policy none, or no fault handling).
        std::string waiting;
        for (std::size_t i = 0; i < gens_.size(); ++i) {
            if (gens_[i]->done()) continue;
            waiting += (waiting.empty() ? "" : ", ") + cfg_.devices[i].name;
            if (pri_[i] && pri_[i]->waiting())
                waiting += " (" + std::to_string(pri_[i]->waiting()) + " page request(s) unanswered)";
        }
        std::size_t stalled = 0;
        for (const auto& s : smmus_) stalled += s->core().stalled();
        throw std::runtime_error(
            "run: stopped at " + sc_core::sc_time_stamp().to_string() + " with DMA unfinished (devices: " + waiting + "; " + std::to_string(stalled) +
            " transaction(s) stalled): nothing will answer them (host.fault.policy: " +
            (cfg_.host.fault.policy == FaultPolicy::None ? "none" : cfg_.host.fault.policy == FaultPolicy::Iopf ? "iopf" : "mainline") +
            "; docs/pri-stall.md)");
    }
}

ordered_json Platform::stats(double wall_s) const {
    MasterStats all;
    ordered_json devices = ordered_json::object();
    for (std::size_t i = 0; i < gens_.size(); ++i) {
        const MasterStats& m = gens_[i]->stats();
        all.records += m.records;
        all.transactions += m.transactions;
        all.bytes += m.bytes;
        all.faults += m.faults;
        all.latency.merge(m.latency);
        all.during_change.merge(m.during_change);
        for (std::size_t b = 0; b < m.since_change.size(); ++b) all.since_change[b].merge(m.since_change[b]);
        // Device names are unique (the loader checks): append each without
        // ordered_map's linear search for the key, so the writer is linear,
        // not quadratic, in devices.
        static_cast<ordered_json::object_t::Container&>(devices.get_ref<ordered_json::object_t&>())
            .emplace_back(cfg_.devices[i].name, ordered_json{{"smmu", cfg_.devices[i].smmu.empty() ? cfg_.smmus.front() : cfg_.devices[i].smmu},
                                         {"vmid", host_.driver().device_vmid(cfg_.devices[i].name)},
                                         {"transactions", m.transactions},
                                         {"bytes", m.bytes},
                                         {"faults", m.faults},
                                         {"latency_ns_mean", m.latency.mean() / 1000.0},
                                         {"dma_during_change", during_change_json(m)}});
        if (const AtsAgent* a = ats_[i].get()) devices.back()["ats"] = ats_device_json(*a);
        if (const PriFunction* p = pri_[i].get()) devices.back()["pri"] = pri_device_json(p->stats());
        if (const HostFaults* f = host_.faults()) {
            const auto it = f->stats().find(cfg_.devices[i].name);
            devices.back()["faults"] = faults_json(it == f->stats().end() ? FaultDeviceStats{} : it->second);
        }
    }

    // Each device's latency distribution (scripts/plot.py draws one per device),
    // devices in the order they were appended.
    std::size_t device = 0;
    for (auto& d : devices) d["latency_ns"] = latency_json(gens_[device++]->stats().latency);

    // Each instance on its own, then the platform's totals.
    ordered_json per_smmu = ordered_json::array();
    ordered_json pmu, caches = ordered_json::object(), walks, events = ordered_json::object(), dropped, cmdq, ats;
    ordered_json records = ordered_json::array();
    uint64_t translated = 0, bypassed = 0, aborted = 0, syncs = 0, sync_cycles = 0;
    for (std::size_t i = 0; i < smmus_.size(); ++i) {
        const SmmuCore& core = smmus_[i]->core();
        const uint64_t cycles = (traffic_end_ - traffic_start_).value() / smmus_[i]->clock_period().value();
        ordered_json one = {{"name", cfg_.smmus[i]},
                            {"pmu", pmu_json(core, cycles)},
                            {"caches", caches_json(core)},
                            {"walks", walks_json(core)},
                            {"events", events_json(core.stats())},
                            {"cmdq", cmdq_json(core)}};
        one.update(pri_stall_json(core));
        if (ordered_json a = ats_json(core); !a.is_null()) {
            // The host's view: CMD_SYNCs it gave up on (-ETIMEDOUT).
            const driver::CmdqCounters& hc = host_.driver().cmdq_counters(static_cast<unsigned>(i));
            a["host_sync_timeouts"] = hc.sync_timeouts;
            if (hc.sync_timeouts) a["host_first_sync_timeout"] = hc.first_sync_timeout;
            one["ats"] = a;
            accumulate(ats, a);
        }
        accumulate(pmu, one["pmu"]);
        if (i > 0) pmu["cycles"] = std::max(pmu["cycles"].get<uint64_t>(), cycles);  // one clock, not a sum
        accumulate(caches, one["caches"]);
        accumulate(walks, one["walks"]);
        accumulate(events, one["events"]);
        accumulate(dropped, events_dropped_json(core.stats()));
        accumulate(cmdq, one["cmdq"]);
        per_smmu.push_back(one);
        const SmmuStats& s = core.stats();
        translated += s.translated;
        bypassed += s.bypassed;
        aborted += s.aborted;
        syncs += s.syncs;
        sync_cycles += s.sync_cycles_total;
        // The records themselves, as the host drained them from the event queue.
        if (i < host_.events().size())
            for (const arch::EventRecord& e : host_.events()[i]) {
                ordered_json r = describe(e);
                r["smmu"] = cfg_.smmus[i];
                records.push_back(r);
            }
    }
    const double period_ns = static_cast<double>(smmus_.front()->core().period_ps()) / 1000.0;
    cmdq["sync_latency_ns"]["mean"] = syncs ? static_cast<double>(sync_cycles) * period_ns / syncs : 0.0;
    if (!ats.is_null()) {
        uint64_t answered = 0, inv_cycles = 0;
        for (const auto& s : smmus_) {
            answered += s->core().stats().atc_invs_answered;
            inv_cycles += s->core().stats().atc_inv_cycles_total;
        }
        ats["atc_inv"]["latency_ns"]["mean"] = answered ? static_cast<double>(inv_cycles) * period_ns / answered : 0.0;
    }

    ordered_json j;
    j["pmu"] = pmu;
    j["totals"] = {{"records", all.records},    {"transactions", all.transactions}, {"faults", all.faults},
                   {"bytes", all.bytes},        {"translated", translated},         {"bypassed", bypassed},
                   {"aborted", aborted}};
    j["latency_ns"] = latency_json(all.latency);
    j["caches"] = caches;
    j["walks"] = walks;
    j["events"] = events;
    j["event_queue"] = records;
    j["events_dropped"] = dropped;
    j["cmdq"] = cmdq;
    if (!ats.is_null()) j["ats"] = ats;
    if (const HostFaults* f = host_.faults()) {
        FaultDeviceStats all_faults;
        for (const auto& [name, d] : f->stats()) all_faults += d;
        j["faults"] = faults_json(all_faults);
    }

    // VMIDs and what the topology's invalidations cost.
    const HostDriver& host = host_.driver();
    ordered_json vmids_per = ordered_json::array();
    unsigned vmids_used = 0;
    for (unsigned n : host.vmids_per_smmu()) {
        vmids_per.push_back(n);
        vmids_used += n;
    }
    const bool mainline = cfg_.host.vmid_policy == VmidPolicy::PerS2Domain;
    const LifetimeStats& life = host.lifetime();
    unsigned peak = 0;
    for (const LifetimeStats::VmidSample& v : life.vmid_samples) {
        unsigned n = 0;
        for (unsigned k : v.in_use) n += k;
        peak = std::max(peak, n);
    }
    j["vmids"] = {{"used", vmids_used},
                  {"per_smmu", vmids_per},
                  {"policy", mainline ? "per-s2-domain" : "per-viommu"},
                  {"allocated", host.vmids_allocated()},
                  {"freed", host.vmids_freed()},
                  {"peak", peak}};
    j["host"] = {{"driver", mainline ? "linux" : "linux-viommu-vmid"},
                 {"dma_mode", cfg_.host.dma_mode == DmaMode::Lazy ? "lazy" : "strict"}};
    // One path's (or lifetime record kind's) counts and time: the host's
    // software (CPU) and its waits for CMD_SYNCs (the SMMU).
    auto path_json = [&](const std::string& name, const PathStats& p) {
        ordered_json pj = {{"changes", p.changes}, {"commands", p.commands}, {"syncs", p.syncs}, {"rejected", p.rejected}};
        if (auto t = host_.change_times().find(name); t != host_.change_times().end())
            pj["change_to_sync_ns"] = {{"mean", t->second.mean() / 1000.0}, {"max", ns(t->second.max())}};
        const double per = p.changes ? 1.0 / static_cast<double>(p.changes) : 0.0;
        pj["host_time_ns"] = {{"software_mean", (p.time_ns - p.sync_wait_ns) * per},
                              {"sync_wait_mean", p.sync_wait_ns * per},
                              {"software_total", p.time_ns - p.sync_wait_ns},
                              {"sync_wait_total", p.sync_wait_ns}};
        return pj;
    };
    ordered_json paths = ordered_json::object(), by_opcode = ordered_json::object();
    uint64_t inv_commands = 0, inv_syncs = 0;
    for (const auto& [name, p] : host.paths()) {
        paths[name] = path_json(name, p);
        inv_commands += p.commands;
        inv_syncs += p.syncs;
        for (const auto& [op, n] : p.by_opcode)
            by_opcode[op] = (by_opcode.contains(op) ? by_opcode[op].get<uint64_t>() : 0) + n;
    }
    j["invalidation"] = {{"commands", inv_commands},
                         {"syncs", inv_syncs},
                         {"by_opcode", by_opcode},
                         {"paths", paths},
                         {"dma_during_change", during_change_json(all)},
                         {"rejected", host.rejected()}};
    if (const GuestBatchStats& g = host.guest_batches(); g.batches) {
        const double per = 1.0 / static_cast<double>(g.batches);
        ordered_json sizes = ordered_json::object();
        for (const auto& [n, count] : g.by_size) sizes[std::to_string(n)] = count;
        j["invalidation"]["guest_batches"] = {
            {"batches", g.batches},
            {"commands", g.commands},
            {"by_size", sizes},
            {"latency_ns", {{"trap_mean", g.trap_ns * per},
                            {"ioctl_mean", g.ioctl_ns * per},
                            {"queue_mean", g.queue_ns * per},
                            {"sync_mean", g.sync_ns * per},
                            {"total_mean", (g.trap_ns + g.ioctl_ns + g.queue_ns + g.sync_ns) * per}}}};
    }
    if (!host.veventqs().empty()) {
        ordered_json vq = ordered_json::object();
        for (const auto& [viommu, v] : host.veventqs()) {
            ordered_json recs = ordered_json::array();
            for (const arch::EventRecord& e : v.records) recs.push_back(describe(e));
            vq[viommu] = {{"veventq", v.veventq}, {"depth", v.depth},         {"queued", v.queued},
                          {"lost", v.lost},       {"unreported", v.unreported}, {"records", recs}};
        }
        j["veventq"] = vq;
    }
    if (!life.ops.empty()) {
        ordered_json ops = ordered_json::object(), failures = ordered_json::array(), by_errno = ordered_json::object();
        uint64_t records = 0, flush_on_free = 0;
        for (const auto& [op, p] : life.ops) {
            ops[op] = path_json("lifetime." + op, p);
            ops[op]["by_opcode"] = p.by_opcode;
            records += p.changes;
            if (op == "destroy" || op == "vm_stop")
                if (auto it = p.by_opcode.find("TLBI_S12_VMALL"); it != p.by_opcode.end()) flush_on_free += it->second;
        }
        for (const LifetimeStats::Failure& f : life.failures) {
            const std::string e = f.err ? driver::errno_name(f.err) : "no-op";
            by_errno[e] = (by_errno.contains(e) ? by_errno[e].get<uint64_t>() : 0) + 1;
            if (failures.size() < kMaxLifetimeFailures)
                failures.push_back({{"time_ns", f.time_ns}, {"where", f.where}, {"op", f.op}, {"object", f.object},
                                    {"errno", e}, {"why", f.why}});
        }
        j["lifetime"] = {{"records", records},
                         {"failed", life.failures.size()},
                         {"failed_by_errno", by_errno},
                         {"flush_on_free_commands", flush_on_free},
                         {"ops", ops},
                         {"failures", failures}};
    }
    if (!checkers_.empty()) {
        uint64_t checked = 0, mismatches = 0, tolerated = 0;
        ordered_json reports = ordered_json::array();
        for (const auto& c : checkers_) {
            checked += c->checked();
            mismatches += c->mismatches();
            tolerated += c->tolerated();
            for (const auto& r : c->reports()) reports.push_back(r);
        }
        j["checker"] = {{"checked", checked},
                        {"mismatches", mismatches},
                        {"tolerated_during_change", tolerated},
                        {"reports", reports}};
    }
    j["smmus"] = per_smmu;
    j["devices"] = devices;
    j["memory"] = {{"allocated_bytes", end_bytes_ ? end_bytes_ : build_bytes_},
                   {"allocated_bytes_at_build", build_bytes_},
                   {"peak_rss_bytes", peak_rss_bytes()}};
    j["sim"] = {{"sim_time_ns", ns(sc_core::sc_time_stamp().value())},
                {"build_wall_s", build_wall_s_},
                {"traffic_cpu_s", traffic_cpu_s_},
                {"traffic_time_ns", ns((traffic_end_ - traffic_start_).value())},
                {"host_config_time_ns", ns(host_.configured_at().value())},
                {"wall_s", wall_s},
                {"seed", cfg_.seed},
                {"mode", cfg_.sim.mode == TimingMode::Fast ? "fast" : "accurate"},
                {"quantum_ns", cfg_.sim.quantum_ns}};
    return j;
}

}  // namespace smmu::sim
