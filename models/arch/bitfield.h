// Typed views over the little-endian arrays of 64-bit words that every SMMUv3
// structure is made of (Arm IHI 0070, "Data structure formats"). A field's
// position is written once, as a FieldDef; accessors and the JSON decoder both
// read that one definition.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace smmu::arch {

// One field of a multi-word structure: dword index and bit range [msb:lsb].
// `address` marks fields that hold address bits in place (low bits zero), as the
// architecture stores table and queue pointers: get() returns the byte address.
struct FieldDef {
    std::string_view name;
    uint8_t word;
    uint8_t msb;
    uint8_t lsb;
    bool address = false;

    constexpr uint64_t mask() const {
        return (msb - lsb == 63 ? ~uint64_t{0} : ((uint64_t{1} << (msb - lsb + 1)) - 1)) << lsb;
    }
    constexpr uint64_t get(const uint64_t* w) const {
        const uint64_t bits = w[word] & mask();
        return address ? bits : bits >> lsb;
    }
    // Values wider than the field are truncated to it, as a hardware register
    // write would be; callers that must reject them check fits() first.
    constexpr void set(uint64_t* w, uint64_t v) const {
        const uint64_t bits = address ? v : v << lsb;
        w[word] = (w[word] & ~mask()) | (bits & mask());
    }
    constexpr bool fits(uint64_t v) const {
        if (address) return (v & ~mask()) == 0;
        const unsigned width = msb - lsb + 1u;
        return width >= 64 || v < (uint64_t{1} << width);
    }
};

// A fixed-size structure of N dwords with field access by FieldDef.
template <std::size_t N>
struct Words {
    static constexpr std::size_t kDwords = N;
    static constexpr std::size_t kBytes = N * 8;
    std::array<uint64_t, N> w{};

    constexpr uint64_t get(const FieldDef& f) const { return f.get(w.data()); }
    constexpr void set(const FieldDef& f, uint64_t v) { f.set(w.data(), v); }
    friend bool operator==(const Words& a, const Words& b) { return a.w == b.w; }
    friend bool operator!=(const Words& a, const Words& b) { return a.w != b.w; }
};

// Single-word register fields share the same definition (word 0).
constexpr FieldDef reg_field(std::string_view name, uint8_t msb, uint8_t lsb, bool address = false) {
    return FieldDef{name, 0, msb, lsb, address};
}

}  // namespace smmu::arch
