#include "testbenches/cli/sweep_emit.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace smmu::sim {

namespace {

// A word for /bin/sh: single-quoted, a quote inside as '\''.
std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string job_name(std::size_t i) { return "job-" + std::to_string(i); }

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    if (!f) throw InputError("--emit: cannot write '" + path.string() + "'");
}

}  // namespace

int sweep_emit(const std::string& dir, const std::string& self, const std::vector<SweepAxis>& axes,
               const std::vector<std::string>& metrics, bool metrics_given,
               const std::vector<std::vector<std::string>>& combos,
               const std::vector<SweepRun>& runs, const std::optional<std::string>& trace, std::ostream& out) {
    // Absolute paths: a job runs from wherever parallel or Slurm starts it.
    const fs::path root = fs::absolute(dir).lexically_normal();
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec || !fs::is_directory(root)) throw InputError("--emit: cannot create '" + dir + "'");
    if (fs::exists(root / "jobs.txt")) throw InputError("--emit: '" + dir + "' already holds a sweep (jobs.txt)");
    nlohmann::ordered_json manifest = {{"version", SMMUSIM_VERSION},
                                       {"keys", axis_keys(axes)},
                                       {"metrics", metrics},
                                       {"metrics_given", metrics_given},
                                       {"jobs", nlohmann::ordered_json::array()}};
    std::string jobs;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const fs::path job = root / job_name(i);
        fs::create_directories(job, ec);
        if (ec) throw InputError("--emit: cannot create '" + job.string() + "'");
        write_file(job / "config.yaml", merged_config_yaml(runs[i].configs, runs[i].sets));
        // --allow-stale: the job's exit is the run's success; collect judges
        // the checker's findings over all jobs, as sweep does.
        jobs += quoted(self) + " run --allow-stale --config " + quoted((job / "config.yaml").string());
        if (trace) jobs += " --trace " + quoted(fs::absolute(*trace).lexically_normal().string());
        jobs += " --stats " + quoted((job / "stats.json").string()) + " --quiet > " +
                quoted((job / "run.log").string()) + " 2>&1\n";
        std::vector<std::string> values;
        for (const std::string& s : combos[i]) values.push_back(s.substr(s.find('=') + 1));
        manifest["jobs"].push_back({{"dir", job_name(i)},
                                    {"label", runs[i].label},
                                    {"values", values},
                                    {"configs", runs[i].configs},
                                    {"overrides", runs[i].sets}});
    }
    write_file(root / "jobs.txt", jobs);
    write_file(root / "sweep.json", manifest.dump(2) + "\n");
    // sbatch copies the script away: it names the job list by its absolute path.
    write_file(root / "slurm.sh",
               "#!/bin/sh\n"
               "# One Slurm array task per line of jobs.txt: sbatch " + quoted((root / "slurm.sh").string()) + "\n"
               "#SBATCH --job-name=smmu-sim-sweep\n"
               "#SBATCH --array=1-" + std::to_string(runs.size()) + "\n"
               "#SBATCH --output=" + (root / "slurm-%A_%a.out").string() + "\n"
               "line=$(sed -n \"${SLURM_ARRAY_TASK_ID}p\" " + quoted((root / "jobs.txt").string()) + ")\n"
               "exec sh -c \"$line\"\n");
    fs::permissions(root / "slurm.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add, ec);
    out << "smmu-sim sweep: " << runs.size() << " jobs in " << dir << ": parallel < " << (fs::path(dir) / "jobs.txt").string()
        << "  or  sbatch " << (fs::path(dir) / "slurm.sh").string() << "; then smmu-sim collect " << dir << "\n";
    return 0;
}

int collect_command(const std::vector<std::string>& args, std::ostream& out) {
    using strings = std::vector<std::string>;
    po::options_description opts("smmu-sim collect");
    opts.add_options()("dir", po::value<std::string>(), "the directory sweep --emit wrote")(
        "metric,m", po::value<strings>()->composing(), "a stats path to tabulate (default: the sweep's)")(
        "csv", po::value<std::string>(), "write the table as CSV here")(
        "allow-stale", "exit 0 even when a run's invalidation checker found stale translations (default: exit 4)")(
        "help,h", "this help");
    po::positional_options_description pos;
    pos.add("dir", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    if (vm.count("help")) {
        out << "usage: smmu-sim collect DIR [options]   (README, \"Sweeps on a cluster\")\n" << opts;
        return 0;
    }
    if (!vm.count("dir")) throw InputError("command line: collect needs the directory sweep --emit wrote");
    const fs::path root = vm["dir"].as<std::string>();
    std::ifstream in(root / "sweep.json");
    if (!in) throw InputError("collect: missing file '" + (root / "sweep.json").string() + "' (sweep --emit writes it)");
    const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    if (!manifest.is_object() || !manifest.contains("jobs") || !manifest["jobs"].is_array())
        throw InputError("collect: " + (root / "sweep.json").string() + ": not a sweep --emit manifest");
    strings keys, metrics = vm.count("metric") ? vm["metric"].as<strings>() : strings{};
    std::vector<strings> values;
    strings names, labels;
    try {
        keys = manifest["keys"].get<strings>();
        if (!vm.count("metric")) metrics = manifest["metrics"].get<strings>();
        for (const nlohmann::json& job : manifest["jobs"]) {
            names.push_back(job.at("dir").get<std::string>());
            labels.push_back(job.at("label").get<std::string>());
            values.push_back(job.at("values").get<strings>());
            if (values.back().size() != keys.size()) throw std::runtime_error("a job's values do not match the keys");
        }
    } catch (const std::exception& e) {  // json::exception
        throw InputError("collect: " + (root / "sweep.json").string() + ": not a sweep --emit manifest (" + e.what() + ")");
    }
    std::ofstream csv;
    if (vm.count("csv")) {
        csv.open(vm["csv"].as<std::string>());
        if (!csv) throw InputError("--csv: cannot write '" + vm["csv"].as<std::string>() + "'");
    }
    std::vector<nlohmann::json> stats;
    std::size_t missing = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        std::ifstream f(root / name / "stats.json");
        stats.push_back(f ? nlohmann::json::parse(f, nullptr, false) : nlohmann::json());
        if (!stats.back().is_object()) {
            // Not run yet, still running (run writes its stats at the end) or failed.
            ++missing;
            std::cerr << "smmu-sim collect: " << name << " (" << labels[i] << ") has no stats: see "
                      << (root / name / "run.log").string() << "\n";
            stats.back() = nlohmann::json();
        }
    }
    out << "smmu-sim collect: " << values.size() << " runs, " << values.size() - missing << " finished\n";
    const bool given = vm.count("metric") || manifest.value("metrics_given", false);
    const std::size_t stale = sweep_table(keys, metrics, given, values, stats, out, csv.is_open() ? &csv : nullptr);
    if (missing) return 3;
    return stale && !vm.count("allow-stale") ? kExitStale : 0;
}

}  // namespace smmu::sim
