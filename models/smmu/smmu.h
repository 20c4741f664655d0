// SystemC shell of the SMMU: three TLM-2.0 sockets around SmmuCore.
//  upstream   (target, multi): DMA from masters, StreamID etc. in SmmuExtension
//             (or the port's default StreamID)
//  downstream (initiator):     table walks, config fetches, queue accesses and
//                              the translated DMA, to memory
//  mmio       (target):        the register file (2 x 64 KiB pages)
// Every socket follows the TLM-2.0 base protocol (IEEE 1666-2011 14.2):
//  - upstream: b_transport (loosely timed: the delay annotates translation
//    and memory time); nb_transport_fw with the four phases (approximately
//    timed: END_REQ when a translation slot takes the request, so full slots
//    hold the initiator back; BEGIN_RESP when the translation and the memory
//    access are done; responses to one port in completion order, one at a
//    time); transport_dbg (translated from the tables through the downstream
//    debug transport: no cache, statistic, event or time changes); DMI for
//    the translated page, intersected with what the downstream target grants;
//    each grant is withdrawn (invalidate_direct_mem_ptr of its own range, on
//    its own port) by a CFGI or TLBI that would remove a micro-TLB entry of
//    its translation (TlbInvalidation), by a write to CR0, GBPA or
//    STRTAB_BASE (all of them), or when the downstream target withdraws the
//    memory under it.
//    PRI and stalls (docs/pri-stall.md): a transaction whose SmmuExtension
//    says page_request is a PCIe Page Request written to the PRI queue (it
//    completes at once, TLM_OK); the PRG Responses go to the handler given to
//    set_prg_handler. A transaction whose fault stalls (CD.S, STE.S2S) is held
//    (b_transport waits in the caller's thread; an AT transaction waits in a
//    process of its own, its END_REQ sent) until CMD_RESUME or CMD_STALL_TERM:
//    Retry translates it again, Abort/Term ends it with an error response.
//  - downstream: b_transport, transport_dbg and DMI towards any base-protocol
//    target (a target must implement b_transport, IEEE 1666-2011 14.2.1).
//    Table walks and structure reads go through DMI where the target grants
//    it (a read request), each at the read latency the grant states; writes
//    and the translated DMA use b_transport.
//  - mmio: b_transport, nb_transport_fw (completes at BEGIN_REQ: TLM_COMPLETED
//    with the access time annotated), transport_dbg (reads only); no DMI
//    (refused for the whole register space, dmi_allowed stays false).
// Timing: the core computes each translation's completion cycle from its
// caches, slots and ports (docs/timing.md); this shell turns cycles into
// sc_time and waits out each command in its command-queue thread.
// BasicSmmu<BUSWIDTH, MMIO_BUSWIDTH> picks the sockets' bus widths; Smmu is
// the 32-bit one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <map>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "models/smmu/smmu_core.h"
#include "tlm/report.h"
#include "tlm/smmu_extension.h"
#include "tlm/timed_queue.h"
#include "tlm/tlm_memory_port.h"

namespace smmu {

// The SMMU module but its sockets: BasicSmmu adds them at the widths it is
// given and registers these callbacks with them.
class SmmuBase : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(SmmuBase);
    SmmuCore& core() { return core_; }
    const SmmuCore& core() const { return core_; }
    sc_core::sc_time clock_period() const { return period_; }
    // The current simulation time in SMMU cycles (rounded up to a clock edge).
    Cycle now_cycles(sc_core::sc_time offset = sc_core::SC_ZERO_TIME) const;
    sc_core::sc_time time_of(Cycle c) const { return sc_core::sc_time::from_value(c * period_.value()); }
    // When the transaction being translated arrived: the kernel's time plus
    // its annotation (a loosely-timed initiator runs ahead of the kernel).
    // Observers (core().set_observer) report this time, not the kernel's.
    sc_core::sc_time arrival_time() const { return arrival_; }

    // The StreamID of transactions arriving on upstream port `port` (the
    // port-th master bound) without an SmmuExtension: no SubstreamID,
    // unprivileged data. A port without one warns once (report::kUpstream)
    // and uses StreamID 0.
    void set_default_stream(unsigned port, uint32_t sid);
    // Where CMD_ATC_INV for StreamID `sid` goes: the device bound to
    // ats_inv[ats_port] (the Root Complex routes ATS Invalidate Requests by
    // RequesterID). An ATC_INV for a StreamID with no route goes nowhere.
    void set_ats_stream(unsigned ats_port, uint32_t sid) { ats_routes_[sid] = ats_port; }

