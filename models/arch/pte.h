// VMSAv8-64 translation table descriptors (Arm ARM D8.3) for the 4K, 16K and
// 64K granules, 48-bit output addresses, stage 1 and stage 2 attributes.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include "models/arch/bitfield.h"

namespace smmu::arch {

// Encoding shared by CD.TG0 and STE.S2TG (IHI 0070 5.2/5.4): 0 4K, 1 64K, 2 16K.
enum class Granule : uint8_t { K4 = 0, K64 = 1, K16 = 2 };

constexpr unsigned page_shift(Granule g) { return g == Granule::K4 ? 12 : g == Granule::K16 ? 14 : 16; }
// Each level resolves (page_shift - 3) bits: a table is one page of 8-byte descriptors.
constexpr unsigned level_stride(Granule g) { return page_shift(g) - 3; }
// Lowest input-address bit resolved at `level` (0..3).
constexpr unsigned level_shift(Granule g, unsigned level) { return page_shift(g) + (3 - level) * level_stride(g); }
constexpr uint64_t granule_bytes(Granule g) { return uint64_t{1} << page_shift(g); }
std::string_view granule_name(Granule g);

// Highest output address bit the descriptors of this model hold (no FEAT_LPA/LPA2).
inline constexpr unsigned kDescriptorOaBits = 48;

// Block descriptors are allowed at these levels (Arm ARM D8.3.1, without FEAT_LPA):
// 4K: levels 1 and 2; 16K: level 2; 64K: level 2.
constexpr bool block_allowed(Granule g, unsigned level) {
    return g == Granule::K4 ? (level == 1 || level == 2) : level == 2;
}

// Stage 2 start levels (IHI 0070 5.2 STE.S2SL0, as VTCR_EL2.SL0 in the Arm ARM):
// 4K 0=L2 1=L1 2=L0, and 3=L3 with small translation tables (IDR3.STT, FEAT_TTST);
// 16K/64K 0=L3 1=L2 2=L1 (16K's 3=L0 needs 52-bit tables: reserved here).
// None: a reserved encoding, or a level no encoding names.
std::optional<unsigned> s2sl0_start_level(Granule g, unsigned s2sl0, bool stt);
std::optional<unsigned> s2sl0_encoding(Granule g, unsigned level, bool stt);
// An `ias`-bit stage 2 input can start at `level`: that level resolves at least
// one bit and at most a table's stride plus 4 (16 concatenated tables), the
// Arm ARM's AArch64.S2InconsistentSL.
constexpr bool s2_start_level_consistent(Granule g, unsigned ias, unsigned level) {
    const unsigned shift = level_shift(g, level);
    return ias > shift && ias - shift <= level_stride(g) + 4;
}

namespace pte {
inline constexpr FieldDef Valid{"Valid", 0, 0, 0};
inline constexpr FieldDef Table{"Table", 0, 1, 1};  // 1 = table (levels 0-2) or page (level 3)
// Stage 1 lower attributes.
inline constexpr FieldDef AttrIndx{"AttrIndx", 0, 4, 2};
inline constexpr FieldDef NS{"NS", 0, 5, 5};
inline constexpr FieldDef AP{"AP", 0, 7, 6};  // AP[2:1]: bit 7 read-only, bit 6 EL0 access
inline constexpr FieldDef SH{"SH", 0, 9, 8};
inline constexpr FieldDef AF{"AF", 0, 10, 10};
inline constexpr FieldDef nG{"nG", 0, 11, 11};
inline constexpr FieldDef DBM{"DBM", 0, 51, 51};
inline constexpr FieldDef Contiguous{"Contiguous", 0, 52, 52};
inline constexpr FieldDef PXN{"PXN", 0, 53, 53};
inline constexpr FieldDef UXN{"UXN", 0, 54, 54};
// Stage 2 lower/upper attributes.
inline constexpr FieldDef MemAttr{"MemAttr", 0, 5, 2};
inline constexpr FieldDef S2AP{"S2AP", 0, 7, 6};  // bit 6 read, bit 7 write
inline constexpr FieldDef XN{"XN", 0, 54, 53};
// Stage 1 hierarchical attributes in table descriptors.
inline constexpr FieldDef PXNTable{"PXNTable", 0, 59, 59};
inline constexpr FieldDef XNTable{"XNTable", 0, 60, 60};
inline constexpr FieldDef APTable{"APTable", 0, 62, 61};
inline constexpr FieldDef NSTable{"NSTable", 0, 63, 63};
// The next table's or the output address, in place: bits [47:12] (the bits below a
// 16K/64K page or a block's size are RES0 without FEAT_LPA).
inline constexpr FieldDef OA{"OA", 0, 47, 12, true};
// Every field of a stage 1 and of a stage 2 descriptor, as a table descriptor
// (levels 0-2, Table=1) or a block/page reads them (`smmu-sim decode s1pte|s2pte`).
inline constexpr FieldDef kStage1[] = {Valid,      Table, AttrIndx, NS,       AP,      SH,      AF,     nG,     OA,
                                       DBM,        Contiguous, PXN, UXN,      PXNTable, XNTable, APTable, NSTable};
inline constexpr FieldDef kStage2[] = {Valid, Table, MemAttr, S2AP, SH, AF, OA, DBM, Contiguous, XN};
}  // namespace pte

// One 64-bit descriptor at a given level of a table of a given granule.
struct Descriptor : Words<1> {
    Descriptor() = default;
    explicit Descriptor(uint64_t raw) { w[0] = raw; }
    uint64_t raw() const { return w[0]; }
    bool valid() const { return get(pte::Valid); }
    // At level 3 bit 1 must be set (page); 0 there is reserved and faults.
    bool is_table(unsigned level) const { return level < 3 && get(pte::Table); }
    bool is_page(unsigned level) const { return level == 3 && get(pte::Table); }
    bool is_block(unsigned level) const { return level < 3 && !get(pte::Table); }

    // Next-level table address: bits [47:page_shift].
    static uint64_t table_mask(Granule g) {
        return ((uint64_t{1} << kDescriptorOaBits) - 1) & ~(granule_bytes(g) - 1);
    }
    // Output address of a block/page at `level`: bits [47:level_shift].
    static uint64_t output_mask(Granule g, unsigned level) {
        return ((uint64_t{1} << kDescriptorOaBits) - 1) & ~((uint64_t{1} << level_shift(g, level)) - 1);
    }
    uint64_t table_address(Granule g) const { return raw() & table_mask(g); }
    uint64_t output_address(Granule g, unsigned level) const { return raw() & output_mask(g, level); }

    static Descriptor make_table(Granule g, uint64_t next_table) {
        Descriptor d;
        d.w[0] = (next_table & table_mask(g)) | 0x3;
        return d;
    }
    // A block (level < 3) or page (level 3) with the access flag set.
    static Descriptor make_leaf(Granule g, unsigned level, uint64_t oa) {
        Descriptor d;
        d.w[0] = (oa & output_mask(g, level)) | (level == 3 ? 0x3 : 0x1);
        d.set(pte::AF, 1);
        return d;
    }
};

}  // namespace smmu::arch
