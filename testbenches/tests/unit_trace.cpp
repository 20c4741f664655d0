// Trace format v1: records, comments, number syntax, errors with file:line,
// and resolving the device token against a config.
#include <catch2/catch.hpp>

#include <optional>
#include <random>
#include <sstream>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"
#include "testbenches/config/trace.h"

using namespace smmu::sim;

namespace {

std::string data(const std::string& name) { return std::string(SMMUSIM_TEST_DATA) + "/" + name; }

// Reads all of `text` as trace "t.trace".
std::vector<TraceRecord> read_all(const std::string& text) {
    std::istringstream in(text);
    TraceReader reader(in, "t.trace");
    std::vector<TraceRecord> out;
    for (TraceRecord r; reader.next(r);) out.push_back(r);
    return out;
}

}  // namespace

TEST_CASE("trace: a file with comments, hex and ssid", "[trace]") {
    TraceReader reader = TraceReader::open(data("trace/good.trace"));
    CHECK(reader.filename() == data("trace/good.trace"));
    std::vector<TraceRecord> recs;
    for (TraceRecord r; reader.next(r);) recs.push_back(r);
    REQUIRE(recs.size() == 4);

    CHECK(recs[0].time_ns == 0);
    CHECK(recs[0].device == "gpu");
    CHECK_FALSE(recs[0].write);
    CHECK(recs[0].iova == 0x10000000);
    CHECK(recs[0].size == 64);
    CHECK_FALSE(recs[0].ssv);
    CHECK(recs[0].line == 3);

    CHECK(recs[1].time_ns == 10);
    CHECK(recs[1].write);
    CHECK(recs[1].iova == 0x10000040);
    CHECK(recs[1].size == 0x40);
    CHECK(recs[1].ssv);
    CHECK(recs[1].ssid == 3);
    CHECK(recs[1].line == 4);

    CHECK(recs[2].time_ns == 10);  // equal times are in order
    CHECK(recs[2].device == "0x11");
    CHECK(recs[2].iova == 4096);
    CHECK(recs[2].size == 4);
    CHECK(recs[2].line == 5);

    CHECK(recs[3].time_ns == 0x20);
    CHECK(recs[3].device == "nic");
    CHECK(recs[3].write);
    CHECK(recs[3].iova == 0xffffffffffffffc0);
    CHECK(recs[3].ssv);
    CHECK(recs[3].ssid == 0);
    CHECK(recs[3].line == 6);

    TraceRecord r;
    CHECK_FALSE(reader.next(r));  // stays at the end
}

TEST_CASE("trace: empty and comment-only input has no records", "[trace]") {
    CHECK(read_all("").empty());
    CHECK(read_all("# nothing\n\n   \t\n#0 gpu R 0 4\n").empty());
    // The last line needs no newline.
    const std::vector<TraceRecord> r = read_all("5 dev R 0x0 8#comment right after");
    REQUIRE(r.size() == 1);
    CHECK(r[0].size == 8);
}

TEST_CASE("trace: errors name file, line and field", "[trace]") {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"0 gpu R 0x1000\n", "t.trace:1: size: missing (expected <time_ns> <device> <R|W> <iova> <size> [ssid=<n>])"},
        {"# c\n0\n", "t.trace:2: device: missing (expected <time_ns> <device> <R|W> <iova> <size> [ssid=<n>])"},
        {"0 gpu\n", "t.trace:1: direction: missing (expected <time_ns> <device> <R|W> <iova> <size> [ssid=<n>])"},
        {"0 gpu R 0x1000 4\nfast gpu R 0 4\n", "t.trace:2: time_ns: expected an unsigned integer, got 'fast'"},
        {"0 gpu X 0x1000 4\n", "t.trace:1: direction: expected R or W, got 'X'"},
        {"0 gpu r 0x1000 4\n", "t.trace:1: direction: expected R or W, got 'r'"},
        {"0 gpu R 0x10g0 4\n", "t.trace:1: iova: expected an unsigned integer, got '0x10g0'"},
        {"0 gpu R 0x1000 -4\n", "t.trace:1: size: expected an unsigned integer, got '-4'"},
        {"0 gpu R 0x1000 0\n", "t.trace:1: size: must not be 0"},
        {"0 gpu R 0x1000 0x100000000\n", "t.trace:1: size: 0x100000000 exceeds 0xffffffff"},
        {"0 gpu R 0xfffffffffffffff0 32\n", "t.trace:1: size: iova + size wraps past 2^64"},
        {"0 gpu R 0x1000 4 extra\n", "t.trace:1: token 6: unexpected 'extra' (only ssid=<n> may follow the size)"},
        {"0 gpu R 0x1000 4 ssid=x\n", "t.trace:1: ssid: expected an unsigned integer, got 'x'"},
        {"0 gpu R 0x1000 4 ssid=\n", "t.trace:1: ssid: expected an unsigned integer, got ''"},
        {"0 gpu R 0x1000 4 ssid=0x100000\n", "t.trace:1: ssid: 0x100000 exceeds 20 bits"},
        {"0 gpu R 0x1000 4 ssid=1 ssid=2\n", "t.trace:1: ssid: given twice"},
        {"100 gpu R 0 4\n\n# gap\n90 gpu R 0 4\n", "t.trace:4: time_ns: 90 is before 100 at line 1"},
        {"99999999999999999999 gpu R 0 4\n", "t.trace:1: time_ns: expected an unsigned integer, got '99999999999999999999'"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        CHECK_THROWS_WITH(read_all(c.text), c.message);
    }
}