    // PCIe PRG Response messages to the devices (CMD_PRI_RESP, or the SMMU's
    // own answer to a dropped last request), with the delay after now they leave at.
    using PrgHandler = std::function<void(const PrgResponse&, sc_core::sc_time)>;
    void set_prg_handler(PrgHandler h) { prg_handler_ = std::move(h); }
    // The wired interrupts of the event queue and the PRI queue (IHI 0070
    // 3.18): notified when a record is written (whatever IRQ_CTRL says: the
    // host model uses them instead of polling).
    const sc_core::sc_event& evtq_irq() const { return evtq_irq_; }
    const sc_core::sc_event& priq_irq() const { return priq_irq_; }
    // The WFE wake-up event (SEV) a CMD_SYNC with CS=SEV sends when it
    // completes (IHI 0070 4.7.3; IDR0.SEV): to the PEs' event inputs.
    const sc_core::sc_event& sev() const { return sev_; }

    // DMI grants the SMMU keeps track of (to withdraw them when their
    // translation goes); past this many the oldest is withdrawn.
    static constexpr std::size_t kMaxDmiGrants = 1024;

protected:
    SmmuBase(sc_core::sc_module_name name, const SmmuCoreParams& params, unsigned mmio_cycles);
    // Called by the subclass's constructor with its sockets.
    void attach(TlmForwardPort& downstream);
    // The backward path to upstream port `port`, and how many are bound.
    virtual tlm::tlm_bw_transport_if<>* upstream_bw(unsigned port) = 0;
    virtual unsigned upstream_ports() = 0;
    // The forward path to the device on ats_inv[port].
    virtual tlm::tlm_fw_transport_if<>* ats_inv_fw(unsigned port) = 0;

    void upstream_b_transport(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    tlm::tlm_sync_enum upstream_nb_transport_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                                sc_core::sc_time& delay);
    unsigned upstream_transport_dbg(int port, tlm::tlm_generic_payload& gp);
    bool upstream_get_direct_mem_ptr(int port, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    void downstream_invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
    void mmio_b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
    tlm::tlm_sync_enum mmio_nb_transport_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                            sc_core::sc_time& delay);
    unsigned mmio_transport_dbg(tlm::tlm_generic_payload& gp);
    bool mmio_get_direct_mem_ptr(tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
    void end_of_elaboration() override;

private:
    // Per upstream port: its default StreamID, and its AT response channel.
    struct AtTxn;
    struct Port {
        bool has_sid = false;
        bool warned = false;
        uint32_t sid = 0;
        AtTxn* in_resp = nullptr;  // between BEGIN_RESP and END_RESP
        std::vector<AtTxn*> waiting;  // responses ready behind it, oldest first
    };
    // A DMI pointer given to an upstream port: the input range granted, its
    // output, and the translation's tags as a micro-TLB entry has them.
    struct DmiGrant {
        unsigned port = 0;
        uint64_t start = 0, end = 0;
        uint64_t pa_start = 0, pa_end = 0;
        TlbEntry tags;
    };
    struct AtTxn {
        tlm::tlm_generic_payload* gp = nullptr;
        unsigned port = 0;
        bool req_ended = false;
    };

    Port& port(unsigned p);
    // The request a transaction makes: from its SmmuExtension, else its port's default.
    TranslationRequest request(unsigned port, const tlm::tlm_generic_payload& gp, SmmuExtension* ext);
    // Translates and forwards one upstream transaction (b_transport and the AT
    // thread): `delay` in, the arrival after now; out, the response after now.
    // `accepted`: the cycle a translation slot took it.
    // Returns the STAG of a transaction the stall model holds (nothing done yet).
    std::optional<uint16_t> transact(unsigned port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay,
                                     Cycle& accepted);
    // A transaction transact() held as `stag`: waits (in the calling process)
    // for its RESUME / STALL_TERM, and for those of its retries' stalls.
    void await_stall(unsigned port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay, Cycle& accepted,
                     uint16_t stag);
    // A Page Request message (SmmuExtension::page_request).
    void page_request(tlm::tlm_generic_payload& gp, SmmuExtension& ext, sc_core::sc_time& delay);
    // An AT transaction that stalled, continued in a process of its own.
    void at_stalled(AtTxn* x, sc_core::sc_time delay, uint16_t stag);
    bool mmio_access(tlm::tlm_generic_payload& gp);
    sc_core::sc_time arrival_;  // of the transaction in transact()
    // An upstream transaction marked for ATS (SmmuExtension::ats), on
    // `port`; its request as request() makes it from the extension (the
    // PASID prefix's Privileged and Execute bits with the SubstreamID).
    void ats_transact(unsigned port, tlm::tlm_generic_payload& gp, SmmuExtension& ext, sc_core::sc_time& delay);
    // Sends an executed CMD_ATC_INV to its device from a process of its own
    // (a device may take long, or never, to answer).
    void send_atc_inv(const arch::Command& c);
    void cmdq_thread();
    // Withdraws the grants `gone` selects, each with its own range.
    void withdraw_dmi(const std::function<bool(const DmiGrant&)>& gone);

    // Approximately timed upstream.
    void at_thread();
    void at_phase_method();
    void at_end_req(AtTxn& x);
    void at_respond(AtTxn& x);
    void at_finish(Port& p);
    AtTxn* at_alloc();

    unsigned mmio_cycles_;
    sc_core::sc_time period_;
    double inv_period_;  // 1 / period_.value(), for now_cycles()
    TlmMemoryPort port_;
    TlmDebugPort debug_port_;
    TlmForwardPort* downstream_ = nullptr;
    SmmuCore core_;
    sc_core::sc_event cmdq_kick_;
    sc_core::sc_event evtq_irq_, priq_irq_, sev_;
    PrgHandler prg_handler_;
    // Per STAG held: the event its resolution notifies.
    std::map<uint16_t, std::unique_ptr<sc_core::sc_event>> stall_events_;
    std::vector<Port> ports_;
    std::vector<DmiGrant> dmi_grants_;
    std::map<uint32_t, unsigned> ats_routes_;  // StreamID -> ats_inv port
    unsigned atc_outstanding_ = 0;             // ATC_INVs sent and not answered
    sc_core::sc_event atc_answered_;           // the last outstanding one was answered
    // BEGIN_REQs at their time; END_REQs (when later than the translation) and responses.
    TimedQueue<AtTxn> at_arrivals_, at_phases_;
    std::vector<std::unique_ptr<AtTxn>> at_pool_;
    std::vector<AtTxn*> at_free_;
};

template <unsigned BUSWIDTH = 32, unsigned MMIO_BUSWIDTH = BUSWIDTH>
class BasicSmmu : public SmmuBase {
public:
    // Any number of masters, none included (an instance may have no devices).
    tlm_utils::multi_passthrough_target_socket<SmmuBase, BUSWIDTH, tlm::tlm_base_protocol_types, 0,
                                               sc_core::SC_ZERO_OR_MORE_BOUND>
        upstream;
    tlm_utils::simple_initiator_socket<SmmuBase, BUSWIDTH> downstream;
    // To the ATS-capable devices: CMD_ATC_INV as ATS Invalidate Requests
    // (SmmuExtension::Ats::Invalidate); routed by set_ats_stream.
    tlm_utils::multi_passthrough_initiator_socket<SmmuBase, BUSWIDTH, tlm::tlm_base_protocol_types, 0,
                                                  sc_core::SC_ZERO_OR_MORE_BOUND>
        ats_inv;
    tlm_utils::simple_target_socket<SmmuBase, MMIO_BUSWIDTH> mmio;

