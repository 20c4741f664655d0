#include "testbenches/config/trace.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include <boost/iostreams/device/file.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/zstd.hpp>
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

// Follows the zstd frames (RFC 8878, 3.1) as their bytes pass from the file
// into the decompressor, which decodes whole blocks and says nothing when the
// file ends between two: a file cut short must not read as a shorter trace.
// At the end of the file it throws (the stream turns it into a read error)
// unless the last frame ended.
class ZstdFrameCheck {
public:
    using char_type = char;
    using category = io::multichar_input_filter_tag;
    template <class Source>
    std::streamsize read(Source& src, char* s, std::streamsize k) {
        const std::streamsize r = io::read(src, s, k);
        if (r < 0 && (state_ != State::Magic || need_ != 4))
            throw std::ios_base::failure("zstd: the file ends inside a frame");
        for (std::streamsize i = 0; i < r; ++i) take(static_cast<unsigned char>(s[i]));
        return r;
    }

private:
    enum class State { Magic, Descriptor, Header, BlockHeader, Skip, SkippableSize };
    // One byte of the compressed stream.
    void take(unsigned char b) {
        if (state_ == State::Skip) {
            if (--need_ == 0) end_skip();
            return;
        }
        if (got_ < 8) field_ |= uint64_t{b} << (8 * got_);  // a header's value beyond 8 bytes is not needed
        if (++got_ < need_) return;
        const uint64_t v = field_;
        field_ = 0;
        got_ = 0;
        switch (state_) {
            case State::Magic:
                if ((v & 0xfffffff0) == 0x184d2a50) {  // a skippable frame: its size follows
                    expect(State::SkippableSize, 4);
                } else if (v == 0xfd2fb528) {
                    expect(State::Descriptor, 1);
                } else {
                    throw std::ios_base::failure("zstd: not a frame");
                }
                break;
            case State::Descriptor: {  // window descriptor, dictionary ID and content size follow
                const unsigned fcs = (v >> 6) & 3, single = (v >> 5) & 1, did = v & 3;
                static constexpr unsigned kDid[] = {0, 1, 2, 4}, kFcs[] = {0, 2, 4, 8};
                checksum_ = (v >> 2) & 1;
                const unsigned n = (single ? 0 : 1) + kDid[did] + (fcs == 0 && single ? 1 : kFcs[fcs]);
                n ? expect(State::Header, n) : expect(State::BlockHeader, 3);
                break;
            }
            case State::Header:
                expect(State::BlockHeader, 3);
                break;
            case State::BlockHeader: {
                last_ = v & 1;
                const unsigned type = (v >> 1) & 3;
                const uint64_t size = type == 1 ? 1 : v >> 3;  // RLE: one byte repeated
                if (type == 3) throw std::ios_base::failure("zstd: reserved block type");
                size ? skip(size) : end_skip();
                break;
            }
            case State::SkippableSize:
                last_ = true;
                checksum_ = false;
                v ? skip(v) : expect(State::Magic, 4);
                break;
            case State::Skip:
                break;
        }
    }
    void expect(State s, unsigned bytes) { state_ = s, need_ = bytes; }
    void skip(uint64_t bytes) { state_ = State::Skip, need_ = bytes; }
    // The end of a block's content (or a checksum, or a skippable frame).
    void end_skip() {
        if (!last_) return expect(State::BlockHeader, 3);
        if (checksum_) return checksum_ = false, skip(4);
        last_ = false;
        expect(State::Magic, 4);
    }

