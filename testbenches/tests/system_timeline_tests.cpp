// System tests of `run --timeline` (docs/timeline.md): the trace-event JSON of
// a small run checked against the run's own stats, its bounds (window,
// sampling, cap), bad option values and determinism. Each run is a process.
//
// The run: configs/examples/four-modes.yaml (no caches, memory 100 ns, 1 GHz)
// with traces/examples/timeline.trace: two S1-only DMAs of
// `dma` (4-level walks), an unmap of the first page (TLBI_NH_VA + SYNC), a DMA
// to it (F_TRANSLATION), an S2-only and a nested read.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using nlohmann::json;
using smmu_sim_test::Run;
using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

const std::string kRun =
    "run --config configs/examples/four-modes.yaml --trace traces/examples/timeline.trace --quiet";

std::string out_path(const std::string& name) {
    return std::string(CMAKE_BINARY_DIR) + "/timeline_" + std::to_string(getpid()) + "_" + name;
}

// Picoseconds of a trace-event time (microseconds, printed with 6 decimals).
int64_t ps(const json& us) { return static_cast<int64_t>(us.get<double>() * 1e6 + 0.5); }

struct Timeline {
    json doc;
    std::map<std::pair<int, int>, std::string> tracks;  // (pid, tid) -> "process/thread"
    std::map<int, std::string> processes;

    explicit Timeline(const std::string& path) : doc(json::parse(slurp(path))) {
        for (const json& e : doc["traceEvents"])
            if (e["ph"] == "M" && e["name"] == "process_name") processes[e["pid"]] = e["args"]["name"];
        for (const json& e : doc["traceEvents"])
            if (e["ph"] == "M" && e["name"] == "thread_name")
                tracks[{e["pid"].get<int>(), e["tid"].get<int>()}] =
                    processes[e["pid"]] + "/" + e["args"]["name"].get<std::string>();
    }
    std::string track(const json& e) const { return tracks.at({e["pid"].get<int>(), e["tid"].get<int>()}); }
    // Events (not metadata) matching `pred`.
    template <class Pred>
    std::vector<json> events(Pred pred) const {
        std::vector<json> out;
        for (const json& e : doc["traceEvents"])
            if (e["ph"] != "M" && pred(e)) out.push_back(e);
        return out;
    }
    std::vector<json> on(const std::string& track_name, const std::string& cat) const {
        return events([&](const json& e) { return track(e) == track_name && e["cat"] == cat; });
    }
};

// Complete events on one track must nest (a viewer drops or misdraws the
// rest): sorted by start (longer first), each ends before the one open around it.
size_t misnested(const Timeline& t) {
    std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_track;
    for (const json& e : t.events([](const json& e) { return e["ph"] == "X"; }))
        by_track[t.track(e)].push_back({ps(e["ts"]), -ps(e["dur"])});
    size_t bad = 0;
    for (auto& [name, spans] : by_track) {
        std::sort(spans.begin(), spans.end());
        std::vector<int64_t> open;  // ends
        for (const auto& [start, minus_dur] : spans) {
            while (!open.empty() && open.back() <= start) open.pop_back();
            const int64_t end = start - minus_dur;
            if (!open.empty() && end > open.back()) ++bad;
            open.push_back(end);
        }
    }
    return bad;
}

bool inside(const json& inner, const json& outer) {
    return ps(inner["ts"]) >= ps(outer["ts"]) &&
           ps(inner["ts"]) + ps(inner["dur"]) <= ps(outer["ts"]) + ps(outer["dur"]);
}

}  // namespace

