// Big-trace formats: gzip-compressed traces, the binary format (round trip
// text -> binary -> the same records), corrupt and truncated files, and the
// `trace convert` / `trace stats` tools called as functions.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/zstd.hpp>
#include <boost/iostreams/filtering_stream.hpp>

#include "testbenches/cli/trace_tools.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/trace.h"

using namespace smmu::sim;

namespace {

// A scratch file, removed when the test ends.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& name)
        : path((std::filesystem::temp_directory_path() / ("smmusim-" + std::to_string(getpid()) + "-" + name)).string()) {}
    ~TempFile() { std::remove(path.c_str()); }
    void write(const std::string& bytes) const {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f << bytes;
    }
    std::string read() const {
        std::ifstream f(path, std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    }
};

template <class Compressor>
std::string compress(const std::string& text) {
    std::ostringstream out;
    {
        boost::iostreams::filtering_ostream z;
        z.push(Compressor());
        z.push(out);
        z << text;
    }
    return out.str();
}
std::string gzip(const std::string& text) { return compress<boost::iostreams::gzip_compressor>(text); }
std::string zstd(const std::string& text) { return compress<boost::iostreams::zstd_compressor>(text); }

std::vector<TraceRecord> read_file(const std::string& path) {
    TraceReader reader = TraceReader::open(path);
    std::vector<TraceRecord> out;
    for (TraceRecord r; reader.next(r);) out.push_back(r);
    return out;
}

// What a record means (not where it was read).
bool same(const TraceRecord& a, const TraceRecord& b) {
    if (a.time_ns != b.time_ns || bool(a.change) != bool(b.change)) return false;
    if (a.change)
        return a.change->kind == b.change->kind && a.change->target == b.change->target && a.change->in == b.change->in &&
               a.change->out == b.change->out && a.change->size == b.change->size && a.text == b.text;
    return device_text(a) == device_text(b) && a.device_index == b.device_index && a.write == b.write && a.iova == b.iova &&
           a.size == b.size && a.ssv == b.ssv && a.ssid == b.ssid;
}

const std::string kText =
    "# StreamIDs only, so it converts without a config\n"
    "0 1 R 0x1000 64\n"
    "10 2 W 0xffff0000 4096 ssid=0x3\n"
    "20 s2:vm0 unmap\n"  // not a control record: the second word is the device
    "";
const std::string kGood =
    "0 1 R 0x1000 64\n"
    "10 2 W 0xffff0000 4096 ssid=0x3\n"
    "15 map s2:vm0 0x80000000 0x200000000 0x2000 perm=rw   # a control record\n"
    "20 0x20 R 0xdeadbeef000 1 ssid=1048575\n"
    "20 unmap s1:nic/3 0x40000000 0x1000\n"
    "30 4 W 0 0x10000\n";

std::string expect_input_error(const std::string& path) {
    try {
        read_file(path);
    } catch (const InputError& e) {
        return e.what();
    }
    FAIL("no InputError for " << path);
    return {};
}

// A compressed file gives the plain one's records, at the same lines.
void read_alike(const std::string& plain, const std::string& packed) {
    const auto a = read_file(plain), b = read_file(packed);
    REQUIRE(a.size() == 6);
    REQUIRE(b.size() == a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(same(a[i], b[i]));
        CHECK(b[i].line == a[i].line);
    }
}

// 20 000 DMA lines: enough that damage in the middle of a compressed copy is
// met after some records.
std::string many_lines() {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += std::to_string(i) + " 1 R 0x" + std::to_string(1000 + i) + "000 64\n";
    return text;
}

}  // namespace

TEST_CASE("trace: gzip-compressed text is read by its magic, not its name", "[trace][gzip]") {
    TempFile plain("plain.trace"), packed("packed.trace");  // no .gz in the name
    plain.write(kGood);
    packed.write(gzip(kGood));
    read_alike(plain.path, packed.path);
    TraceReader r = TraceReader::open(packed.path);
    CHECK(r.gzip());
    CHECK_FALSE(r.binary());
    CHECK(r.file_size() == packed.read().size());
}

