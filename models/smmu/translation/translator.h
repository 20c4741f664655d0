// Functional translation of one transaction, no timing (IHI 0070 3.1-3.4):
// SID -> STE -> (SSID -> CD) -> stage 1 and/or stage 2 walk -> PA, or a fault.
// Split in two steps so caches can sit around each: resolve() is what the
// configuration cache holds, walk() what the TLBs hold.
#pragma once
#include <cstdint>

#include "models/smmu/stream_table/stream_table.h"
#include "models/smmu/walker/walker.h"

namespace smmu {

// The configuration a transaction runs under, after STE, S1DSS and CD.
struct TranslationContext {
    arch::SteConfig config = arch::SteConfig::Abort;
    bool s1 = false;  // stage 1 in effect (S1DSS=bypass turns it off)
    bool s2 = false;
    bool epd0 = false, epd1 = true;  // a VA range without walks (CD.EPD0/EPD1)
    StageParams s1p, s2p;
    StageParams s1p_upper;  // stage 1's upper VA range (TTB1), when !epd1
    uint16_t vmid = 0;
    uint16_t asid = 0;
    bool ats = false;
    bool has_cd = false;     // a CD was fetched: CFGI_CD(cd_index) must drop this
    bool stall_s1 = false, stall_s2 = false;  // CD.S, STE.S2S
    uint32_t cd_index = 0;
};

// The caches a walk may use and the timeline it advances; both optional.
struct WalkResources {
    WalkCaches* caches = nullptr;
    Cycle* now = nullptr;
};

struct TranslationResult {
    enum class Outcome : uint8_t { Translated, Bypassed, Aborted, Faulted };
    Outcome outcome = Outcome::Faulted;
    uint64_t pa = 0;
    uint64_t ipa = 0;        // stage 1 output (the IOVA itself without stage 1)
    uint64_t size = 0;       // bytes mapped around pa by the smallest leaf
    Permissions perms;          // for this request's privilege
    Permissions priv, unpriv;   // for either, as a TLB entry keeps them
    bool global = true;      // stage 1 nG clear
    unsigned s1_level = 0, s2_level = 0;
    Fault fault{arch::EventId::F_TRANSLATION};
    // Faulted and held by the stall model (SmmuCore): the STAG its CMD_RESUME names.
    bool stalled = false;
    uint16_t stag = 0;

    bool ok() const { return outcome == Outcome::Translated || outcome == Outcome::Bypassed; }
    // Faults and silent aborts (STE.Config=abort) both end in an error response.
    bool records_event() const { return outcome == Outcome::Faulted; }
};

class Translator {
public:
    Translator(MemoryPort& mem, const SmmuCaps& caps) : mem_(mem), caps_(caps), table_(mem, caps) {}

    Expected<TranslationContext> resolve(const StreamTableConfig& st, const TranslationRequest& req, AccessLog& log,
                                         WalkResources res = {});
    TranslationResult walk(const TranslationContext& ctx, const TranslationRequest& req, AccessLog& log,
                           WalkResources res = {});
    // resolve + walk; `ctx`, when given, receives the configuration (left
    // as it was when the configuration faults).
    TranslationResult translate(const StreamTableConfig& st, const TranslationRequest& req, AccessLog& log,
                                TranslationContext* ctx = nullptr);

    StreamTable& stream_table() { return table_; }

private:
    MemoryPort& mem_;
    const SmmuCaps& caps_;
    StreamTable table_;
};

}  // namespace smmu
