// The SMMU's translation machinery with its caches and resources, in cycles:
//
//   arrival -> translation slot -> micro-TLB (per port, by stream)
//           -> configuration cache (STE+CD per SID/SSID; miss: fetch)
//           -> TLB lookup port -> IOTLB (by VMID/ASID/address)
//           -> walk slot -> walker (walk caches, IPA cache, table-walk port)
//           -> fill TLBs -> + pipeline cycles = done
//
// Each translation is computed whole when it arrives (arrivals come in time
// order), booking the resources it crosses; a cache entry filled by a walk
// still in flight carries the cycle it lands, so a second miss to the same
// page waits for the first walk instead of walking again (miss merging).
// docs/timing.md has the diagram and the formulas.
#pragma once
#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/arch/command.h"
#include "models/smmu/timing/resources.h"
#include "models/smmu/timing/timed_port.h"
#include "models/smmu/tlb/tlb.h"
#include "models/smmu/translation/translator.h"
#include "models/smmu/walker/walk_cache.h"

namespace smmu {

struct MicroArchParams {
    unsigned clock_mhz = 1000;
    CacheParams iotlb, config, ipa, utlb;  // entries 0: absent
    std::array<CacheParams, 8> walk{};     // walk_s1_l0 .. walk_s2_l3
    unsigned translation_slots = 0;        // 0 = unlimited
    unsigned walk_slots = 0;
    unsigned tlb_ports = 0;                // IOTLB lookups per cycle
    unsigned walk_port_bytes = 0;          // table-walk port bytes per cycle
    unsigned pipeline_cycles = 2;
    unsigned cmd_cycles = 1;               // every command
    unsigned inv_cycles = 0;               // more for each CFGI/TLBI/ATC_INV
    uint64_t seed = 1;                     // random replacement

    // Rounded to the nearest picosecond (docs/timing.md): 1500 MHz is 667 ps.
    uint64_t period_ps() const { return (1000000ull + clock_mhz / 2) / clock_mhz; }
};

// The TLB entry a translation fills: tagged by the regime (`ctx`) and the
// stream (`req`), its leaf (`r`), usable from cycle `ready`.
TlbEntry make_tlb_entry(const TranslationRequest& req, const TranslationContext& ctx, const TranslationResult& r,
                        Cycle ready = 0);

// Consulted once the configuration is known (ATS Translation Requests and
// Translated transactions, models/smmu/ats): false stops the translation
// there (outcome Aborted, `gated`), before any TLB lookup or walk.
using TranslationGate = std::function<bool(const TranslationContext&)>;

struct TimedTranslation {
    TranslationResult result;
    Cycle accepted = 0;  // a translation slot took it (its arrival, or later when all were busy)
    Cycle done = 0;
    bool utlb_hit = false, tlb_hit = false, config_hit = false, walked = false;
    // The phases of a miss, for timelines (SmmuRecorder): the configuration
    // fetch after a configuration-cache miss (config_hit false and the fetch
    // reached), the wait for a walk slot (walk_queued to walk_start) and the
    // walk (walk_start to walk_done; `walked`). Set on the miss paths only.
    Cycle config_start = 0, config_done = 0;
    Cycle walk_queued = 0, walk_start = 0, walk_done = 0;
    bool gated = false;  // the gate stopped it
};

struct UnitStats {
    uint64_t tlb_misses = 0;            // PMCG TLB_MISS: IOTLB lookups that missed
    uint64_t config_misses = 0;         // PMCG CONFIG_CACHE_MISS
    uint64_t walks = 0;
    std::map<unsigned, uint64_t> reads_per_walk;  // table-walk reads -> walks
    uint64_t merged = 0;                // hits on an entry still being filled
};

class TranslationUnit {
public:
    TranslationUnit(MemoryPort& mem, const SmmuCaps& caps, const MicroArchParams& p);

    // With a `gate` (ATS traffic, which comes through the ATS interface, not
    // a TBU) the micro-TLB is not used.
    TimedTranslation translate(const StreamTableConfig& st, const TranslationRequest& req, unsigned port,
                               Cycle arrival, AccessLog& log, const TranslationGate* gate = nullptr);
    // Removes what the command's scope covers; returns the entries removed.
    // Commands that invalidate nothing (SYNC, PREFETCH...) return 0.
    unsigned invalidate(const arch::Command& c);
    // PREFETCH_CONFIG / PREFETCH_ADDR: fill without recording faults. `now`:
    // the command's timeline (the port's cursor), which the fetch advances and
    // whose cycle the filled entries become ready at; null: from the last arrival.
    void prefetch(const StreamTableConfig& st, const arch::Command& c, Cycle* now = nullptr);

    // The last cycle any accepted translation completes (CMD_SYNC waits for it).
    Cycle busy_until() const { return busy_until_; }
    // A transaction that completes later than its translation did (the event
    // record of a fault is written first; SMMUEN=0 bypass has no translation).
    void extend_busy_until(Cycle t) { busy_until_ = std::max(busy_until_, t); }
    TimedPort& port() { return timed_; }
    // The StreamID's STE as the SMMU fetches it outside a translation (an
    // automatic PRG Response's STE.PPAR, IHI 0070 8.1): read through the port
    // (its cursor, if set, times the reads), not cached.
    Expected<StreamConfig> stream_config(const StreamTableConfig& st, uint32_t sid);
    const MicroArchParams& params() const { return p_; }
    const UnitStats& stats() const { return stats_; }
    // Every cache present, with its stats ("iotlb", "config", "walk_s1_l0"...,
    // "ipa", "utlb" summed over ports).
    void for_each_cache(const std::function<void(const std::string&, const CacheStats&)>& fn) const;
    // Entries of the IOTLB, for checkers.
    const Tlb& iotlb() const { return iotlb_; }
    // Bytes one entry of the cache named as in for_each_cache takes (all are
    // allocated up front): what a config's cache sizes cost in memory.
    static std::size_t cache_entry_bytes(const std::string& name);

private:
    struct ConfigEntry {
        uint32_t sid = 0;
        bool ssv = false;
        uint32_t ssid = 0;
        TranslationContext ctx;
        Cycle ready = 0;
    };
    Tlb* utlb(unsigned port);
    static TranslationResult from_entry(const TlbEntry& e, const TranslationRequest& req);
    // Configuration for the request: cached, else fetched (and cached). Points
    // into the cache or at fetched_ (valid until the next call); null: `fault`.
    const TranslationContext* configuration(const StreamTableConfig& st, const TranslationRequest& req, Cycle& t,
                                            AccessLog& log, bool& hit, Fault& fault);

    MicroArchParams p_;
    BandwidthCalendar walk_port_, tlb_ports_;
    TimedPort timed_;
    SlotPool translation_slots_, walk_slots_;
    Translator translator_;
    Cache<ConfigEntry> config_;
    Tlb iotlb_;
    std::vector<std::unique_ptr<Tlb>> utlbs_;
    WalkCaches walks_;
    Cycle busy_until_ = 0;
    Cycle last_arrival_ = 0;
    TranslationContext fetched_;  // the last configuration fetched
    UnitStats stats_;
};

}  // namespace smmu
