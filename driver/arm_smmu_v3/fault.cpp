#include "driver/arm_smmu_v3/fault.h"

#include "driver/arm_smmu_v3/arm_smmu_v3.h"
#include "models/smmu/priq/pri_queue.h"

namespace smmu::driver {

using namespace smmu::arch;

std::optional<PageFault> fault_from_event(const EventRecord& e) {
    // arm_smmu_handle_event: only the translation faults, and only stalled
    // ones, are reported (the rest are dumped by arm_smmu_evtq_thread).
    switch (static_cast<EventId>(e.id())) {
        case EventId::F_TRANSLATION:
        case EventId::F_ADDR_SIZE:
        case EventId::F_ACCESS:
        case EventId::F_PERMISSION: break;
        default: return std::nullopt;
    }
    if (!e.get(evt::Stall)) return std::nullopt;
    PageFault f;
    f.sid = static_cast<uint32_t>(e.get(evt::SID));
    f.stall = true;
    f.last = true;
    f.grpid = static_cast<uint32_t>(e.get(evt::STAG));
    // perm: READ or WRITE from RnW, EXEC from InD, PRIV from PnU.
    f.read = e.get(evt::RnW);
    f.write = !f.read;
    f.exec = e.get(evt::InD);
    f.priv = e.get(evt::PnU);
    f.addr = e.get(evt::InputAddr);
    f.pasid_valid = e.get(evt::SSV);
    f.pasid = f.pasid_valid ? static_cast<uint32_t>(e.get(evt::SSID)) : 0;
    return f;
}

PageFault fault_from_ppr(const PriRecord& r) {
    const PageRequest p = page_request_from(r);
    // The series reads PRIQ_0_SSID only with PRIQ_0_SSID_V.
    return PageFault{p.sid, p.ssv, p.ssv ? p.ssid : 0, p.last, p.prg_index, p.read, p.write, p.exec, p.priv,
                     p.addr, false};
}

namespace {
Command pri_resp(uint32_t sid, bool ssv, uint32_t ssid, uint32_t grpid, PriResp resp) {
    // arm_smmu_cmdq_build_cmd, CMDQ_OP_PRI_RESP: SSID only with substream_valid.
    return Command::make(Opcode::PRI_RESP, {{cmd::SSV, ssv},
                                            {cmd::SSID, ssv ? ssid : 0},
                                            {cmd::SID, sid},
                                            {cmd::PRGIndex, grpid},
                                            {cmd::PriResp, static_cast<uint64_t>(resp)}});
}
}  // namespace

std::optional<Command> deny_ppr(const PriRecord& r) {
    if (!r.get(pri::L)) return std::nullopt;
    const bool ssv = r.get(pri::SSV);
    return pri_resp(static_cast<uint32_t>(r.get(pri::SID)), ssv, static_cast<uint32_t>(r.get(pri::SSID)),
                    static_cast<uint32_t>(r.get(pri::PRGIndex)), PriResp::Failure);  // PRI_RESP_DENY = 0
}

Command page_response(const ArmSmmuMaster& m, const PageFault& f, PageResponseCode code) {
    if (f.stall) {
        // arm_smmu_page_response: INVALID and FAILURE abort, SUCCESS retries.
        const ResumeAction a = code == PageResponseCode::Success ? ResumeAction::Retry : ResumeAction::Abort;
        return Command::make(Opcode::RESUME,
                             {{cmd::SID, f.sid}, {cmd::STAG, f.grpid}, {cmd::Action, static_cast<uint64_t>(a)}});
    }
    // The PRI series: IOMMU_PAGE_RESP_SUCCESS/INVALID/FAILURE -> PRI_RESP_SUCC/DENY/FAIL.
    const PriResp r = code == PageResponseCode::Success   ? PriResp::Success
                      : code == PageResponseCode::Failure ? PriResp::Failure
                                                          : PriResp::Invalid;
    return pri_resp(f.sid, f.pasid_valid && m.prg_resp_needs_ssid, f.pasid, f.grpid, r);
}

std::vector<Command> IopfQueue::report(const ArmSmmuMaster& m, const PageFault& f) {
    ++stats_.faults;
    // iommu_report_device_fault: no fault handler on the domain
    // (find_fault_handler is NULL) -> err_bad_iopf: iopf_error_response
    // answers this request INVALID at once, a partial one too.
    if (!handler_) {
        ++stats_.invalid;
        return {page_response(m, f, PageResponseCode::Invalid)};
    }
    const auto key = std::make_pair(f.sid, f.grpid);
    // A partial request waits for the rest of its group (report_partial_fault).
    if (!f.last) {
        partial_[key].push_back(f);
        return {};
    }
    std::vector<PageFault> group;
    auto it = partial_.find(key);
    if (it != partial_.end()) {
        group = std::move(it->second);
        partial_.erase(it);
    }
    group.push_back(f);
    ++stats_.groups;
    const PageResponseCode code = handler_(group);
    ++(code == PageResponseCode::Success ? stats_.success
       : code == PageResponseCode::Invalid ? stats_.invalid
                                           : stats_.failure);
    // iopf_group_response answers with the group's last fault.
    return {page_response(m, f, code)};
}

FaultPass service_faults(ArmSmmuDevice& smmu, IopfQueue& iopf, PageRequestPolicy policy, double handling_ns) {
    FaultPass pass;
    const auto send = [&](const Command& c) {
        smmu.issue_cmd(c);
        pass.responses.push_back(c);
        pass.issued_ns.push_back(smmu.bus().now_ns());
    };
    // Answers the threads send themselves go out before the next record is
    // read (arm_smmu_handle_ppr's DENY; iopf_error_response); a handler's
    // answers come from the VMM after it handled what it read.
    std::vector<Command> handled;
    const auto report = [&](const PageFault& f) {
        const ArmSmmuMaster* m = smmu.find_master(f.sid);
        if (!m) return;
        for (const Command& c : iopf.report(*m, f)) {
            if (iopf.has_handler())
                handled.push_back(c);
            else
                send(c);
        }
    };
    smmu.consume_events([&](const EventRecord& e) {
        pass.events.push_back(e);
        if (const std::optional<PageFault> f = fault_from_event(e)) report(*f);
    });
    smmu.consume_page_requests([&](const PriRecord& r) {
        pass.requests.push_back(r);
        if (policy == PageRequestPolicy::Deny) {
            if (const std::optional<Command> c = deny_ppr(r)) send(*c);
            return;
        }
        // "Discard Stop PASID marker, it isn't used".
        if (r.get(pri::L) && !r.get(pri::READ) && !r.get(pri::WRITE)) return;
        report(fault_from_ppr(r));
    });
    if (!handled.empty()) {
        smmu.bus().cpu(handling_ns);
        for (const Command& c : handled) send(c);
    }
    return pass;
}

}  // namespace smmu::driver
