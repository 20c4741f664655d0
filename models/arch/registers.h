// SMMUv3 programming interface (IHI 0070 6.3): register offsets from the SMMU
// base (page 1 at +0x10000) and their fields.
#pragma once
#include <cstdint>
#include <optional>
#include "models/arch/bitfield.h"

namespace smmu::arch {

namespace reg {
inline constexpr uint32_t IDR0 = 0x00, IDR1 = 0x04, IDR2 = 0x08, IDR3 = 0x0c, IDR4 = 0x10, IDR5 = 0x14;
inline constexpr uint32_t IIDR = 0x18, AIDR = 0x1c;
inline constexpr uint32_t CR0 = 0x20, CR0ACK = 0x24, CR1 = 0x28, CR2 = 0x2c;
inline constexpr uint32_t STATUSR = 0x40, GBPA = 0x44, AGBPA = 0x48;
inline constexpr uint32_t IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54;
inline constexpr uint32_t GERROR = 0x60, GERRORN = 0x64;
inline constexpr uint32_t GERROR_IRQ_CFG0 = 0x68, GERROR_IRQ_CFG1 = 0x70, GERROR_IRQ_CFG2 = 0x74;
inline constexpr uint32_t STRTAB_BASE = 0x80, STRTAB_BASE_CFG = 0x88;
inline constexpr uint32_t CMDQ_BASE = 0x90, CMDQ_PROD = 0x98, CMDQ_CONS = 0x9c;
inline constexpr uint32_t EVENTQ_BASE = 0xa0;
inline constexpr uint32_t EVENTQ_PROD_ALIAS = 0xa8, EVENTQ_CONS_ALIAS = 0xac;  // page-0 aliases
inline constexpr uint32_t EVENTQ_IRQ_CFG0 = 0xb0, EVENTQ_IRQ_CFG1 = 0xb8, EVENTQ_IRQ_CFG2 = 0xbc;
inline constexpr uint32_t EVENTQ_PROD = 0x100a8, EVENTQ_CONS = 0x100ac;
inline constexpr uint32_t PRIQ_BASE = 0xc0;
inline constexpr uint32_t PRIQ_PROD_ALIAS = 0xc8, PRIQ_CONS_ALIAS = 0xcc;  // page-0 aliases
inline constexpr uint32_t PRIQ_IRQ_CFG0 = 0xd0, PRIQ_IRQ_CFG1 = 0xd8, PRIQ_IRQ_CFG2 = 0xdc;
inline constexpr uint32_t PRIQ_PROD = 0x100c8, PRIQ_CONS = 0x100cc;
inline constexpr uint32_t kPageSize = 0x10000;
inline constexpr uint32_t kMmioSize = 2 * kPageSize;
}  // namespace reg

namespace idr0 {
inline constexpr FieldDef S2P = reg_field("S2P", 0, 0);
inline constexpr FieldDef S1P = reg_field("S1P", 1, 1);
inline constexpr FieldDef TTF = reg_field("TTF", 3, 2);
inline constexpr FieldDef COHACC = reg_field("COHACC", 4, 4);
inline constexpr FieldDef HTTU = reg_field("HTTU", 7, 6);
inline constexpr FieldDef HYP = reg_field("HYP", 9, 9);
inline constexpr FieldDef ATS = reg_field("ATS", 10, 10);
inline constexpr FieldDef NS1ATS = reg_field("NS1ATS", 11, 11);
inline constexpr FieldDef ASID16 = reg_field("ASID16", 12, 12);
inline constexpr FieldDef MSI = reg_field("MSI", 13, 13);
inline constexpr FieldDef SEV = reg_field("SEV", 14, 14);
inline constexpr FieldDef ATOS = reg_field("ATOS", 15, 15);
inline constexpr FieldDef PRI = reg_field("PRI", 16, 16);
inline constexpr FieldDef VATOS = reg_field("VATOS", 20, 20);
inline constexpr FieldDef VMID16 = reg_field("VMID16", 18, 18);
inline constexpr FieldDef CD2L = reg_field("CD2L", 19, 19);
inline constexpr FieldDef TTENDIAN = reg_field("TTENDIAN", 22, 21);
inline constexpr FieldDef STALL_MODEL = reg_field("STALL_MODEL", 25, 24);
inline constexpr FieldDef TERM_MODEL = reg_field("TERM_MODEL", 26, 26);
inline constexpr FieldDef ST_LEVEL = reg_field("ST_LEVEL", 28, 27);
}  // namespace idr0
namespace idr1 {
inline constexpr FieldDef SIDSIZE = reg_field("SIDSIZE", 5, 0);
inline constexpr FieldDef SSIDSIZE = reg_field("SSIDSIZE", 10, 6);
inline constexpr FieldDef PRIQS = reg_field("PRIQS", 15, 11);
inline constexpr FieldDef EVENTQS = reg_field("EVENTQS", 20, 16);
inline constexpr FieldDef CMDQS = reg_field("CMDQS", 25, 21);
}  // namespace idr1
namespace idr3 {
inline constexpr FieldDef HAD = reg_field("HAD", 2, 2);
inline constexpr FieldDef PBHA = reg_field("PBHA", 3, 3);
inline constexpr FieldDef XNX = reg_field("XNX", 4, 4);
inline constexpr FieldDef PPS = reg_field("PPS", 5, 5);
inline constexpr FieldDef MPAM = reg_field("MPAM", 7, 7);
inline constexpr FieldDef FWB = reg_field("FWB", 8, 8);
inline constexpr FieldDef RIL = reg_field("RIL", 10, 10);
inline constexpr FieldDef STT = reg_field("STT", 9, 9);
inline constexpr FieldDef BBML = reg_field("BBML", 12, 11);
}  // namespace idr3
namespace idr5 {
inline constexpr FieldDef OAS = reg_field("OAS", 2, 0);
inline constexpr FieldDef GRAN4K = reg_field("GRAN4K", 4, 4);
inline constexpr FieldDef GRAN16K = reg_field("GRAN16K", 5, 5);
inline constexpr FieldDef GRAN64K = reg_field("GRAN64K", 6, 6);
inline constexpr FieldDef VAX = reg_field("VAX", 11, 10);
inline constexpr FieldDef STALL_MAX = reg_field("STALL_MAX", 31, 16);
}  // namespace idr5
// The ID registers' fields by name (IHI 0070 6.3.1-6.3.6, 6.3.7 IIDR, 6.3.8
// AIDR), for configurations that set what the SMMU advertises (`smmu.idr`).
// An empty field name stands for the whole register.
struct IdField {
    std::string_view reg;
    uint32_t offset;
    FieldDef field;
};
inline constexpr IdField kIdFields[] = {
    {"IDR0", reg::IDR0, idr0::S2P}, {"IDR0", reg::IDR0, idr0::S1P}, {"IDR0", reg::IDR0, idr0::TTF},
    {"IDR0", reg::IDR0, idr0::COHACC}, {"IDR0", reg::IDR0, idr0::HTTU}, {"IDR0", reg::IDR0, idr0::HYP},
    {"IDR0", reg::IDR0, idr0::ATS}, {"IDR0", reg::IDR0, idr0::NS1ATS}, {"IDR0", reg::IDR0, idr0::ASID16},
    {"IDR0", reg::IDR0, idr0::MSI}, {"IDR0", reg::IDR0, idr0::SEV}, {"IDR0", reg::IDR0, idr0::ATOS},
    {"IDR0", reg::IDR0, idr0::PRI}, {"IDR0", reg::IDR0, idr0::VMID16}, {"IDR0", reg::IDR0, idr0::CD2L},
    {"IDR0", reg::IDR0, idr0::VATOS}, {"IDR0", reg::IDR0, idr0::TTENDIAN}, {"IDR0", reg::IDR0, idr0::STALL_MODEL},
    {"IDR0", reg::IDR0, idr0::TERM_MODEL}, {"IDR0", reg::IDR0, idr0::ST_LEVEL},
    {"IDR1", reg::IDR1, idr1::SIDSIZE}, {"IDR1", reg::IDR1, idr1::SSIDSIZE}, {"IDR1", reg::IDR1, idr1::PRIQS},
    {"IDR1", reg::IDR1, idr1::EVENTQS}, {"IDR1", reg::IDR1, idr1::CMDQS},
    {"IDR2", reg::IDR2, reg_field("", 31, 0)},
    {"IDR3", reg::IDR3, idr3::HAD}, {"IDR3", reg::IDR3, idr3::PBHA}, {"IDR3", reg::IDR3, idr3::XNX},
    {"IDR3", reg::IDR3, idr3::PPS}, {"IDR3", reg::IDR3, idr3::MPAM}, {"IDR3", reg::IDR3, idr3::FWB},
    {"IDR3", reg::IDR3, idr3::STT}, {"IDR3", reg::IDR3, idr3::RIL}, {"IDR3", reg::IDR3, idr3::BBML},
    {"IDR4", reg::IDR4, reg_field("", 31, 0)},
    {"IDR5", reg::IDR5, idr5::OAS}, {"IDR5", reg::IDR5, idr5::GRAN4K}, {"IDR5", reg::IDR5, idr5::GRAN16K},
    {"IDR5", reg::IDR5, idr5::GRAN64K}, {"IDR5", reg::IDR5, idr5::VAX}, {"IDR5", reg::IDR5, idr5::STALL_MAX},
    {"IIDR", reg::IIDR, reg_field("", 31, 0)}, {"AIDR", reg::AIDR, reg_field("", 31, 0)},
};

namespace cr0 {
inline constexpr FieldDef SMMUEN = reg_field("SMMUEN", 0, 0);
inline constexpr FieldDef PRIQEN = reg_field("PRIQEN", 1, 1);
inline constexpr FieldDef EVTQEN = reg_field("EVTQEN", 2, 2);
inline constexpr FieldDef CMDQEN = reg_field("CMDQEN", 3, 3);
inline constexpr FieldDef ATSCHK = reg_field("ATSCHK", 4, 4);
inline constexpr uint32_t kWritable = 0x1f;
}  // namespace cr0
namespace gbpa {
inline constexpr FieldDef ABORT = reg_field("ABORT", 20, 20);
inline constexpr FieldDef UPDATE = reg_field("UPDATE", 31, 31);
}  // namespace gbpa
namespace irq_ctrl {
inline constexpr FieldDef GERROR_IRQEN = reg_field("GERROR_IRQEN", 0, 0);
inline constexpr FieldDef PRIQ_IRQEN = reg_field("PRIQ_IRQEN", 1, 1);
inline constexpr FieldDef EVTQ_IRQEN = reg_field("EVTQ_IRQEN", 2, 2);
}  // namespace irq_ctrl
namespace gerror {
inline constexpr FieldDef CMDQ_ERR = reg_field("CMDQ_ERR", 0, 0);
inline constexpr FieldDef EVTQ_ABT_ERR = reg_field("EVTQ_ABT_ERR", 2, 2);
inline constexpr FieldDef PRIQ_ABT_ERR = reg_field("PRIQ_ABT_ERR", 3, 3);
inline constexpr FieldDef MSI_CMDQ_ABT_ERR = reg_field("MSI_CMDQ_ABT_ERR", 4, 4);
inline constexpr FieldDef MSI_EVTQ_ABT_ERR = reg_field("MSI_EVTQ_ABT_ERR", 5, 5);
inline constexpr FieldDef MSI_PRIQ_ABT_ERR = reg_field("MSI_PRIQ_ABT_ERR", 6, 6);
inline constexpr FieldDef SFM_ERR = reg_field("SFM_ERR", 8, 8);
inline constexpr uint32_t kDefined = 0x1fd;
}  // namespace gerror
namespace strtab_base {
inline constexpr FieldDef ADDR = reg_field("ADDR", 51, 6, true);
inline constexpr FieldDef RA = reg_field("RA", 62, 62);
}  // namespace strtab_base
namespace strtab_base_cfg {
inline constexpr FieldDef LOG2SIZE = reg_field("LOG2SIZE", 5, 0);
inline constexpr FieldDef SPLIT = reg_field("SPLIT", 10, 6);
inline constexpr FieldDef FMT = reg_field("FMT", 17, 16);
}  // namespace strtab_base_cfg
// CMDQ_BASE, EVENTQ_BASE and PRIQ_BASE share a layout (RA/WA at bit 62).
namespace queue_base {
inline constexpr FieldDef LOG2SIZE = reg_field("LOG2SIZE", 4, 0);
inline constexpr FieldDef ADDR = reg_field("ADDR", 51, 5, true);
inline constexpr FieldDef RA = reg_field("RA", 62, 62);
}  // namespace queue_base
// CMDQ_CONS.ERR codes (IHI 0070 4.8, 6.3.27).
enum class CmdqError : uint8_t { None = 0, Ill = 1, Abt = 2, AtcInvSync = 3 };
namespace cmdq_cons {
inline constexpr FieldDef ERR = reg_field("ERR", 30, 24);
}
// PRIQ_PROD.OVFLG and PRIQ_CONS.OVACKFLG sit where the event queue's do (IHI 0070 6.3.32-33).
namespace eventq_prod {
inline constexpr FieldDef OVFLG = reg_field("OVFLG", 31, 31);
}
namespace eventq_cons {
inline constexpr FieldDef OVACKFLG = reg_field("OVACKFLG", 31, 31);
}

// Address-size encodings shared by IDR5.OAS, CD.IPS and STE.S2PS.
constexpr unsigned pa_bits(unsigned encoding) {
    constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
    return encoding < 7 ? bits[encoding] : 48;
}
std::optional<unsigned> pa_encoding(unsigned bits);

}  // namespace smmu::arch
