// smmu-sim: the command-line front end of the model library.
//   smmu-sim run --config FILE [--config FILE2 ...] [--set key=value ...] [--trace FILE] [--stats OUT.json]
//   smmu-sim translate --config FILE ... --device NAME --iova ADDR [--ssid N] [--write]
//   smmu-sim decode ste|cd|cmd|event|pri|s1pte|s2pte WORD64...
//   smmu-sim replay SCRIPT [--config FILE ...] [--set key=value ...] [--stats OUT.json]
//   smmu-sim bench [--json OUT.json] [--quick] [--quantum-ns N]
// Exit codes: 0 ok, 1 translate ended in a fault or a replay expectation failed, 2 bad input,
// 3 simulation error, 4 the invalidation checker found stale translations (run without --allow-stale).
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

#include <boost/program_options.hpp>
#include <systemc>

#include "testbenches/cli/bench.h"
#include "testbenches/cli/compare.h"
#include "testbenches/cli/decode.h"
#include "testbenches/cli/replay.h"
#include "testbenches/cli/sweep.h"
#include "testbenches/cli/sweep_emit.h"
#include "testbenches/cli/trace_tools.h"
#include "testbenches/cli/translate.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"
#include "testbenches/platform/platform.h"

namespace po = boost::program_options;
using namespace smmu::sim;

