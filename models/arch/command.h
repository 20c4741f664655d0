// Command queue entries (IHI 0070 4.1-4.7): 16 bytes, two dwords. Field
// positions as Linux's arm-smmu-v3.h writes them (CMDQ_*). Where the shared
// reference differs (ATC_INV Global), the Linux layout wins: dw0[9].
#pragma once
#include <optional>
#include <string_view>
#include <vector>
#include "models/arch/bitfield.h"

namespace smmu::arch {

enum class Opcode : uint8_t {
    PREFETCH_CONFIG = 0x01,
    PREFETCH_ADDR = 0x02,
    CFGI_STE = 0x03,
    CFGI_STE_RANGE = 0x04,  // Range 31 is CFGI_ALL
    CFGI_CD = 0x05,
    CFGI_CD_ALL = 0x06,
    TLBI_NH_ALL = 0x10,
    TLBI_NH_ASID = 0x11,
    TLBI_NH_VA = 0x12,
    TLBI_NH_VAA = 0x13,
    TLBI_EL3_ALL = 0x18,
    TLBI_EL3_VA = 0x1a,
    TLBI_EL2_ALL = 0x20,
    TLBI_EL2_ASID = 0x21,
    TLBI_EL2_VA = 0x22,
    TLBI_EL2_VAA = 0x23,
    TLBI_S12_VMALL = 0x28,
    TLBI_S2_IPA = 0x2a,
    TLBI_NSNH_ALL = 0x30,
    ATC_INV = 0x40,
    PRI_RESP = 0x41,
    RESUME = 0x44,
    STALL_TERM = 0x45,
    SYNC = 0x46,
};

namespace cmd {
inline constexpr FieldDef opcode{"opcode", 0, 7, 0};
inline constexpr FieldDef SSec{"SSec", 0, 10, 10};
inline constexpr FieldDef SSV{"SSV", 0, 11, 11};
inline constexpr FieldDef SSID{"SSID", 0, 31, 12};
inline constexpr FieldDef SID{"SID", 0, 63, 32};
// CFGI_*
inline constexpr FieldDef Leaf{"Leaf", 1, 0, 0};
inline constexpr FieldDef Range{"Range", 1, 4, 0};
// PREFETCH_ADDR
inline constexpr FieldDef PrefetchSize{"Size", 1, 4, 0};
inline constexpr FieldDef PrefetchAddr{"Addr", 1, 63, 12, true};
// TLBI_*
inline constexpr FieldDef NUM{"NUM", 0, 16, 12};
inline constexpr FieldDef SCALE{"SCALE", 0, 24, 20};
inline constexpr FieldDef VMID{"VMID", 0, 47, 32};
inline constexpr FieldDef ASID{"ASID", 0, 63, 48};
inline constexpr FieldDef TTL{"TTL", 1, 9, 8};
inline constexpr FieldDef TG{"TG", 1, 11, 10};
inline constexpr FieldDef VA{"Addr", 1, 63, 12, true};
inline constexpr FieldDef IPA{"Addr", 1, 51, 12, true};
// ATC_INV
inline constexpr FieldDef Global{"Global", 0, 9, 9};
inline constexpr FieldDef AtcSize{"Size", 1, 5, 0};
inline constexpr FieldDef AtcAddr{"Addr", 1, 63, 12, true};
// PRI_RESP
// The architecture names it PRGIndex (IHI 0070 4.5.2); Linux writes it as CMDQ_PRI_1_GRPID.
inline constexpr FieldDef PRGIndex{"PRGIndex", 1, 8, 0};
inline constexpr FieldDef PriResp{"Resp", 1, 13, 12};
// RESUME
inline constexpr FieldDef Action{"Action", 0, 13, 12};
inline constexpr FieldDef STAG{"STAG", 1, 15, 0};
// SYNC
inline constexpr FieldDef CS{"CS", 0, 13, 12};
inline constexpr FieldDef MSH{"MSH", 0, 23, 22};
inline constexpr FieldDef MSIAttr{"MSIAttr", 0, 27, 24};
inline constexpr FieldDef MSIData{"MSIData", 0, 63, 32};
inline constexpr FieldDef MSIAddr{"MSIAddr", 1, 51, 2, true};
}  // namespace cmd

// SYNC completion signal (CMD_SYNC.CS).
enum class SyncCs : uint8_t { None = 0, Irq = 1, Sev = 2 };

struct OpcodeInfo {
    Opcode opcode;
    std::string_view name;
    std::vector<FieldDef> fields;  // every field this command has, besides opcode
};

// The opcode table: name and fields of every command the model knows.
// Returns nullopt for an opcode the architecture does not define (CERROR_ILL).
const OpcodeInfo* opcode_info(uint8_t opcode);
const std::vector<OpcodeInfo>& all_opcodes();

struct Command : Words<2> {
    uint8_t opcode() const { return static_cast<uint8_t>(get(cmd::opcode)); }
    const OpcodeInfo* info() const { return opcode_info(opcode()); }
    // Encodes `op` with the given (field, value) pairs.
    static Command make(Opcode op, std::initializer_list<std::pair<FieldDef, uint64_t>> fields = {});
};

// TLBI range (IHI 0070 4.4.1, IDR3.RIL): with TG != 0 the command covers
// (NUM+1) << SCALE granules starting at Addr; TG encodes 1 4K, 2 16K, 3 64K.
struct TlbiRange {
    uint64_t base;
    uint64_t size;  // bytes; 0 when the command is not a range (single address)
    unsigned ttl;   // leaf level hint, 0 = any
};
TlbiRange tlbi_range(const Command& c);

}  // namespace smmu::arch