TEST_CASE("timeline: tracks, phases, commands, host windows and faults agree with the stats", "[timeline]") {
    const std::string tl = out_path("full.json"), stats_path = out_path("full_stats.json");
    const Run r = smmu_sim(kRun + " --timeline " + tl + " --stats " + stats_path);
    REQUIRE(r.exit_code == 0);
    const json stats = json::parse(slurp(stats_path));
    const Timeline t(tl);
    const double mem_ns = 100;  // four-modes.yaml: memory.read_latency_ns default
    const int64_t traffic_start = static_cast<int64_t>(stats["sim"]["host_config_time_ns"].get<double>() * 1000);

    // One track per master (the devices that issued DMA), the command queue, events, the host.
    for (const char* name : {"host/cpu", "smmu0/cmdq", "smmu0/events", "smmu0/dma", "smmu0/gpu", "smmu0/nic"}) {
        bool found = false;
        for (const auto& [id, n] : t.tracks) found = found || n == name;
        CHECK(found);
    }
    CHECK(t.on("smmu0/dma", "translation").size() == 3);
    CHECK(t.on("smmu0/gpu", "translation").size() == 1);
    CHECK(t.on("smmu0/nic", "translation").size() == 1);
    const auto translations = t.events([](const json& e) { return e["cat"] == "translation"; });
    CHECK(translations.size() == stats["totals"]["transactions"].get<size_t>());

    // Walks: one phase per walk, each as long as its reads at the memory's
    // latency (no walk caches, unlimited walk port): the sum is the stats'
    // reads histogram times 100 ns.
    const auto walks = t.events([](const json& e) { return e["cat"] == "phase" && e["name"] == "walk"; });
    CHECK(walks.size() == stats["walks"]["count"].get<size_t>());
    int64_t walk_ps = 0, stats_walk_ps = 0;
    for (const json& w : walks) walk_ps += ps(w["dur"]);
    for (const auto& [reads, count] : stats["walks"]["reads_histogram"].items())
        stats_walk_ps += std::stoll(reads) * count.get<int64_t>() * static_cast<int64_t>(mem_ns * 1000);
    CHECK(walk_ps == stats_walk_ps);
    const auto dma = t.on("smmu0/dma", "translation");
    REQUIRE(dma.size() == 3);
    CHECK(dma[0]["name"] == "walk");
    CHECK(ps(dma[0]["ts"]) == traffic_start);  // the trace's time 0
    const auto dma_phases = t.on("smmu0/dma", "phase");
    std::map<std::string, int64_t> first;  // the first DMA's phases
    for (const json& p : dma_phases)
        if (inside(p, dma[0])) first[p["name"]] = ps(p["dur"]);
    CHECK(first["walk"] == 4 * 100000);          // 4 stage 1 levels, 100 ns each
    CHECK(first["config fetch"] == 2 * 100000);  // STE and CD
    // arrival + config fetch + walk + 2 pipeline cycles (1 ns each) = the translation
    CHECK(ps(dma[0]["dur"]) == 600000 + 2000);

    // The unmap: a host operation at trace time 2000 ns holding the
    // TLBI_NH_VA + SYNC window, inside which the SMMU ran both commands.
    const auto ops = t.on("host/cpu", "host");
    std::vector<json> unmap;
    for (const json& o : ops)
        if (ps(o["ts"]) == traffic_start + 2000000) unmap.push_back(o);
    REQUIRE(unmap.size() == 1);
    CHECK(unmap[0]["args"]["where"].get<std::string>().find("timeline.trace:6") != std::string::npos);
    const auto windows = t.on("host/cpu", "invalidation");
    std::vector<json> in_unmap;
    for (const json& w : windows)
        if (inside(w, unmap[0])) in_unmap.push_back(w);
    REQUIRE(in_unmap.size() == 1);
    CHECK(in_unmap[0]["name"] == "TLBI_NH_VA + SYNC");
    CHECK(in_unmap[0]["args"]["commands"] == 2);
    // The SMMU consumed both inside the window (the SYNC's completion ends
    // it: below).
    std::vector<std::string> cmds;
    for (const json& c : t.on("smmu0/cmdq", "command"))
        if (ps(c["ts"]) >= ps(in_unmap[0]["ts"]) && ps(c["ts"]) < ps(in_unmap[0]["ts"]) + ps(in_unmap[0]["dur"]))
            cmds.push_back(c["name"]);
    CHECK(cmds == std::vector<std::string>{"TLBI_NH_VA", "SYNC"});
    // Every command the SMMU ran is on its queue's track.
    uint64_t commands = 0;
    for (const auto& [op, n] : stats["cmdq"]["by_opcode"].items()) commands += n.get<uint64_t>();
    CHECK(t.on("smmu0/cmdq", "command").size() == commands);

    // The fault: the DMA at 5000 ns walks to the invalid leaf; its event
    // record is an instant at the translation's end (after the record's write).
    CHECK(dma[2]["name"] == "fault F_TRANSLATION");
    CHECK(ps(dma[2]["ts"]) == traffic_start + 5000000);
    const auto faults = t.on("smmu0/events", "event");
    REQUIRE(faults.size() == 1);
    CHECK(faults[0]["name"] == "F_TRANSLATION");
    CHECK(faults[0]["args"]["record"] == "written");
    CHECK(ps(faults[0]["ts"]) == ps(dma[2]["ts"]) + ps(dma[2]["dur"]));
    CHECK(ps(faults[0]["ts"]) > ps(unmap[0]["ts"]) + ps(unmap[0]["dur"]));
    CHECK(stats["events"]["F_TRANSLATION"] == 1);

    CHECK(t.doc["otherData"]["truncated"] == false);
    CHECK(t.doc["otherData"]["events"].get<size_t>() == t.events([](const json&) { return true; }).size());
    CHECK(misnested(t) == 0);
    std::remove(tl.c_str());
    std::remove(stats_path.c_str());
}

