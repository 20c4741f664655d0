#include "models/pcie/atc.h"

namespace smmu {

namespace cmd = arch::cmd;

namespace {
// Every ATC entry is filled for one device, so the StreamID tag is unused.
constexpr uint32_t kSid = 0;
// CMD_ATC_INV.Size of the whole address space (the kernel's ATC_INV_SIZE_ALL).
constexpr uint64_t kAtcInvSizeAll = 52;
}  // namespace

const TlbEntry* Atc::lookup(bool ssv, uint32_t ssid, uint64_t addr, bool write) {
    const TlbEntry* e = tlb_.lookup_stream(kSid, ssv, ssid, addr);
    if (e && write && !e->unpriv.write) return nullptr;
    return e;
}

void Atc::fill(bool ssv, uint32_t ssid, uint64_t addr, uint64_t pa, uint64_t size, bool read, bool write, bool global) {
    if (!read && !write) return;
    TlbEntry e;
    e.sid = kSid;
    e.ssv = ssv;
    e.ssid = ssv ? ssid : 0;
    e.global = global;
    e.shift = static_cast<uint8_t>(__builtin_ctzll(size));
    e.in_base = addr & ~(size - 1);
    e.out_base = pa & ~(size - 1);
    e.unpriv = e.priv = Permissions{read, write, false};
    tlb_.fill(e);
}

unsigned Atc::invalidate(const arch::Command& c) {
    const uint64_t size = c.get(cmd::AtcSize);
    const bool all = size >= kAtcInvSizeAll;
    const uint64_t span = all ? 0 : uint64_t{4096} << size;
    const uint64_t base = all ? 0 : c.get(cmd::AtcAddr) & ~(span - 1);
    const bool ssv = c.get(cmd::SSV), global = c.get(cmd::Global);
    const auto ssid = static_cast<uint32_t>(c.get(cmd::SSID));
    return tlb_.invalidate_if([&](const TlbEntry& e) {
        if (!all && !e.overlaps(base, span)) return false;
        return !ssv || (e.ssv && e.ssid == ssid) || (global && e.global);
    });
}

}  // namespace smmu
