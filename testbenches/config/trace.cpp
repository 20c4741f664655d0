#include "testbenches/config/trace.h"

#include <filesystem>
#include <sstream>
#include <vector>

#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace {
// SubstreamIDs are at most 20 bits wide (SMMU_IDR1.SSIDSIZE <= 20).
constexpr uint64_t kMaxSsid = (uint64_t{1} << 20) - 1;
}  // namespace

TraceReader::TraceReader(std::istream& in, std::string filename) : in_(&in), file_(std::move(filename)) {}

TraceReader::TraceReader(std::unique_ptr<std::ifstream> owned, std::string filename)
    : owned_(std::move(owned)), in_(owned_.get()), file_(std::move(filename)) {}

TraceReader TraceReader::open(const std::string& path) {
    if (!std::filesystem::exists(path)) throw InputError("missing file '" + path + "'");
    auto in = std::make_unique<std::ifstream>(path);
    if (!*in || std::filesystem::is_directory(path)) throw InputError("cannot read file '" + path + "'");
    return TraceReader(std::move(in), path);
}

bool TraceReader::next(TraceRecord& rec) {
    std::string text;
    while (std::getline(*in_, text)) {
        ++line_;
        if (const std::size_t hash = text.find('#'); hash != std::string::npos) text.erase(hash);
        std::istringstream words(text);
        std::vector<std::string> tok;
        for (std::string w; words >> w;) tok.push_back(w);
        if (tok.empty()) continue;

        const std::string at = where(file_, line_);
        auto fail = [&](const std::string& field, const std::string& problem) -> void {
            throw InputError(at + ": " + field + ": " + problem);
        };
        static const char* const fields[] = {"time_ns", "device", "direction", "iova", "size"};
        if (tok.size() < 5) fail(fields[tok.size()], "missing (expected <time_ns> <device> <R|W> <iova> <size> [ssid=<n>])");
        auto number = [&](std::size_t i, uint64_t max) {
            const std::optional<uint64_t> v = parse_uint(tok[i]);
            if (!v) fail(fields[i], "expected an unsigned integer, got '" + tok[i] + "'");
            if (*v > max) fail(fields[i], tok[i] + " exceeds " + hex(max));
            return *v;
        };

        TraceRecord r;
        r.line = line_;
        r.time_ns = number(0, UINT64_MAX);
        r.device = tok[1];
        if (tok[2] != "R" && tok[2] != "W") fail("direction", "expected R or W, got '" + tok[2] + "'");
        r.write = tok[2] == "W";
        r.iova = number(3, UINT64_MAX);
        r.size = static_cast<uint32_t>(number(4, UINT32_MAX));
        if (r.size == 0) fail("size", "must not be 0");
        if (r.size - 1 > UINT64_MAX - r.iova) fail("size", "iova + size wraps past 2^64");
        for (std::size_t i = 5; i < tok.size(); ++i) {
            if (tok[i].rfind("ssid=", 0) != 0)
                fail("token " + std::to_string(i + 1), "unexpected '" + tok[i] + "' (only ssid=<n> may follow the size)");
            if (r.ssv) fail("ssid", "given twice");
            const std::string value = tok[i].substr(5);
            const std::optional<uint64_t> v = parse_uint(value);
            if (!v) fail("ssid", "expected an unsigned integer, got '" + value + "'");
            if (*v > kMaxSsid) fail("ssid", value + " exceeds 20 bits");
            r.ssv = true;
            r.ssid = static_cast<uint32_t>(*v);
        }
        if (any_ && r.time_ns < prev_time_)
            fail("time_ns", std::to_string(r.time_ns) + " is before " + std::to_string(prev_time_) + " at line " +
                                std::to_string(prev_line_));
        any_ = true;
        prev_time_ = r.time_ns;
        prev_line_ = line_;
        rec = std::move(r);
        return true;
    }
    if (in_->bad()) throw InputError(file_ + ": read error after line " + std::to_string(line_));
    return false;
}

std::size_t resolve_device(const Config& config, const TraceRecord& rec, const std::string& file) {
    for (std::size_t i = 0; i < config.devices.size(); ++i)
        if (config.devices[i].name == rec.device) return i;
    if (const std::optional<uint64_t> sid = parse_uint(rec.device))
        for (std::size_t i = 0; i < config.devices.size(); ++i)
            if (config.devices[i].sid == *sid) return i;
    throw InputError(where(file, rec.line) + ": device: unknown device '" + rec.device + "'");
}

}  // namespace smmu::sim
