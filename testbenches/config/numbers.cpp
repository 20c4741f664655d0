#include "testbenches/config/numbers.h"

#include "testbenches/config/input_error.h"

namespace smmu::sim {

std::optional<uint64_t> parse_uint(std::string_view s) {
    unsigned base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return std::nullopt;
        if (v > (UINT64_MAX - d) / base) return std::nullopt;
        v = v * base + d;
    }
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
