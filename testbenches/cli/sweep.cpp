#include "testbenches/cli/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testbenches/cli/stats_query.h"
#include "testbenches/cli/sweep_emit.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"

extern char** environ;

namespace po = boost::program_options;

namespace smmu::sim {

namespace {

constexpr std::size_t kMaxRuns = 10000;

const std::vector<std::string> kDefaultMetrics = {"caches.iotlb.hit_rate", "caches.walk.hit_rate",
                                                  "pmu.trans_table_walk_access", "latency_ns.mean", "latency_ns.p99"};

// The last line of a run's log: what to show when it failed.
std::string last_line(const std::string& path) {
    std::ifstream f(path);
    std::string line, last;
    while (std::getline(f, line))
        if (!line.empty()) last = line;
    return last;
}

}  // namespace

RunDir::RunDir(const std::optional<std::string>& dir, const char* tag) {
    if (dir) {
        path_ = *dir;
        std::error_code ec;
        std::filesystem::create_directories(path_, ec);
        if (ec || !std::filesystem::is_directory(path_)) throw InputError("--out-dir: cannot create '" + path_ + "'");
        return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / ("smmu-sim-" + std::string(tag) + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error(std::string(tag) + ": cannot create a temporary directory");
    path_ = tmpl;
    temporary_ = true;
}

RunDir::~RunDir() {
    std::error_code ec;
    if (temporary_) std::filesystem::remove_all(path_, ec);
}

std::string RunDir::file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start '" + argv[0] + "'");
    return pid;
}

SweepAxis parse_sweep_axis(const std::string& spec) {
    const std::size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError("--vary: '" + spec + "': expected KEY=V1,V2,... (a config key and its values)");
    SweepAxis a{spec.substr(0, eq), {}};
    std::stringstream values(spec.substr(eq + 1));
    for (std::string v; std::getline(values, v, ',');) {
        if (v.empty()) throw InputError("--vary: '" + spec + "': an empty value");
        a.values.push_back(v);
    }
    if (a.values.empty()) throw InputError("--vary: '" + spec + "': no values");
    return a;
}

std::vector<std::vector<std::string>> sweep_combinations(const std::vector<SweepAxis>& axes) {
    std::vector<std::vector<std::string>> out{{}};
    for (const SweepAxis& a : axes) {
        std::vector<std::vector<std::string>> next;
        for (const auto& prefix : out)
            for (const std::string& v : a.values) {
                next.push_back(prefix);
                next.back().push_back(a.key + "=" + v);
            }
        out = std::move(next);
        if (out.size() > kMaxRuns)
            throw InputError("--vary: more than " + std::to_string(kMaxRuns) + " combinations");
    }
    return out;
}

std::vector<std::string> axis_keys(const std::vector<SweepAxis>& axes) {
    std::vector<std::string> keys;
    for (const SweepAxis& a : axes) keys.push_back(a.key);
    return keys;
}

// Each run as it ends, on stderr: a long sweep shows it is moving.
static void report_finished(std::size_t finished, std::size_t total, std::size_t run, const std::string& label, int exit_code) {
    std::cerr << "smmu-sim sweep: " << finished << "/" << total << " done: run " << run << " (" << label << ")";
    if (exit_code) std::cerr << ", exit " << exit_code;
    std::cerr << "\n";
}

std::size_t sweep_table(const std::vector<std::string>& keys, const std::vector<std::string>& metrics,
                        bool metrics_given, const std::vector<std::vector<std::string>>& values,
                        const std::vector<nlohmann::json>& stats, std::ostream& out, std::ostream* csv) {
    using strings = std::vector<std::string>;
    std::vector<const nlohmann::json*> finished;
    for (const nlohmann::json& s : stats)
        if (s.is_object()) finished.push_back(&s);
    if (metrics_given) check_metrics_known(finished, metrics, "--metric");
    strings header = keys;
    header.insert(header.end(), metrics.begin(), metrics.end());
    std::vector<strings> rows;
    std::size_t stale = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        strings row = values[i];
        for (const std::string& m : metrics) {
            try {
                row.push_back(metric_cell(stats[i].is_object() ? stats_metric(stats[i], m) : std::nullopt));
            } catch (const StatsShapeError& e) {
                throw InputError("--metric " + m + ": " + e.what() + " in the stats (README, \"Reading the stats\")");
            }
        }
        rows.push_back(row);
        // A stale translation is a failed check (run's exit 4), here as there.
        const std::optional<double> mismatches =
            stats[i].is_object() ? stats_number(stats[i], {"checker", "mismatches"}) : std::nullopt;
        if (mismatches && *mismatches > 0) {
            ++stale;
            std::cerr << "smmu-sim: run " << i << ": the invalidation checker found " << *mismatches
                      << " stale translation(s)\n";
        }
    }
    if (csv) {
        auto csv_row = [&](const strings& r) {
            for (std::size_t k = 0; k < r.size(); ++k) *csv << (k ? "," : "") << r[k];
            *csv << "\n";
        };
        csv_row(header);
        for (const strings& r : rows) csv_row(r);
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t k = 0; k < header.size(); ++k) {
        width[k] = header[k].size();
        for (const strings& r : rows) width[k] = std::max(width[k], r[k].size());
    }
    auto print = [&](const strings& r) {
        for (std::size_t k = 0; k < r.size(); ++k) {
            const std::string pad(width[k] - r[k].size(), ' ');
            out << (k ? "  " : "") << (k < keys.size() ? r[k] + pad : pad + r[k]);
        }
        out << "\n";
    };
    print(header);
    for (const strings& r : rows) print(r);
    return stale;
}

int sweep_command(const std::vector<std::string>& args, const std::string& self, std::ostream& out) {
    using strings = std::vector<std::string>;
    po::options_description opts("smmu-sim sweep");
    opts.add_options()("config,c", po::value<strings>()->composing(), "YAML config; later files override earlier ones")(
        "set,s", po::value<strings>()->composing(), "a fixed override: key.path=value")(
        "trace,t", po::value<std::string>(), "trace file, the same for every run")(
        "vary,v", po::value<strings>()->composing(),
        "KEY=V1,V2,...: one run per value (several: every combination); config=A.yaml,B.yaml adds a config file")(
        "metric,m", po::value<strings>()->composing(),
        "a stats path to tabulate (default: IOTLB and walk-cache hit rates, walk reads, latency mean and p99)")(
        "jobs,j", po::value<unsigned>(), "runs at once (default: the number of CPUs)")(
        "csv", po::value<std::string>(), "write the table as CSV here")(
        "out-dir", po::value<std::string>(), "keep each run's stats (run-N.json) and output (run-N.log) here")(
        "allow-stale", "exit 0 even when a run's invalidation checker found stale translations (default: exit 4)")(
        "emit", po::value<std::string>(),
        "run nothing: write one job per combination and a job list for GNU parallel or a Slurm array here")(
        "help,h", "this help");
    po::variables_map vm;
    const po::positional_options_description none;  // stray words are errors
    try {
        po::store(po::command_line_parser(args).options(opts).positional(none).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    if (vm.count("help")) {
        out << "usage: smmu-sim sweep --config FILE... --vary KEY=V1,V2,... [options]   (README, \"Sweeps\")\n" << opts;
        return 0;
    }
    auto list = [&](const char* k) { return vm.count(k) ? vm[k].as<strings>() : strings{}; };
    const strings configs = list("config"), sets = list("set"), varies = list("vary");
    if (configs.empty()) throw InputError("command line: --config FILE is required");
    if (varies.empty()) throw InputError("command line: sweep needs at least one --vary KEY=V1,V2,...");
    std::vector<SweepAxis> axes;
    for (const std::string& v : varies) axes.push_back(parse_sweep_axis(v));
    const std::vector<strings> combos = sweep_combinations(axes);
    const strings metrics = vm.count("metric") ? list("metric") : kDefaultMetrics;
    unsigned jobs = vm.count("jobs") ? vm["jobs"].as<unsigned>() : std::max(1u, std::thread::hardware_concurrency());
    if (jobs == 0) throw InputError("--jobs: must be at least 1");
    std::optional<std::string> trace;
    if (vm.count("trace")) {
        trace = vm["trace"].as<std::string>();
        if (!std::filesystem::exists(*trace)) throw InputError("missing file '" + *trace + "'");
    }
    // --emit runs nothing here: the table, its CSV and the runs' files come from collect.
    for (const char* local : {"csv", "out-dir", "jobs"})
        if (vm.count("emit") && vm.count(local))
            throw InputError(std::string("command line: --emit runs nothing here; --") + local +
                             " goes with a sweep that runs (or collect --csv)");
    std::ofstream csv;
    if (vm.count("csv")) {
        csv.open(vm["csv"].as<std::string>());
        if (!csv) throw InputError("--csv: cannot write '" + vm["csv"].as<std::string>() + "'");
    }
    // What each run gets: the fixed --config and --set, then its combination
    // (a `config=FILE` setting adds that file after the fixed ones: whole
    // topologies are swept that way).
    using RunSpec = SweepRun;
    std::vector<RunSpec> specs;
    for (const strings& c : combos) {
        RunSpec r{configs, sets, ""};
        for (const std::string& setting : c) {
            const std::size_t eq = setting.find('=');
            if (setting.compare(0, eq, "config") == 0) r.configs.push_back(setting.substr(eq + 1));
            else r.sets.push_back(setting);
            r.label += (r.label.empty() ? "" : " ") + setting;
        }
        specs.push_back(std::move(r));
    }
    // Every combination is a valid config before anything runs: a bad value
    // is reported once, with the setting that made it.
    for (const RunSpec& r : specs) {
        try {
            (void)load_config(r.configs, r.sets);
        } catch (const InputError& e) {
            throw InputError("--vary " + r.label + ": " + e.what());
        }
    }
    if (vm.count("emit"))
        return sweep_emit(vm["emit"].as<std::string>(), self, axes, metrics, vm.count("metric") > 0, combos, specs,
                          trace, out);

    const RunDir dir(vm.count("out-dir") ? std::optional<std::string>(vm["out-dir"].as<std::string>()) : std::nullopt, "sweep");
    out << "smmu-sim sweep: " << combos.size() << " runs, " << std::min<std::size_t>(jobs, combos.size())
        << " at a time\n";
    std::vector<int> exit_codes(combos.size(), -1);
    std::map<pid_t, std::size_t> running;
    std::size_t next = 0, finished = 0;
    while (next < combos.size() || !running.empty()) {
        while (next < combos.size() && running.size() < jobs) {
            strings argv{self, "run", "--allow-stale"};  // the table's stale count decides (sweep_table)
            for (const std::string& c : specs[next].configs) argv.insert(argv.end(), {"--config", c});
            for (const std::string& s : specs[next].sets) argv.insert(argv.end(), {"--set", s});
            if (trace) argv.insert(argv.end(), {"--trace", *trace});
            argv.insert(argv.end(), {"--stats", dir.file("run-" + std::to_string(next) + ".json"), "--quiet"});
            running[spawn_logged(argv, dir.file("run-" + std::to_string(next) + ".log"))] = next;
            ++next;
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) throw std::runtime_error("sweep: waitpid failed");
        auto it = running.find(pid);
        if (it == running.end()) continue;
        exit_codes[it->second] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        report_finished(++finished, combos.size(), it->second, specs[it->second].label, exit_codes[it->second]);
        running.erase(it);
    }

    // The table: one row per combination, in order.
    std::vector<strings> values;
    std::vector<nlohmann::json> all_stats;
    int worst = 0;
    for (std::size_t i = 0; i < combos.size(); ++i) {
        strings row;
        for (const std::string& s : combos[i]) row.push_back(s.substr(s.find('=') + 1));
        nlohmann::json stats;
        if (exit_codes[i] == 0) {
            std::ifstream f(dir.file("run-" + std::to_string(i) + ".json"));
            stats = nlohmann::json::parse(f, nullptr, false);
        } else {
            std::cerr << "smmu-sim sweep: run " << i << " (" << specs[i].label << ") failed, exit " << exit_codes[i] << ": "
                      << last_line(dir.file("run-" + std::to_string(i) + ".log")) << "\n";
            worst = std::max(worst, exit_codes[i] == 2 ? 2 : 3);
        }
        values.push_back(row);
        all_stats.push_back(std::move(stats));
    }
    const std::size_t stale = sweep_table(axis_keys(axes), metrics, vm.count("metric") > 0, values, all_stats, out, csv.is_open() ? &csv : nullptr);
    if (!worst && stale && !vm.count("allow-stale")) worst = kExitStale;
    return worst;
}

}  // namespace smmu::sim
