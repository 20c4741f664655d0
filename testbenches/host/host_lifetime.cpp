// iommufd objects in time: the trace's lifetime records (traces/README.md,
// "Lifetime records") carried out as a VMM's ioctls, each with the kernel's
// sequence: IOMMU_HWPT_ALLOC (arm_smmu_domain_alloc_paging_flags ->
// arm_smmu_domain_finalise_s2: the VMID under mainline), IOMMU_VIOMMU_ALLOC
// (arm_vsmmu_init), IOMMU_VDEVICE_ALLOC, IOMMU_HWPT_ALLOC of a nested HWPT
// (arm_vsmmu_alloc_domain_nested, arm_smmu_validate_vste), IOMMU_DESTROY
// (iommufd_hwpt_paging_destroy -> arm_smmu_domain_free_paging: [TLBI_S12_VMALL,
// SYNC], then ida_free; iommufd_viommu_destroy), attach and replace
// (arm_smmu_attach_dev, arm_smmu_attach_dev_nested,
// arm_smmu_attach_dev_blocked / _identity: the STE through
// arm_smmu_write_entry with CFGI_STE + SYNC), and detach (back to the
// blocked domain: an abort STE). Kernel commits: docs/linux-host.md.
#include <algorithm>
#include <cerrno>

#include "testbenches/config/input_error.h"
#include "testbenches/config/lifetime_records.h"
#include "testbenches/config/numbers.h"
#include "testbenches/host/host_objects.h"

