// The one cache template every SMMU cache is built from (IOTLB, configuration
// cache, walk caches, IPA cache, micro-TLBs): bounded, set-associative, with a
// real replacement policy and statistics. What an entry is and when it
// matches belong to the user: lookups take the set key (what picks the set)
// and a predicate (the architecture's tag match), so a 2 MB block entry is
// found by indexing with the block's own page number, not the 4 KB one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace smmu {

enum class Replacement : uint8_t { Lru, Plru, Random, RoundRobin };

std::optional<Replacement> replacement_from_name(const std::string& name);
const char* replacement_name(Replacement r);

struct CacheGeometry {
    unsigned entries = 0;   // 0 = no cache (every lookup misses, nothing is kept)
    unsigned ways = 1;      // ways == entries: fully associative
    Replacement policy = Replacement::Lru;
    uint64_t seed = 1;      // Random: the run's seed, so runs repeat exactly
};

struct CacheStats {
    uint64_t lookups = 0, hits = 0, misses = 0, fills = 0, evictions = 0, invalidations = 0;
};

template <class Entry>
class Cache {
public:
    // Throws std::invalid_argument for a geometry no cache could have:
    // entries not a multiple of ways, or PLRU with ways not a power of two.
    // Config loaders check first. Any number of sets works (gem5's defaults
    // have 7 and 87); a power of two indexes with a mask, others by modulo.
    explicit Cache(const CacheGeometry& g);

    bool enabled() const { return sets_ != 0; }
    unsigned sets() const { return sets_; }
    unsigned ways() const { return ways_; }

    // The first valid entry of the set `set_key` selects that satisfies `match`;
    // a hit makes it the most recently used. Counted as one lookup.
    template <class Match>
    Entry* lookup(uint64_t set_key, Match match) {
        Entry* e = find(set_key, match);
        count_lookup(e != nullptr);
        return e;
    }
    // The same without counting: a lookup that probes several sets (one per
    // page size a TLB holds) counts itself once with count_lookup().
    template <class Match>
    Entry* find(uint64_t set_key, Match match);
    void count_lookup(bool hit) {
        ++stats_.lookups;
        ++(hit ? stats_.hits : stats_.misses);
    }

    // Puts `e` in the set `set_key` selects: an entry `same` says is the same
    // translation is overwritten, else an invalid way, else the victim.
    template <class Same>
    void insert(uint64_t set_key, const Entry& e, Same same);

    // Invalidates every entry `pred` accepts; returns how many.
    template <class Pred>
    unsigned invalidate_if(Pred pred);
    unsigned invalidate_all() {
        return invalidate_if([](const Entry&) { return true; });
    }

    // Valid entries, for checkers and tests.
    template <class Fn>
    void for_each(Fn fn) const {
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (stamps_[i]) fn(entries_[i]);
    }
    unsigned occupancy() const;
    const CacheStats& stats() const { return stats_; }
    // Bytes one entry takes: every slot is allocated when the cache is built.
    static constexpr std::size_t slot_bytes();

private:
    unsigned set_of(uint64_t key) const {
        return static_cast<unsigned>(set_mask_ ? key & set_mask_ : (sets_ == 1 ? 0 : key % sets_));
    }
    std::size_t first(unsigned set) const { return std::size_t{set} * ways_; }
    void touch(unsigned set, unsigned way);
    unsigned victim(unsigned set);

    unsigned sets_ = 0, ways_ = 0;
    uint64_t set_mask_ = 0;  // sets - 1 when sets is a power of two (> 1)
    Replacement policy_;
    // Slot i of set s is first(s) + way. Its validity and last use live apart
    // from the entries, packed: a fill finds its way (the same translation,
    // a free one, the LRU victim) in one pass over 8 bytes a way.
    std::vector<Entry> entries_;
    std::vector<uint64_t> stamps_;  // 0: invalid; else the clock of the last use (LRU)
    std::vector<uint8_t> plru_;     // ways-1 tree bits per set
    std::vector<unsigned> rr_;      // next way per set
    std::mt19937_64 rng_;
    uint64_t clock_ = 0;
    CacheStats stats_;
};

// ---------------------------------------------------------------------------

template <class Entry>
constexpr std::size_t Cache<Entry>::slot_bytes() {
    return sizeof(Entry) + sizeof(uint64_t);
}

