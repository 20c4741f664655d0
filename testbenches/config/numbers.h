// Number syntax shared by config files, --set values and traces.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smmu::sim {

// Decimal or 0x-hex, no sign; nullopt when malformed or above 2^64-1.
std::optional<uint64_t> parse_uint(std::string_view s);

// parse_uint with an optional binary suffix K, M or G (either case): "2M" = 0x200000.
std::optional<uint64_t> parse_size(std::string_view s);

// "4K", "2M", "1G": the largest of G, M, K that divides `bytes`, else hex.
std::string size_name(uint64_t bytes);

}  // namespace smmu::sim
