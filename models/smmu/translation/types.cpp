#include "models/smmu/translation/types.h"

namespace smmu {

arch::EventRecord make_event(const TranslationRequest& req, const Fault& f) {
    using namespace arch;
    EventRecord e;
    const EventInfo* info = event_info(static_cast<uint8_t>(f.id));
    e.set(evt::EventID, static_cast<uint8_t>(f.id));
    // Only the fields the record type has are written (IHI 0070 7.3).
    for (const FieldDef& fd : info->fields) {
        uint64_t v = 0;
        if (fd.name == "SID") v = req.sid;
        else if (fd.name == "SSV") v = req.ssv;
        else if (fd.name == "SSID") v = req.ssv ? req.ssid : 0;
        else if (fd.name == "PnU") v = req.privileged;
        else if (fd.name == "InD") v = req.instruction;
        else if (fd.name == "RnW") v = !req.write;
        else if (fd.name == "S2") v = f.s2;
        else if (fd.name == "CLASS") v = static_cast<uint64_t>(f.cls);
        // Table walks here only read (no HTTU): TTRnW is 1 when a walk's read
        // faulted at stage 2 (CLASS=TT); UNKNOWN otherwise, written as 0.
        else if (fd.name == "TTRnW") v = f.cls == FaultClass::TTD;
        else if (fd.name == "InputAddr") v = req.iova;
        // F_BAD_ATS_TREQ: one STU asked for; R is always 1, W = !NW; without
        // a PASID the request is Data and Unprivileged (IHI 0070 3.9.1).
        else if (fd.name == "Span") v = 1;
        else if (fd.name == "R") v = 1;
        else if (fd.name == "W") v = req.write;
        else if (fd.name == "X") v = req.ssv && req.instruction;
        else if (fd.name == "PRIV") v = req.ssv && req.privileged;
        else if (fd.name == "IPA") v = f.s2 ? f.ipa : 0;
        else if (fd.name == "FetchAddr") v = f.fetch_addr;
        e.set(fd, v);
    }
    return e;
}

std::string_view access_kind_name(AccessKind k) {
    switch (k) {
        case AccessKind::L1Std: return "L1STD";
        case AccessKind::Ste: return "STE";
        case AccessKind::L1Cd: return "L1CD";
        case AccessKind::Cd: return "CD";
        case AccessKind::S1Table: return "S1";
        case AccessKind::S2Table: return "S2";
    }
    return "?";
}

}  // namespace smmu