TEST_CASE("trace: zstd-compressed text and binary are read by their magic", "[trace][zstd]") {
    TempFile plain("zplain.trace"), packed("zpacked.trace"), bin("z.bin"), binz("zbin.trace");
    plain.write(kGood);
    packed.write(zstd(kGood));
    REQUIRE(packed.read().compare(0, 4, "\x28\xb5\x2f\xfd") == 0);  // RFC 8878's magic
    read_alike(plain.path, packed.path);
    TraceReader r = TraceReader::open(packed.path);
    CHECK(r.zstd());
    CHECK_FALSE(r.gzip());
    std::ostringstream out;
    REQUIRE(trace_command({"convert", plain.path, bin.path}, out) == 0);
    binz.write(zstd(bin.read()));
    const auto c = read_file(bin.path), d = read_file(binz.path);
    REQUIRE(d.size() == c.size());
    for (std::size_t i = 0; i < c.size(); ++i) CHECK(same(c[i], d[i]));

    // Cut short: the file and the line, and what is wrong.
    const std::string text = many_lines();
    const std::string z = zstd(text);
    TempFile bad("bad.zst");
    bad.write(z.substr(0, z.size() / 2));
    const std::string cut = expect_input_error(bad.path);
    CHECK(cut.find(bad.path + ": ") == 0);
    CHECK(cut.find("(corrupt or truncated zstd data)") != std::string::npos);
}

TEST_CASE("trace: text -> binary -> the same records (and gzip of binary)", "[trace][binary]") {
    TempFile text("rt.trace"), bin("rt.bin"), bingz("rt.bin.gz");
    text.write(kGood);
    std::ostringstream out;
    REQUIRE(trace_command({"convert", text.path, bin.path}, out) == 0);
    CHECK(out.str().find("6 record(s) (2 control)") != std::string::npos);
    const std::string bytes = bin.read();
    CHECK(bytes.size() == 16 + 6 * 32 + std::string("map s2:vm0 0x80000000 0x200000000 0x2000 perm=rw").size() +
                              std::string("unmap s1:nic/3 0x40000000 0x1000").size());
    CHECK(bytes.compare(0, 8, std::string(reinterpret_cast<const char*>(binary_trace::kMagic), 8)) == 0);
    const auto a = read_file(text.path), b = read_file(bin.path);
    REQUIRE(b.size() == a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("record " << i + 1);
        CHECK(b[i].line == static_cast<int>(i + 1));  // record numbers
        if (a[i].change) {
            CHECK(same(a[i], b[i]));
        } else {
            // The device becomes its StreamID number.
            TraceRecord t = a[i];
            t.device = std::to_string(std::stoull(t.device, nullptr, 0));
            CHECK(same(t, b[i]));
        }
    }
    bingz.write(gzip(bytes));
    const auto c = read_file(bingz.path);
    REQUIRE(c.size() == b.size());
    for (std::size_t i = 0; i < b.size(); ++i) CHECK(same(b[i], c[i]));
    // binary -> binary is the identity.
    TempFile again("rt2.bin");
    REQUIRE(trace_command({"convert", bin.path, again.path}, out) == 0);
    CHECK(again.read() == bytes);
}

TEST_CASE("trace: convert needs a config for device names", "[trace][binary]") {
    TempFile text("names.trace"), bin("names.bin");
    text.write("0 1 R 0x1000 64\n5 nic R 0x1000 64\n");
    std::ostringstream out;
    try {
        trace_command({"convert", text.path, bin.path}, out);
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK(std::string(e.what()) == text.path + ":2: device: 'nic' is not a StreamID (give --config to resolve device names)");
    }
    CHECK_FALSE(std::filesystem::exists(bin.path));  // no half-written output
}