    State state_ = State::Magic;
    uint64_t need_ = 4, field_ = 0;
    unsigned got_ = 0;
    bool last_ = false, checksum_ = false;
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

namespace {
// The file is read in chunks of this size (a line longer than a chunk grows
// the buffer).
constexpr std::size_t kChunk = 256 * 1024;

// The characters `istream >> std::string` stops at in the "C" locale: the
// format's whitespace.
inline bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }  // \t \n \v \f \r

// A control record's second word: map, unmap, guest_inv or a lifetime record
// (testbenches/config/lifetime_records.h).
bool is_control_word(std::string_view w) {
    return w == "map" || w == "unmap" || w == "guest_inv" || is_lifetime_keyword(w);
}

// The common DMA line in one pass, without splitting it into words:
// "<time_ns> <device> <R|W> <iova> <size> [ssid=<n>] [# comment]", numbers
// decimal or 0x-hex within their fields' limits. Anything else (a control
// record, a number out of range, an unknown word) returns false and takes the
// word-by-word path, which reads what this accepts the same way and names the
// field of an error. Issue 12: reading was a fifth of a seed-like run.
struct DmaLine {
    uint64_t time_ns, iova, size;
    std::string_view device;
    bool write, ssv;
    uint32_t ssid;
};

// A number as parse_uint reads it, ending at a blank or the line's end; false
// for anything parse_uint would refuse or that exceeds `max`.
bool scan_number(const char*& p, const char* end, uint64_t max, uint64_t& out) {
    const char* q = p;
    const bool hex = end - q > 2 && q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
    if (hex) q += 2;
    const char* const digits = q;
    uint64_t v = 0;
    if (hex) {
        for (; q < end; ++q) {
            const unsigned c = static_cast<unsigned char>(*q);
            unsigned d = c - '0';
            if (d > 9) {
                d = (c | 0x20) - 'a';  // either case
                if (d > 5) break;
                d += 10;
            }
            if (v >> 60) return false;  // a 17th significant digit
            v = v << 4 | d;
        }
    } else {
        for (; q < end; ++q) {
            const unsigned d = static_cast<unsigned char>(*q) - unsigned{'0'};
            if (d > 9) break;
            if (v >= UINT64_MAX / 10 && (v > UINT64_MAX / 10 || d > UINT64_MAX % 10)) return false;
            v = v * 10 + d;
        }
    }
    if (q == digits || (q < end && !is_space(*q)) || v > max) return false;
    p = q;
    out = v;
    return true;
}

bool skip_blanks(const char*& p, const char* end) {
    const char* from = p;
    while (p < end && is_space(*p)) ++p;
    return p > from;
}

bool scan_dma_line(std::string_view line, DmaLine& d) {
    const char* p = line.data();
    const char* const end = p + line.size();
    skip_blanks(p, end);
    if (!scan_number(p, end, UINT64_MAX, d.time_ns) || !skip_blanks(p, end)) return false;
    const char* name = p;
    while (p < end && !is_space(*p) && *p != '#') ++p;
    d.device = std::string_view(name, static_cast<std::size_t>(p - name));
    if (d.device.empty() || !skip_blanks(p, end) || is_control_word(d.device)) return false;
    if (end - p < 2 || (*p != 'R' && *p != 'W') || !is_space(p[1])) return false;
    d.write = *p == 'W';
    p += 1;
    skip_blanks(p, end);
    if (!scan_number(p, end, UINT64_MAX, d.iova) || !skip_blanks(p, end)) return false;
    if (!scan_number(p, end, UINT32_MAX, d.size) || d.size == 0 || d.size - 1 > UINT64_MAX - d.iova) return false;
    skip_blanks(p, end);
    d.ssv = false;
    d.ssid = 0;
    if (end - p > 5 && std::string_view(p, 5) == "ssid=") {
        p += 5;
        uint64_t ssid;
        if (!scan_number(p, end, kMaxSsid, ssid)) return false;
        d.ssv = true;
        d.ssid = static_cast<uint32_t>(ssid);
        skip_blanks(p, end);
    }
    return p == end || *p == '#';
}
}  // namespace

std::string device_text(const TraceRecord& rec) {
    if (rec.device_index >= 0) return "#" + std::to_string(rec.device_index);
    if (rec.device_sid >= 0) return std::to_string(rec.device_sid);
    return rec.device;
}

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
    unsigned char magic[4] = {0, 0, 0, 0};
    probe.read(reinterpret_cast<char*>(magic), 4);
    const std::streamsize got = probe.gcount();
    probe.close();
    static constexpr unsigned char kZstd[4] = {0x28, 0xb5, 0x2f, 0xfd};  // RFC 8878, 3.1.1
    Compression c = Compression::None;
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) c = Compression::Gzip;
    if (got == 4 && std::memcmp(magic, kZstd, 4) == 0) c = Compression::Zstd;

    auto src = std::make_unique<Source>();
    if (c == Compression::Gzip) src->in.push(io::gzip_decompressor());
    if (c == Compression::Zstd) src->in.push(io::zstd_decompressor()), src->in.push(ZstdFrameCheck());
    src->in.push(ByteCounter{src->count});
    src->in.push(io::file_source(path, std::ios::binary));
    TraceReader r(std::move(src), path);
    r.compression_ = c;
    std::error_code ec;
    r.file_size_ = std::filesystem::file_size(path, ec);
    if (ec) r.file_size_ = 0;
    r.detect_binary();
    return r;
}

