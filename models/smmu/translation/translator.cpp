#include "models/smmu/translation/translator.h"

#include <algorithm>

namespace smmu {

using arch::EventId;
using arch::SteConfig;

Expected<TranslationContext> Translator::resolve(const StreamTableConfig& st, const TranslationRequest& req,
                                                 AccessLog& log, WalkResources res) {
    auto ste = table_.fetch_ste(st, req.sid, log);
    if (!ste.ok()) return ste.fault();
    auto sc = table_.decode_ste(ste.value());
    if (!sc.ok()) return sc.fault();
    const StreamConfig& s = sc.value();

    TranslationContext ctx;
    ctx.config = s.config;
    ctx.vmid = s.vmid;
    ctx.ats = s.ats;
    ctx.s2p = s.s2;
    ctx.s2 = s.config == SteConfig::S2Trans || s.config == SteConfig::Nested;
    ctx.stall_s2 = ctx.s2 && s.s2s;
    if (s.config == SteConfig::Abort) return ctx;

    const bool stage1 = s.config == SteConfig::S1Trans || s.config == SteConfig::Nested;
    // A SubstreamID needs stage 1 and a CD table with room for it (IHI 0070 3.9.1);
    // S1DSS=0b10 reserves substream 0 for transactions without one.
    if (req.ssv && (!stage1 || s.s1cdmax == 0 || (uint64_t{req.ssid} >> s.s1cdmax) != 0))
        return Fault{EventId::C_BAD_SUBSTREAMID};
    // IHI 0070 7.3.7: an explicit SubstreamID 0 with S1DSS=0b10 (CD 0 reserved for
    // non-substream traffic) is F_STREAM_DISABLED, not C_BAD_SUBSTREAMID (7.3.9).
    if (req.ssv && s.s1dss == arch::S1Dss::Substream0 && req.ssid == 0) return Fault{EventId::F_STREAM_DISABLED};
    if (!stage1) return ctx;

    uint32_t ssid = req.ssv ? req.ssid : 0;
    if (!req.ssv && s.s1cdmax != 0) {
        // STE.S1DSS decides what a transaction without a SubstreamID does.
        if (s.s1dss == arch::S1Dss::Terminate) return Fault{EventId::F_STREAM_DISABLED};
        if (s.s1dss == arch::S1Dss::Bypass) return ctx;
    }
    Walker walker(mem_, log, WalkEnv{res.caches, res.now, s.vmid, 0});
    auto cd = table_.fetch_cd(s, ssid, walker, log);
    if (!cd.ok()) return cd.fault();
    auto cc = table_.decode_cd(cd.value(), s.s1stalld);
    if (!cc.ok()) return cc.fault();
    ctx.s1 = true;
    ctx.s1p = cc.value().s1;
    ctx.asid = cc.value().asid;
    ctx.epd0 = cc.value().epd0;
    ctx.epd1 = cc.value().epd1;
    ctx.s1p_upper = cc.value().s1_upper;
    ctx.has_cd = true;
    ctx.stall_s1 = cc.value().stall;
    ctx.cd_index = ssid;
    return ctx;
}

TranslationResult Translator::walk(const TranslationContext& ctx, const TranslationRequest& req, AccessLog& log,
                                   WalkResources res) {
    TranslationResult r;
    if (ctx.config == SteConfig::Abort) {
        r.outcome = TranslationResult::Outcome::Aborted;
        return r;
    }
    auto faulted = [&](const Fault& f) {
        r.outcome = TranslationResult::Outcome::Faulted;
        r.fault = f;
        // The stall model covers the translation-related faults only (IHI 0070
        // 3.12.2); a stage 2 fault stalls by STE.S2S, a stage 1 one by CD.S.
        const bool stallable = f.id == EventId::F_TRANSLATION || f.id == EventId::F_ADDR_SIZE ||
                               f.id == EventId::F_ACCESS || f.id == EventId::F_PERMISSION;
        r.fault.stall = stallable && (f.s2 ? ctx.stall_s2 : ctx.stall_s1);
        return r;
    };
    // IHI 0070 3.4: when stage 1 does not translate (STE bypass, stage 2 only,
    // S1DSS=bypass), an input beyond the IAS (= OAS: AArch64 tables only) is a
    // stage 1 Address Size fault, CLASS=IN, before any stage 2 check.
    if (!ctx.s1 && caps_.oas < 64 && (req.iova >> caps_.oas) != 0) return faulted(Fault{EventId::F_ADDR_SIZE});
    Walker walker(mem_, log, WalkEnv{res.caches, res.now, ctx.vmid, ctx.asid});
    uint64_t out = req.iova;
    uint64_t size = ~uint64_t{0};
    // Both privilege levels' rights: a TLB entry serves either kind of request.
    Permissions priv{true, true, true}, unpriv{true, true, true};
    if (ctx.s1) {
        // VA[55] picks the range, TTB0 or TTB1, whatever TBI (Arm ARM D8.2.3);
        // EPDx disables its walks: a translation fault without a walk.
        const bool upper = (req.iova >> 55) & 1;
        if (upper ? ctx.epd1 : ctx.epd0) return faulted(Fault{EventId::F_TRANSLATION});
        StageResult s1 = walker.walk_s1(upper ? ctx.s1p_upper : ctx.s1p, req.iova, ctx.s2 ? &ctx.s2p : nullptr);
        if (!s1.ok) return faulted(s1.fault);
        priv = stage1_permissions(s1.leaf, true);
        unpriv = stage1_permissions(s1.leaf, false);
        if (!permits(req.privileged ? priv : unpriv, req.write, req.instruction))
            return faulted(Fault{EventId::F_PERMISSION});
        out = s1.leaf.oa;
        size = s1.leaf.size;
        r.global = !s1.leaf.desc.get(arch::pte::nG);
        r.s1_level = s1.leaf.level;
    }
    r.ipa = out;
    if (ctx.s2) {
        StageResult s2 = walker.walk_s2(ctx.s2p, out, arch::FaultClass::IN, req.write, req.instruction);
        if (!s2.ok) return faulted(s2.fault);
        const Permissions p2 = s2.leaf.s2_perms;
        for (Permissions* p : {&priv, &unpriv}) *p = {p->read && p2.read, p->write && p2.write, p->exec && p2.exec};
        out = s2.leaf.oa;
        size = std::min(size, s2.leaf.size);
        r.s2_level = s2.leaf.level;
    }
    r.pa = out;
    r.priv = priv;
    r.unpriv = unpriv;
    r.perms = req.privileged ? priv : unpriv;
    if (!ctx.s1 && !ctx.s2) {
        r.outcome = TranslationResult::Outcome::Bypassed;
        r.size = arch::granule_bytes(arch::Granule::K4);
    } else {
        r.outcome = TranslationResult::Outcome::Translated;
        r.size = size;
    }
    return r;
}

TranslationResult Translator::translate(const StreamTableConfig& st, const TranslationRequest& req, AccessLog& log,
                                        TranslationContext* ctx_out) {
    auto ctx = resolve(st, req, log);
    if (!ctx.ok()) {
        TranslationResult r;
        r.outcome = TranslationResult::Outcome::Faulted;
        r.fault = ctx.fault();
        return r;
    }
    if (ctx_out) *ctx_out = ctx.value();
    return walk(ctx.value(), req, log);
}

}  // namespace smmu
