#include "models/smmu/translation/translation_unit.h"

#include <algorithm>

#include "models/arch/pte.h"

namespace smmu {

using arch::Opcode;
namespace cmd = arch::cmd;

namespace {
uint64_t config_key(uint32_t sid, uint32_t ssid) { return sid ^ (uint64_t{ssid} * 0x9e3779b1u); }

CacheGeometry seeded(CacheGeometry g, uint64_t seed) {
    g.seed = seed;
    return g;
}

// CFGI_STE_RANGE covers 2^(Range+1) StreamIDs aligned to that size; Range 31 is all.
bool sid_in_range(uint32_t sid, const arch::Command& c) {
    const uint64_t range = c.get(cmd::Range);
    if (range >= 31) return true;
    const uint64_t span = uint64_t{1} << (range + 1);
    const uint64_t base = c.get(cmd::SID) & ~(span - 1);
    return sid >= base && sid < base + span;
}

// A stage 1 walk-cache leaf with nG=0 is a global translation: TLBI by ASID
// leaves it, TLBI by VA removes it whatever ASID walked it (IHI 0070 4.4.2).
bool global_leaf(const WalkEntry& e) { return e.leaf && !arch::Descriptor(e.desc).get(arch::pte::nG); }
}  // namespace

TranslationUnit::TranslationUnit(MemoryPort& mem, const SmmuCaps& caps, const MicroArchParams& p)
    : p_(p),
      walk_port_(p.walk_port_bytes),
      tlb_ports_(p.tlb_ports),
      timed_(mem, walk_port_, p.period_ps()),
      translation_slots_(p.translation_slots),
      walk_slots_(p.walk_slots),
      translator_(timed_, caps),
      config_(seeded(p.config.geometry, p.seed)),
      iotlb_(seeded(p.iotlb.geometry, p.seed + 1)),
      walks_(p.walk, p.ipa) {}

std::size_t TranslationUnit::cache_entry_bytes(const std::string& name) {
    if (name == "config") return Cache<ConfigEntry>::slot_bytes();
    if (name.rfind("walk_", 0) == 0) return Cache<WalkEntry>::slot_bytes();
    return Cache<TlbEntry>::slot_bytes();  // iotlb, utlb, ipa
}

Tlb* TranslationUnit::utlb(unsigned port) {
    if (p_.utlb.geometry.entries == 0) return nullptr;
    while (utlbs_.size() <= port)
        utlbs_.push_back(std::make_unique<Tlb>(seeded(p_.utlb.geometry, p_.seed + 2 + utlbs_.size())));
    return utlbs_[port].get();
}

TranslationResult TranslationUnit::from_entry(const TlbEntry& e, const TranslationRequest& req) {
    TranslationResult r;
    r.outcome = TranslationResult::Outcome::Translated;
    r.size = e.size();
    r.pa = e.out_base | (req.iova & (r.size - 1));
    r.priv = e.priv;
    r.unpriv = e.unpriv;
    r.perms = e.perms(req.privileged);
    r.global = e.global;
    return r;
}

TlbEntry make_tlb_entry(const TranslationRequest& req, const TranslationContext& ctx, const TranslationResult& r,
                        Cycle ready) {
    TlbEntry e;
    e.kind = ctx.s1 ? TlbKind::Stage1 : TlbKind::Stage2;
    e.vmid = ctx.vmid;
    e.asid = ctx.s1 ? ctx.asid : 0;
    e.global = ctx.s1 && r.global;
    e.sid = req.sid;
    e.ssv = req.ssv;
    e.ssid = req.ssv ? req.ssid : 0;
    e.shift = static_cast<uint8_t>(__builtin_ctzll(r.size));
    e.level = static_cast<uint8_t>(ctx.s2 ? r.s2_level : r.s1_level);
    e.in_base = req.iova & ~(r.size - 1);
    e.out_base = r.pa & ~(r.size - 1);
    e.priv = r.priv;
    e.unpriv = r.unpriv;
    e.ready = ready;
    return e;
}

const TranslationContext* TranslationUnit::configuration(const StreamTableConfig& st, const TranslationRequest& req,
                                                         Cycle& t, AccessLog& log, bool& hit, Fault& fault) {
    const uint32_t ssid = req.ssv ? req.ssid : 0;
    auto same = [&](const ConfigEntry& e) { return e.sid == req.sid && e.ssv == req.ssv && e.ssid == ssid; };
    hit = false;
    if (config_.enabled()) {
        t += p_.config.latency;
        if (const ConfigEntry* e = config_.lookup(config_key(req.sid, ssid), same)) {
            t = std::max(t, e->ready);
            hit = true;
            return &e->ctx;
        }
    }
    ++stats_.config_misses;
    auto ctx = translator_.resolve(st, req, log, WalkResources{&walks_, &t});
    if (!ctx.ok()) {
        fault = ctx.fault();
        return nullptr;
    }
    // Only usable configurations are cached; a bad STE is re-read every time.
    if (config_.enabled())
        config_.insert(config_key(req.sid, ssid), ConfigEntry{req.sid, req.ssv, ssid, ctx.value(), t}, same);
    fetched_ = ctx.value();
    return &fetched_;
}

TimedTranslation TranslationUnit::translate(const StreamTableConfig& st, const TranslationRequest& req,
                                            unsigned port, Cycle arrival, AccessLog& log, const TranslationGate* gate) {
    // Arrivals are in time order; anything booked before this one is history.
    // (The platform's masters keep that order in fast mode too: a decoupled
    // worker catches up before it could overtake another process,
    // TrafficGenerator::catch_up. An initiator that does not is served from
    // the last arrival on.)
    arrival = std::max(arrival, last_arrival_);
    last_arrival_ = arrival;
    walk_port_.retire_before(arrival);
    tlb_ports_.retire_before(arrival);

    TimedTranslation out;
    const SlotPool::Grant slot = translation_slots_.acquire(arrival);
    Cycle t = slot.start;
    out.accepted = slot.start;
    timed_.set_cursor(&t);
    // Every exit returns `out` itself, so it is built in the caller's place
    // (a returned copy of it was a visible part of a TLB hit's cost).
    auto finish = [&]() {
        t += p_.pipeline_cycles;
        translation_slots_.release(slot, t);
        timed_.set_cursor(nullptr);
        busy_until_ = std::max(busy_until_, t);
        out.done = t;
    };
    auto usable = [&](const TlbEntry* e) {
        // A hit that would deny the access is not trusted: the walk decides,
        // and reports the fault with the stage that causes it.
        return e && permits(e->perms(req.privileged), req.write, req.instruction);
    };
    auto take = [&](const TlbEntry& e) {
        if (e.ready > t) ++stats_.merged;
        t = std::max(t, e.ready);
        out.result = from_entry(e, req);
    };

    // Micro-TLB: tagged by stream, so it needs no configuration.
    Tlb* micro = gate ? nullptr : utlb(port);
    if (micro) {
        t += p_.utlb.latency;
        const TlbEntry* e = micro->lookup_stream(req.sid, req.ssv, req.ssid, req.iova);
        if (usable(e)) {
            take(*e);
            out.utlb_hit = true;
            finish();
            return out;
        }
    }

    Fault fault{arch::EventId::F_TRANSLATION};
    const Cycle lookup = t;
    const TranslationContext* ctx = configuration(st, req, t, log, out.config_hit, fault);
    if (!out.config_hit) {
        // The fetch starts after the lookup's latency (configuration()).
        out.config_start = lookup + (config_.enabled() ? p_.config.latency : 0);
        out.config_done = t;
    }
    if (!ctx) {
        out.result.outcome = TranslationResult::Outcome::Faulted;
        out.result.fault = fault;
        finish();
        return out;
    }
    const TranslationContext& c = *ctx;
    if (gate && !(*gate)(c)) {
        out.result.outcome = TranslationResult::Outcome::Aborted;
        out.gated = true;
        finish();
        return out;
    }
    if (c.config == arch::SteConfig::Abort || (!c.s1 && !c.s2)) {
        // Abort and bypass need no translation to be looked up.
        out.result = translator_.walk(c, req, log);
        finish();
        return out;
    }

    const TlbKind kind = c.s1 ? TlbKind::Stage1 : TlbKind::Stage2;
    if (iotlb_.enabled()) {
        // A lookup takes one TLB port for one cycle, then its latency.
        const Cycle start = tlb_ports_.limited() ? tlb_ports_.book(t, 1) - 1 : t;
        t = start + p_.iotlb.latency;
        const TlbEntry* e = iotlb_.lookup(kind, c.vmid, c.asid, req.iova);
        if (usable(e)) {
            take(*e);
            out.tlb_hit = true;
            if (micro) micro->fill(*e);
            finish();
            return out;
        }
    }
    ++stats_.tlb_misses;

    const SlotPool::Grant walk_slot = walk_slots_.acquire(t);
    out.walk_queued = t;
    t = walk_slot.start;
    out.walk_start = t;
    const unsigned before = log.walk_reads;
    out.result = translator_.walk(c, req, log, WalkResources{&walks_, &t});
    walk_slots_.release(walk_slot, t);
    out.walk_done = t;
    out.walked = true;
    ++stats_.walks;
    ++stats_.reads_per_walk[log.walk_reads - before];
    if (out.result.outcome == TranslationResult::Outcome::Translated) {
        const TlbEntry e = make_tlb_entry(req, c, out.result, t);
        iotlb_.fill(e);
        if (micro) micro->fill(e);
    }
    finish();
    return out;
}

void TranslationUnit::prefetch(const StreamTableConfig& st, const arch::Command& c, Cycle* now) {
    TranslationRequest req;
    req.sid = static_cast<uint32_t>(c.get(cmd::SID));
    req.ssv = c.get(cmd::SSV);
    req.ssid = static_cast<uint32_t>(c.get(cmd::SSID));
    AccessLog log;
    // The fetch's reads advance the command's timeline (the port's cursor), so
    // its lookups and the entries' ready cycles must follow that timeline too.
    // (They used to start from the last arrival, with an untimed walk: a
    // prefetched entry was usable before its reads were back, and its walk-cache
    // entries were ready at cycle 0.)
    Cycle from_last_arrival = last_arrival_;
    Cycle& t = now ? *now : from_last_arrival;
    // Without a configuration cache there is nothing to prefetch into.
    if (!config_.enabled() && static_cast<Opcode>(c.opcode()) == Opcode::PREFETCH_CONFIG) return;
    bool hit = false;
    Fault fault{arch::EventId::F_TRANSLATION};
    // PMCG CONFIG_CACHE_MISS counts transactions; a prefetch is not one.
    const uint64_t misses = stats_.config_misses;
    const TranslationContext* ctx = configuration(st, req, t, log, hit, fault);
    stats_.config_misses = misses;
    if (!ctx || static_cast<Opcode>(c.opcode()) != Opcode::PREFETCH_ADDR) return;
    const TranslationContext tc = *ctx;
    if (!tc.s1 && !tc.s2) return;
    req.iova = c.get(cmd::PrefetchAddr);
    const TranslationResult r = translator_.walk(tc, req, log, WalkResources{&walks_, &t});
    if (r.outcome == TranslationResult::Outcome::Translated) iotlb_.fill(make_tlb_entry(req, tc, r, t));
}

Expected<StreamConfig> TranslationUnit::stream_config(const StreamTableConfig& st, uint32_t sid) {
    AccessLog log;
    const Expected<arch::Ste> ste = translator_.stream_table().fetch_ste(st, sid, log);
    if (!ste.ok()) return ste.fault();
    return translator_.stream_table().decode_ste(ste.value());
}

unsigned TranslationUnit::invalidate(const arch::Command& c) {
    const auto op = static_cast<Opcode>(c.opcode());
    const uint16_t vmid = static_cast<uint16_t>(c.get(cmd::VMID));
    const uint16_t asid = static_cast<uint16_t>(c.get(cmd::ASID));
    const uint32_t sid = static_cast<uint32_t>(c.get(cmd::SID));
    const bool leaf_only = c.get(cmd::Leaf);
    const arch::TlbiRange range = arch::tlbi_range(c);

    unsigned n = 0;
    // The IOTLB and the micro-TLBs (which the CFGIs reach too: TlbInvalidation).
    // Without the CFGIs on the micro-TLBs a stream whose STE moved to another
    // VMID/ASID kept using its old translations after CFGI_STE + SYNC.
    const TlbInvalidation scope(c);
    if (scope.reaches_regime()) n += iotlb_.invalidate_if([&](const TlbEntry& e) { return scope.removes(e, false); });
    if (scope.reaches_stream())
        for (auto& u : utlbs_) n += u->invalidate_if([&](const TlbEntry& e) { return scope.removes(e, true); });
    // The configuration cache and the walk caches.
    auto walk_stage = [&](unsigned stage, auto pred) {
        for (unsigned l = 0; l < 4; ++l) n += walks_.level[walk_cache_index(stage, l)].invalidate_if(pred);
    };
    switch (op) {
        case Opcode::CFGI_STE:
            n += config_.invalidate_if([&](const ConfigEntry& e) { return e.sid == sid; });
            break;
        case Opcode::CFGI_STE_RANGE:
            n += config_.invalidate_if([&](const ConfigEntry& e) { return sid_in_range(e.sid, c); });
            break;
        case Opcode::CFGI_CD: {
            const uint32_t ssid = static_cast<uint32_t>(c.get(cmd::SSID));
            n += config_.invalidate_if(
                [&](const ConfigEntry& e) { return e.sid == sid && e.ctx.has_cd && e.ctx.cd_index == ssid; });
            break;
        }
        case Opcode::CFGI_CD_ALL:
            n += config_.invalidate_if([&](const ConfigEntry& e) { return e.sid == sid && e.ctx.has_cd; });
            break;
        case Opcode::TLBI_NH_ALL:
            walk_stage(1, [&](const WalkEntry& e) { return e.vmid == vmid; });
            break;
        case Opcode::TLBI_NH_ASID:
            walk_stage(1, [&](const WalkEntry& e) { return e.vmid == vmid && e.asid == asid && !global_leaf(e); });
            break;
        case Opcode::TLBI_NH_VA:
        case Opcode::TLBI_NH_VAA: {
            const bool any_asid = op == Opcode::TLBI_NH_VAA;
            // Leaf=1 leaves the table entries above the leaf in the walk caches.
            walk_stage(1, [&](const WalkEntry& e) {
                return e.vmid == vmid && (any_asid || e.asid == asid || global_leaf(e)) && (!leaf_only || e.leaf) &&
                       e.overlaps(range.base, range.size);
            });
            break;
        }
        case Opcode::TLBI_S2_IPA:
            // The IPA cache and the stage 2 walk caches (leaf entries only with Leaf=1).
            n += walks_.ipa.invalidate_if(
                [&](const TlbEntry& e) { return e.vmid == vmid && e.overlaps(range.base, range.size); });
            walk_stage(2, [&](const WalkEntry& e) {
                return e.vmid == vmid && (!leaf_only || e.leaf) && e.overlaps(range.base, range.size);
            });
            break;
        case Opcode::TLBI_S12_VMALL:
            n += walks_.ipa.invalidate_if([&](const TlbEntry& e) { return e.vmid == vmid; });
            walk_stage(1, [&](const WalkEntry& e) { return e.vmid == vmid; });
            walk_stage(2, [&](const WalkEntry& e) { return e.vmid == vmid; });
            break;
        case Opcode::TLBI_NSNH_ALL: {
            n += walks_.ipa.invalidate_if([](const TlbEntry&) { return true; });
            for (auto& level : walks_.level) n += level.invalidate_all();
            break;
        }
        default:
            // TLBI_EL2_*, ATC_INV: nothing cached here (TlbInvalidation); counted.
            break;
    }
    return n;
}

void TranslationUnit::for_each_cache(const std::function<void(const std::string&, const CacheStats&)>& fn) const {
    if (iotlb_.enabled()) fn("iotlb", iotlb_.stats());
    if (config_.enabled()) fn("config", config_.stats());
    for (unsigned i = 0; i < 8; ++i)
        if (walks_.level[i].enabled()) fn(walk_cache_name(i), walks_.level[i].stats());
    if (walks_.ipa.enabled()) fn("ipa", walks_.ipa.stats());
    if (!utlbs_.empty()) {
        CacheStats sum;
        for (const auto& u : utlbs_) {
            const CacheStats& s = u->stats();
            sum.lookups += s.lookups;
            sum.hits += s.hits;
            sum.misses += s.misses;
            sum.fills += s.fills;
            sum.evictions += s.evictions;
            sum.invalidations += s.invalidations;
        }
        fn("utlb", sum);
    }
}

}  // namespace smmu