namespace smmu::sim {

using driver::HwptNested;
using driver::HwptPaging;
using driver::KernelError;
using Op = LifetimeOp::Op;

const char* object_kind_name(ObjectKind k) {
    switch (k) {
        case ObjectKind::S2: return "hwpt";
        case ObjectKind::Viommu: return "viommu";
        case ObjectKind::Vdevice: return "vdevice";
        case ObjectKind::Nested: return "nested hwpt";
        case ObjectKind::Veventq: return "veventq";
        case ObjectKind::Any: break;
    }
    return "object";
}

HostDriver::Object& HostDriver::add_object(const std::string& name, ObjectKind kind, const std::string& vm,
                                           unsigned smmu) {
    auto o = std::make_unique<Object>();
    o->kind = kind;
    o->name = name;
    o->vm = vm;
    o->smmu = smmu;
    destroyed_.erase(name);
    Object& ref = *o;
    objects_[name] = std::move(o);
    return ref;
}

HostDriver::Object& HostDriver::object(const std::string& name, ObjectKind kind, const std::string& where,
                                       const char* field) {
    auto it = objects_.find(name);
    if (it == objects_.end()) {
        // A stale ID: iommufd_get_object finds nothing (-ENOENT).
        if (destroyed_.count(name))
            throw KernelError(-ENOENT, std::string(object_kind_name(destroyed_.at(name))) + " '" + name +
                                           "' was destroyed (-ENOENT)");
        throw InputError(where + ": " + field + ": unknown " + object_kind_name(kind) + " '" + name + "'");
    }
    Object& o = *it->second;
    if (kind != ObjectKind::Any && o.kind != kind)
        throw KernelError(-ENOENT, "'" + name + "' is a " + object_kind_name(o.kind) + ", not a " +
                                       object_kind_name(kind) + " (iommufd_get_object by type: -ENOENT)");
    return o;
}

// ---------------------------------------------------------------- allocation

HostDriver::Object& HostDriver::alloc_s2(const std::string& name, const std::string& vm_name, unsigned smmu) {
    Vm& v = vm(vm_name);
    const VmConfig& vc = *v.cfg;
    // IOMMU_HWPT_ALLOC_NEST_PARENT when a vIOMMU uses it; a record's S2 is
    // always one (QEMU's accelerated SMMUv3 allocates the VM's S2 so).
    const bool nest_parent =
        !installing_ ||
        std::any_of(cfg_.viommus.begin(), cfg_.viommus.end(), [&](const ViommuConfig& c) { return c.vm == vm_name; }) ||
        std::any_of(cfg_.devices.begin(), cfg_.devices.end(), [&](const DeviceConfig& d) {
            return d.vm == vm_name && (d.attach == AttachMode::Nested || d.attach == AttachMode::Proxy);
        });
    // arm_smmu_domain_finalise_s2 may fail (-ENOSPC): nothing is made then.
    auto s2 = std::make_unique<HwptPaging>(*iommufd_, *smmus_[smmu], driver::DomainStage::S2, vc.s2.granule,
                                           vc.s2.ias, nest_parent,
                                           vc.vmid ? std::optional<unsigned>(*vc.vmid) : std::nullopt,
                                           driver::PageTableOptions{vc.s2.start_level, false});
    // iopt_table_add_domain: the new domain gets what the IOAS maps now.
    try {
        for (const Mapping& m : v.ioas) s2->map(m.in, m.out, m.size, attrs_of(m), m.page);
    } catch (const KernelError&) {
        s2->destroy();  // the failed HWPT is freed: its VMID goes back
        throw;
    }
    Object& o = add_object(name, ObjectKind::S2, vm_name, smmu);
    o.s2 = std::move(s2);
    v.hwpts[name] = &o;
    return o;
}

HostDriver::Object& HostDriver::alloc_viommu(const std::string& name, const std::string& s2, unsigned smmu,
                                             const std::string& where) {
    Object& parent = object(s2, ObjectKind::S2, where, "hwpt");
    if (!parent.s2->domain().nest_parent())
        throw KernelError(-EINVAL, "iommufd_viommu_alloc_ioctl: hwpt '" + s2 + "' is not a nesting parent (-EINVAL)");
    auto vi = std::make_unique<driver::Viommu>(*iommufd_, *smmus_[smmu], *parent.s2);
    Object& o = add_object(name, ObjectKind::Viommu, parent.vm, smmu);
    o.viommu = std::move(vi);
    o.parent = s2;
    ++parent.users;
    return o;
}

HostDriver::Object& HostDriver::alloc_vdevice(const std::string& name, const std::string& viommu, Device& d,
                                              uint32_t vsid, const std::string& where) {
    Object& parent = object(viommu, ObjectKind::Viommu, where, "viommu");
    // iommufd_vdevice_alloc_ioctl: the device must sit behind the vIOMMU's SMMU.
    if (parent.smmu != d.smmu)
        throw KernelError(-EINVAL, "iommufd_vdevice_alloc_ioctl: viommu '" + viommu + "' is on " +
                                       cfg_.smmus.at(parent.smmu) + ", device " + d.cfg->name + " behind " +
                                       cfg_.smmus.at(d.smmu) + " (-EINVAL)");
    // ... and have no vDEVICE yet, on any vIOMMU (idev->vdev: -EEXIST).
    if (d.vdev)
        throw KernelError(-EEXIST, "iommufd_vdevice_alloc_ioctl: device " + d.cfg->name + " has vDEVICE '" +
                                       d.vdev->name + "' already (-EEXIST)");
    // A config's vSIDs were checked by its loader (a config built in C++ may
    // leave them all 0: the last one wins there, as before).
    if (!installing_ && parent.viommu->find_vdevice(vsid))
        throw KernelError(-EEXIST, "iommufd_vdevice_alloc_ioctl: vSID " + hex(vsid) + " is taken on viommu '" +
                                       viommu + "' (-EEXIST)");
    parent.viommu->add_vdevice(vsid, d.master);
    Object& o = add_object(name, ObjectKind::Vdevice, parent.vm, parent.smmu);
    o.parent = viommu;
    o.device = &d;
    o.vsid = vsid;
    ++parent.users;
    d.viommu = viommu;
    d.vdev = &o;
    return o;
}

HostDriver::Object& HostDriver::alloc_nested(const std::string& name, const std::string& viommu,
                                             const arch::Ste& vste, const std::string& where) {
    Object& parent = object(viommu, ObjectKind::Viommu, where, "viommu");
    auto nested = std::make_unique<HwptNested>(*parent.viommu, vste);  // arm_smmu_validate_vste: -EIO
    Object& o = add_object(name, ObjectKind::Nested, parent.vm, parent.smmu);
    o.nested = std::move(nested);
    o.parent = viommu;
    ++parent.users;
    return o;
}

HostDriver::Object& HostDriver::alloc_veventq(const std::string& name, const std::string& viommu, uint64_t depth,
                                              const std::string& where) {
    Object& parent = object(viommu, ObjectKind::Viommu, where, "viommu");
    VeventqStats& v = veventqs_[viommu];
    // iommufd_veventq_alloc: one vEVENTQ of a type per vIOMMU.
    if (!v.veventq.empty())
        throw KernelError(-EEXIST, "iommufd_veventq_alloc: viommu '" + viommu + "' has vEVENTQ '" + v.veventq +
                                       "' (one per type, -EEXIST)");
    Object& o = add_object(name, ObjectKind::Veventq, parent.vm, parent.smmu);
    o.parent = viommu;
    o.depth = depth;
    ++parent.users;
    v.veventq = name;
    v.depth = depth;
    v.num_events = 0;
    v.records.clear();
    veventq_used_ = true;
    return o;
}

void HostDriver::handle_events() {
    for (unsigned i = 0; i < smmus_.size(); ++i) handle_event_records(i, smmus_[i]->drain_events());
}

void HostDriver::handle_event_records(unsigned smmu, const std::vector<arch::EventRecord>& records) {
    drained_.resize(smmus_.size());
    for (const arch::EventRecord& e : records) {
        drained_[smmu].push_back(e);
        handle_event(smmu, e);
    }
}

void HostDriver::handle_event(unsigned smmu, const arch::EventRecord& e) {
    // arm_smmu_handle_event: only these events go to a master's handler.
    using arch::EventId;
    switch (static_cast<EventId>(e.id())) {
        case EventId::C_BAD_STE:
        case EventId::F_STREAM_DISABLED:
        case EventId::C_BAD_SUBSTREAMID:
        case EventId::C_BAD_CD:
        case EventId::F_TRANSLATION:
        case EventId::F_ADDR_SIZE:
        case EventId::F_ACCESS:
        case EventId::F_PERMISSION: break;
        default: return;
    }
    // A stalled fault goes to the IOPF path (iommu_report_device_fault), not
    // to a vIOMMU.
    if (e.get(arch::evt::Stall)) return;
    // arm_smmu_find_master, then its vmaster and a stage 1 fault
    // (!event->s2): arm_vmaster_report_event with the vSID.
    const uint32_t sid = static_cast<uint32_t>(e.get(arch::evt::SID));
    for (const auto& [name, d] : devices_) {
        if (d->smmu != smmu || d->cfg->sid != sid) continue;
        if (!d->vmaster || e.get(arch::evt::S2)) return;
        VeventqStats& v = veventqs_[d->vmaster->viommu];
        if (v.veventq.empty()) {  // iommufd_viommu_report_event: no vEVENTQ of the type, -EOPNOTSUPP
            ++v.unreported;
            return;
        }
        if (v.num_events == v.depth) {  // num_events == depth: the lost_events_header
            ++v.lost;
            return;
        }
        arch::EventRecord ve = e;
        ve.set(arch::evt::SID, d->vmaster->vsid);
        ++v.queued;
        ++v.num_events;
        if (v.records.size() < VeventqStats::kMaxRecords) v.records.push_back(ve);
        return;
    }
}

void HostDriver::destroy(const std::string& name, const std::string& where) {
    Object& o = object(name, ObjectKind::Any, where, "name");
    // iommufd_object_remove: an object others hold a reference to is -EBUSY.
    if (o.users)
        throw KernelError(-EBUSY, std::string(object_kind_name(o.kind)) + " '" + name + "' has " +
                                      std::to_string(o.users) + " user(s) (attached devices, vIOMMUs, vDEVICEs or "
                                      "nested HWPTs): IOMMU_DESTROY returns -EBUSY");
    switch (o.kind) {
        case ObjectKind::S2:
            o.s2->destroy();  // arm_smmu_domain_free_paging
            vm(o.vm).hwpts.erase(name);
            break;
        case ObjectKind::Viommu: o.viommu->destroy(); break;
        case ObjectKind::Vdevice:
            objects_.at(o.parent)->viommu->remove_vdevice(o.vsid);
            o.device->vdev = nullptr;
            break;
        case ObjectKind::Nested: break;  // arm_smmu_domain_nested_free: kfree only
        case ObjectKind::Veventq: veventqs_[o.parent].veventq.clear(); break;  // its events go with it
        case ObjectKind::Any: break;
    }
    if (!o.parent.empty()) --objects_.at(o.parent)->users;
    destroyed_[name] = o.kind;
    objects_.erase(name);
}

// ---------------------------------------------------------------- attach

void HostDriver::attach(Device& d, const std::string& target, const std::string& where) {
    const driver::Features& f = d.master.smmu->features();
    Object* o = nullptr;
    uint16_t vmid = 0;
    // iommufd_device_do_replace: a replace by the HWPT already attached
    // returns before the driver is called.
    if (target == d.attached && objects_.count(target)) return;
    std::optional<Device::Vmaster> vmaster;
    if (target == "abort") {
        driver::attach_ste(d.master, {driver::make_abort_ste()});  // arm_smmu_attach_dev_blocked
    } else if (target == "bypass") {
        driver::attach_ste(d.master, {driver::make_bypass_ste(f)});  // arm_smmu_attach_dev_identity
    } else {
        o = &object(target, ObjectKind::Any, where, "hwpt");
        if (o->kind == ObjectKind::S2) {
            driver::attach_dev_paging(d.master, *o->s2, arena_);
            vmid = o->s2->domain().vmid_on(*d.master.smmu);
        } else if (o->kind == ObjectKind::Nested) {
            driver::attach_dev_nested(d.master, *o->nested);
            if (o->nested->make_ste().stage2()) vmid = o->nested->viommu().vmid();
            d.viommu = o->parent;
            if (d.vdev && d.vdev->parent == o->parent) vmaster = Device::Vmaster{o->parent, d.vdev->vsid};
        } else {
            throw KernelError(-EINVAL, "'" + target + "' is a " + object_kind_name(o->kind) +
                                           ", not an HWPT (iommufd_device_attach: -EINVAL)");
        }
    }
    if (auto old = objects_.find(d.attached); old != objects_.end()) --old->second->users;
    if (o) ++o->users;
    d.attached = target;
    d.vmid = vmid;
    d.vmaster = vmaster;
}

void HostDriver::detach(Device& d, const std::string& where) {
    if (!objects_.count(d.attached))
        throw KernelError(0, "device " + d.cfg->name + " is not attached to an HWPT: iommufd_device_detach finds "
                                                       "none and does nothing");
    // The device's group returns to the blocked domain (the DMA owner is
    // still VFIO): arm_smmu_attach_dev_blocked, an abort STE.
    attach(d, "abort", where);
    d.attached.clear();
}

// ---------------------------------------------------------------- records

template <class F>
bool HostDriver::step(const ChangeRecord& ch, const std::string& op, const std::string& name, F&& f) {
    iommufd_->ioctl();
    try {
        f();
        return true;
    } catch (const KernelError& e) {
        lifetime_.failures.push_back({ch.time_ns, ch.where, op, name, e.err, e.what()});
        return false;
    }
}

void HostDriver::vm_start(const std::string& name, const ChangeRecord& ch) {
    // What a VMM does to start a VM: its vIOMMUs (and the S2 they need),
    // then each device as the config attaches it.
    for (const ViommuConfig& v : cfg_.viommus) {
        if (v.vm != name || objects_.count(v.name)) continue;
        const unsigned smmu = static_cast<unsigned>(std::max(0, cfg_.smmu_index(v.smmu)));
        if (step(ch, "hwpt_alloc", name, [&] { vm_hwpt(name, smmu); }))
            step(ch, "viommu_alloc", v.name, [&] { alloc_viommu(v.name, name, smmu, ch.where); });
    }
    for (const DeviceConfig& dev : cfg_.devices)
        if (dev.vm == name) step(ch, "attach", dev.name, [&] { install_device(dev); });
}

void HostDriver::vm_stop(const std::string& name, const ChangeRecord& ch) {
    // Devices back to the blocked domain, then the VM's objects, children first.
    for (auto& entry : devices_) {
        Device& d = *entry.second;
        auto o = objects_.find(d.attached);
        if (o != objects_.end() && o->second->vm == name) step(ch, "detach", entry.first, [&] { detach(d, ch.where); });
    }
    for (ObjectKind k : {ObjectKind::Nested, ObjectKind::Vdevice, ObjectKind::Veventq, ObjectKind::Viommu, ObjectKind::S2}) {
        std::vector<std::string> names;
        for (const auto& [oname, o] : objects_)
            if (o->vm == name && o->kind == k) names.push_back(oname);
        for (const std::string& oname : names) step(ch, "destroy", oname, [&] { destroy(oname, ch.where); });
    }
}

std::string HostDriver::apply_lifetime(const ChangeRecord& ch) {
    const LifetimeOp& l = ch.lifetime;
    const std::string op = lifetime_op_name(l.op);
    PathStats& path = lifetime_.ops[op];
    ++path.changes;
    auto arg = [&](const char* key) { return l.args.count(key) ? l.args.at(key) : std::string(); };
    auto smmu_arg = [&](unsigned dflt) {
        const std::string s = arg("smmu");
        return s.empty() ? dflt : static_cast<unsigned>(cfg_.smmu_index(s));
    };
    measure(path, [&] {
        switch (l.op) {
            case Op::HwptAlloc:
            case Op::ViommuAlloc:
            case Op::VdeviceAlloc:
            case Op::NestedAlloc:
            case Op::VeventqAlloc:
                if (objects_.count(l.name))
                    throw InputError(ch.where + ": name: object '" + l.name + "' exists (destroy it first)");
                break;
            default: break;
        }
        switch (l.op) {
            case Op::HwptAlloc:
                step(ch, op, l.name, [&] { alloc_s2(l.name, arg("vm"), smmu_arg(0)); });
                break;
            case Op::ViommuAlloc:
                step(ch, op, l.name, [&] {
                    const Object& s2 = object(arg("hwpt"), ObjectKind::S2, ch.where, "hwpt");
                    alloc_viommu(l.name, s2.name, smmu_arg(s2.smmu), ch.where);
                });
                break;
            case Op::VdeviceAlloc:
                step(ch, op, l.name, [&] {
                    alloc_vdevice(l.name, arg("viommu"), *devices_.at(arg("device")),
                                  static_cast<uint32_t>(*parse_uint(arg("vsid"))), ch.where);
                });
                break;
            case Op::NestedAlloc:
                step(ch, op, l.name, [&] {
                    arch::Ste vste;  // V=0: the kernel zeroes it, an abort STE results
                    const std::string kind = arg("vste");
                    if (kind == "s1") {
                        const DeviceConfig& dev = *cfg_.find_device(arg("device"));
                        vste = guest_vste(dev, *devices_.at(dev.name));
                    } else if (kind == "bypass") {
                        vste.set(arch::ste::V, 1);
                        vste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::Bypass));
                    } else {
                        vste.set(arch::ste::V, 1);  // Config 0: abort
                    }
                    alloc_nested(l.name, arg("viommu"), vste, ch.where);
                });
                break;
            case Op::VeventqAlloc:
                step(ch, op, l.name,
                     [&] { alloc_veventq(l.name, arg("viommu"), *parse_uint(arg("depth")), ch.where); });
                break;
            case Op::Destroy: step(ch, op, l.name, [&] { destroy(l.name, ch.where); }); break;
            case Op::Attach: step(ch, op, l.name, [&] { attach(*devices_.at(l.name), l.target, ch.where); }); break;
            case Op::Detach: step(ch, op, l.name, [&] { detach(*devices_.at(l.name), ch.where); }); break;
            case Op::VmStart: vm_start(l.name, ch); break;
            case Op::VmStop: vm_stop(l.name, ch); break;
        }
    });
    sample_vmids(ch.time_ns);
    return "lifetime." + op;
}