template <class Entry>
Cache<Entry>::Cache(const CacheGeometry& g) : policy_(g.policy), rng_(g.seed) {
    if (g.entries == 0) return;
    auto pow2 = [](unsigned v) { return v != 0 && (v & (v - 1)) == 0; };
    if (g.ways == 0 || g.entries % g.ways != 0)
        throw std::invalid_argument("cache entries (" + std::to_string(g.entries) + ") must be a multiple of ways (" +
                                    std::to_string(g.ways) + ")");
    if (g.policy == Replacement::Plru && !pow2(g.ways))
        throw std::invalid_argument("plru needs a power-of-two number of ways");
    sets_ = g.entries / g.ways;
    ways_ = g.ways;
    if (sets_ > 1 && pow2(sets_)) set_mask_ = sets_ - 1;
    entries_.resize(g.entries);
    stamps_.assign(g.entries, 0);
    plru_.assign(std::size_t{sets_} * ways_, 0);
    rr_.assign(sets_, 0);
}

template <class Entry>
template <class Match>
Entry* Cache<Entry>::find(uint64_t set_key, Match match) {
    if (!enabled()) return nullptr;
    const unsigned set = set_of(set_key);
    const std::size_t base = first(set);
    for (unsigned w = 0; w < ways_; ++w) {
        if (stamps_[base + w] && match(entries_[base + w])) {
            touch(set, w);
            return &entries_[base + w];
        }
    }
    return nullptr;
}

template <class Entry>
template <class Same>
void Cache<Entry>::insert(uint64_t set_key, const Entry& e, Same same) {
    if (!enabled()) return;
    const unsigned set = set_of(set_key);
    const std::size_t base = first(set);
    // The way holding the same translation, else the first free one, else
    // the victim: one pass.
    unsigned way = ways_, free = ways_;
    for (unsigned w = 0; w < ways_; ++w) {
        if (!stamps_[base + w]) {
            if (free == ways_) free = w;
        } else if (same(entries_[base + w])) {
            way = w;
            break;
        }
    }
    if (way == ways_) way = free;
    if (way == ways_) {
        way = victim(set);
        ++stats_.evictions;
    }
    entries_[base + way] = e;
    ++stats_.fills;
    touch(set, way);
}

template <class Entry>
template <class Pred>
unsigned Cache<Entry>::invalidate_if(Pred pred) {
    unsigned n = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (stamps_[i] && pred(entries_[i])) {
            stamps_[i] = 0;
            ++n;
        }
    }
    stats_.invalidations += n;
    return n;
}

template <class Entry>
unsigned Cache<Entry>::occupancy() const {
    unsigned n = 0;
    for (uint64_t stamp : stamps_) n += stamp != 0;
    return n;
}

template <class Entry>
void Cache<Entry>::touch(unsigned set, unsigned way) {
    stamps_[first(set) + way] = ++clock_;
    if (policy_ == Replacement::Plru) {
        // Tree PLRU: every node on the path points away from the way just used.
        uint8_t* bits = &plru_[std::size_t{set} * ways_];
        unsigned node = 0;
        for (unsigned span = ways_; span > 1; span /= 2) {
            const bool right = (way % span) >= span / 2;
            bits[node] = right ? 0 : 1;  // 1 = victim on the right
            node = 2 * node + (right ? 2 : 1);
        }
    }
}

template <class Entry>
unsigned Cache<Entry>::victim(unsigned set) {
    const uint64_t* stamp = &stamps_[first(set)];
    switch (policy_) {
        case Replacement::Lru: {
            unsigned v = 0;
            for (unsigned w = 1; w < ways_; ++w)
                if (stamp[w] < stamp[v]) v = w;
            return v;
        }
        case Replacement::Plru: {
            const uint8_t* bits = &plru_[std::size_t{set} * ways_];
            unsigned node = 0, way = 0;
            for (unsigned span = ways_; span > 1; span /= 2) {
                const bool right = bits[node] != 0;
                if (right) way += span / 2;
                node = 2 * node + (right ? 2 : 1);
            }
            return way;
        }
        case Replacement::Random: return static_cast<unsigned>(rng_() % ways_);
        case Replacement::RoundRobin: {
            const unsigned v = rr_[set];
            rr_[set] = (v + 1) % ways_;
            return v;
        }
    }
    return 0;
}

}  // namespace smmu
