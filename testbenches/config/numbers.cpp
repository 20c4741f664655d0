#include "testbenches/config/numbers.h"

#include <charconv>

#include "testbenches/config/input_error.h"

namespace smmu::sim {

std::optional<uint64_t> parse_uint(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    // from_chars takes no sign and no prefix for an unsigned type, and says
    // when the value is beyond 2^64-1; all of `s` must be the number.
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<uint64_t> parse_size(std::string_view s) {
    unsigned shift = 0;
    if (!s.empty()) {
        switch (s.back()) {
            case 'K': case 'k': shift = 10; break;
            case 'M': case 'm': shift = 20; break;
            case 'G': case 'g': shift = 30; break;
        }
    }
    if (shift) s.remove_suffix(1);
    std::optional<uint64_t> v = parse_uint(s);
    if (!v || *v > (UINT64_MAX >> shift)) return std::nullopt;
    return *v << shift;
}

std::string size_name(uint64_t bytes) {
    static constexpr struct { unsigned shift; const char* suffix; } units[] = {{30, "G"}, {20, "M"}, {10, "K"}};
    for (const auto& u : units) {
        const uint64_t unit = uint64_t{1} << u.shift;
        if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes >> u.shift) + u.suffix;
    }
    return hex(bytes);
}

}  // namespace smmu::sim