TEST_CASE("trace: corrupt and truncated binary traces name the file and the record", "[trace][binary]") {
    TempFile text("c.trace"), bin("c.bin"), bad("bad.bin");
    text.write("0 1 R 0x1000 64\n1 1 R 0x2000 64\n2 1 W 0x3000 64\n");
    std::ostringstream out;
    REQUIRE(trace_command({"convert", text.path, bin.path}, out) == 0);
    const std::string good = bin.read();
    REQUIRE(good.size() == 16 + 3 * 32);

    bad.write(good.substr(0, 16 + 2 * 32 + 10));  // record 3 cut short
    CHECK(expect_input_error(bad.path) == bad.path + ": record 3: record: truncated (10 of 32 bytes)");

    std::string flags = good;
    flags[16 + 32 + 28] = static_cast<char>(0x80);  // record 2: an unknown flag
    bad.write(flags);
    CHECK(expect_input_error(bad.path) == bad.path + ": record 2: flags: unknown bits 0x80 (corrupt file?)");

    std::string size0 = good;
    for (int i = 0; i < 4; ++i) size0[16 + 2 * 32 + 16 + i] = 0;  // record 3: size 0
    bad.write(size0);
    CHECK(expect_input_error(bad.path) == bad.path + ": record 3: size: must not be 0");

    std::string back = good;
    back[16 + 2 * 32] = 0;  // record 3 at time 0, after time 1
    bad.write(back);
    CHECK(expect_input_error(bad.path) == bad.path + ": record 3: time_ns: 0 is before 1 at record 2");

    std::string version = good;
    version[8] = 9;
    bad.write(version);
    CHECK(expect_input_error(bad.path).find(bad.path + ": header: binary trace version 9") == 0);

    bad.write(good.substr(0, 5));
    CHECK(expect_input_error(bad.path).find(bad.path + ": header: not a trace") == 0);
}

TEST_CASE("trace: corrupt and truncated gzip name the file and the record", "[trace][gzip]") {
    const std::string text = many_lines();
    const std::string z = gzip(text);
    TempFile bad("bad.gz");

    bad.write(z.substr(0, z.size() / 2));
    const std::string cut = expect_input_error(bad.path);
    CHECK(cut.find(bad.path + ": read error after line ") == 0);
    CHECK(cut.find("(corrupt or truncated gzip data)") != std::string::npos);

    std::string flipped = z;
    for (std::size_t i = z.size() / 3; i < z.size() / 3 + 64; ++i) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
    bad.write(flipped);
    const std::string corrupt = expect_input_error(bad.path);
    // Either zlib notices (a read error after line N) or the garbage reaches
    // the parser first (file:line: field: problem): the file is named either way.
    INFO(corrupt);
    CHECK(corrupt.find(bad.path + ":") == 0);

    bad.write(z.substr(0, z.size() - 4));  // the footer's length missing
    CHECK(expect_input_error(bad.path).find("(corrupt or truncated gzip data)") != std::string::npos);
}

TEST_CASE("trace: stats of a trace", "[trace]") {
    TempFile text("s.trace");
    text.write(kGood);
    std::ostringstream out;
    REQUIRE(trace_command({"stats", text.path}, out) == 0);
    CHECK(out.str().find("records:  6 (4 DMA: 2 R, 2 W; 2 control)") != std::string::npos);
    CHECK(out.str().find("devices:  4") != std::string::npos);
    CHECK(out.str().find("time_ns:  0 .. 30 (span 30)") != std::string::npos);
}

TEST_CASE("trace: binary times and device indices beyond any config are refused", "[trace][binary][issue11]") {
    TempFile bin("i.bin");
    auto record = [](uint64_t time, uint32_t device, uint32_t flags) {
        TraceRecord r;
        r.time_ns = time;
        r.iova = 0x1000;
        r.size = 64;
        std::string b = binary_trace::encode(r, device, flags & binary_trace::kDeviceIndex);
        return b;
    };
    // Index 2^31 + 1 used to be masked to 1: a corrupt record silently became device 1.
    bin.write(binary_trace::header() + record(0, 0x80000001u, binary_trace::kDeviceIndex));
    CHECK(expect_input_error(bin.path) ==
          bin.path + ": record 1: device: index 2147483649 beyond any config (corrupt file?)");
    bin.write(binary_trace::header() + record(0, 0, 0) + record(2000000000000000, 0, 0));
    CHECK(expect_input_error(bin.path) ==
          bin.path + ": record 2: time_ns: 2000000000000000 exceeds 10^15 ns (the longest simulated time a trace may "
                     "reach)");
}
