#include "testbenches/config/trace.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include <boost/iostreams/device/file.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <boost/iostreams/operations.hpp>

#include "testbenches/config/input_error.h"
#include "testbenches/config/lifetime_records.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace io = boost::iostreams;

namespace {
// SubstreamIDs are at most 20 bits wide (SMMU_IDR1.SSIDSIZE <= 20).
constexpr uint64_t kMaxSsid = (uint64_t{1} << 20) - 1;

// Counts the bytes that pass from the file into the decompressor (or the
// reader): the progress line's "bytes read".
struct ByteCounter {
    using char_type = char;
    using category = io::multichar_input_filter_tag;
    std::shared_ptr<uint64_t> n;
    template <class Source>
    std::streamsize read(Source& src, char* s, std::streamsize k) {
        const std::streamsize r = io::read(src, s, k);
        if (r > 0) *n += static_cast<uint64_t>(r);
        return r;
    }
};

uint64_t get_le(const unsigned char* p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
    return v;
}
void put_le(std::string& out, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

struct TraceReader::Source {
    std::shared_ptr<uint64_t> count = std::make_shared<uint64_t>(0);
    io::filtering_istream in;
};

TraceReader::TraceReader(std::istream& in, std::string filename) : in_(&in), file_(std::move(filename)) {
    detect_binary();
}

TraceReader::TraceReader(std::unique_ptr<Source> src, std::string filename)
    : src_(std::move(src)), in_(&src_->in), file_(std::move(filename)) {}

TraceReader::TraceReader(TraceReader&&) noexcept = default;
TraceReader& TraceReader::operator=(TraceReader&&) noexcept = default;
TraceReader::~TraceReader() = default;

TraceReader TraceReader::open(const std::string& path) {
    if (!std::filesystem::exists(path)) throw InputError("missing file '" + path + "'");
    std::ifstream probe(path, std::ios::binary);
    if (!probe || std::filesystem::is_directory(path)) throw InputError("cannot read file '" + path + "'");
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    const bool gz = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    probe.close();

    auto src = std::make_unique<Source>();
    if (gz) src->in.push(io::gzip_decompressor());
    src->in.push(ByteCounter{src->count});
    src->in.push(io::file_source(path, std::ios::binary));
    TraceReader r(std::move(src), path);
    r.gzip_ = gz;
    std::error_code ec;
    r.file_size_ = std::filesystem::file_size(path, ec);
    if (ec) r.file_size_ = 0;
    r.detect_binary();
    return r;
}

uint64_t TraceReader::bytes_read() const { return src_ ? *src_->count : 0; }

[[noreturn]] void TraceReader::read_failed(const char* what) const {
    throw InputError(file_ + ": " + what + " after " + (binary_ ? "record " : "line ") + std::to_string(line_) +
                     (gzip_ ? " (corrupt or truncated gzip data)" : ""));
}

// A binary trace starts with a byte no text trace starts with (0x89): then
// the header must be valid; any other first byte is text.
void TraceReader::detect_binary() {
    const int first = in_->peek();
    if (first == std::char_traits<char>::eof()) {
        if (in_->bad()) read_failed("read error");
        in_->clear(in_->rdstate() & ~std::ios::failbit);
        return;
    }
    if (first != binary_trace::kMagic[0]) return;
    binary_ = true;
    unsigned char h[binary_trace::kHeaderSize];
    in_->read(reinterpret_cast<char*>(h), sizeof h);
    if (in_->bad()) read_failed("read error");
    if (in_->gcount() != static_cast<std::streamsize>(sizeof h) ||
        std::memcmp(h, binary_trace::kMagic, sizeof binary_trace::kMagic) != 0)
        throw InputError(file_ + ": header: not a trace (starts with byte 0x89 but not the binary trace magic)");
    const uint64_t version = get_le(h + 8, 2), size = get_le(h + 10, 2);
    if (version != binary_trace::kVersion)
        throw InputError(file_ + ": header: binary trace version " + std::to_string(version) + " (this reader knows " +
                         std::to_string(binary_trace::kVersion) + ")");
    if (size != binary_trace::kRecordSize)
        throw InputError(file_ + ": header: record size " + std::to_string(size) + " (expected " +
                         std::to_string(binary_trace::kRecordSize) + ")");
}

bool TraceReader::next(TraceRecord& rec) {
    try {
        return binary_ ? next_binary(rec) : next_text(rec);
    } catch (const io::gzip_error& e) {
        read_failed("gzip data error");
    }
}

bool TraceReader::next_binary(TraceRecord& rec) {
    namespace bt = binary_trace;
    unsigned char b[bt::kRecordSize];
    in_->read(reinterpret_cast<char*>(b), sizeof b);
    const std::streamsize got = in_->gcount();
    if (in_->bad()) read_failed("read error");
    if (got == 0) return false;
    const std::string at = file_ + ": record " + std::to_string(line_ + 1);
    auto fail = [&](const std::string& field, const std::string& problem) -> void {
        throw InputError(at + ": " + field + ": " + problem);
    };
    if (got != static_cast<std::streamsize>(sizeof b))
        fail("record", "truncated (" + std::to_string(got) + " of " + std::to_string(sizeof b) + " bytes)");
    ++line_;
    TraceRecord r;
    r.line = line_;
    r.time_ns = get_le(b, 8);
    const uint32_t flags = static_cast<uint32_t>(get_le(b + 28, 4));
    if (flags & ~bt::kKnownFlags) fail("flags", "unknown bits " + hex(flags & ~bt::kKnownFlags) + " (corrupt file?)");
    if (flags & bt::kControl) {
        const uint64_t len = get_le(b + 16, 4);
        if (len == 0 || len > 4096) fail("size", "control record text of " + std::to_string(len) + " bytes");
        std::string text(len, '\0');
        in_->read(text.data(), static_cast<std::streamsize>(len));
        if (in_->bad()) read_failed("read error");
        if (static_cast<uint64_t>(in_->gcount()) != len) fail("record", "truncated control record text");
        std::istringstream words(text);
        std::vector<std::string> tok{std::to_string(r.time_ns)};
        for (std::string w; words >> w;) tok.push_back(w);
        if (tok.size() < 2 || (tok[1] != "map" && tok[1] != "unmap" && tok[1] != "guest_inv" && !is_lifetime_keyword(tok[1])))
            fail("control", "expected map, unmap, guest_inv or a lifetime record, got '" + text + "'");
        r.change = parse_change(tok, at);
        r.change->time_ns = r.time_ns;
        r.text = text;
    } else {
        r.iova = get_le(b + 8, 8);
        r.size = static_cast<uint32_t>(get_le(b + 16, 4));
        const uint32_t ssid = static_cast<uint32_t>(get_le(b + 20, 4));
        const uint32_t device = static_cast<uint32_t>(get_le(b + 24, 4));
        r.write = flags & bt::kWrite;
        r.ssv = flags & bt::kSsv;
        if (r.size == 0) fail("size", "must not be 0");
        if (r.size - 1 > UINT64_MAX - r.iova) fail("size", "iova + size wraps past 2^64");
        if (ssid > kMaxSsid) fail("ssid", std::to_string(ssid) + " exceeds 20 bits");
        if (!r.ssv && ssid) fail("ssid", "set without the ssv flag");
        r.ssid = ssid;
        if ((flags & bt::kDeviceIndex) && device > INT32_MAX)
            fail("device", "index " + std::to_string(device) + " beyond any config (corrupt file?)");
        if (flags & bt::kDeviceIndex)
            r.device_index = static_cast<int32_t>(device), r.device = "#" + std::to_string(device);
        else
            r.device = std::to_string(device);
    }
    check_time(r, at);
    rec = std::move(r);
    return true;
}

bool TraceReader::next_text(TraceRecord& rec) {
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
        if (tok.size() >= 2 && (tok[1] == "map" || tok[1] == "unmap" || tok[1] == "guest_inv" || is_lifetime_keyword(tok[1]))) {
            TraceRecord r;
            r.line = line_;
            const std::optional<uint64_t> t = parse_uint(tok[0]);
            if (!t) fail("time_ns", "expected an unsigned integer, got '" + tok[0] + "'");
            r.time_ns = *t;
            r.change = parse_change(tok, at);
            r.change->time_ns = r.time_ns;
            for (std::size_t i = 1; i < tok.size(); ++i) r.text += (i > 1 ? " " : "") + tok[i];
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
    if (in_->bad()) read_failed("read error");
    return false;
}

void TraceReader::check_time(const TraceRecord& r, const std::string& at) {
    if (r.time_ns > kMaxTimeNs)
        throw InputError(at + ": time_ns: " + std::to_string(r.time_ns) +
                         " exceeds 10^15 ns (the longest simulated time a trace may reach)");
    if (any_ && r.time_ns < prev_time_)
        throw InputError(at + ": time_ns: " + std::to_string(r.time_ns) + " is before " + std::to_string(prev_time_) +
                         (binary_ ? " at record " : " at line ") + std::to_string(prev_line_));
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
    if (is_lifetime_keyword(tok[1])) return parse_lifetime(tok, at);
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
    if (rec.device_index >= 0) {
        if (static_cast<std::size_t>(rec.device_index) < config.devices.size())
            return static_cast<std::size_t>(rec.device_index);
        throw InputError(file + ": record " + std::to_string(rec.line) + ": device: index " +
                         std::to_string(rec.device_index) + " but the config has " +
                         std::to_string(config.devices.size()) + " device(s)");
    }
    for (std::size_t i = 0; i < config.devices.size(); ++i)
        if (config.devices[i].name == rec.device) return i;
    if (const std::optional<uint64_t> sid = parse_uint(rec.device))
        for (std::size_t i = 0; i < config.devices.size(); ++i)
            if (config.devices[i].sid == *sid) return i;
    throw InputError(where(file, rec.line) + ": device: unknown device '" + rec.device + "'");
}

namespace binary_trace {

std::string header() {
    std::string h(reinterpret_cast<const char*>(kMagic), sizeof kMagic);
    put_le(h, kVersion, 2);
    put_le(h, kRecordSize, 2);
    put_le(h, 0, 4);
    return h;
}

std::string encode(const TraceRecord& r, uint32_t device, bool device_is_index) {
    const std::string& text = r.text;
    std::string b;
    b.reserve(kRecordSize + text.size());
    put_le(b, r.time_ns, 8);
    if (r.change) {
        put_le(b, 0, 8);
        put_le(b, text.size(), 4);
        put_le(b, 0, 4);
        put_le(b, 0, 4);
        put_le(b, kControl, 4);
        b += text;
        return b;
    }
    put_le(b, r.iova, 8);
    put_le(b, r.size, 4);
    put_le(b, r.ssv ? r.ssid : 0, 4);
    put_le(b, device, 4);
    put_le(b, (r.write ? kWrite : 0) | (r.ssv ? kSsv : 0) | (device_is_index ? kDeviceIndex : 0), 4);
    return b;
}

}  // namespace binary_trace

}  // namespace smmu::sim
