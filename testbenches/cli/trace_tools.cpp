#include "testbenches/cli/trace_tools.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"
#include "testbenches/config/trace.h"

namespace smmu::sim {

namespace {

constexpr const char* kUsage =
    "usage: smmu-sim trace convert IN OUT [--config FILE...] [--set k=v...]\n"
    "         IN (text, binary, or gzip of either) -> OUT in the binary trace format (traces/README.md);\n"
    "         device names are resolved through the config, without one every device must be a StreamID\n"
    "       smmu-sim trace stats IN [--config FILE...] [--set k=v...]\n"
    "         records, DMAs, control records, devices, bytes and time span of a trace\n";

struct Args {
    std::vector<std::string> positional, configs, sets;
};

Args parse_args(const std::vector<std::string>& args) {
    Args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw InputError("command line: " + s + " needs a value");
            return args[++i];
        };
        if (s == "--config" || s == "-c")
            a.configs.push_back(value());
        else if (s == "--set" || s == "-s")
            a.sets.push_back(value());
        else if (s.rfind("--config=", 0) == 0)
            a.configs.push_back(s.substr(9));
        else if (s.rfind("--set=", 0) == 0)
            a.sets.push_back(s.substr(6));
        else if (!s.empty() && s[0] == '-' && s != "-")
            throw InputError("command line: unknown option '" + s + "'");
        else
            a.positional.push_back(s);
    }
    return a;
}

int convert(const Args& a, std::ostream& out) {
    if (a.positional.size() != 3) throw InputError("command line: trace convert needs IN and OUT");
    const std::string& in_path = a.positional[1];
    const std::string& out_path = a.positional[2];
    std::optional<Config> cfg;
    if (!a.configs.empty()) cfg = load_config(a.configs, a.sets);
    std::optional<DeviceTable> table;
    if (cfg) table.emplace(*cfg);
    TraceReader reader = TraceReader::open(in_path);
    std::ofstream os(out_path, std::ios::binary | std::ios::trunc);
    if (!os) throw InputError("cannot write '" + out_path + "'");
    std::vector<char> buffer(1 << 20);
    os.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    uint64_t records = 0, controls = 0;
    try {
        os << binary_trace::header();
        TraceRecord rec;
        while (reader.next(rec)) {
            ++records;
            if (rec.change) {
                ++controls;
                if (cfg) check_change(*cfg, *rec.change);
                os << binary_trace::encode(rec, 0, false);
                continue;
            }
            uint32_t device = 0;
            bool is_index = false;
            if (rec.device_index >= 0) {
                device = static_cast<uint32_t>(rec.device_index);
                is_index = true;
                if (table) table->resolve(rec, in_path);  // checks the index
            } else if (table) {
                const std::size_t i = table->resolve(rec, in_path);
                // A StreamID names the first device with it; a device behind
                // another SMMU with the same StreamID needs its index.
                TraceRecord by_sid = rec;
                by_sid.device_sid = cfg->devices[i].sid;
                is_index = table->resolve(by_sid, in_path) != i;
                device = is_index ? static_cast<uint32_t>(i) : cfg->devices[i].sid;
            } else if (rec.device_sid >= 0) {
                device = static_cast<uint32_t>(rec.device_sid);
            } else {
                const std::optional<uint64_t> sid = parse_uint(rec.device);
                if (!sid || *sid > UINT32_MAX)
                    throw InputError(where(in_path, rec.line) + ": device: '" + rec.device +
                                     "' is not a StreamID (give --config to resolve device names)");
                device = static_cast<uint32_t>(*sid);
            }
            os << binary_trace::encode(rec, device, is_index);
        }
        os.flush();
        if (!os) throw InputError("write error on '" + out_path + "'");
    } catch (...) {
        os.close();
        std::remove(out_path.c_str());
        throw;
    }
    os.close();
    out << "trace convert: " << records << " record(s) (" << controls << " control) -> " << out_path << "\n";
    return 0;
}

int stats(const Args& a, std::ostream& out) {
    if (a.positional.size() != 2) throw InputError("command line: trace stats needs IN");
    std::optional<Config> cfg;
    if (!a.configs.empty()) cfg = load_config(a.configs, a.sets);
    std::optional<DeviceTable> table;
    if (cfg) table.emplace(*cfg);
    TraceReader reader = TraceReader::open(a.positional[1]);
    uint64_t records = 0, dmas = 0, controls = 0, reads = 0, writes = 0, bytes = 0, first = 0, last = 0;
    std::set<std::string> devices;
    TraceRecord rec;
    while (reader.next(rec)) {
        if (records++ == 0) first = rec.time_ns;
        last = rec.time_ns;
        if (rec.change) {
            ++controls;
            if (cfg) check_change(*cfg, *rec.change);
            continue;
        }
        ++dmas;
        (rec.write ? writes : reads) += 1;
        bytes += rec.size;
        if (table)
            devices.insert(cfg->devices[table->resolve(rec, reader.filename())].name);
        else
            devices.insert(device_text(rec));
    }
    out << "trace:    " << reader.filename() << " (" << (reader.binary() ? "binary" : "text")
        << (reader.gzip() ? ", gzip" : reader.zstd() ? ", zstd" : "") << ", " << reader.file_size() << " bytes)\n";
    out << "records:  " << records << " (" << dmas << " DMA: " << reads << " R, " << writes << " W; " << controls
        << " control)\n";
    out << "devices:  " << devices.size() << "\n";
    out << "bytes:    " << bytes << "\n";
    out << "time_ns:  " << first << " .. " << last << " (span " << (last - first) << ")\n";
    return 0;
}

}  // namespace

int trace_command(const std::vector<std::string>& args, std::ostream& out) {
    // Like every exit 2, a bare `trace` is one line on stderr; --help has the usage.
    if (args.empty()) throw InputError("command line: trace needs convert or stats (smmu-sim trace --help)");
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        out << kUsage;
        return 0;
    }
    const Args a = parse_args(args);
    if (a.positional.empty()) throw InputError("command line: trace needs convert or stats");
    if (a.positional[0] == "convert") return convert(a, out);
    if (a.positional[0] == "stats") return stats(a, out);
    throw InputError("command line: unknown trace tool '" + a.positional[0] + "' (convert, stats)");
}

}  // namespace smmu::sim
