// A PCIe function with PRI (docs/pri-stall.md), as a TLM-2.0 initiator on
// the SMMU's upstream socket. A DMA that the SMMU terminates with a
// translation fault makes it send a Page Request (a transaction whose
// SmmuExtension says page_request; one request per page, the last with L=1)
// and wait for the PRG Response the SMMU passes on (prg_response(), bound
// to the SMMU's set_prg_handler). Success: the DMA is retried; Invalid
// Request or Response Failure: it fails. A response to a group it has not
// requested sets its PRI Status UPRGI flag (PCIe 6.0 10.5.2.3) and is
// otherwise ignored. Without ATS on this branch the fault that triggers a
// request is the terminated DMA itself (with ATS it is a translation
// completion without permissions).
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
    unsigned max_retries = 4;  // page requests per DMA before it gives up
};

struct PriDeviceStats {
    uint64_t dmas = 0, dma_ok = 0, dma_failed = 0;
    uint64_t page_requests = 0, retries = 0;
    uint64_t responses = 0, responses_unexpected = 0;  // the latter: UPRGI
    uint64_t resp_success = 0, resp_invalid = 0, resp_failure = 0;
    double wait_ns_total = 0, wait_ns_max = 0;  // page request to PRG Response
};

class PriDevice : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<PriDevice> socket;

    PriDevice(sc_core::sc_module_name name, const PriDeviceParams& p);

    // One `len`-byte DMA from the calling SystemC thread (page requests and
    // retries included): true when it completed.
    bool dma(uint64_t addr, bool write, void* data, unsigned len);
    // A PRG Response message from the SMMU, leaving it `delay` after now.
    void prg_response(const PrgResponse& m, sc_core::sc_time delay);

    const PriDeviceStats& stats() const { return stats_; }
    bool uprgi() const { return stats_.responses_unexpected != 0; }

private:
    struct Group {
        sc_core::sc_event answered;
        bool done = false;
        arch::PriResp resp = arch::PriResp::Invalid;
    };
    tlm::tlm_response_status transport(tlm::tlm_generic_payload& gp, uint64_t addr, bool write, void* data,
                                       unsigned len, bool page_request, uint16_t prgi, uint8_t* event_id);

    PriDeviceParams p_;
    PriDeviceStats stats_;
    uint16_t next_prgi_ = 0;
    std::map<uint16_t, std::unique_ptr<Group>> groups_;  // outstanding, by PRG index
};

}  // namespace smmu::sim
