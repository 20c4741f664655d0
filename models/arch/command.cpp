#include "models/arch/command.h"

#include <array>

namespace smmu::arch {

namespace {
using namespace cmd;

std::vector<OpcodeInfo> build_table() {
    const std::vector<FieldDef> tlbi_va_tail{NUM, SCALE, Leaf, TTL, TG, VA};
    auto with = [](std::vector<FieldDef> head, const std::vector<FieldDef>& tail) {
        head.insert(head.end(), tail.begin(), tail.end());
        return head;
    };
    return {
        {Opcode::PREFETCH_CONFIG, "PREFETCH_CONFIG", {SSec, SSV, SSID, SID}},
        {Opcode::PREFETCH_ADDR, "PREFETCH_ADDR", {SSec, SSV, SSID, SID, PrefetchSize, PrefetchAddr}},
        {Opcode::CFGI_STE, "CFGI_STE", {SSec, SID, Leaf}},
        {Opcode::CFGI_STE_RANGE, "CFGI_STE_RANGE", {SSec, SID, Range}},
        {Opcode::CFGI_CD, "CFGI_CD", {SSec, SSID, SID, Leaf}},
        {Opcode::CFGI_CD_ALL, "CFGI_CD_ALL", {SSec, SID}},
        {Opcode::TLBI_NH_ALL, "TLBI_NH_ALL", {VMID}},
        {Opcode::TLBI_NH_ASID, "TLBI_NH_ASID", {VMID, ASID}},
        {Opcode::TLBI_NH_VA, "TLBI_NH_VA", with({VMID, ASID}, tlbi_va_tail)},
        {Opcode::TLBI_NH_VAA, "TLBI_NH_VAA", with({VMID}, tlbi_va_tail)},
        {Opcode::TLBI_EL3_ALL, "TLBI_EL3_ALL", {}},
        {Opcode::TLBI_EL3_VA, "TLBI_EL3_VA", tlbi_va_tail},
        {Opcode::TLBI_EL2_ALL, "TLBI_EL2_ALL", {}},
        {Opcode::TLBI_EL2_ASID, "TLBI_EL2_ASID", {ASID}},
        {Opcode::TLBI_EL2_VA, "TLBI_EL2_VA", with({ASID}, tlbi_va_tail)},
        {Opcode::TLBI_EL2_VAA, "TLBI_EL2_VAA", tlbi_va_tail},
        {Opcode::TLBI_S12_VMALL, "TLBI_S12_VMALL", {VMID}},
        {Opcode::TLBI_S2_IPA, "TLBI_S2_IPA", {VMID, NUM, SCALE, Leaf, TTL, TG, IPA}},
        {Opcode::TLBI_NSNH_ALL, "TLBI_NSNH_ALL", {}},
        {Opcode::ATC_INV, "ATC_INV", {SSV, SSID, SID, Global, AtcSize, AtcAddr}},
        {Opcode::PRI_RESP, "PRI_RESP", {SSV, SSID, SID, PRGIndex, PriResp}},
        {Opcode::RESUME, "RESUME", {SID, Action, STAG}},
        {Opcode::STALL_TERM, "STALL_TERM", {SID}},
        {Opcode::SYNC, "SYNC", {CS, MSH, MSIAttr, MSIData, MSIAddr}},
    };
}

const std::array<const OpcodeInfo*, 256>& index() {
    static const std::array<const OpcodeInfo*, 256> idx = [] {
        std::array<const OpcodeInfo*, 256> a{};
        for (const auto& info : all_opcodes()) a[static_cast<uint8_t>(info.opcode)] = &info;
        return a;
    }();
    return idx;
}
}  // namespace

const std::vector<OpcodeInfo>& all_opcodes() {
    static const std::vector<OpcodeInfo> table = build_table();
    return table;
}

const OpcodeInfo* opcode_info(uint8_t opcode) { return index()[opcode]; }

Command Command::make(Opcode op, std::initializer_list<std::pair<FieldDef, uint64_t>> fields) {
    Command c;
    c.set(cmd::opcode, static_cast<uint8_t>(op));
    for (const auto& [f, v] : fields) c.set(f, v);
    return c;
}

TlbiRange tlbi_range(const Command& c) {
    const uint64_t tg = c.get(cmd::TG);
    const auto& addr_field = c.opcode() == static_cast<uint8_t>(Opcode::TLBI_S2_IPA) ? cmd::IPA : cmd::VA;
    const uint64_t addr = c.get(addr_field);
    if (tg == 0) return {addr, 0, 0};
    const unsigned shift = tg == 1 ? 12 : tg == 2 ? 14 : 16;
    const uint64_t granules = (c.get(cmd::NUM) + 1) << c.get(cmd::SCALE);
    return {addr & ~((uint64_t{1} << shift) - 1), granules << shift, static_cast<unsigned>(c.get(cmd::TTL))};
}

}  // namespace smmu::arch
