#include "testbenches/cli/replay.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <systemc>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/replay/qemu_trace.h"
#include "testbenches/replay/replay.h"
#include "testbenches/replay/script.h"

namespace po = boost::program_options;

namespace smmu::sim {

namespace {
// `opts` plus one positional argument stored as `positional`; a bad command
// line is an InputError (exit 2).
po::variables_map parse_command(const std::vector<std::string>& args, const po::options_description& opts,
                                const char* positional) {
    po::options_description hidden;
    hidden.add_options()(positional, po::value<std::string>(), positional);
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add(positional, 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError(std::string("command line: ") + e.what());
    }
    return vm;
}
}  // namespace

int replay_command(const std::vector<std::string>& args) {
    po::options_description opts("smmu-sim replay SCRIPT");
    opts.add_options()("config,c", po::value<std::vector<std::string>>()->composing(),
                       "YAML config (optional: defaults otherwise); later files override earlier ones")(
        "set,s", po::value<std::vector<std::string>>()->composing(), "override one value: key.path=value")(
        "stats", po::value<std::string>(), "write the statistics as JSON here")(
        "quiet,q", "print only mismatches and the summary")("help,h", "this help");
    const po::variables_map vm = parse_command(args, opts, "script");
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

int qemu2replay_command(const std::vector<std::string>& args) {
    po::options_description opts("smmu-sim qemu2replay TRACE");
    opts.add_options()("memory,m", po::value<std::vector<std::string>>()->composing(),
                       "FILE@PA: bytes to store at PA first (a QEMU pmemsave of the stream table, CD tables)")(
        "output,o", po::value<std::string>(), "write the script here (default: stdout)")("help,h", "this help");
    const po::variables_map vm = parse_command(args, opts, "trace");
    if (vm.count("help")) {
        std::cout << "usage: smmu-sim qemu2replay TRACE [options]   (traces/README.md, \"From a QEMU trace\")\n" << opts;
        return 0;
    }
    if (!vm.count("trace")) throw InputError("command line: qemu2replay needs a TRACE (QEMU run with -trace 'smmu*')");
    const std::string path = vm["trace"].as<std::string>();
    std::vector<MemoryImage> images;
    if (vm.count("memory"))
        for (const std::string& m : vm["memory"].as<std::vector<std::string>>()) images.push_back(parse_memory_image(m, "--memory"));
    std::ifstream in(path);
    if (!in) throw InputError("missing file '" + path + "'");
    const QemuConversion c = convert_qemu_trace(in, path, images);
    if (vm.count("output")) {
        const std::string out = vm["output"].as<std::string>();
        std::ofstream f(out);
        if (!f || !(f << c.script)) throw InputError("--output: cannot write '" + out + "'");
    } else {
        std::cout << c.script;
    }
    for (const std::string& w : c.warnings) std::cerr << "smmu-sim qemu2replay: warning: " << w << "\n";
    std::cerr << "smmu-sim qemu2replay: " << c.mmio_writes << " MMIO writes, " << c.mmio_reads << " reads ("
              << c.polls << " polls), " << c.commands << " commands, " << c.descriptors << " descriptors, " << c.dmas
              << " DMAs, " << c.image_words << " image words, " << c.warnings.size() << " warning(s)\n";
    return 0;
}

}  // namespace smmu::sim
