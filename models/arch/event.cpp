#include "models/arch/event.h"

#include <array>

namespace smmu::arch {

namespace {
using namespace evt;

std::vector<EventInfo> build_table() {
    const std::vector<FieldDef> head{SID, SSV, SSID};
    const std::vector<FieldDef> access{PnU, InD, RnW};
    // Only the four translation-class faults can stall (IHI 0070 7.3.21).
    const std::vector<FieldDef> txn{STAG, Stall, PnU, InD, RnW};
    auto cat = [](std::initializer_list<std::vector<FieldDef>> parts) {
        std::vector<FieldDef> out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    // Translation-class faults report the stage, CLASS and the IPA (IHI 0070 7.3.12-7.3.15).
    const auto fault = cat({head, txn, {S2, CLASS, InputAddr, IPA}});
    return {
        {EventId::F_UUT, "F_UUT", cat({head, access, {InputAddr}})},
        {EventId::C_BAD_STREAMID, "C_BAD_STREAMID", head},
        {EventId::F_STE_FETCH, "F_STE_FETCH", cat({head, {FetchAddr}})},
        {EventId::C_BAD_STE, "C_BAD_STE", head},
        {EventId::F_BAD_ATS_TREQ, "F_BAD_ATS_TREQ", cat({head, {AtsSpan, AtsPRIV, AtsX, AtsW, AtsR, InputAddr}})},
        {EventId::F_STREAM_DISABLED, "F_STREAM_DISABLED", {SID}},
        {EventId::F_TRANSL_FORBIDDEN, "F_TRANSL_FORBIDDEN", {SID, RnW, InputAddr}},
        // No SSV here: bits [11:8] are RES0 and SubstreamID is always valid (IHI 0070 7.3.9).
        {EventId::C_BAD_SUBSTREAMID, "C_BAD_SUBSTREAMID", {SID, SSID}},
        {EventId::F_CD_FETCH, "F_CD_FETCH", cat({head, {FetchAddr}})},
        {EventId::C_BAD_CD, "C_BAD_CD", head},
        {EventId::F_WALK_EABT, "F_WALK_EABT", cat({head, access, {S2, CLASS, InputAddr, FetchAddr}})},
        {EventId::F_TRANSLATION, "F_TRANSLATION", fault},
        {EventId::F_ADDR_SIZE, "F_ADDR_SIZE", fault},
        {EventId::F_ACCESS, "F_ACCESS", fault},
        {EventId::F_PERMISSION, "F_PERMISSION", cat({fault, {TTRnW}})},
        {EventId::F_TLB_CONFLICT, "F_TLB_CONFLICT", cat({head, access, {S2, CLASS, InputAddr}})},
        {EventId::F_CFG_CONFLICT, "F_CFG_CONFLICT", head},
        {EventId::E_PAGE_REQUEST, "E_PAGE_REQUEST", cat({head, {PageSpan, pR, pW, pX, uR, uW, uX, PageAddr}})},
        // A VMS fetch that aborted (IHI 0070 7.3.20): laid out as F_CD_FETCH. No
        // VMS here (no ECMDQ/vSMMU features), but software decodes the record.
        {EventId::F_VMS_FETCH, "F_VMS_FETCH", cat({head, {FetchAddr}})},
    };
}

// 0xE0-0xEF: IMPLEMENTATION DEFINED events (IHI 0070 7.3.21), named by number;
// their layout is the implementation's, so no fields beyond the EventID.
std::vector<EventInfo> with_impdef(std::vector<EventInfo> table) {
    static constexpr std::string_view kNames[16] = {
        "IMPDEF_EVENT0",  "IMPDEF_EVENT1",  "IMPDEF_EVENT2",  "IMPDEF_EVENT3", "IMPDEF_EVENT4",  "IMPDEF_EVENT5",
        "IMPDEF_EVENT6",  "IMPDEF_EVENT7",  "IMPDEF_EVENT8",  "IMPDEF_EVENT9", "IMPDEF_EVENT10", "IMPDEF_EVENT11",
        "IMPDEF_EVENT12", "IMPDEF_EVENT13", "IMPDEF_EVENT14", "IMPDEF_EVENT15"};
    for (unsigned n = 0; n < 16; ++n) table.push_back({static_cast<EventId>(0xE0 + n), kNames[n], {}});
    return table;
}
}  // namespace

const std::vector<EventInfo>& all_events() {
    static const std::vector<EventInfo> table = with_impdef(build_table());
    return table;
}

const EventInfo* event_info(uint8_t id) {
    static const std::array<const EventInfo*, 256> idx = [] {
        std::array<const EventInfo*, 256> a{};
        for (const auto& info : all_events()) a[static_cast<uint8_t>(info.id)] = &info;
        return a;
    }();
    return idx[id];
}

std::string_view event_name(EventId id) {
    const EventInfo* info = event_info(static_cast<uint8_t>(id));
    return info ? info->name : std::string_view{"UNKNOWN"};
}

}  // namespace smmu::arch