    // `mmio_cycles`: what one register access costs.
    BasicSmmu(sc_core::sc_module_name name, const SmmuCoreParams& params, unsigned mmio_cycles = 1)
        : SmmuBase(name, params, mmio_cycles),
          upstream("upstream"),
          downstream("downstream"),
          ats_inv("ats_inv"),
          mmio("mmio") {
        upstream.register_b_transport(this, &BasicSmmu::upstream_b_transport);
        upstream.register_nb_transport_fw(this, &BasicSmmu::upstream_nb_transport_fw);
        upstream.register_transport_dbg(this, &BasicSmmu::upstream_transport_dbg);
        upstream.register_get_direct_mem_ptr(this, &BasicSmmu::upstream_get_direct_mem_ptr);
        downstream.register_invalidate_direct_mem_ptr(this, &BasicSmmu::downstream_invalidate_direct_mem_ptr);
        mmio.register_b_transport(this, &BasicSmmu::mmio_b_transport);
        mmio.register_nb_transport_fw(this, &BasicSmmu::mmio_nb_transport_fw);
        mmio.register_transport_dbg(this, &BasicSmmu::mmio_transport_dbg);
        mmio.register_get_direct_mem_ptr(this, &BasicSmmu::mmio_get_direct_mem_ptr);
        attach(downstream);
    }

protected:
    tlm::tlm_bw_transport_if<>* upstream_bw(unsigned port) override { return upstream[port]; }
    unsigned upstream_ports() override { return upstream.size(); }
    tlm::tlm_fw_transport_if<>* ats_inv_fw(unsigned port) override { return ats_inv[port]; }
};

using Smmu = BasicSmmu<32>;
using Smmu64 = BasicSmmu<64>;

}  // namespace smmu
