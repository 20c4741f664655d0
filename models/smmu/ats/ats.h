// PCIe ATS at the SMMU (IHI 0070 3.9.1): what it answers to an ATS
// Translation Request (3.9.1.2) and what it does with a transaction marked
// Translated (3.9.1.3). Plain decisions over the configuration and the
// translation the translation unit found; SmmuCore records the events.
//
// Not modelled: Split-stage ATS (this SMMU advertises IDR0.NS1ATS 1, so an
// STE with EATS 0b10 is C_BAD_STE), DPT (EATS 0b11 behaves as 0b00),
// SMMU_CR2.REC_CFG_ATS (0: configuration errors met by ATS traffic record no
// event), Secure streams.
#pragma once
#include <cstdint>
#include <optional>

#include "models/smmu/translation/translator.h"

namespace smmu {

// The Translation Completion's status (PCIe: Success, Unsupported Request,
// Completer Abort).
enum class AtsStatus : uint8_t { Success, UnsupportedRequest, CompleterAbort };
const char* ats_status_name(AtsStatus s);

// One Translation Completion Data Entry: the translated address of the
// page, the bytes it covers and the access granted. R == W == 0 is a
// successful completion that grants nothing (a translation fault).
struct AtsCompletion {
    AtsStatus status = AtsStatus::UnsupportedRequest;
    uint64_t addr = 0;  // translated address of the request's page (aligned to size)
    uint64_t size = 0;  // bytes the entry covers (a power of two, at least the STU)
    bool read = false, write = false, exec = false;
    bool global = false;  // Global: never with a PASID (3.9.1)
};

// The ATS outcome known before any translation: how a Translation Request
// or a Translated transaction ends because of SMMUEN, ATSCHK and the
// configuration, and whether it records an event (`event`). Empty: the
// request goes on (translated; or, for a Translated transaction, passed).
struct AtsRefusal {
    AtsStatus status = AtsStatus::UnsupportedRequest;  // Translation Requests
    std::optional<arch::EventId> event;
};

// 3.9.1.2: a Translation Request. `ctx` null: the configuration faulted:
// Completer Abort, no event (REC_CFG_ATS = 0). The effective STE.EATS is
// TranslationContext::ats: with EATS 0b1x refused as ILLEGAL (above), a
// configuration that decoded has EATS 0 or 0b01.
std::optional<AtsRefusal> ats_request_refusal(bool smmuen, const TranslationContext* ctx);
// 3.9.1.2 after the translation (made as a read, with the request's
// SubstreamID and Priv = 0): Success with the leaf's permissions, Success
// with R = W = 0 for a translation, address size or access fault (and a
// permission fault on read), Completer Abort for any other fault. `stu`:
// the smallest translation unit (bytes) an R = W = 0 entry covers. `nw`:
// the request asked for no write permission.
AtsCompletion ats_completion(const TranslationResult& r, uint64_t iova, bool ssv, bool nw, uint64_t stu);

// 3.9.1.3: a Translated transaction. ATSCHK 0: passed without looking at the
// configuration (`ctx` unused). Refused: aborted, with `event` when the
// table says F_TRANSL_FORBIDDEN. `ctx` null: a configuration error (aborted,
// no event with REC_CFG_ATS = 0).
std::optional<AtsRefusal> translated_refusal(bool smmuen, bool atschk, const TranslationContext* ctx);

}  // namespace smmu