namespace {

constexpr const char* kUsage =
    "usage: smmu-sim <command> [options]\n"
    "  run        simulate a platform: --config FILE... [--set k=v...] [--trace FILE] [--stats OUT.json] [--quiet]\n"
    "             [--progress SECONDS] [--allow-stale] [--timeline OUT.json [--timeline-window START:END]\n"
    "             [--timeline-sample N] [--timeline-max-events N]]\n"
    "  translate  one cold translation, step by step: --config FILE... --device NAME --iova ADDR [--ssid N] [--write]\n"
    "  decode     ste|cd|cmd|event|pri|s1pte|s2pte WORD64... -> JSON of the architecture's fields\n"
    "  compare    LABEL=STATS.json... [--metric PATH...] -> the key figures of several runs side by side\n"
    "  replay     a driver-session script drives one SMMU: SCRIPT [--config FILE...] [--set k=v...] [--stats OUT.json]\n"
    "  qemu2replay  a QEMU smmuv3 trace as a replay script: TRACE [--memory FILE@PA...] [--output SCRIPT]\n"
    "  trace      convert IN OUT [--config FILE...] (text/gzip -> binary) | stats IN: big-trace tools\n"
    "  sweep      one run per combination of --vary values, a table of figures: --config FILE... --vary KEY=V1,V2... [--trace FILE] [--metric PATH...] [--csv OUT]\n"
    "             [--emit DIR: write the runs as jobs for GNU parallel or a Slurm array instead]\n"
    "  collect    the sweep table of the jobs sweep --emit wrote: DIR [--metric PATH...] [--csv OUT]\n"
    "  plot       PNGs: stats STATS.json [--out DIR] | sweep SWEEP.csv --x KEY --y METRIC... [--by KEY...] --out FILE.png\n"
    "  bench      simulation speed, one process: [--json OUT.json] [--quick] [--quantum-ns N]\n"
    "Run 'smmu-sim <command> --help' for the options of one command.\n";

po::options_description config_options() {
    po::options_description o;
    o.add_options()("config,c", po::value<std::vector<std::string>>()->composing(),
                    "YAML config; later files override earlier ones")(
        "set,s", po::value<std::vector<std::string>>()->composing(), "override one value: key.path=value")(
        "help,h", "this help");
    return o;
}

po::variables_map parse(const po::options_description& opts, const std::vector<std::string>& args,
                        const po::positional_options_description* pos = nullptr) {
    po::variables_map vm;
    po::command_line_parser p(args);
    p.options(opts);
    // Robustness (docs/robustness.md): with no positional arguments declared, boost
    // silently ignores stray words (`run --config a.yaml b.yaml` dropped b.yaml);
    // an empty description makes each one an error.
    const po::positional_options_description none;
    p.positional(pos ? *pos : none);
    try {
        po::store(p.run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    return vm;
}

Config load(const po::variables_map& vm, nlohmann::ordered_json* merged_json = nullptr) {
    if (!vm.count("config")) throw InputError("command line: --config FILE is required");
    const auto sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    return load_config(vm["config"].as<std::vector<std::string>>(), sets, merged_json);
}

void print_summary(const nlohmann::ordered_json& s, const Config& cfg, std::ostream& out) {
    char buf[256];
    out << "smmu-sim run: " << cfg.devices.size() << " device(s), SMMU at " << cfg.smmu.clock_mhz << " MHz, memory "
        << cfg.memory.read_latency_ns << " ns\n";
    std::snprintf(buf, sizeof buf, "  host setup    %.1f ns, %llu commands\n",
                  s["sim"]["host_config_time_ns"].get<double>(),
                  static_cast<unsigned long long>(s["cmdq"]["by_opcode"].empty() ? 0 : [&] {
                      uint64_t n = 0;
                      for (const auto& [k, v] : s["cmdq"]["by_opcode"].items()) n += v.get<uint64_t>();
                      return n;
                  }()));
    out << buf;
    const auto& t = s["totals"];
    std::snprintf(buf, sizeof buf, "  traffic       %llu transactions, %llu bytes, %llu faults in %.1f ns\n",
                  static_cast<unsigned long long>(t["transactions"].get<uint64_t>()),
                  static_cast<unsigned long long>(t["bytes"].get<uint64_t>()),
                  static_cast<unsigned long long>(t["faults"].get<uint64_t>()),
                  s["sim"]["traffic_time_ns"].get<double>());
    out << buf;
    const auto& l = s["latency_ns"];
    std::snprintf(buf, sizeof buf, "  latency (ns)  mean %.1f  p50 %.1f  p99 %.1f  max %.1f\n", l["mean"].get<double>(),
                  l["p50"].get<double>(), l["p99"].get<double>(), l["max"].get<double>());
    out << buf;
    out << "  pmu          ";
    for (const auto& [k, v] : s["pmu"].items()) out << " " << k << "=" << v.dump();
    const auto& v = s["vmids"];
    out << "\n  vmids         " << v["used"].dump() << " used, per SMMU " << v["per_smmu"].dump() << " ("
        << v["policy"].get<std::string>() << ")";
    if (s.contains("lifetime")) {
        const auto& lt = s["lifetime"];
        out << "\n  lifetime      " << lt["records"].dump() << " records, " << lt["failed"].dump() << " failed";
        for (const auto& [k, n] : lt["failed_by_errno"].items()) out << " " << k << "=" << n.dump();
        out << "; VMIDs allocated " << v["allocated"].dump() << ", freed " << v["freed"].dump() << ", peak "
            << v["peak"].dump() << "; flush-on-free " << lt["flush_on_free_commands"].dump() << " TLBI_S12_VMALL";
    }
    const auto& inv = s["invalidation"];
    if (inv["commands"].get<uint64_t>() || inv["syncs"].get<uint64_t>()) {
        out << "\n  invalidation  " << inv["commands"].dump() << " commands, " << inv["syncs"].dump() << " SYNCs:";
        for (const auto& [k, v2] : inv["by_opcode"].items()) out << " " << k << "=" << v2.dump();
    }
    if (s.contains("ats")) {
        // README, "ATS": Translation Requests, ATC_INVs and what CMD_SYNCs waited for them.
        const auto& a = s["ats"];
        std::snprintf(buf, sizeof buf, "\n  ats           %llu translation requests, %llu ATC_INV answered of %llu (mean %.1f ns), SYNCs waited %.1f ns",
                      static_cast<unsigned long long>(a["translation_requests"].get<uint64_t>()),
                      static_cast<unsigned long long>(a["atc_inv"]["answered"].get<uint64_t>()),
                      static_cast<unsigned long long>(a["atc_inv"]["sent"].get<uint64_t>()),
                      a["atc_inv"]["latency_ns"]["mean"].get<double>(), a["sync_wait_for_atc"]["total_ns"].get<double>());
        out << buf;
        if (a["host_sync_timeouts"].get<uint64_t>())
            out << "\n  SYNC TIMEOUT  " << a["host_sync_timeouts"].dump() << " CMD_SYNC(s) timed out (-ETIMEDOUT), first: "
                << a["host_first_sync_timeout"].get<std::string>();
    }
    if (s.contains("faults")) {
        // docs/pri-stall.md: page requests and stalls the host's fault thread served.
        const auto& f = s["faults"];
        std::snprintf(buf, sizeof buf,
                      "\n  page faults   %llu PRI (success %llu, invalid %llu, failure %llu), %llu stalls (retry %llu, "
                      "abort %llu), %llu pages mapped, mean %.1f ns to answer",
                      static_cast<unsigned long long>(f["page_requests"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["pri_responses"]["success"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["pri_responses"]["invalid"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["pri_responses"]["failure"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["stalls"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["resumes"]["retry"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["resumes"]["abort"].get<uint64_t>()),
                      static_cast<unsigned long long>(f["pages_mapped"].get<uint64_t>()),
                      f["handling_ns"]["mean"].get<double>());
        out << buf;
    }
    out << "\n  events       ";
    if (s["events"].empty()) out << " none";
    for (const auto& [k, v] : s["events"].items()) out << " " << k << "=" << v.dump();
    out << "\n";
}

double progress_seconds(double s) {
    if (!(s > 0) || s > 86400) throw InputError("--progress: " + std::to_string(s) + " is not a number of seconds in (0, 86400]");
    return s;
}

// What made this run, for its stats JSON: the tool's version, the config files
// and --set overrides as given, the seed, and the merged config they make
// (README, "Reading the stats"), as load() read it.
nlohmann::ordered_json run_record(const po::variables_map& vm, const Config& cfg, nlohmann::ordered_json merged) {
    const auto list = [&](const char* k) {
        return vm.count(k) ? vm[k].as<std::vector<std::string>>() : std::vector<std::string>{};
    };
    return {{"version", SMMUSIM_VERSION},
            {"configs", list("config")},
            {"overrides", list("set")},
            {"trace", vm.count("trace") ? nlohmann::ordered_json(vm["trace"].as<std::string>()) : nullptr},
            {"seed", cfg.seed},
            {"config", std::move(merged)}};
}

int cmd_run(const std::vector<std::string>& args) {
    po::options_description opts("smmu-sim run");
    opts.add(config_options());
    opts.add_options()("trace,t", po::value<std::string>(), "trace file (format: traces/README.md)")(
        "stats", po::value<std::string>(), "write the statistics as JSON here")(
        "vmid-csv", po::value<std::string>(), "write VMIDs in use over time (time_ns, per SMMU, total) as CSV here")(
        "quiet,q", "no summary")(
        "progress", po::value<double>(), "a progress line on stderr every SECONDS, also when stderr is no terminal")(
        "allow-stale", "exit 0 even when the invalidation checker finds stale translations (default: exit 4)")(
        "timeline", po::value<std::string>(), "write a Chrome/Perfetto trace-event JSON timeline here (docs/timeline.md)")(
        "timeline-window", po::value<std::string>(), "timeline: only events overlapping START:END (ns of simulated time)")(
        "timeline-sample", po::value<std::string>(), "timeline: every Nth translation of each SMMU (default 1: all)")(
        "timeline-max-events", po::value<std::string>(), "timeline: stop writing events past N, with a note (default 1000000)");
    const po::variables_map vm = parse(opts, args);
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    nlohmann::ordered_json merged_config;
    const Config cfg = load(vm, &merged_config);
    std::unique_ptr<TraceReader> trace;
    if (vm.count("trace")) trace = std::make_unique<TraceReader>(TraceReader::open(vm["trace"].as<std::string>()));
    std::ofstream stats_file;
    if (vm.count("stats")) {
        stats_file.open(vm["stats"].as<std::string>());
        if (!stats_file) throw InputError("--stats: cannot write '" + vm["stats"].as<std::string>() + "'");
    }
    std::ofstream vmid_csv;
    if (vm.count("vmid-csv")) {
        vmid_csv.open(vm["vmid-csv"].as<std::string>());
        if (!vmid_csv) throw InputError("--vmid-csv: cannot write '" + vm["vmid-csv"].as<std::string>() + "'");
    }
    TimelineOptions timeline_opts;
    for (const char* k : {"timeline-window", "timeline-sample", "timeline-max-events"})
        if (vm.count(k) && !vm.count("timeline")) throw InputError(std::string("--") + k + ": needs --timeline FILE");
    if (vm.count("timeline-window")) timeline_opts.set_window(vm["timeline-window"].as<std::string>());
    if (vm.count("timeline-sample")) timeline_opts.set_sample(vm["timeline-sample"].as<std::string>());
    if (vm.count("timeline-max-events")) timeline_opts.set_max_events(vm["timeline-max-events"].as<std::string>());
    std::ofstream timeline_file;
    if (vm.count("timeline")) {
        timeline_file.open(vm["timeline"].as<std::string>(), std::ios::binary);
        if (!timeline_file) throw InputError("--timeline: cannot write '" + vm["timeline"].as<std::string>() + "'");
    }
    // A run that ends early calls sc_stop(); the kernel's note about it is no news.
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    const auto t0 = std::chrono::steady_clock::now();
    Platform platform("platform", cfg, trace.get());
    if (vm.count("progress")) platform.set_progress_interval(progress_seconds(vm["progress"].as<double>()));
    std::unique_ptr<Timeline> timeline;
    if (timeline_file.is_open()) {
        timeline = std::make_unique<Timeline>(timeline_file, timeline_opts);
        platform.record_timeline(*timeline);
    }
    platform.run();
    if (timeline) {
        timeline->finish();
        if (timeline->dropped())
            std::cerr << "smmu-sim: --timeline: the cap of " << timeline_opts.max_events << " events was reached; "
                      << timeline->dropped()
                      << " later events were dropped (--timeline-window, --timeline-sample or --timeline-max-events)\n";
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::ordered_json s = platform.stats(wall);
    if (!vm.count("quiet")) print_summary(s, cfg, std::cout);
    if (!vm.count("quiet") && s.contains("checker")) {
        const uint64_t n = s["checker"]["mismatches"].get<uint64_t>();
        std::cout << "  checker       " << s["checker"]["checked"].get<uint64_t>() << " translations checked, " << n
                  << " stale (missing invalidation?)\n";
        for (const std::string& line : platform.checker_lines()) std::cout << "    " << line << "\n";
    }
    s["run"] = run_record(vm, cfg, std::move(merged_config));
    if (stats_file.is_open()) stats_file << s.dump(2) << "\n";
    if (vmid_csv.is_open()) platform.write_vmid_csv(vmid_csv);
    // A stale translation is a failed check (a CI run must not pass it).
    if (s.contains("checker") && s["checker"]["mismatches"].get<uint64_t>() > 0 && !vm.count("allow-stale")) {
        std::cerr << "smmu-sim: the invalidation checker found " << s["checker"]["mismatches"].get<uint64_t>()
                  << " stale translation(s) (exit 4; --allow-stale exits 0)\n";
        return kExitStale;
    }
    return 0;
}

int cmd_translate(const std::vector<std::string>& args) {
    po::options_description opts("smmu-sim translate");
    opts.add(config_options());
    opts.add_options()("device,d", po::value<std::string>(), "device name from the config")(
        "iova", po::value<std::string>(), "input address (decimal or 0x-hex)")("ssid", po::value<std::string>(),
                                                                               "SubstreamID")(
        "write,w", "a write (default: read)");
    const po::variables_map vm = parse(opts, args);
    if (vm.count("help")) {
        std::cout << opts;
        return 0;
    }
    if (!vm.count("device") || !vm.count("iova")) throw InputError("command line: --device and --iova are required");
    const Config cfg = load(vm);
    TranslateRequest req;
    req.device = vm["device"].as<std::string>();
    const auto iova = parse_uint(vm["iova"].as<std::string>());
    if (!iova) throw InputError("--iova: '" + vm["iova"].as<std::string>() + "' is not a number");
    req.iova = *iova;
    if (vm.count("ssid")) {
        const auto ssid = parse_uint(vm["ssid"].as<std::string>());
        if (!ssid || *ssid > 0xfffff) throw InputError("--ssid: '" + vm["ssid"].as<std::string>() + "' is not a 20-bit number");
        req.ssv = true;
        req.ssid = static_cast<uint32_t>(*ssid);
    }
    req.write = vm.count("write") > 0;
    return translate_command(cfg, req, std::cout);
}

// `smmu-sim plot ARGS`: scripts/plot.py of this source tree, run by
// $SMMUSIM_PYTHON or python3 (it needs Debian's python3-matplotlib).
int cmd_plot(const std::vector<std::string>& args) {
    const std::string script = SMMUSIM_PLOT_SCRIPT;
    if (!std::filesystem::exists(script)) throw InputError("plot: missing file '" + script + "' (scripts/plot.py of the source tree)");
    const char* env = std::getenv("SMMUSIM_PYTHON");
    const std::string python = env && *env ? env : "python3";
    std::vector<std::string> argv{python, script};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execvp(c[0], c.data());
    throw InputError("plot: cannot run '" + python + "' (set SMMUSIM_PYTHON to a Python with python3-matplotlib)");
}

int cmd_decode(const std::vector<std::string>& args) {
    if (args.empty()) throw InputError("decode: give a structure (ste, cd, cmd, event, pri, s1pte or s2pte) and its words");
    if (args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: smmu-sim decode ste|cd|cmd|event|pri|s1pte|s2pte WORD64...  (hex, word 0 first; missing words are 0)\n";
        return 0;
    }
    const std::vector<std::string> words(args.begin() + 1, args.end());
    std::cout << decode(args[0], words).dump() << "\n";
    return 0;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
    // Every exit 2 is one line on stderr (docs/robustness.md); --help has the usage.
    if (argc < 2) {
        std::cerr << "smmu-sim: command line: no command (smmu-sim --help lists them)\n";
        return 2;
    }
    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    try {
        if (command == "run") return cmd_run(args);
        if (command == "translate") return cmd_translate(args);
        if (command == "decode") return cmd_decode(args);
        if (command == "compare") {
            compare_command(args, std::cout);
            return 0;
        }
        if (command == "replay") return replay_command(args);
        if (command == "qemu2replay") return qemu2replay_command(args);
        if (command == "sweep") return sweep_command(args, std::filesystem::read_symlink("/proc/self/exe").string(), std::cout);
        if (command == "collect") return collect_command(args, std::cout);
        if (command == "plot") return cmd_plot(args);
        if (command == "bench") return bench_command(args);
        if (command == "trace") return trace_command(args, std::cout);
        if (command == "--help" || command == "-h" || command == "help") {
            std::cout << kUsage;
            return 0;
        }
        std::cerr << "smmu-sim: command line: unknown command '" << command << "' (smmu-sim --help lists them)\n";
        return 2;
    } catch (const InputError& e) {
        std::cerr << "smmu-sim: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "smmu-sim: error: " << e.what() << "\n";
        return 3;
    }
}

int main(int argc, char* argv[]) {
    // The kernel's banner would end up in `decode`'s JSON on stdout.
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    return sc_core::sc_elab_and_sim(argc, argv);
}