void HostDriver::sample_vmids(uint64_t time_ns) {
    std::vector<unsigned> now = vmids_per_smmu();
    if (!lifetime_.vmid_samples.empty() && lifetime_.vmid_samples.back().in_use == now) return;
    lifetime_.vmid_samples.push_back({time_ns, std::move(now)});
}

// ---------------------------------------------------------------- the IOAS

void HostDriver::ioas_map(Vm& v, const Mapping& m) {
    // iopt_alloc_area: an IOVA range already mapped in the IOAS is -EEXIST,
    // whether or not a domain holds it now.
    for (const Mapping& o : v.ioas)
        if (m.in < o.in + o.size && o.in < m.in + m.size)
            throw KernelError(-EEXIST, "mapping at " + hex(std::max(m.in, o.in)) + " overlaps one already mapped in " +
                                           v.cfg->name + "'s IOAS (unmap it first)");
    v.ioas.push_back(m);
    for (auto& [name, o] : v.hwpts) o->s2->map(m.in, m.out, m.size, attrs_of(m), m.page);
}

void HostDriver::ioas_unmap(Vm& v, uint64_t in, uint64_t size) {
    // iopt_unmap_iova: every domain of the IOAS (the injected bug skips the TLBIs).
    for (auto& [name, o] : v.hwpts) o->s2->unmap(in, size, cfg_.host.bug_skip_s2_tlbi);
    std::vector<Mapping> kept;
    for (const Mapping& m : v.ioas) {
        const uint64_t end = m.in + m.size, cut_end = in + size;
        if (cut_end <= m.in || end <= in) {
            kept.push_back(m);
            continue;
        }
        if (m.in < in) {
            Mapping left = m;
            left.size = in - m.in;
            kept.push_back(left);
        }
        if (cut_end < end) {
            Mapping right = m;
            right.in = cut_end;
            right.out = m.out + (cut_end - m.in);
            right.size = end - cut_end;
            kept.push_back(right);
        }
    }
    v.ioas = std::move(kept);
}

}  // namespace smmu::sim
