#include "testbenches/cli/replay.h"

#include <chrono>
#include <fstream>
#include <iostream>

#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>
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
        "quiet,q", "print only mismatches and the summary")(
        "walks", "after each DMA, print the descriptors a walk of memory reads for it (kind, level, input, address, value)")(
        "help,h", "this help");
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
    ReplayBench bench("replay", cfg, script, std::cout, quiet, vm.count("walks") > 0);
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
        "output,o", po::value<std::string>(), "write the script here (default: stdout)")(
        "config-out", po::value<std::string>(),
        "write the SMMU config the trace shows (smmu.idr: the ID registers QEMU answered) here")("help,h", "this help");
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
    std::ifstream file(path, std::ios::binary);
    if (!file) throw InputError("missing file '" + path + "'");
    // xz (as scripts/qemu-linux-trace.sh writes them) and gzip are read as they are.
    namespace io = boost::iostreams;
    io::filtering_istream in;
    const int first = file.peek();
    if (first == 0xfd) in.push(io::lzma_decompressor());
    if (first == 0x1f) in.push(io::gzip_decompressor());
    in.push(file);
    // A filter's error (corrupt data) is rethrown by the stream, not only a bad bit.
    in.exceptions(std::ios::badbit);
    QemuConversion c;
    try {
        c = convert_qemu_trace(in, path, images);
    } catch (const io::lzma_error&) {
        throw InputError(path + ": corrupt or truncated xz data");
    } catch (const io::gzip_error&) {
        throw InputError(path + ": corrupt or truncated gzip data");
    } catch (const std::ios_base::failure&) {
        throw InputError(path + ": read error (corrupt or truncated compressed data?)");
    }
    if (vm.count("config-out")) {
        const std::string out = vm["config-out"].as<std::string>();
        std::ofstream f(out);
        if (!f || !(f << qemu_config_yaml(c, path))) throw InputError("--config-out: cannot write '" + out + "'");
    }
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
              << " DMAs, " << c.rebuilt << " STE/CD stores rebuilt, " << c.image_words << " image words, "
              << c.warnings.size() << " warning(s)\n";
    if (!c.inferred.empty()) {
        std::cerr << "smmu-sim qemu2replay: command fields not traced, as Linux writes them:";
        for (std::size_t i = 0; i < c.inferred.size(); ++i) std::cerr << (i ? "; " : " ") << c.inferred[i];
        std::cerr << "\n";
    }
    return 0;
}

}  // namespace smmu::sim
