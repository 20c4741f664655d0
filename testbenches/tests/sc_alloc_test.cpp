// SystemC scenario in a process of its own: the `run` path (trace reader,
// dispatcher, traffic generators, SMMU, walker, memory) allocates nothing per
// transaction once warm. A counting operator new is the global one in this
// process; a trace generated on the fly (configs/seed/shared-s2-proxy.yaml's
// three devices: two nested, one S2-only; hot pages and a 1 MiB window, so
// IOTLB hits, misses and walks) notes the count as it hands out record N, 2N
// and 4N. The allocations of records [2N, 4N) must not be more than those
// of [N, 2N): they do not grow with the number of transactions.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <new>
#include <string>

#include <systemc>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/trace.h"
#include "testbenches/platform/platform.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// GCC pairs free() with the malloc() it cannot see behind this new.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
// Every form that pairs with these deletes is replaced (nothrow and array
// too: Catch2 allocates with new(nothrow)), so no block allocated by the
// runtime's own new reaches free() here (ASan's alloc-dealloc-mismatch).
void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++g_allocations;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

constexpr uint64_t kN = 40000;

// DMA records made as the reader asks for bytes: round-robin over deva, devb
// (VA 0x10000000 + o) and devc (IPA 0x80000000 + o), 70 % in a hot 128 KiB,
// else anywhere in 1 MiB, 64-256 bytes, 30 % writes, one every 20 ns.
class TraceSource : public std::streambuf {
public:
    uint64_t at_n = 0, at_2n = 0, at_4n = 0;  // allocations when record N, 2N, 4N was made

private:
    int_type underflow() override {
        if (n_ == 4 * kN) return traits_type::eof();
        std::size_t len = 0;
        for (unsigned k = 0; k < 64 && n_ < 4 * kN; ++k, ++n_) {
            if (n_ == kN) at_n = g_allocations;
            if (n_ == 2 * kN) at_2n = g_allocations;
            const unsigned dev = static_cast<unsigned>(n_ % 3);
            const uint64_t off = next(10) < 7 ? next(0x20000 / 64) * 64 : next(0x100000 / 64) * 64;
            static const unsigned kSizes[] = {64, 64, 128, 256};
            len += static_cast<std::size_t>(
                std::snprintf(buf_ + len, sizeof buf_ - len, "%llu %s %c %#llx %u\n",
                              static_cast<unsigned long long>(n_ * 20), kDevices[dev], next(10) < 3 ? 'W' : 'R',
                              static_cast<unsigned long long>((dev == 2 ? 0x80000000 : 0x10000000) + off),
                              kSizes[next(4)]));
        }
        if (n_ == 4 * kN) at_4n = g_allocations;
        setg(buf_, buf_, buf_ + len);
        return traits_type::to_int_type(buf_[0]);
    }
    uint64_t next(uint64_t n) {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        return (rng_ >> 11) % n;
    }
    static constexpr const char* kDevices[] = {"deva", "devb", "devc"};
    char buf_[64 * 64];
    uint64_t n_ = 0, rng_ = 0x9e3779b97f4a7c15ull;
};

TraceSource source;
uint64_t transactions = 0, faults = 0, iotlb_misses = 0, walks = 0;

}  // namespace

TEST_CASE("alloc: the run path allocates nothing per transaction once warm", "[alloc]") {
    const uint64_t first = source.at_2n - source.at_n, second = source.at_4n - source.at_2n;
    INFO("allocations: records [N, 2N): " << first << ", [2N, 4N): " << second << " (N = " << kN << ")");
    CHECK(transactions > 4 * kN);  // bursts across 4K split in two
    CHECK(faults == 0);
    CHECK(iotlb_misses > kN / 10);  // walks happen: not only the hit path
    CHECK(walks > kN / 10);
    CHECK(second <= first);
    CHECK(first < 16);
}

int sc_main(int argc, char* argv[]) {
    const smmu::sim::Config cfg = smmu::sim::load_config({SMMUSIM_SOURCE_DIR "/configs/seed/shared-s2-proxy.yaml"}, {});
    std::istream in(&source);
    smmu::sim::TraceReader reader(in, "generated.trace");
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    smmu::sim::Platform platform("platform", cfg, &reader);
    platform.run();
    const nlohmann::ordered_json s = platform.stats(0.0);
    transactions = s["totals"]["transactions"].get<uint64_t>();
    faults = s["totals"]["faults"].get<uint64_t>();
    iotlb_misses = s["caches"]["iotlb"]["misses"].get<uint64_t>();
    walks = s["walks"]["count"].get<uint64_t>();
    return Catch::Session().run(argc, argv);
}