TEST_CASE("timeline: an MSI-polled SYNC's wait ends when the MSI wakes the CPU from WFE", "[timeline]") {
    // four-modes.yaml: IDR0.MSI on a coherent SMMU, so Linux waits for each
    // SYNC's MSI word (ARM_SMMU_OPT_MSIPOLL, __arm_smmu_cmdq_poll_until_msi:
    // smp_cond_load_relaxed, on arm64 WFE with the exclusive monitor on the
    // word, __cmpwait_relaxed). The SMMU writes the word when the SYNC
    // completes (SmmuCore::cmdq_complete); the memory's monitor wakes the CPU
    // then, and its wait ends after one reload of the word (host.mem_access_ns,
    // 1 ns). Polling every host.mmio_latency_ns ended up to 10 ns later.
    const std::string tl = out_path("msipoll.json"), stats_path = out_path("msipoll_stats.json");
    REQUIRE(smmu_sim(kRun + " --timeline " + tl + " --stats " + stats_path).exit_code == 0);
    const json stats = json::parse(slurp(stats_path));
    const Timeline t(tl);
    const auto windows = t.on("host/cpu", "invalidation");
    const auto syncs = t.events([&](const json& e) { return t.track(e) == "smmu0/cmdq" && e["name"] == "SYNC"; });
    REQUIRE(syncs.size() == stats["cmdq"]["by_opcode"]["SYNC"].get<size_t>());
    REQUIRE(windows.size() == syncs.size());  // every SYNC ends a command list the host waited for
    for (const json& w : windows) {
        const int64_t end = ps(w["ts"]) + ps(w["dur"]);
        std::vector<int64_t> sync_ends;
        for (const json& c : syncs)
            if (ps(c["ts"]) >= ps(w["ts"]) && ps(c["ts"]) < end) sync_ends.push_back(ps(c["ts"]) + ps(c["dur"]));
        REQUIRE(sync_ends.size() == 1);
        CHECK(end == sync_ends[0] + 1000);
    }
    std::remove(tl.c_str());
    std::remove(stats_path.c_str());
}

TEST_CASE("timeline: a window, sampling and the cap bound the output", "[timeline]") {
    const std::string full = out_path("all.json"), stats_path = out_path("all_stats.json");
    REQUIRE(smmu_sim(kRun + " --timeline " + full + " --stats " + stats_path).exit_code == 0);
    const uint64_t start_ns = static_cast<uint64_t>(json::parse(slurp(stats_path))["sim"]["host_config_time_ns"].get<double>());
    const size_t all = Timeline(full).events([](const json&) { return true; }).size();

    // The window [4900, 5900] ns of traffic: the fault's DMA and its event only.
    const std::string win = out_path("win.json");
    REQUIRE(smmu_sim(kRun + " --timeline " + win + " --timeline-window " + std::to_string(start_ns + 4900) + ":" +
                     std::to_string(start_ns + 5900))
                .exit_code == 0);
    const Timeline w(win);
    const auto in = w.events([](const json&) { return true; });
    CHECK(in.size() < all);
    for (const json& e : in) {
        const int64_t end = ps(e["ts"]) + (e.contains("dur") ? ps(e["dur"]) : 0);
        CHECK(end >= static_cast<int64_t>(start_ns + 4900) * 1000);
        CHECK(ps(e["ts"]) <= static_cast<int64_t>(start_ns + 5900) * 1000);
    }
    CHECK(w.on("smmu0/dma", "translation").size() == 1);
    CHECK(w.on("smmu0/events", "event").size() == 1);
    CHECK(w.doc["otherData"]["window_ns"] == json::array({start_ns + 4900, start_ns + 5900}));

    // Every 2nd translation: 3 of the 5.
    const std::string sampled = out_path("sample.json");
    REQUIRE(smmu_sim(kRun + " --timeline " + sampled + " --timeline-sample 2").exit_code == 0);
    CHECK(Timeline(sampled).events([](const json& e) { return e["cat"] == "translation"; }).size() == 3);

    // The cap: 10 events, then a note in the file and on stderr.
    const std::string capped = out_path("cap.json");
    const Run r = smmu_sim(kRun + " --timeline " + capped + " --timeline-max-events 10");
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("the cap of 10 events was reached") != std::string::npos);
    const Timeline c(capped);
    CHECK(c.doc["otherData"]["truncated"] == true);
    CHECK(c.doc["otherData"]["events"] == 10);
    CHECK(c.doc["otherData"]["dropped_events"].get<size_t>() == all - 10);
    const auto notes = c.events([](const json& e) { return e["cat"] == "timeline"; });
    REQUIRE(notes.size() == 1);
    CHECK(notes[0]["name"] == "timeline cap reached: later events dropped");
    CHECK(c.events([](const json&) { return true; }).size() == 11);
    for (const std::string& f : {full, stats_path, win, sampled, capped}) std::remove(f.c_str());
}

