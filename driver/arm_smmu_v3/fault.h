// The kernel's I/O page-fault path for an SMMUv3 (docs/pri-stall.md):
//  - stalls: arm_smmu_evtq_thread -> arm_smmu_handle_event turns an event
//    with Stall=1 into an IOMMU_FAULT_PAGE_REQ (grpid = STAG, LAST_PAGE) and
//    calls iommu_report_device_fault; the response goes back through
//    iommu_ops->page_response = arm_smmu_page_response as CMD_RESUME
//    (SUCCESS: Retry; INVALID/FAILURE: Abort). Mainline (v6.18 arm-smmu-v3.c).
//  - PRI: mainline's arm_smmu_priq_thread -> arm_smmu_handle_ppr only logs
//    "unexpected PRI request received" and answers each group's last request
//    with CMD_PRI_RESP DENY (PageRequestPolicy::Deny). Serving page requests
//    follows Jean-Philippe Brucker's unmerged "iommu/arm-smmu-v3: Add support
//    for PRI" series (linux-arm-kernel, 2019-2021): arm_smmu_handle_ppr
//    reports an IOMMU_FAULT_PAGE_REQ (grpid = PRGIndex) and
//    arm_smmu_page_response sends CMD_PRI_RESP with the response code
//    (PageRequestPolicy::Iopf).
//  - the iommu core (drivers/iommu/io-pgfault.c): iommu_report_device_fault
//    keeps a group's partial requests until its last, then hands the group
//    to the domain's iopf_handler; without one, iopf_error_response answers
//    INVALID. With iommufd (IOMMU_FAULT_QUEUE_ALLOC) the handler is
//    iommufd_fault_iopf_handler: the group is queued for the VMM, which
//    reads it, maps the page and writes the response
//    (iommufd_fault_fops_write -> iopf_group_response -> page_response).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "driver/arm_smmu_v3/domain.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/pri.h"

namespace smmu::driver {

// struct iommu_fault_page_request (include/linux/iommu.h), with the StreamID
// the driver found the master by (arm_smmu_find_master).
struct PageFault {
    uint32_t sid = 0;
    bool pasid_valid = false;  // IOMMU_FAULT_PAGE_REQUEST_PASID_VALID
    uint32_t pasid = 0;
    bool last = true;          // IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE
    uint32_t grpid = 0;        // PRGIndex, or the STAG of a stall
    bool read = false, write = false, exec = false, priv = false;  // IOMMU_FAULT_PERM_*
    uint64_t addr = 0;
    bool stall = false;        // from a stall event (master->stall_enabled): answered by CMD_RESUME
};

// enum iommu_page_response_code.
enum class PageResponseCode : uint8_t { Success, Invalid, Failure };

// arm_smmu_handle_event: the fault of a stall event (F_TRANSLATION,
// F_ADDR_SIZE, F_ACCESS, F_PERMISSION with Stall=1); nullopt otherwise
// (-EOPNOTSUPP: the event is only logged).
std::optional<PageFault> fault_from_event(const arch::EventRecord& e);
// arm_smmu_handle_ppr of the PRI series.
PageFault fault_from_ppr(const arch::PriRecord& r);
// Mainline arm_smmu_handle_ppr: CMD_PRI_RESP DENY for a group's last request.
std::optional<arch::Command> deny_ppr(const arch::PriRecord& r);
// arm_smmu_page_response: CMD_RESUME for a stall, CMD_PRI_RESP for a page
// request, whose SubstreamID goes with it only when the master's function
// wants it (substream_valid = pasid_valid && master->prg_resp_needs_ssid,
// the PRI series). The RESUME names the stalled stream's SID (the event's): mainline
// takes master->streams[0].id, which for a master with several StreamIDs
// names another stream when the fault was on a later one, and the SMMU
// ignores a RESUME whose SID and STAG match no stalled transaction (IHI 0070
// 4.7.2): the transaction would stay stalled.
arch::Command page_response(const ArmSmmuMaster& m, const PageFault& f, PageResponseCode code);

// iommu_report_device_fault over iommufd's fault queue: groups the requests
// of a PRG and gives each complete group to the handler (the VMM's servicing:
// map the page, then say how it went). Returns the responses to send.
class IopfQueue {
public:
    // The domain's iopf_handler and what the VMM answers; empty: no handler
    // (iopf_error_response: every request answered INVALID at once).
    using Handler = std::function<PageResponseCode(const std::vector<PageFault>& group)>;
    explicit IopfQueue(Handler h = {}) : handler_(std::move(h)) {}

    // The fault of `m`'s device (the master arm_smmu_find_master found).
    std::vector<arch::Command> report(const ArmSmmuMaster& m, const PageFault& f);
    bool has_handler() const { return static_cast<bool>(handler_); }

    struct Stats {
        uint64_t faults = 0, groups = 0;
        uint64_t success = 0, invalid = 0, failure = 0;
    };
    const Stats& stats() const { return stats_; }

private:
    Handler handler_;
    // Partial requests of groups not yet complete: (SID, grpid) -> requests (iopf_param->partial).
    std::map<std::pair<uint32_t, uint32_t>, std::vector<PageFault>> partial_;
    Stats stats_;
};

// What the host does with page requests: mainline's deny, or the PRI series' IOPF report.
enum class PageRequestPolicy : uint8_t { Deny, Iopf };

// What one pass of the threads read and sent.
struct FaultPass {
    std::vector<arch::EventRecord> events;    // every event record read, in order
    std::vector<arch::PriRecord> requests;    // every PRI queue record read, in order
    std::vector<arch::Command> responses;     // CMD_RESUME / CMD_PRI_RESP issued, in order
    std::vector<double> issued_ns;            // the host's time when each was issued (HostBus::now_ns)
};

// One run of arm_smmu_evtq_thread then arm_smmu_priq_thread: each record
// read (CONS written past it) and handled before the next, until PROD shows
// no more. A stall event or page request is reported to `iopf` (or denied,
// mainline's arm_smmu_handle_ppr) for the master its StreamID belongs to;
// one from a StreamID no master has is dropped (arm_smmu_handle_event: no
// master, -EINVAL, only logged; the series' arm_smmu_handle_ppr:
// WARN_ON(!master)), and the series discards a Stop PASID marker (Last
// without Read or Write). An answer the thread makes itself (DENY,
// iopf_error_response without a handler) is issued at once with
// arm_smmu_cmdq_issue_cmd, a handler's (iommufd's VMM) after `handling_ns`
// of software time once the run read everything. No CMD_SYNC follows:
// "Don't send a SYNC, it doesn't do anything for RESUME or PRI_RESP"
// (arm_smmu_page_response). The events other than stalls are only logged by
// arm_smmu_evtq_thread; the caller finds them in `events`. Records written
// after the run are the next interrupt's (the caller runs it again).
FaultPass service_faults(ArmSmmuDevice& smmu, IopfQueue& iopf, PageRequestPolicy policy, double handling_ns);

}  // namespace smmu::driver
