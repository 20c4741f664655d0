// Generic-payload extension carrying what an SMMUv3 needs to know about an
// upstream transaction (IHI 0070 3.2: StreamID, SubstreamID, PnU, InD) and
// what it tells the master back. A master attaches it to every transaction
// it sends to the SMMU's upstream socket; a transaction without it takes its
// port's default StreamID (Smmu::set_default_stream), no SubstreamID,
// unprivileged data; on a port without a default, StreamID 0 and a warning
// (once per port, report::kUpstream).
//
// In:  sid, ssid, ssv, privileged, instruction.
//      page_request: the transaction is a PCIe Page Request message (PRI),
//      not a DMA: its address is the page, its command the access asked for
//      (read or write), prg_index and prg_last its group (docs/pri-stall.md).
//      ats: what the transaction is for PCIe ATS (IHI 0070 3.9.1):
//      - TranslationRequest: an ATS Translation Request for the page of the
//        address (a write command asks for write permission, a read sets
//        NW); no data moves; the completion comes back in ats_status,
//        pa (the translated page), ats_size, ats_read/ats_write, ats_global.
//      - Translated: the address is a PA from the device's ATC; the SMMU
//        checks it as the STE says (CR0.ATSCHK, STE.EATS) and passes it on.
//      - Invalidate: SMMU -> device, on the SMMU's ats_inv socket: the
//        16-byte CMD_ATC_INV as data (sid/ssid/ssv set from it); the device
//        invalidates its ATC and answers (returns) when its invalidation
//        completes.
// Out: event_id (0 = translated; else the EventId the fault recorded, or
//      0xff for an abort without event, e.g. STE.Config = abort), pa.
#pragma once
#include <cstdint>

#include <tlm>

namespace smmu {

struct SmmuExtension : tlm::tlm_extension<SmmuExtension> {
    static constexpr uint8_t kAbortNoEvent = 0xff;
    enum class Ats : uint8_t { None, TranslationRequest, Translated, Invalidate };

    uint32_t sid = 0;
    uint32_t ssid = 0;
    bool ssv = false;
    bool privileged = false;
    bool instruction = false;
    bool page_request = false;
    uint16_t prg_index = 0;
    bool prg_last = true;
    Ats ats = Ats::None;

    uint8_t event_id = 0;
    uint64_t pa = 0;
    uint8_t ats_status = 0;  // smmu::AtsStatus (models/smmu/ats): 0 success, 1 UR, 2 CA
    uint64_t ats_size = 0;
    bool ats_read = false, ats_write = false, ats_global = false;

    tlm::tlm_extension_base* clone() const override { return new SmmuExtension(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override {
        *this = static_cast<const SmmuExtension&>(other);
    }
};

}  // namespace smmu
