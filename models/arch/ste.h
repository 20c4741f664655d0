// Stream table entry and level-1 stream table descriptor (IHI 0070 5.2, 5.3),
// bit positions as Linux's arm-smmu-v3.h writes them.
#pragma once
#include "models/arch/bitfield.h"

namespace smmu::arch {

namespace ste {
inline constexpr FieldDef V{"V", 0, 0, 0};
inline constexpr FieldDef Config{"Config", 0, 3, 1};
inline constexpr FieldDef S1Fmt{"S1Fmt", 0, 5, 4};
inline constexpr FieldDef S1ContextPtr{"S1ContextPtr", 0, 51, 6, true};
inline constexpr FieldDef S1CDMax{"S1CDMax", 0, 63, 59};
inline constexpr FieldDef S1DSS{"S1DSS", 1, 1, 0};
inline constexpr FieldDef S1CIR{"S1CIR", 1, 3, 2};
inline constexpr FieldDef S1COR{"S1COR", 1, 5, 4};
inline constexpr FieldDef S1CSH{"S1CSH", 1, 7, 6};
inline constexpr FieldDef PPAR{"PPAR", 1, 18, 18};  // PASID on PRG responses (the PRI series' STRTAB_STE_1_PPAR)
inline constexpr FieldDef MEV{"MEV", 1, 19, 19};
inline constexpr FieldDef S1STALLD{"S1STALLD", 1, 27, 27};
inline constexpr FieldDef EATS{"EATS", 1, 29, 28};
inline constexpr FieldDef STRW{"STRW", 1, 31, 30};
inline constexpr FieldDef S2FWB{"S2FWB", 1, 25, 25};  // Linux's STRTAB_STE_1_S2FWB (SMMUv3.2; RES0 here)
inline constexpr FieldDef SHCFG{"SHCFG", 1, 45, 44};
inline constexpr FieldDef S2VMID{"S2VMID", 2, 15, 0};
inline constexpr FieldDef S2T0SZ{"S2T0SZ", 2, 37, 32};
inline constexpr FieldDef S2SL0{"S2SL0", 2, 39, 38};
inline constexpr FieldDef S2IR0{"S2IR0", 2, 41, 40};
inline constexpr FieldDef S2OR0{"S2OR0", 2, 43, 42};
inline constexpr FieldDef S2SH0{"S2SH0", 2, 45, 44};
inline constexpr FieldDef S2TG{"S2TG", 2, 47, 46};
inline constexpr FieldDef S2PS{"S2PS", 2, 50, 48};
inline constexpr FieldDef S2AA64{"S2AA64", 2, 51, 51};
inline constexpr FieldDef S2ENDI{"S2ENDI", 2, 52, 52};
inline constexpr FieldDef S2AFFD{"S2AFFD", 2, 53, 53};
inline constexpr FieldDef S2PTW{"S2PTW", 2, 54, 54};
inline constexpr FieldDef S2HD{"S2HD", 2, 55, 55};
inline constexpr FieldDef S2HA{"S2HA", 2, 56, 56};
inline constexpr FieldDef S2S{"S2S", 2, 57, 57};
inline constexpr FieldDef S2R{"S2R", 2, 58, 58};
inline constexpr FieldDef S2TTB{"S2TTB", 3, 51, 4, true};

inline constexpr FieldDef kAll[] = {
    V,     Config, S1Fmt,  S1ContextPtr, S1CDMax, S1DSS,  S1CIR,  S1COR,  S1CSH, S2FWB, S1STALLD, EATS,
    STRW,  PPAR,   MEV,    SHCFG,  S2VMID,       S2T0SZ,  S2SL0,  S2IR0,  S2OR0,  S2SH0, S2TG,     S2PS,
    S2AA64, S2ENDI, S2AFFD, S2PTW,       S2HD,    S2HA,   S2S,    S2R,    S2TTB};
}  // namespace ste

// STE.Config (IHI 0070 5.2): 0b0xx abort, 0b100 bypass, 0b101 S1, 0b110 S2, 0b111 nested.
enum class SteConfig : uint8_t {
    Abort = 0,
    Bypass = 4,
    S1Trans = 5,
    S2Trans = 6,
    Nested = 7,
};

// STE.S1Fmt: layout of the CD table.
enum class CdTableFormat : uint8_t { Linear = 0, TwoLevel4K = 1, TwoLevel64K = 2 };

// STE.S1DSS: what a transaction without a SubstreamID does when S1CDMax != 0.
enum class S1Dss : uint8_t { Terminate = 0, Bypass = 1, Substream0 = 2 };

struct Ste : Words<8> {
    bool valid() const { return get(ste::V); }
    SteConfig config() const {
        const auto c = static_cast<uint8_t>(get(ste::Config));
        return c < 4 ? SteConfig::Abort : static_cast<SteConfig>(c);
    }
    bool stage1() const { return config() == SteConfig::S1Trans || config() == SteConfig::Nested; }
    bool stage2() const { return config() == SteConfig::S2Trans || config() == SteConfig::Nested; }
};

// Level-1 stream table descriptor (8 bytes): Span[4:0], L2Ptr[51:6].
namespace l1std {
inline constexpr FieldDef Span{"Span", 0, 4, 0};
inline constexpr FieldDef L2Ptr{"L2Ptr", 0, 51, 6, true};
inline constexpr FieldDef kAll[] = {Span, L2Ptr};
}  // namespace l1std
struct L1StreamDescriptor : Words<1> {};

}  // namespace smmu::arch