// TraceReader reads the usual DMA line in one pass (scan_dma_line) and falls
// back to splitting words for anything else: both must read every line alike.
// The reference here is the format of traces/README.md, read word by word.
TEST_CASE("trace: the one-pass DMA reader agrees with the word-by-word format", "[trace]") {
    const char* times[] = {"0", "7", "0x10", "0X1f", "1000000000000000", "1000000000000001", "18446744073709551616", "0x"};
    const char* blanks[] = {" ", "\t", "  \t"};
    const char* devices[] = {"gpu", "0x11", "a=b", "dev#x"};
    const char* dirs[] = {"R", "W", "r", "RW"};
    const char* iovas[] = {"0", "0x1000", "0xFFFFFFFFFFFFFFC0", "0x1g", "18446744073709551615"};
    const char* sizes[] = {"4", "0x40", "0", "4294967295", "4294967296", "64#c"};
    const char* tails[] = {"", " ssid=3", " ssid=0x100000", " ssid=1048575", " # c", "#c", " ssid=3 # x",
                           " extra", " ssid=1 ssid=2", " ssid=", "\r"};
    std::mt19937_64 rng(12);
    auto pick = [&](const auto& list) { return list[rng() % std::size(list)]; };
    unsigned accepted = 0, refused = 0;
    for (int n = 0; n < 4000; ++n) {
        const std::string sep = pick(blanks);
        const std::string line = std::string(n % 3 ? "" : " ") + pick(times) + sep + pick(devices) + sep + pick(dirs) +
                                 pick(blanks) + pick(iovas) + sep + pick(sizes) + pick(tails);
        INFO(line);
        // The format, word by word.
        std::istringstream words(line.substr(0, line.find('#')));
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        std::optional<uint64_t> t, iova, size, ssid;
        bool ok = w.size() >= 5 && (w[2] == "R" || w[2] == "W");
        if (ok) t = parse_uint(w[0]), iova = parse_uint(w[3]), size = parse_uint(w[4]);
        ok = ok && t && *t <= 1000000000000000 && iova && size && *size && *size <= UINT32_MAX &&
             *size - 1 <= UINT64_MAX - *iova && w.size() <= 6;
        if (ok && w.size() == 6) {
            ok = w[5].rfind("ssid=", 0) == 0 && (ssid = parse_uint(w[5].substr(5))) && *ssid < (1u << 20);
        }
        if (!ok) {
            ++refused;
            CHECK_THROWS_AS(read_all(line + "\n"), InputError);
            continue;
        }
        ++accepted;
        const std::vector<TraceRecord> r = read_all(line + "\n");
        REQUIRE(r.size() == 1);
        CHECK(r[0].time_ns == *t);
        CHECK(r[0].device == w[1]);
        CHECK(r[0].write == (w[2] == "W"));
        CHECK(r[0].iova == *iova);
        CHECK(r[0].size == *size);
        CHECK(r[0].ssv == ssid.has_value());
        CHECK(r[0].ssid == ssid.value_or(0));
        CHECK(r[0].line == 1);
        CHECK_FALSE(r[0].change);
    }
    // Both kinds were generated in numbers.
    CHECK(accepted > 200);
    CHECK(refused > 300);
}

TEST_CASE("trace: records before an error are delivered", "[trace]") {
    std::istringstream in("0 gpu R 0 4\n1 gpu Q 0 4\n");
    TraceReader reader(in, "t.trace");
    TraceRecord r;
    REQUIRE(reader.next(r));
    CHECK(r.line == 1);
    CHECK_THROWS_WITH(reader.next(r), "t.trace:2: direction: expected R or W, got 'Q'");
}

TEST_CASE("trace: a missing file", "[trace]") {
    CHECK_THROWS_WITH(TraceReader::open("nope.trace"), "missing file 'nope.trace'");
}

TEST_CASE("trace: the device token is a name or a StreamID", "[trace]") {
    const Config config = load_config({data("config/full.yaml")}, {});
    const DeviceTable devices(config);
    TraceRecord r;
    r.line = 7;
    r.device = "dma";
    CHECK(devices.resolve(r, "t.trace") == 2);
    r.device = "0x11";  // nic
    CHECK(devices.resolve(r, "t.trace") == 1);
    r.device = "16";  // gpu
    CHECK(devices.resolve(r, "t.trace") == 0);
    r.device = "tpu";
    CHECK_THROWS_WITH(devices.resolve(r, "t.trace"), "t.trace:7: device: unknown device 'tpu'");
    r.device = "0x99";
    CHECK_THROWS_WITH(devices.resolve(r, "t.trace"), "t.trace:7: device: unknown device '0x99'");
}

TEST_CASE("trace: times beyond 10^15 ns are refused, not clamped inside SystemC", "[trace][issue11]") {
    // 10^15 ns is the limit (testbenches/config/numbers.h, kMaxTimeNs): 2^63 ps
    // would have saturated sc_time and every later record run at one instant.
    CHECK(read_all("1000000000000000 gpu R 0 4\n").size() == 1);
    CHECK_THROWS_WITH(read_all("0 gpu R 0 4\n1000000000000001 gpu R 0 4\n"),
                      "t.trace:2: time_ns: 1000000000000001 exceeds 10^15 ns (the longest simulated time a trace "
                      "may reach)");
    CHECK_THROWS_WITH(read_all("9223372036854775 gpu R 0 4\n"), Catch::StartsWith("t.trace:1: time_ns: 9223372036854775 exceeds"));
    // Control records too.
    CHECK_THROWS_WITH(read_all("18446744073709551615 map s2:vm0 0x1000 0x1000 0x1000\n"),
                      Catch::StartsWith("t.trace:1: time_ns: 18446744073709551615 exceeds 10^15 ns"));
}
