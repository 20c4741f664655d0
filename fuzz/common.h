// Shared helpers of the libFuzzer targets: a reader that turns the fuzz input
// into bounded numbers, and generators of SMMU structures (STE, CD, table
// descriptors, commands) whose pointers land in a small memory window, so
// random inputs reach deep into walks instead of stopping at the first read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "models/arch/bitfield.h"
#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/pte.h"
#include "models/arch/registers.h"
#include "models/arch/ste.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/stream_table/stream_table.h"
#include "models/smmu/translation/translation_unit.h"
#include "models/smmu/translation/types.h"
#include "testbenches/config/input_error.h"
#include "driver/io_pgtable/io_pgtable_arm.h"

namespace smmu::fuzz {

// Consumes the input front to back; past its end every read returns zero, so
// a target's loops end when `done()`.
class Input {
public:
    Input(const uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
    bool done() const { return p_ >= end_; }
    std::size_t left() const { return done() ? 0 : static_cast<std::size_t>(end_ - p_); }
    uint8_t u8() { return done() ? 0 : *p_++; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    uint32_t u32() { return u16() | (uint32_t{u16()} << 16); }
    uint64_t u64() { return u32() | (uint64_t{u32()} << 32); }
    bool flag() { return u8() & 1; }
    // A value in [0, n).
    unsigned below(unsigned n) { return n ? u8() % n : 0; }
    // A number of any size, biased to small ones (most fields are small).
    uint64_t number() {
        switch (u8() & 3) {
            case 0: return u8();
            case 1: return u16();
            case 2: return u32();
            default: return u64();
        }
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

inline std::string as_string(const uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// A bug found: print what and abort, so libFuzzer saves the input.
[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
    std::abort();
}
#define FUZZ_CHECK(cond, what) \
    do {                       \
        if (!(cond)) ::smmu::fuzz::fail(std::string(#cond ": ") + (what)); \
    } while (0)

// How often each interesting case was reached, printed at exit when
// SMMUSIM_FUZZ_STATS is set (to see that a check is not vacuous).
inline void count(const char* what) {
    struct Counts {
        std::map<std::string, uint64_t> n;
        ~Counts() {
            if (std::getenv("SMMUSIM_FUZZ_STATS"))
                for (const auto& [k, v] : n) std::fprintf(stderr, "fuzz stat %s: %llu\n", k.c_str(), (unsigned long long)v);
        }
    };
    static Counts counts;
    ++counts.n[what];
}

// What a target does, step by step, on stderr when SMMUSIM_FUZZ_TRACE is set:
// run a saved input (fuzz_X crash-...) with it to see how it breaks.
inline bool tracing() {
    static const bool on = std::getenv("SMMUSIM_FUZZ_TRACE") != nullptr;
    return on;
}
#define FUZZ_TRACE(...)                                                 \
    do {                                                                \
        if (::smmu::fuzz::tracing()) std::fprintf(stderr, __VA_ARGS__); \
    } while (0)

// The memory window tables live in: kPages 4K pages from kWindow. Page 0
// holds the stream table, page 1 the CD tables, pages 2 and 3 the command and
// event queues, the rest the page tables build_setup() lays out.
inline constexpr uint64_t kWindow = 0x40000000;
inline constexpr unsigned kPages = 64;
inline constexpr uint64_t kCmdqBase = kWindow + 2 * 0x1000, kEventqBase = kWindow + 3 * 0x1000;
inline constexpr uint64_t kVa = 0x10000000, kIpa = 0x80000000, kPa = 0x100000000, kMapBytes = 0x200000;
inline constexpr uint64_t kWindowBytes = uint64_t{kPages} << 12;

// A page of the window (table pointers), or rarely any address.
inline uint64_t window_page(Input& in) {
    const uint8_t b = in.u8();
    if (b == 0xff) return in.u64() & ~uint64_t{0xfff};
    return kWindow + (uint64_t{b % kPages} << 12);
}
// An 8-byte aligned address in the window.
inline uint64_t window_word(Input& in) { return kWindow + (in.u16() % (kWindowBytes / 8)) * 8; }

// Every field of a structure set from the input: address fields to a window
// page (plus a 64-byte aligned offset), the others to a small or any value.
template <std::size_t N, std::size_t F>
void fill_fields(arch::Words<N>& s, const arch::FieldDef (&fields)[F], Input& in) {
    for (const arch::FieldDef& f : fields) {
        if (f.address) f.set(s.w.data(), window_page(in) + (in.below(64) << 6));
        else f.set(s.w.data(), in.number());
    }
}

inline arch::Ste random_ste(Input& in) {
    arch::Ste s;
    fill_fields(s, arch::ste::kAll, in);
    if (in.u8() & 3) s.set(arch::ste::V, 1);  // mostly valid
    return s;
}

inline arch::ContextDescriptor random_cd(Input& in) {
    arch::ContextDescriptor c;
    fill_fields(c, arch::cd::kAll, in);
    if (in.u8() & 3) c.set(arch::cd::V, 1);
    return c;
}

// A table, block or page descriptor pointing into the window, with random
// attributes; or a raw word.
inline uint64_t random_descriptor(Input& in) {
    const uint8_t kind = in.u8();
    if (kind >= 0xe0) return in.u64();
    const uint64_t attrs = in.u64() & 0xfff0000000000ffcull;  // upper attributes, AP/SH/AF/nG...
    const uint64_t type = (kind & 1) ? 3 : 1;                 // table/page or block
    return (window_page(in) & 0x000ffffffffff000ull) | attrs | type;
}

// A level-1 stream or CD table descriptor into the window.
inline uint64_t random_l1(Input& in) { return window_page(in) | in.below(32) | (in.flag() ? 1 : 0); }

// A command: a known opcode mostly, fields small, addresses in the window.
inline arch::Command random_command(Input& in) {
    static constexpr uint8_t kOps[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x10, 0x11, 0x12, 0x13, 0x20,
                                       0x21, 0x22, 0x28, 0x2a, 0x30, 0x40, 0x41, 0x44, 0x46};
    arch::Command c;
    c.w[0] = in.number();
    c.w[1] = in.number();
    const uint8_t pick = in.u8();
    c.set(arch::cmd::opcode, pick < 0xf0 ? kOps[pick % sizeof kOps] : in.u8());
    if (in.u8() & 7) c.set(arch::cmd::SSec, 0);
    if (in.flag()) c.set(arch::cmd::SID, in.below(32));
    return c;
}

// Capabilities: usually the defaults, sometimes features off and smaller sizes.
inline SmmuCaps random_caps(Input& in) {
    SmmuCaps c;
    const uint8_t b = in.u8();
    if (b & 0x80) {
        c.oas = arch::pa_bits(in.below(7));
        c.sid_bits = in.below(17);
        c.ssid_bits = in.below(21);
        const uint16_t f = in.u16();
        c.s1p = f & 1; c.s2p = f & 2; c.vmid16 = f & 4; c.asid16 = f & 8; c.cd2l = f & 16;
        c.two_level_strtab = f & 32; c.gran4k = f & 64; c.gran16k = f & 128; c.gran64k = f & 256;
        c.ats = f & 512;
        // The ID register values the ILLEGAL rules read (IDR0.STALL_MODEL, HTTU, IDR3.STT).
        c.stall_model = (f >> 10) % 3;
        c.httu = (f >> 12) % 3;
        c.stt = f & 0x4000;
        if (!c.s1p && !c.s2p) c.s2p = true;  // an SMMU implements at least one stage (IHI 0070 6.3.1)
    }
    return c;
}

// The stream table: linear or 2-level, at the window's first page (or anywhere).
inline StreamTableConfig random_strtab(Input& in) {
    StreamTableConfig st;
    st.base = window_page(in);
    st.log2size = in.below(12);
    st.split = (in.below(3) * 2) + 6;  // 6, 8, 10
    st.two_level = in.flag();
    return st;
}

// A valid configuration most inputs then mutate: a linear stream table of 32
// STEs at page 0 whose first 4 are bypass, stage 1, stage 2, nested or abort
// as the input says, 4 CDs each at page 1, one stage 2 table (IPA kIpa ->
// kPa, the window identity mapped so nested CD and table IPAs resolve) and one
// stage 1 table (VA kVa -> kIpa), leaf sizes and permissions from the input.
inline StreamTableConfig build_setup(MemoryPort& mem, Input& in) {
    StreamTableConfig st;
    st.base = kWindow;
    st.log2size = 5;
    driver::TableArena arena("fuzz", kWindow + 4 * 0x1000, kWindow + 4 * 0x1000, kWindowBytes - 4 * 0x1000);
    const arch::Granule g1 = in.flag() ? arch::Granule::K16 : arch::Granule::K4;
    const unsigned ias1 = in.flag() ? 39 : 48;
    uint64_t s1_root = 0, s2_root = 0;
    try {
        driver::PageTable s2(mem, arena, 2, arch::Granule::K4, 48);
        driver::PageTable s1(mem, arena, 1, g1, ias1);
        s2_root = s2.root();
        s1_root = s1.root();
        static constexpr uint64_t kLeaf[] = {0, 0x1000, 0x4000, 0x200000};
        driver::PageAttrs a1{in.u8() % 8 != 0, in.flag(), in.flag()}, a2{in.u8() % 8 != 0, in.u8() % 4 != 0, in.flag()};
        s2.map(kWindow, kWindow, kWindowBytes, {true, true, false}, 0x1000);
        s2.map(kIpa, kPa, kMapBytes, a2, kLeaf[in.below(4) & ~1u]);  // 4K pages or a 2M block
        const uint64_t leaf1 = kLeaf[in.below(4)];
        s1.map(kVa, kIpa, kMapBytes, a1, leaf1 % arch::granule_bytes(g1) == 0 ? leaf1 : 0);
    } catch (const sim::InputError&) {
    }
    static constexpr uint8_t kConfigs[] = {4, 5, 6, 7, 0};
    for (uint32_t sid = 0; sid < 4; ++sid) {
        arch::Ste ste;
        ste.set(arch::ste::V, 1);
        ste.set(arch::ste::Config, kConfigs[in.below(5)]);
        const uint64_t cds = kWindow + 0x1000 + sid * 0x100;
        ste.set(arch::ste::S1ContextPtr, cds);
        ste.set(arch::ste::S1CDMax, in.below(3));
        ste.set(arch::ste::S1DSS, in.below(3));
        ste.set(arch::ste::S2VMID, in.below(4));
        ste.set(arch::ste::S2T0SZ, 16);
        ste.set(arch::ste::S2SL0, 2);
        ste.set(arch::ste::S2PS, 5);
        ste.set(arch::ste::S2AA64, 1);
        ste.set(arch::ste::S2TTB, s2_root);
        mem.write_words(st.base + sid * 64ull, ste.w.data(), 8);
        for (unsigned ssid = 0; ssid < 4; ++ssid) {
            arch::ContextDescriptor cd;
            cd.set(arch::cd::V, 1);
            cd.set(arch::cd::T0SZ, 64 - ias1);
            cd.set(arch::cd::TG0, static_cast<uint64_t>(g1));
            cd.set(arch::cd::IPS, 5);
            cd.set(arch::cd::AA64, 1);
            cd.set(arch::cd::EPD1, 1);
            cd.set(arch::cd::ASID, in.below(4));
            cd.set(arch::cd::TTB0, s1_root);
            mem.write_words(cds + ssid * 64ull, cd.w.data(), 8);
        }
    }
    return st;
}

inline TranslationRequest random_request(Input& in) {
    TranslationRequest r;
    r.sid = in.below(8) == 0 ? in.u32() : in.below(8) < 6 ? in.below(4) : in.below(32);
    r.ssv = in.flag();
    r.ssid = in.below(8) == 0 ? in.u32() & 0xfffff : in.below(4);
    const uint8_t shape = in.u8();
    static constexpr uint64_t kBases[] = {kVa, kIpa, kWindow};
    if (shape < 0x20) r.iova = in.u64();
    else if (shape < 0x40) r.iova = (uint64_t{in.u16()} << (12 + in.below(28))) | (in.u16() & 0xfff);
    else r.iova = kBases[shape % 3] + in.u32() % (kMapBytes + 0x2000);
    r.write = shape & 1;
    r.privileged = shape & 2;
    r.instruction = shape & 4;
    return r;
}

// Caches and resources: each cache absent or small (so evictions happen),
// any geometry and replacement policy; slots and ports limited or not.
inline CacheParams random_cache(Input& in) {
    static constexpr unsigned kEntries[] = {0, 1, 2, 4, 8, 16};
    CacheParams c;
    c.geometry.entries = kEntries[in.below(6)];
    const unsigned ways = 1u << in.below(5);
    c.geometry.ways = c.geometry.entries && c.geometry.entries % ways == 0 ? ways : 1;
    c.geometry.policy = static_cast<Replacement>(in.below(4));
    c.latency = in.below(4);
    return c;
}
inline MicroArchParams random_uarch(Input& in) {
    MicroArchParams p;
    p.clock_mhz = 1 + in.below(200) * 10;
    p.iotlb = random_cache(in);
    p.config = random_cache(in);
    p.ipa = random_cache(in);
    p.utlb = random_cache(in);
    for (CacheParams& w : p.walk) w = random_cache(in);
    p.translation_slots = in.below(4);
    p.walk_slots = in.below(4);
    p.tlb_ports = in.below(3);
    p.walk_port_bytes = in.below(3) * 8;
    p.pipeline_cycles = in.below(4);
    p.cmd_cycles = in.below(4);
    p.inv_cycles = in.below(4);
    p.seed = in.u8();
    return p;
}

// Same outcome, PA and fault as the missing-invalidation checker compares.
inline bool same_result(const TranslationResult& a, const TranslationResult& b) {
    return a.outcome == b.outcome && (!a.ok() || a.pa == b.pa) &&
           (a.outcome != TranslationResult::Outcome::Faulted || a.fault.id == b.fault.id);
}

// Fills memory from the input: each record an address in the window and one
// structure written there. Returns after `max` records or at the input's end.
inline void fill_memory(MemoryPort& mem, Input& in, unsigned max) {
    for (unsigned n = 0; n < max && !in.done(); ++n) {
        const uint64_t at = window_word(in);
        switch (in.below(6)) {
            case 0: { const arch::Ste s = random_ste(in); mem.write_words(at & ~uint64_t{63}, s.w.data(), 8); break; }
            case 1: { const arch::ContextDescriptor c = random_cd(in); mem.write_words(at & ~uint64_t{63}, c.w.data(), 8); break; }
            case 2: case 3: mem.write64(at, random_descriptor(in)); break;
            case 4: mem.write64(at, random_l1(in)); break;
            default: mem.write64(at, in.u64()); break;
        }
    }
}

}  // namespace smmu::fuzz
