#include "models/smmu/ats/ats.h"

namespace smmu {

using arch::EventId;
using arch::SteConfig;

const char* ats_status_name(AtsStatus s) {
    switch (s) {
        case AtsStatus::Success: return "success";
        case AtsStatus::UnsupportedRequest: return "UR";
        case AtsStatus::CompleterAbort: return "CA";
    }
    return "?";
}

std::optional<AtsRefusal> ats_request_refusal(bool smmuen, const TranslationContext* ctx) {
    // IHI 0070 3.9.1.2, first table.
    if (!smmuen) return AtsRefusal{AtsStatus::UnsupportedRequest, EventId::F_BAD_ATS_TREQ};
    // A configuration error: CA, recorded only with REC_CFG_ATS = 1 (second table).
    if (!ctx) return AtsRefusal{AtsStatus::CompleterAbort, std::nullopt};
    if (ctx->config == SteConfig::Abort) return AtsRefusal{AtsStatus::UnsupportedRequest, std::nullopt};
    if (ctx->config == SteConfig::Bypass || !ctx->ats)
        return AtsRefusal{AtsStatus::UnsupportedRequest, EventId::F_BAD_ATS_TREQ};
    return std::nullopt;
}

AtsCompletion ats_completion(const TranslationResult& r, uint64_t iova, bool ssv, bool nw, uint64_t stu) {
    AtsCompletion c;
    c.status = AtsStatus::Success;
    c.size = stu;
    c.addr = iova & ~(stu - 1);
    switch (r.outcome) {
        case TranslationResult::Outcome::Translated:
            c.size = std::max(r.size, stu);
            c.addr = r.pa & ~(c.size - 1);
            // PCIe without a PASID is Data, unprivileged (3.9): the
            // unprivileged permissions; write only when asked for (NW = 0).
            c.read = r.perms.read;
            c.write = !nw && r.perms.write;
            c.global = r.global && !ssv;
            return c;
        case TranslationResult::Outcome::Bypassed:
            // STE.Config = S1-only with S1DSS skipping stage 1: Success,
            // R == W == 1, identity (3.9.1.2).
            c.read = true;
            c.write = !nw;
            return c;
        case TranslationResult::Outcome::Aborted: c.status = AtsStatus::UnsupportedRequest; return c;
        case TranslationResult::Outcome::Faulted: break;
    }
    switch (r.fault.id) {
        // Translation, address size, access and permission faults: Success
        // with R == W == 0 over one STU, no event (3.9.1.2, second table).
        case EventId::F_TRANSLATION:
        case EventId::F_ADDR_SIZE:
        case EventId::F_ACCESS:
        case EventId::F_PERMISSION: return c;
        default: c.status = AtsStatus::CompleterAbort; return c;
    }
}

std::optional<AtsRefusal> translated_refusal(bool smmuen, bool atschk, const TranslationContext* ctx) {
    // IHI 0070 3.9.1.3, first table; SMMUEN = 0 regardless of ATSCHK.
    if (!smmuen) return AtsRefusal{AtsStatus::UnsupportedRequest, EventId::F_TRANSL_FORBIDDEN};
    if (!atschk) return std::nullopt;
    if (!ctx) return AtsRefusal{AtsStatus::UnsupportedRequest, std::nullopt};
    if (ctx->config == SteConfig::Abort) return AtsRefusal{AtsStatus::UnsupportedRequest, std::nullopt};
    if (ctx->config == SteConfig::Bypass || !ctx->ats)
        return AtsRefusal{AtsStatus::UnsupportedRequest, EventId::F_TRANSL_FORBIDDEN};
    return std::nullopt;
}

}  // namespace smmu