uint64_t TraceReader::bytes_read() const { return src_ ? *src_->count : 0; }

[[noreturn]] void TraceReader::read_failed(const char* what) const {
    const char* damage = compression_ == Compression::Gzip   ? " (corrupt or truncated gzip data)"
                         : compression_ == Compression::Zstd ? " (corrupt or truncated zstd data)"
                                                             : "";
    throw InputError(file_ + ": " + what + " after " + (binary_ ? "record " : "line ") + std::to_string(line_) + damage);
}

std::string TraceReader::location() const {
    return binary_ ? file_ + ": record " + std::to_string(line_) : where(file_, line_);
}

[[noreturn]] void TraceReader::fail(const std::string& field, const std::string& problem) const {
    throw InputError(location() + ": " + field + ": " + problem);
}

std::size_t TraceReader::fill(std::size_t n) {
    while (end_ - pos_ < n && !eof_) {
        if (pos_ > 0) {  // keep the unconsumed bytes, at the front
            std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
            end_ -= pos_;
            pos_ = 0;
        }
        if (buf_.size() < std::max(n, end_ + kChunk / 2)) buf_.resize(std::max(n, end_ + kChunk));
        in_->read(buf_.data() + end_, static_cast<std::streamsize>(buf_.size() - end_));
        const std::streamsize got = in_->gcount();
        if (in_->bad()) read_failed("read error");
        end_ += static_cast<std::size_t>(got);
        if (got == 0 || in_->eof()) eof_ = true;
    }
    return end_ - pos_;
}

// A binary trace starts with a byte no text trace starts with (0x89): then
// the header must be valid; any other first byte is text.
void TraceReader::detect_binary() {
    if (fill(1) == 0 || static_cast<unsigned char>(buf_[pos_]) != binary_trace::kMagic[0]) return;
    binary_ = true;
    const std::size_t got = fill(binary_trace::kHeaderSize);
    const auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
    if (got < binary_trace::kHeaderSize || std::memcmp(h, binary_trace::kMagic, sizeof binary_trace::kMagic) != 0)
        throw InputError(file_ + ": header: not a trace (starts with byte 0x89 but not the binary trace magic)");
    const uint64_t version = get_le(h + 8, 2), size = get_le(h + 10, 2);
    if (version != binary_trace::kVersion)
        throw InputError(file_ + ": header: binary trace version " + std::to_string(version) + " (this reader knows " +
                         std::to_string(binary_trace::kVersion) + ")");
    if (size != binary_trace::kRecordSize)
        throw InputError(file_ + ": header: record size " + std::to_string(size) + " (expected " +
                         std::to_string(binary_trace::kRecordSize) + ")");
    pos_ += binary_trace::kHeaderSize;
}

bool TraceReader::next(TraceRecord& rec) {
    try {
        return binary_ ? next_binary(rec) : next_text(rec);
    } catch (const io::gzip_error&) {
        read_failed("gzip data error");
    } catch (const io::zstd_error&) {
        read_failed("zstd data error");
    }
}

