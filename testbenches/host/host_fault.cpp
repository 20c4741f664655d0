#include "testbenches/host/host_fault.h"

#include <cerrno>

#include "driver/errors.h"
#include "testbenches/host/host_driver.h"
#include "testbenches/host/host_objects.h"

namespace smmu::sim {

using driver::PageFault;
using driver::PageResponseCode;

namespace {
constexpr uint64_t kPage = 4096;
}

int HostDriver::fault_map(const std::string& device, uint32_t ssid, uint64_t iova, uint64_t pa) {
    auto it = devices_.find(device);
    if (it == devices_.end()) return -ENODEV;
    Device& d = *it->second;
    // iommufd's fault handler is the VMM: what it maps is what an
    // IOMMU_IOAS_MAP (or, for a host DMA domain, iommu_map) would.
    try {
        if (d.cfg->attach == AttachMode::S1) {
            auto c = d.contexts.find(ssid);
            if (c == d.contexts.end() || !c->second.hwpt) return -EINVAL;
            c->second.hwpt->map(iova, pa, kPage, PageAttrs{true, true, false});
        } else if (d.cfg->attach == AttachMode::S2) {
            iommufd_->ioctl();
            ioas_map(vm(d.cfg->vm), Mapping{iova, pa, kPage, true, true, false, 0, "host.fault"});
        } else {
            return -EOPNOTSUPP;  // a guest's S1 is the guest's to fix (not modelled)
        }
    } catch (const driver::KernelError& e) {
        return e.err;
    } catch (const std::exception&) {
        return -EINVAL;  // outside the domain's input range
    }
    return 0;
}

HostFaults::HostFaults(HostDriver& driver, const Config& cfg)
    : driver_(driver), cfg_(cfg), next_pa_(cfg.host.fault.pa_base) {
    for (unsigned i = 0; i < driver.smmu_count(); ++i) {
        // mainline: no iopf_handler on the domain (iopf_error_response answers INVALID).
        driver::IopfQueue::Handler h;
        if (cfg.host.fault.policy == FaultPolicy::Iopf)
            h = [this, i](const std::vector<PageFault>& group) { return handle_group(i, group); };
        iopf_.push_back(std::make_unique<driver::IopfQueue>(h));
    }
}

const DeviceConfig* HostFaults::device_of(unsigned smmu, uint32_t sid) const {
    for (const DeviceConfig& d : cfg_.devices)
        if (d.sid == sid && static_cast<unsigned>(std::max(0, cfg_.smmu_index(d.smmu))) == smmu) return &d;
    return nullptr;
}

PageResponseCode HostFaults::handle_group(unsigned smmu, const std::vector<PageFault>& group) {
    // The VMM's servicing of one group (iommufd_fault_fops_read, then its
    // page-fault handling, then iommufd_fault_fops_write): each page mapped.
    for (const PageFault& f : group) {
        const DeviceConfig* dev = device_of(smmu, f.sid);
        if (!dev) return PageResponseCode::Invalid;  // arm_smmu_find_master finds no master
        const uint32_t ssid = f.pasid_valid ? f.pasid : 0;
        const uint64_t page = f.addr & ~(kPage - 1);
        const auto key = std::make_tuple(dev->name, ssid, page);
        if (next_pa_ + kPage > (uint64_t{1} << cfg_.memory.pa_bits)) return PageResponseCode::Failure;  // -ENOMEM
        const int err = driver_.fault_map(dev->name, ssid, page, next_pa_);
        if (err == 0) {
            next_pa_ += kPage;
            mapped_.insert(key);
            ++stats_[dev->name].pages_mapped;
            continue;
        }
        // Mapped already by this handler for an earlier fault on the page
        // (handle_mm_fault finds it present): done. Mapped by someone else,
        // the fault is one of permission the VMM cannot fix.
        if (err == -EEXIST && mapped_.count(key)) continue;
        return PageResponseCode::Failure;
    }
    return PageResponseCode::Success;
}

void HostFaults::service(unsigned smmu, double irq_ns) {
    driver::ArmSmmuDevice& s = driver_.smmu(smmu);
    driver::FaultPass pass;
    if (cfg_.host.fault.policy == FaultPolicy::None) {
        // The threads still read the queues (so they do not overflow); nothing answers.
        pass.events = s.drain_events();
        pass.requests = s.drain_page_requests();
    } else {
        const driver::PageRequestPolicy policy = cfg_.host.fault.policy == FaultPolicy::Mainline
                                                     ? driver::PageRequestPolicy::Deny
                                                     : driver::PageRequestPolicy::Iopf;
        // Only a fault handler spends time before answering: under mainline
        // the threads answer at once (arm_smmu_handle_ppr's DENY;
        // iommu_report_device_fault finds no handler -> iopf_error_response).
        const double handling_ns =
            cfg_.host.fault.policy == FaultPolicy::Iopf ? cfg_.host.fault.handling_ns : 0.0;
        pass = driver::service_faults(s, *iopf_[smmu], policy, handling_ns);
    }
    auto stats = [&](uint64_t sid) -> FaultDeviceStats* {
        const DeviceConfig* d = device_of(smmu, static_cast<uint32_t>(sid));
        return d ? &stats_[d->name] : nullptr;
    };
    for (const arch::EventRecord& e : pass.events)
        if (e.get(arch::evt::Stall))
            if (FaultDeviceStats* st = stats(e.get(arch::evt::SID))) ++st->stalls;
    for (const arch::PriRecord& r : pass.requests)
        if (FaultDeviceStats* st = stats(r.get(arch::pri::SID))) ++st->page_requests;
    for (std::size_t i = 0; i < pass.responses.size(); ++i) {
        const arch::Command& c = pass.responses[i];
        FaultDeviceStats* st = stats(c.get(arch::cmd::SID));
        if (!st) continue;
        const double handled_ns = pass.issued_ns[i] - irq_ns;  // from the interrupt to this answer's issue
        ++st->responses;
        st->handling_ns_total += handled_ns;
        st->handling_ns_max = std::max(st->handling_ns_max, handled_ns);
        if (c.opcode() == static_cast<uint8_t>(arch::Opcode::RESUME)) {
            ++(c.get(arch::cmd::Action) == static_cast<uint64_t>(arch::ResumeAction::Retry) ? st->resume_retry
                                                                                              : st->resume_abort);
        } else {
            const auto r = static_cast<arch::PriResp>(c.get(arch::cmd::PriResp));
            ++(r == arch::PriResp::Success ? st->pri_success
               : r == arch::PriResp::Failure ? st->pri_failure
                                             : st->pri_invalid);
        }
    }
    driver_.handle_event_records(smmu, pass.events);
}

}  // namespace smmu::sim
