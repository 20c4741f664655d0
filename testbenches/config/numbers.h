// Number syntax shared by config files, --set values and traces.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smmu::sim {

// The largest time in ns a trace record, a script line, or the sum of a
// script's waits may reach: 10^15 ns (about 11.6 days of simulated time) is
// 10^18 ps, far below the 2^64 ps an sc_time holds, so the setup time the host
// adds before a trace starts cannot push it past the end (sc_time would
// saturate silently and later records would run at one instant).
inline constexpr uint64_t kMaxTimeNs = 1'000'000'000'000'000;

// Decimal or 0x-hex, no sign; nullopt when malformed or above 2^64-1.
std::optional<uint64_t> parse_uint(std::string_view s);

// parse_uint with an optional binary suffix K, M or G (either case): "2M" = 0x200000.
std::optional<uint64_t> parse_size(std::string_view s);

// "4K", "2M", "1G": the largest of G, M, K that divides `bytes`, else hex.
std::string size_name(uint64_t bytes);

}  // namespace smmu::sim
