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
        if (tok.size() >= 2 && (tok[1] == "map" || tok[1] == "unmap" || tok[1] == "guest_inv")) {
            TraceRecord r;
            r.line = line_;
            const std::optional<uint64_t> t = parse_uint(tok[0]);
            if (!t) fail("time_ns", "expected an unsigned integer, got '" + tok[0] + "'");
            r.time_ns = *t;
            r.change = parse_change(tok, at);
            r.change->time_ns = r.time_ns;
            check_time(r, at);
            rec = std::move(r);
            return true;
        }
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
        check_time(r, at);
        rec = std::move(r);
        return true;
    }
    if (in_->bad()) throw InputError(file_ + ": read error after line " + std::to_string(line_));
    return false;
}

void TraceReader::check_time(const TraceRecord& r, const std::string& at) {
    if (any_ && r.time_ns < prev_time_)
        throw InputError(at + ": time_ns: " + std::to_string(r.time_ns) + " is before " + std::to_string(prev_time_) +
                         " at line " + std::to_string(prev_line_));
    any_ = true;
    prev_time_ = r.time_ns;
    prev_line_ = line_;
}

ChangeRecord parse_change(const std::vector<std::string>& tok, const std::string& at) {
    auto fail = [&](const std::string& field, const std::string& problem) {
        throw InputError(at + ": " + field + ": " + problem);
    };
    auto number = [&](std::size_t i, const char* field) {
        if (i >= tok.size()) fail(field, "missing");
        const std::optional<uint64_t> v = parse_size(tok[i]);
        if (!v) fail(field, "expected an unsigned integer, got '" + tok[i] + "'");
        return *v;
    };
    ChangeRecord c;
    c.where = at;
    if (tok[1] == "guest_inv") {
        // <t> guest_inv <viommu> <OPCODE> [Field=value ...]
        c.kind = ChangeRecord::Kind::GuestInvalidate;
        if (tok.size() < 4) fail(tok.size() < 3 ? "viommu" : "opcode", "missing (expected <t> guest_inv <viommu> <OPCODE> [Field=value ...])");
        c.target = tok[2];
        const arch::OpcodeInfo* info = nullptr;
        for (const arch::OpcodeInfo& o : arch::all_opcodes())
            if (o.name == tok[3]) info = &o;
        if (!info) fail("opcode", "unknown command '" + tok[3] + "'");
        c.command = arch::Command::make(info->opcode);
        for (std::size_t i = 4; i < tok.size(); ++i) {
            const std::size_t eq = tok[i].find('=');
            if (eq == std::string::npos) fail("token " + std::to_string(i + 1), "expected Field=value, got '" + tok[i] + "'");
            const std::string name = tok[i].substr(0, eq);
            const arch::FieldDef* fd = nullptr;
            for (const arch::FieldDef& f : info->fields)
                if (f.name == name) fd = &f;
            if (!fd) fail(name, "not a field of " + std::string(info->name));
            const std::optional<uint64_t> v = parse_uint(tok[i].substr(eq + 1));
            if (!v || !fd->fits(*v)) fail(name, "'" + tok[i].substr(eq + 1) + "' does not fit the field");
            c.command.set(*fd, *v);
        }
        return c;
    }
    // <t> map|unmap s2:<vm>|s1:<device>[/<ssid>] <in> [<out>] <size> [perm=<rwx>]
    c.kind = tok[1] == "map" ? ChangeRecord::Kind::Map : ChangeRecord::Kind::Unmap;
    if (tok.size() < 3) fail("target", "missing (expected s2:<vm> or s1:<device>[/<ssid>])");
    const std::string& target = tok[2];
    if (target.rfind("s2:", 0) == 0) {
        c.stage2 = true;
        c.target = target.substr(3);
    } else if (target.rfind("s1:", 0) == 0) {
        c.target = target.substr(3);
        if (const std::size_t slash = c.target.find('/'); slash != std::string::npos) {
            const std::optional<uint64_t> ssid = parse_uint(c.target.substr(slash + 1));
            if (!ssid || *ssid > kMaxSsid) fail("target", "bad SubstreamID in '" + target + "'");
            c.ssid = static_cast<uint32_t>(*ssid);
            c.target.erase(slash);
        }
    } else {
        fail("target", "expected s2:<vm> or s1:<device>[/<ssid>], got '" + target + "'");
    }
    if (c.target.empty()) fail("target", "no name in '" + target + "'");
    std::size_t i = 3;
    c.in = number(i++, "in");
    if (c.kind == ChangeRecord::Kind::Map) c.out = number(i++, "out");
    c.size = number(i++, "size");
    if (c.size == 0 || c.size % 4096 || c.in % 4096 || c.out % 4096)
        fail("size", "addresses and size must be multiples of 4K");
    for (; i < tok.size(); ++i) {
        if (tok[i].rfind("perm=", 0) != 0 || c.kind != ChangeRecord::Kind::Map)
            fail("token " + std::to_string(i + 1), "unexpected '" + tok[i] + "'");
        const std::string perm = tok[i].substr(5);
        if (perm.find_first_not_of("rwx") != std::string::npos) fail("perm", "expected letters of rwx, got '" + perm + "'");
        c.read = perm.find('r') != std::string::npos;
        c.write = perm.find('w') != std::string::npos;
        c.exec = perm.find('x') != std::string::npos;
    }
    return c;
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