bool TraceReader::next_binary(TraceRecord& rec) {
    namespace bt = binary_trace;
    const std::size_t got = fill(bt::kRecordSize);
    if (got == 0) return false;
    ++line_;
    if (got < bt::kRecordSize)
        fail("record", "truncated (" + std::to_string(got) + " of " + std::to_string(bt::kRecordSize) + " bytes)");
    const auto* b = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
    pos_ += bt::kRecordSize;
    rec.line = line_;
    rec.time_ns = get_le(b, 8);
    rec.device.clear();
    rec.device_index = -1;
    rec.device_sid = -1;
    rec.ssv = false;
    rec.ssid = 0;
    rec.change.reset();
    rec.text.clear();
    const uint32_t flags = static_cast<uint32_t>(get_le(b + 28, 4));
    if (flags & ~bt::kKnownFlags) fail("flags", "unknown bits " + hex(flags & ~bt::kKnownFlags) + " (corrupt file?)");
    if (flags & bt::kControl) {
        const uint64_t len = get_le(b + 16, 4);
        if (len == 0 || len > 4096) fail("size", "control record text of " + std::to_string(len) + " bytes");
        if (fill(len) < len) fail("record", "truncated control record text");
        rec.text.assign(buf_.data() + pos_, len);
        pos_ += len;
        read_control(rec);
    } else {
        rec.iova = get_le(b + 8, 8);
        rec.size = static_cast<uint32_t>(get_le(b + 16, 4));
        const uint32_t ssid = static_cast<uint32_t>(get_le(b + 20, 4));
        const uint32_t device = static_cast<uint32_t>(get_le(b + 24, 4));
        rec.write = flags & bt::kWrite;
        rec.ssv = flags & bt::kSsv;
        if (rec.size == 0) fail("size", "must not be 0");
        if (rec.size - 1 > UINT64_MAX - rec.iova) fail("size", "iova + size wraps past 2^64");
        if (ssid > kMaxSsid) fail("ssid", std::to_string(ssid) + " exceeds 20 bits");
        if (!rec.ssv && ssid) fail("ssid", "set without the ssv flag");
        rec.ssid = ssid;
        if ((flags & bt::kDeviceIndex) && device > INT32_MAX)
            fail("device", "index " + std::to_string(device) + " beyond any config (corrupt file?)");
        if (flags & bt::kDeviceIndex)
            rec.device_index = static_cast<int32_t>(device);
        else
            rec.device_sid = device;
    }
    check_time(rec);
    return true;
}

// The next line of the file (without its '\n'), a view into buf_ valid until
// the next call.
bool TraceReader::next_line(std::string_view& line) {
    for (std::size_t scanned = 0;;) {
        const char* start = buf_.data() + pos_;
        const std::size_t avail = end_ - pos_;
        if (const void* nl = std::memchr(start + scanned, '\n', avail - scanned)) {
            const std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
            line = std::string_view(start, len);
            pos_ += len + 1;
            return true;
        }
        if (eof_) {
            if (avail == 0) return false;
            line = std::string_view(start, avail);  // the last line needs no newline
            pos_ = end_;
            return true;
        }
        scanned = avail;
        fill(avail + 1);
    }
}

bool TraceReader::next_text(TraceRecord& rec) {
    std::string_view line;
    while (next_line(line)) {
        ++line_;
        if (DmaLine d; scan_dma_line(line, d)) {
            rec.line = line_;
            rec.change.reset();
            rec.text.clear();
            rec.device_index = -1;
            rec.device_sid = -1;
            rec.time_ns = d.time_ns;
            rec.device.assign(d.device);
            rec.write = d.write;
            rec.iova = d.iova;
            rec.size = static_cast<uint32_t>(d.size);
            rec.ssv = d.ssv;
            rec.ssid = d.ssid;
            check_time(rec);
            return true;
        }
        if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        tok_.clear();
        for (std::size_t i = 0; i < line.size();) {
            while (i < line.size() && is_space(line[i])) ++i;
            const std::size_t from = i;
            while (i < line.size() && !is_space(line[i])) ++i;
            if (i > from) tok_.push_back(line.substr(from, i - from));
        }
        if (tok_.empty()) continue;
        rec.line = line_;
        if (tok_.size() >= 2 && is_control_word(tok_[1])) {
            const std::optional<uint64_t> t = parse_uint(tok_[0]);
            if (!t) fail("time_ns", "expected an unsigned integer, got '" + std::string(tok_[0]) + "'");
            rec.time_ns = *t;
            rec.text.clear();
            for (std::size_t i = 1; i < tok_.size(); ++i) (rec.text += i > 1 ? " " : "") += tok_[i];
            read_control(rec);
        } else {
            read_dma(rec);
        }
        check_time(rec);
        return true;
    }
    return false;
}

