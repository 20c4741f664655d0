// run's host servicing I/O page faults (docs/pri-stall.md): what its
// event-interrupt thread does when an SMMU raises the event queue or PRI
// queue interrupt. One pass per instance is arm_smmu_evtq_thread and
// arm_smmu_priq_thread (driver/arm_smmu_v3/fault.h: service_faults): stall
// events and page requests are reported to the IOPF path
// (iommu_report_device_fault), and host.fault.policy says who answers:
//  - mainline: no fault handler on the domain (iopf_error_response: INVALID,
//    so CMD_RESUME Abort) and arm_smmu_handle_ppr's CMD_PRI_RESP DENY;
//  - iopf: iommufd's fault queue (IOMMU_FAULT_QUEUE_ALLOC, a HWPT allocated
//    with its fault ID): the VMM reads the group, maps the page (a fresh page
//    from host.fault.pa_base into the device's DMA domain or its VM's IOAS)
//    and writes IOMMU_PAGE_RESP_SUCCESS (IOMMU_HWPT_PAGE_RESPONSE ->
//    iopf_group_response -> arm_smmu_page_response), after
//    host.fault.handling_ns; a page it cannot map is answered FAILURE;
//  - none: the records are read, nothing is answered.
// Plain C++ over the HostDriver (its bus gives the time); Host runs it.
#pragma once
#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "driver/arm_smmu_v3/fault.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

class HostDriver;

// Per device, what the host's fault path saw and answered.
struct FaultDeviceStats {
    uint64_t page_requests = 0;  // PRI queue records read
    uint64_t stalls = 0;         // stall events read (Stall=1)
    uint64_t pri_success = 0, pri_invalid = 0, pri_failure = 0;  // CMD_PRI_RESP by Resp
    uint64_t resume_retry = 0, resume_abort = 0;                 // CMD_RESUME by Action
    uint64_t pages_mapped = 0;                                   // by the iopf handler
    // From the interrupt to each response's CMD_PRI_RESP / CMD_RESUME.
    uint64_t responses = 0;
    double handling_ns_total = 0, handling_ns_max = 0;

    // Another device's counts added in (the platform's totals).
    FaultDeviceStats& operator+=(const FaultDeviceStats& o) {
        for (uint64_t FaultDeviceStats::*c :
             {&FaultDeviceStats::page_requests, &FaultDeviceStats::stalls, &FaultDeviceStats::pri_success,
              &FaultDeviceStats::pri_invalid, &FaultDeviceStats::pri_failure, &FaultDeviceStats::resume_retry,
              &FaultDeviceStats::resume_abort, &FaultDeviceStats::pages_mapped, &FaultDeviceStats::responses})
            this->*c += o.*c;
        handling_ns_total += o.handling_ns_total;
        handling_ns_max = std::max(handling_ns_max, o.handling_ns_max);
        return *this;
    }
};

class HostFaults {
public:
    HostFaults(HostDriver& driver, const Config& cfg);

    // One pass on instance `smmu`, the interrupt having come at `irq_ns`:
    // the records read are handed to the driver's arm_smmu_handle_event
    // bookkeeping (HostDriver::handle_event_records), the responses sent.
    void service(unsigned smmu, double irq_ns);

    // By device name, for the devices that faulted.
    const std::map<std::string, FaultDeviceStats>& stats() const { return stats_; }

private:
    driver::PageResponseCode handle_group(unsigned smmu, const std::vector<driver::PageFault>& group);
    const DeviceConfig* device_of(unsigned smmu, uint32_t sid) const;

    HostDriver& driver_;
    const Config& cfg_;
    std::vector<std::unique_ptr<driver::IopfQueue>> iopf_;  // per instance
    uint64_t next_pa_;
    // Pages the handler mapped: (device, ssid, page).
    std::set<std::tuple<std::string, uint32_t, uint64_t>> mapped_;
    std::map<std::string, FaultDeviceStats> stats_;
};

}  // namespace smmu::sim
