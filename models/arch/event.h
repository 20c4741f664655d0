// Event queue records (IHI 0070 7.3): 32 bytes, four dwords. Field positions as
// Linux's arm-smmu-v3.h reads them (EVTQ_*).
#pragma once
#include <string_view>
#include <vector>
#include "models/arch/bitfield.h"

namespace smmu::arch {

enum class EventId : uint8_t {
    F_UUT = 0x01,
    C_BAD_STREAMID = 0x02,
    F_STE_FETCH = 0x03,
    C_BAD_STE = 0x04,
    F_BAD_ATS_TREQ = 0x05,
    F_STREAM_DISABLED = 0x06,
    F_TRANSL_FORBIDDEN = 0x07,
    C_BAD_SUBSTREAMID = 0x08,
    F_CD_FETCH = 0x09,
    C_BAD_CD = 0x0a,
    F_WALK_EABT = 0x0b,
    F_TRANSLATION = 0x10,
    F_ADDR_SIZE = 0x11,
    F_ACCESS = 0x12,
    F_PERMISSION = 0x13,
    F_TLB_CONFLICT = 0x20,
    F_CFG_CONFLICT = 0x21,
    E_PAGE_REQUEST = 0x24,
    F_VMS_FETCH = 0x25,
};

// Event CLASS (dw1[41:40]): what the faulting stage-2 access was for.
enum class FaultClass : uint8_t { CD = 0, TTD = 1, IN = 2 };

namespace evt {
inline constexpr FieldDef EventID{"EventID", 0, 7, 0};
inline constexpr FieldDef SSV{"SSV", 0, 11, 11};
inline constexpr FieldDef SSID{"SSID", 0, 31, 12};
inline constexpr FieldDef SID{"SID", 0, 63, 32};
inline constexpr FieldDef STAG{"STAG", 1, 15, 0};
inline constexpr FieldDef Stall{"Stall", 1, 31, 31};
inline constexpr FieldDef PnU{"PnU", 1, 33, 33};
inline constexpr FieldDef InD{"InD", 1, 34, 34};
inline constexpr FieldDef RnW{"RnW", 1, 35, 35};
inline constexpr FieldDef S2{"S2", 1, 39, 39};
inline constexpr FieldDef CLASS{"CLASS", 1, 41, 40};
// F_PERMISSION with CLASS=TT: 1 a table read, 0 a table write (HTTU) caused the
// stage 2 fault (IHI 0070 7.3.16; Linux's EVTQ_1_TT_READ).
inline constexpr FieldDef TTRnW{"TTRnW", 1, 44, 44};
inline constexpr FieldDef InputAddr{"InputAddr", 2, 63, 0, true};
inline constexpr FieldDef IPA{"IPA", 3, 51, 12, true};
inline constexpr FieldDef FetchAddr{"FetchAddr", 3, 51, 3, true};
// F_BAD_ATS_TREQ (IHI 0070 7.3.6): the ATS Translation Request's Span (STUs
// asked for) and the permissions it asked, R always 1 and W = !NW. The
// figure is not public in text form: positions from two independent SMMUv3
// models' decoders (Span dw1[3:0], PRIV 28, X 29, W 30, R 31 of dw1).
inline constexpr FieldDef AtsSpan{"Span", 1, 3, 0};
inline constexpr FieldDef AtsPRIV{"PRIV", 1, 28, 28};
inline constexpr FieldDef AtsX{"X", 1, 29, 29};
inline constexpr FieldDef AtsW{"W", 1, 30, 30};
inline constexpr FieldDef AtsR{"R", 1, 31, 31};
// E_PAGE_REQUEST (IHI 0070 7.3.19; never generated here, decoded only): Span
// [115:108] in 4 KiB units, privileged pR/pW/pX 103..101, unprivileged
// uR/uW/uX 99..97, InputAddr[63:12] at [191:140] (from the spec figure's text).
inline constexpr FieldDef PageSpan{"Span", 1, 51, 44};
inline constexpr FieldDef pR{"pR", 1, 39, 39};
inline constexpr FieldDef pW{"pW", 1, 38, 38};
inline constexpr FieldDef pX{"pX", 1, 37, 37};
inline constexpr FieldDef uR{"uR", 1, 35, 35};
inline constexpr FieldDef uW{"uW", 1, 34, 34};
inline constexpr FieldDef uX{"uX", 1, 33, 33};
inline constexpr FieldDef PageAddr{"InputAddr", 2, 63, 12, true};
}  // namespace evt

struct EventInfo {
    EventId id;
    std::string_view name;
    std::vector<FieldDef> fields;  // every field this record has, besides EventID
};
const EventInfo* event_info(uint8_t id);
const std::vector<EventInfo>& all_events();
std::string_view event_name(EventId id);

struct EventRecord : Words<4> {
    uint8_t id() const { return static_cast<uint8_t>(get(evt::EventID)); }
};

}  // namespace smmu::arch
