// The cache template: geometry, every replacement policy, set selection,
// same-entry refill, invalidation and block entries indexed by their own size.
#include <algorithm>

#include <catch2/catch.hpp>

#include "models/smmu/cache/cache.h"

using smmu::Cache;
using smmu::CacheGeometry;
using smmu::Replacement;

namespace {
struct E {
    uint64_t tag = 0;
};
auto tag_is(uint64_t t) {
    return [t](const E& e) { return e.tag == t; };
}
// One set of four ways: the set key is always 0.
Cache<E> four_way(Replacement p, uint64_t seed = 1) { return Cache<E>(CacheGeometry{4, 4, p, seed}); }
void fill(Cache<E>& c, std::initializer_list<uint64_t> tags) {
    for (uint64_t t : tags) c.insert(0, E{t}, tag_is(t));
}
bool holds(Cache<E>& c, uint64_t t) {
    bool found = false;
    c.for_each([&](const E& e) { found |= e.tag == t; });
    return found;
}
}  // namespace

TEST_CASE("cache geometry is checked", "[cache]") {
    CHECK_THROWS_AS(Cache<E>(CacheGeometry{6, 4}), std::invalid_argument);   // not a multiple
    Cache<E> three(CacheGeometry{12, 4});  // 3 sets, indexed by modulo (gem5's 28-entry 4-way walk caches)
    CHECK(three.sets() == 3);
    three.insert(5, E{5}, tag_is(5));
    CHECK(three.lookup(5, tag_is(5)) != nullptr);
    CHECK(three.lookup(2, tag_is(5)) != nullptr);  // 5 % 3 == 2: the same set
    CHECK(three.lookup(3, tag_is(5)) == nullptr);
    CHECK_THROWS_AS(Cache<E>(CacheGeometry{12, 3, Replacement::Plru}), std::invalid_argument);
    Cache<E> c(CacheGeometry{2048, 4});
    CHECK(c.sets() == 512);
    CHECK(c.ways() == 4);
    Cache<E> full(CacheGeometry{32, 32});
    CHECK(full.sets() == 1);
}

TEST_CASE("a disabled cache misses and keeps nothing", "[cache]") {
    Cache<E> c(CacheGeometry{0, 1});
    CHECK_FALSE(c.enabled());
    c.insert(0, E{1}, tag_is(1));
    CHECK(c.lookup(0, tag_is(1)) == nullptr);
    CHECK(c.stats().lookups == 1);
    CHECK(c.stats().misses == 1);
    CHECK(c.occupancy() == 0);
}

TEST_CASE("LRU evicts the least recently used way", "[cache]") {
    auto c = four_way(Replacement::Lru);
    fill(c, {1, 2, 3, 4});
    REQUIRE(c.lookup(0, tag_is(1)) != nullptr);  // 2 is now the oldest
    fill(c, {5});
    CHECK(holds(c, 1));
    CHECK_FALSE(holds(c, 2));
    CHECK(c.stats().evictions == 1);
    CHECK(c.stats().hits == 1);
    CHECK(c.stats().fills == 5);
}

TEST_CASE("tree PLRU follows the bits away from recent use", "[cache]") {
    auto c = four_way(Replacement::Plru);
    fill(c, {1, 2, 3, 4});  // ways 0..3; the tree now points at way 0
    REQUIRE(c.lookup(0, tag_is(1)) != nullptr);  // use way 0: the tree points right, then at way 2
    fill(c, {5});
    CHECK_FALSE(holds(c, 3));  // LRU would have evicted 2
    CHECK(holds(c, 2));
    fill(c, {6});  // way 2 refilled -> root points left, left subtree points at way 1
    CHECK_FALSE(holds(c, 2));
}

TEST_CASE("round-robin evicts ways in turn", "[cache]") {
    auto c = four_way(Replacement::RoundRobin);
    fill(c, {1, 2, 3, 4});
    c.lookup(0, tag_is(1));  // use does not matter
    fill(c, {5});
    CHECK_FALSE(holds(c, 1));
    fill(c, {6});
    CHECK_FALSE(holds(c, 2));
    fill(c, {7});
    CHECK_FALSE(holds(c, 3));
}

TEST_CASE("random replacement repeats with the same seed", "[cache]") {
    auto victims = [](uint64_t seed) {
        auto c = four_way(Replacement::Random, seed);
        fill(c, {1, 2, 3, 4});
        std::vector<uint64_t> gone;
        for (uint64_t t = 5; t < 25; ++t) {
            fill(c, {t});
            for (uint64_t old = 1; old < t; ++old)
                if (!holds(c, old) && std::find(gone.begin(), gone.end(), old) == gone.end()) gone.push_back(old);
        }
        return gone;
    };
    CHECK(victims(7) == victims(7));
    CHECK(victims(7).size() == 20);
    CHECK(victims(7) != victims(8));
}

TEST_CASE("the set key picks the set, sets do not evict each other", "[cache]") {
    Cache<E> c(CacheGeometry{4, 2});  // 2 sets of 2
    c.insert(0, E{10}, tag_is(10));
    c.insert(2, E{12}, tag_is(12));
    c.insert(1, E{11}, tag_is(11));
    c.insert(4, E{14}, tag_is(14));  // set 0 again: evicts 10
    CHECK(c.stats().evictions == 1);
    CHECK(c.lookup(1, tag_is(11)) != nullptr);
    CHECK(c.lookup(0, tag_is(10)) == nullptr);
    CHECK(c.lookup(0, tag_is(11)) == nullptr);  // right tag, wrong set
}

TEST_CASE("refilling the same entry overwrites it", "[cache]") {
    auto c = four_way(Replacement::Lru);
    fill(c, {1, 2});
    c.insert(0, E{1}, tag_is(1));
    CHECK(c.occupancy() == 2);
    CHECK(c.stats().evictions == 0);
}

TEST_CASE("invalidate_if removes exactly the matching entries", "[cache]") {
    Cache<E> c(CacheGeometry{8, 2});
    for (uint64_t t = 0; t < 8; ++t) c.insert(t, E{t}, tag_is(t));
    CHECK(c.invalidate_if([](const E& e) { return e.tag % 2 == 1; }) == 4);
    CHECK(c.occupancy() == 4);
    CHECK(c.stats().invalidations == 4);
    CHECK(holds(c, 2));
    CHECK_FALSE(holds(c, 3));
    CHECK(c.invalidate_all() == 4);
    CHECK(c.occupancy() == 0);
}

TEST_CASE("a 2 MB block indexed by its own page number hits for every address in it", "[cache]") {
    struct Tlb {
        uint64_t base;
        unsigned shift;
    };
    Cache<Tlb> c(CacheGeometry{64, 4});
    const uint64_t block = 0x40200000;  // 2 MB aligned
    c.insert(block >> 21, Tlb{block, 21}, [&](const Tlb& t) { return t.base == block; });
    for (uint64_t va : {block, block + 0x1000, block + 0x1fffff}) {
        const Tlb* hit = c.lookup(va >> 21, [&](const Tlb& t) { return (va >> t.shift) == (t.base >> t.shift); });
        CHECK(hit != nullptr);
    }
    // gem5 indexed by the 4K page number: the same entry is then in the wrong set.
    CHECK(c.lookup((block + 0x3000) >> 12, [&](const Tlb& t) { return t.base == block; }) == nullptr);
}