// <time_ns> <device> <R|W> <iova> <size> [ssid=<n>]: the words in tok_.
void TraceReader::read_dma(TraceRecord& rec) {
    static const char* const fields[] = {"time_ns", "device", "direction", "iova", "size"};
    if (tok_.size() < 5) fail(fields[tok_.size()], "missing (expected <time_ns> <device> <R|W> <iova> <size> [ssid=<n>])");
    auto number = [&](std::size_t i, uint64_t max) {
        const std::optional<uint64_t> v = parse_uint(tok_[i]);
        if (!v) fail(fields[i], "expected an unsigned integer, got '" + std::string(tok_[i]) + "'");
        if (*v > max) fail(fields[i], std::string(tok_[i]) + " exceeds " + hex(max));
        return *v;
    };
    rec.change.reset();
    rec.text.clear();
    rec.device_index = -1;
    rec.device_sid = -1;
    rec.ssv = false;
    rec.ssid = 0;
    rec.time_ns = number(0, UINT64_MAX);
    rec.device.assign(tok_[1]);
    if (tok_[2] != "R" && tok_[2] != "W") fail("direction", "expected R or W, got '" + std::string(tok_[2]) + "'");
    rec.write = tok_[2] == "W";
    rec.iova = number(3, UINT64_MAX);
    rec.size = static_cast<uint32_t>(number(4, UINT32_MAX));
    if (rec.size == 0) fail("size", "must not be 0");
    if (rec.size - 1 > UINT64_MAX - rec.iova) fail("size", "iova + size wraps past 2^64");
    for (std::size_t i = 5; i < tok_.size(); ++i) {
        if (tok_[i].substr(0, 5) != "ssid=")
            fail("token " + std::to_string(i + 1),
                 "unexpected '" + std::string(tok_[i]) + "' (only ssid=<n> may follow the size)");
        if (rec.ssv) fail("ssid", "given twice");
        const std::string_view value = tok_[i].substr(5);
        const std::optional<uint64_t> v = parse_uint(value);
        if (!v) fail("ssid", "expected an unsigned integer, got '" + std::string(value) + "'");
        if (*v > kMaxSsid) fail("ssid", std::string(value) + " exceeds 20 bits");
        rec.ssv = true;
        rec.ssid = static_cast<uint32_t>(*v);
    }
}

// A control record (map, unmap, guest_inv): rec.time_ns and rec.text (its
// words after the time) are set. Rare next to DMAs, so it takes the token
// path the config checks share: words as strings, parse_change.
void TraceReader::read_control(TraceRecord& rec) {
    std::istringstream words(rec.text);
    std::vector<std::string> tok{std::to_string(rec.time_ns)};
    for (std::string w; words >> w;) tok.push_back(w);
    if (binary_ && (tok.size() < 2 || !is_control_word(tok[1])))
        fail("control", "expected map, unmap, guest_inv or a lifetime record, got '" + rec.text + "'");
    rec.change = parse_change(tok, location());
    rec.change->time_ns = rec.time_ns;
}

void TraceReader::check_time(const TraceRecord& r) {
    if (r.time_ns > kMaxTimeNs)
        fail("time_ns", std::to_string(r.time_ns) + " exceeds 10^15 ns (the longest simulated time a trace may reach)");
    if (any_ && r.time_ns < prev_time_)
        fail("time_ns", std::to_string(r.time_ns) + " is before " + std::to_string(prev_time_) +
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

DeviceTable::DeviceTable(const Config& config) : config_(config) {
    for (std::size_t i = 0; i < config.devices.size(); ++i) {
        by_name_.emplace(config.devices[i].name, i);
        by_sid_.emplace(config.devices[i].sid, i);  // the first device with the StreamID
    }
}

std::size_t DeviceTable::resolve(const TraceRecord& rec, const std::string& file) const {
    if (rec.device_index >= 0) {
        if (static_cast<std::size_t>(rec.device_index) < config_.devices.size())
            return static_cast<std::size_t>(rec.device_index);
        throw InputError(file + ": record " + std::to_string(rec.line) + ": device: index " +
                         std::to_string(rec.device_index) + " but the config has " +
                         std::to_string(config_.devices.size()) + " device(s)");
    }
    std::optional<uint64_t> sid;
    if (rec.device_sid >= 0) {
        sid = static_cast<uint64_t>(rec.device_sid);
    } else {
        if (auto it = by_name_.find(rec.device); it != by_name_.end()) return it->second;
        sid = parse_uint(rec.device);
    }
    if (sid)
        if (auto it = by_sid_.find(*sid); it != by_sid_.end()) return it->second;
    throw InputError(where(file, rec.line) + ": device: unknown device '" + device_text(rec) + "'");
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
