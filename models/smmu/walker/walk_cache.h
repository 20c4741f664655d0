// Walk caches (one per stage and level, S1 L0-L3 and S2 L0-L3) and the IPA
// cache, all instances of the one cache template. A walk-cache entry holds the
// descriptor the walker read at that level for an input-address prefix:
// a table descriptor lets a later walk skip the levels above, a leaf ends it.
// Stage 1 entries are tagged VMID + ASID, stage 2 entries VMID (the tables a
// VMID/ASID pair names; software invalidates when it changes them).
#pragma once
#include <array>
#include <cstdint>

#include "models/smmu/cache/cache.h"
#include "models/smmu/timing/resources.h"
#include "models/smmu/tlb/tlb.h"

namespace smmu {

struct WalkEntry {
    uint16_t vmid = 0;
    uint16_t asid = 0;       // stage 1 only
    uint64_t prefix = 0;     // input address >> level_shift(level)
    uint8_t shift = 0;       // level_shift(level): the entry covers prefix << shift, 2^shift bytes
    uint64_t desc = 0;       // the descriptor read at this level
    bool leaf = false;
    // Stage 1 hierarchical controls accumulated down to this level.
    bool table_read_only = false, table_no_unpriv = false, table_uxn = false, table_pxn = false;
    Cycle ready = 0;

    bool overlaps(uint64_t base, uint64_t size) const {
        const uint64_t start = prefix << shift, len = uint64_t{1} << shift;
        if (size == 0) return base - start < len;
        return base < start + len && start < base + size;
    }
};

struct CacheParams {
    CacheGeometry geometry;
    unsigned latency = 1;  // cycles per lookup
};

// Index into WalkCaches::level: stage 1 levels 0-3, then stage 2 levels 0-3.
constexpr unsigned walk_cache_index(unsigned stage, unsigned level) { return (stage - 1) * 4 + level; }
// Their names in stats and configs: walk_s1_l0 ... walk_s2_l3.
const char* walk_cache_name(unsigned index);

struct WalkCaches {
    WalkCaches(const std::array<CacheParams, 8>& walk, const CacheParams& ipa);

    std::array<Cache<WalkEntry>, 8> level;
    std::array<unsigned, 8> level_latency{};
    Tlb ipa;
    unsigned ipa_latency = 1;

    bool any_enabled(unsigned stage) const;
    // Latency of one parallel lookup in a stage's walk caches.
    unsigned stage_latency(unsigned stage) const;
};

}  // namespace smmu