TEST_CASE("timeline: bad option values exit 2 naming the option", "[timeline]") {
    const std::string tl = out_path("bad.json");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {" --timeline " + tl + " --timeline-window 5000:3000", "--timeline-window: '5000:3000' is not START:END in ns"},
        {" --timeline " + tl + " --timeline-window 100", "--timeline-window: '100' is not START:END"},
        {" --timeline " + tl + " --timeline-sample 0", "--timeline-sample: '0' is not a whole number >= 1"},
        {" --timeline " + tl + " --timeline-max-events x", "--timeline-max-events: 'x' is not a whole number >= 1"},
        {" --timeline-sample 2", "--timeline-sample: needs --timeline FILE"},
        {" --timeline /nonexistent-dir/t.json", "--timeline: cannot write '/nonexistent-dir/t.json'"},
    };
    for (const auto& [args, message] : cases) {
        const Run r = smmu_sim(kRun + args);
        INFO(args);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(message) != std::string::npos);
    }
    std::remove(tl.c_str());
}

TEST_CASE("timeline: the same run gives the same bytes, and the same stats as without one", "[timeline]") {
    const std::string a = out_path("a.json"), b = out_path("b.json");
    const std::string with = out_path("with_stats.json"), without = out_path("without_stats.json");
    REQUIRE(smmu_sim(kRun + " --timeline " + a + " --stats " + with).exit_code == 0);
    REQUIRE(smmu_sim(kRun + " --timeline " + b).exit_code == 0);
    REQUIRE(smmu_sim(kRun + " --stats " + without).exit_code == 0);
    const std::string x = slurp(a);
    CHECK(x.size() > 1000);
    CHECK(x == slurp(b));
    // Recording adds no SystemC process or event: the simulation is the same
    // (all but the host's wall-clock and memory figures).
    json s1 = json::parse(slurp(with)), s2 = json::parse(slurp(without));
    for (json* s : {&s1, &s2}) {
        for (const char* k : {"wall_s", "build_wall_s", "traffic_cpu_s"}) (*s)["sim"].erase(k);
        (*s)["memory"].erase("peak_rss_bytes");
    }
    CHECK(s1 == s2);
    for (const std::string& f : {a, b, with, without}) std::remove(f.c_str());
}

TEST_CASE("timeline: masters with several transactions in flight get lanes whose slices nest", "[timeline]") {
    // The seed scenario: three devices of 4 outstanding each, unmaps of guest RAM.
    const std::string tl = out_path("seed.json"), stats_path = out_path("seed_stats.json");
    REQUIRE(smmu_sim("run --config configs/seed/shared-s2-proxy.yaml --trace traces/seed/mixed-dma.trace --quiet "
                     "--timeline " + tl + " --stats " + stats_path)
                .exit_code == 0);
    const json stats = json::parse(slurp(stats_path));
    const Timeline t(tl);
    CHECK(misnested(t) == 0);
    CHECK(t.events([](const json& e) { return e["cat"] == "translation"; }).size() ==
          stats["totals"]["transactions"].get<size_t>());
    size_t lanes = 0;
    for (const auto& [id, name] : t.tracks) lanes += name.find(" #") != std::string::npos;
    CHECK(lanes > 0);  // overlapping translations of one master went to more tracks
    std::remove(tl.c_str());
    std::remove(stats_path.c_str());
}
