// PCIe functions with PRI (docs/pri-stall.md), on the SMMU's upstream socket.
//
// PriFunction is the PRI side of a function: a Page Request (a transaction
// whose SmmuExtension says page_request; a group of one page, L=1) sent
// through the function's initiator socket, then the wait for the PRG
// Response the SMMU passes on (prg_response(), bound to the SMMU's
// set_prg_handler). At most `outstanding` groups are unanswered at once (the
// PRI capability's Outstanding Page Request Allocation, PCIe 6.0 10.5.2.5): a
// request beyond that waits for an answer first. A response to a group it has
// not requested (or, for a function that requires the PASID on responses,
// one without the group's PASID) sets its PRI Status UPRGI flag (PCIe 6.0
// 10.5.2.3) and is otherwise ignored. run's masters (TrafficGenerator, devices.<d>.pri) and
// PriDevice use it.
//
// PriDevice is a whole function for the SystemC tests: a DMA that the SMMU
// terminates with a translation fault makes it request the page and, on
// Success, retry; Invalid Request or Response Failure: the DMA fails.
#pragma once
#include <cstdint>
#include <map>
#include <memory>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/smmu/smmu_core.h"

namespace smmu::sim {

struct PriDeviceParams {
    uint32_t sid = 0;
    uint32_t ssid = 0;
    bool ssv = false;
    bool pri = true;           // PRI enabled (its PRI Control register's Enable)
    bool pasid_required = false;  // PRI Status "PRG Response PASID Required"
    unsigned max_retries = 4;  // page requests per DMA before it gives up
};

struct PriDeviceStats {
    uint64_t dmas = 0, dma_ok = 0, dma_failed = 0;
    uint64_t page_requests = 0, retries = 0;
    uint64_t responses = 0, responses_unexpected = 0;  // the latter: UPRGI
    uint64_t resp_success = 0, resp_invalid = 0, resp_failure = 0;
    double wait_ns_total = 0, wait_ns_max = 0;  // page request to PRG Response
};

class PriFunction {
public:
    // Retries of one access after Success responses before the function gives up.
    static constexpr unsigned kMaxRetries = 4;

    // `pasid_required`: its PRI Status "PRG Response PASID Required" (PCIe 6.0
    // 7.8.10.3): a group requested with a PASID is answered only by a
    // response carrying that PASID; otherwise the PASID of a response is not
    // looked at.
    PriFunction(uint32_t sid, unsigned outstanding, bool pasid_required = false)
        : sid_(sid), outstanding_(outstanding), pasid_required_(pasid_required) {}

    // A terminated access's event is worth a page request: a translation fault
    // the page tables can fix (the SMMU says which in SmmuExtension::event_id).
    static bool requests_page_for(uint8_t event_id);
    // From a SystemC thread: waits out `delay`, sends the page's Page Request
    // through `smmu` (SubstreamID with `ssv`), waits for the PRG Response and
    // returns its code (`delay` is then zero).
    arch::PriResp request_page(tlm::tlm_fw_transport_if<>& smmu, uint64_t addr, bool write, bool ssv, uint32_t ssid,
                               sc_core::sc_time& delay);
    // A PRG Response message from the SMMU, leaving it `delay` after now.
    void prg_response(const PrgResponse& m, sc_core::sc_time delay);

    // The function's counters; dmas, dma_ok and dma_failed are its user's.
    PriDeviceStats& stats() { return stats_; }
    const PriDeviceStats& stats() const { return stats_; }
    bool uprgi() const { return stats_.responses_unexpected != 0; }
    // Page requests sent and not answered yet.
    std::size_t waiting() const { return groups_.size(); }

private:
    struct Group {
        sc_core::sc_event answered;
        bool done = false;
        arch::PriResp resp = arch::PriResp::Invalid;
        bool ssv = false;  // requested with this PASID
        uint32_t ssid = 0;
    };
    uint32_t sid_;
    unsigned outstanding_;
    bool pasid_required_;
    PriDeviceStats stats_;
    uint16_t next_prgi_ = 0;
    std::map<uint16_t, std::unique_ptr<Group>> groups_;  // outstanding, by PRG index
    sc_core::sc_event freed_;                            // a group was answered
};

class PriDevice : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<PriDevice> socket;

    PriDevice(sc_core::sc_module_name name, const PriDeviceParams& p);

    // One `len`-byte DMA from the calling SystemC thread (page requests and
    // retries included): true when it completed.
    bool dma(uint64_t addr, bool write, void* data, unsigned len);
    void prg_response(const PrgResponse& m, sc_core::sc_time delay) { pri_.prg_response(m, delay); }

    const PriDeviceStats& stats() const { return pri_.stats(); }
    bool uprgi() const { return pri_.uprgi(); }

private:
    PriDeviceParams p_;
    PriFunction pri_;
};

}  // namespace smmu::sim
