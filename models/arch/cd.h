// Context descriptor and level-1 CD table descriptor (IHI 0070 5.4, 5.5),
// bit positions as Linux's arm-smmu-v3.h writes them.
#pragma once
#include <optional>

#include "models/arch/bitfield.h"
#include "models/arch/pte.h"

namespace smmu::arch {

namespace cd {
inline constexpr FieldDef T0SZ{"T0SZ", 0, 5, 0};
inline constexpr FieldDef TG0{"TG0", 0, 7, 6};
inline constexpr FieldDef IR0{"IR0", 0, 9, 8};
inline constexpr FieldDef OR0{"OR0", 0, 11, 10};
inline constexpr FieldDef SH0{"SH0", 0, 13, 12};
inline constexpr FieldDef EPD0{"EPD0", 0, 14, 14};
inline constexpr FieldDef ENDI{"ENDI", 0, 15, 15};
inline constexpr FieldDef T1SZ{"T1SZ", 0, 21, 16};
inline constexpr FieldDef TG1{"TG1", 0, 23, 22};
inline constexpr FieldDef IR1{"IR1", 0, 25, 24};
inline constexpr FieldDef OR1{"OR1", 0, 27, 26};
inline constexpr FieldDef SH1{"SH1", 0, 29, 28};
inline constexpr FieldDef EPD1{"EPD1", 0, 30, 30};
inline constexpr FieldDef V{"V", 0, 31, 31};
inline constexpr FieldDef IPS{"IPS", 0, 34, 32};
inline constexpr FieldDef AFFD{"AFFD", 0, 35, 35};
inline constexpr FieldDef TBI0{"TBI0", 0, 38, 38};
inline constexpr FieldDef TBI1{"TBI1", 0, 39, 39};
inline constexpr FieldDef AA64{"AA64", 0, 41, 41};
inline constexpr FieldDef HD{"HD", 0, 42, 42};
inline constexpr FieldDef HA{"HA", 0, 43, 43};
inline constexpr FieldDef S{"S", 0, 44, 44};
inline constexpr FieldDef R{"R", 0, 45, 45};
inline constexpr FieldDef A{"A", 0, 46, 46};
inline constexpr FieldDef ASET{"ASET", 0, 47, 47};
inline constexpr FieldDef ASID{"ASID", 0, 63, 48};
inline constexpr FieldDef TTB0{"TTB0", 1, 51, 4, true};
inline constexpr FieldDef TTB1{"TTB1", 2, 51, 4, true};
inline constexpr FieldDef MAIR{"MAIR", 3, 63, 0};

inline constexpr FieldDef kAll[] = {T0SZ, TG0,  IR0,  OR0, SH0, EPD0, ENDI, T1SZ, TG1,  IR1,  OR1,  SH1, EPD1, V,
                                    IPS,  AFFD, TBI0, TBI1, AA64, HD, HA,  S,    R,    A,    ASET, ASID, TTB0, TTB1, MAIR};

// CD.TG1 encodes the granule differently from TG0 (IHI 0070 5.4): 1 16K, 2 4K,
// 3 64K (0 reserved).
inline std::optional<Granule> tg1_granule(uint64_t v) {
    switch (v) {
        case 1: return Granule::K16;
        case 2: return Granule::K4;
        case 3: return Granule::K64;
        default: return std::nullopt;
    }
}
constexpr uint64_t tg1_encoding(Granule g) { return g == Granule::K16 ? 1 : g == Granule::K4 ? 2 : 3; }
}  // namespace cd

struct ContextDescriptor : Words<8> {
    bool valid() const { return get(cd::V); }
};

// Level-1 CD table descriptor (8 bytes): V[0], L2Ptr[51:12].
namespace l1cd {
inline constexpr FieldDef V{"V", 0, 0, 0};
inline constexpr FieldDef L2Ptr{"L2Ptr", 0, 51, 12, true};
inline constexpr FieldDef kAll[] = {V, L2Ptr};
}  // namespace l1cd
struct L1CdDescriptor : Words<1> {};

}  // namespace smmu::arch
