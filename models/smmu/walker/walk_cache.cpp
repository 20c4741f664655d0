#include "models/smmu/walker/walk_cache.h"

#include <algorithm>

namespace smmu {

namespace {
std::array<Cache<WalkEntry>, 8> make_levels(const std::array<CacheParams, 8>& p) {
    return {Cache<WalkEntry>(p[0].geometry), Cache<WalkEntry>(p[1].geometry), Cache<WalkEntry>(p[2].geometry),
            Cache<WalkEntry>(p[3].geometry), Cache<WalkEntry>(p[4].geometry), Cache<WalkEntry>(p[5].geometry),
            Cache<WalkEntry>(p[6].geometry), Cache<WalkEntry>(p[7].geometry)};
}
}  // namespace

const char* walk_cache_name(unsigned index) {
    static const char* names[8] = {"walk_s1_l0", "walk_s1_l1", "walk_s1_l2", "walk_s1_l3",
                                   "walk_s2_l0", "walk_s2_l1", "walk_s2_l2", "walk_s2_l3"};
    return index < 8 ? names[index] : "?";
}

WalkCaches::WalkCaches(const std::array<CacheParams, 8>& walk, const CacheParams& ipa_params)
    : level(make_levels(walk)), ipa(ipa_params.geometry), ipa_latency(ipa_params.latency) {
    for (unsigned i = 0; i < 8; ++i) level_latency[i] = walk[i].latency;
}

bool WalkCaches::any_enabled(unsigned stage) const {
    for (unsigned l = 0; l < 4; ++l)
        if (level[walk_cache_index(stage, l)].enabled()) return true;
    return false;
}

unsigned WalkCaches::stage_latency(unsigned stage) const {
    unsigned lat = 0;
    for (unsigned l = 0; l < 4; ++l)
        if (level[walk_cache_index(stage, l)].enabled()) lat = std::max(lat, level_latency[walk_cache_index(stage, l)]);
    return lat;
}

}  // namespace smmu
