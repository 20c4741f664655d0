#include "testbenches/cli/replay.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <systemc>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/replay/replay.h"
#include "testbenches/replay/script.h"

namespace po = boost::program_options;

namespace smmu::sim {

int replay_command(const std::vector<std::string>& args) {
    po::options_description opts("smmu-sim replay SCRIPT");
    opts.add_options()("config,c", po::value<std::vector<std::string>>()->composing(),
                       "YAML config (optional: defaults otherwise); later files override earlier ones")(
        "set,s", po::value<std::vector<std::string>>()->composing(), "override one value: key.path=value")(
        "stats", po::value<std::string>(), "write the statistics as JSON here")(
        "quiet,q", "print only mismatches and the summary")("help,h", "this help");
    po::options_description hidden;
    hidden.add_options()("script", po::value<std::string>(), "script");
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("script", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    if (vm.count("help")) {
        std::cout << "usage: smmu-sim replay SCRIPT [options]   (script format: traces/README.md)\n" << opts;
        return 0;
    }
    if (!vm.count("script")) throw InputError("command line: replay needs a SCRIPT");
    const std::string path = vm["script"].as<std::string>();
    const auto files = vm.count("config") ? vm["config"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const auto sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const Config cfg = load_config(files, sets);
    const Script script = load_script(path);
    std::ofstream stats_file;
    if (vm.count("stats")) {
        stats_file.open(vm["stats"].as<std::string>());
        if (!stats_file) throw InputError("--stats: cannot write '" + vm["stats"].as<std::string>() + "'");
    }
    const bool quiet = vm.count("quiet") > 0;

    std::cout << "smmu-sim replay: " << path << ", SMMU at " << cfg.smmu.clock_mhz << " MHz, memory "
              << cfg.memory.read_latency_ns << " ns, MMIO " << cfg.host.mmio_latency_ns << " ns\n";
    // The script ends the run with sc_stop(); the kernel's note about it is no news.
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    const auto t0 = std::chrono::steady_clock::now();
    ReplayBench bench("replay", cfg, script, std::cout, quiet);
    bench.run();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bench.print_summary(std::cout);
    if (stats_file.is_open()) stats_file << bench.stats(wall).dump(2) << "\n";
    return bench.counts().mismatches ? 1 : 0;
}

}  // namespace smmu::sim
