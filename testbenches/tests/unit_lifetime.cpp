// iommufd objects in time: the lifetime records' parser and their command
// sequences as the SMMU's queue consumed them. Kernel functions followed
// (commits in docs/linux-host.md): arm_smmu_domain_free_paging ->
// free_io_pgtable_ops -> arm_smmu_tlb_inv_context ([TLBI_S12_VMALL, SYNC])
// before ida_free (6.18.y 6c3dcfd01987); arm_smmu_domain_finalise_s2's
// ida_alloc_range(vmid_map, 1, 2^vmid_bits - 1) (lowest free, -ENOSPC);
// arm_smmu_attach_dev_blocked (an abort STE via arm_smmu_write_entry: the
// KUnit s2 -> abort case, 2 syncs); arm_vsmmu_init / arm_smmu_attach_dev_nested
// (torvalds/linux 056daec2925d).
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "config_builders.h"
#include "driver/iommufd/iommufd.h"
#include "models/memory/sparse_memory.h"
#include "recording_bus.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/lifetime_records.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/host_driver.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::sim;
using namespace smmu_test;
using Names = std::vector<std::string>;

namespace {

ChangeRecord parse(const std::string& text, uint64_t t = 100) {
    std::vector<std::string> tok{std::to_string(t)};
    std::istringstream in(text);
    for (std::string w; in >> w;) tok.push_back(w);
    ChangeRecord c = parse_lifetime(tok, "t.trace:3");
    c.time_ns = t;
    return c;
}

// A platform of `smmus` instances, each SMMU core behind its own recording bus.
struct HostRig {
    Config cfg;
    SparseMemory mem{48};
    std::vector<std::unique_ptr<SmmuCore>> cores;
    std::vector<std::unique_ptr<RecordingBus>> buses;
    std::unique_ptr<HostDriver> host;

    explicit HostRig(Config c) : cfg(std::move(c)) {
        std::vector<driver::HostBus*> ptrs;
        for (std::size_t i = 0; i < cfg.smmus.size(); ++i) {
            cores.push_back(std::make_unique<SmmuCore>(mem, core_params(cfg)));
            buses.push_back(std::make_unique<RecordingBus>(*cores.back(), mem));
            ptrs.push_back(buses.back().get());
        }
        host = std::make_unique<HostDriver>(ptrs, cfg);
        host->reset();
        host->install();
        take();
    }
    // What SMMU `i` ran since the last call.
    std::vector<Command> take(unsigned i = 0) {
        for (auto& b : buses) b->idle();
        std::vector<Command> out;
        out.swap(buses.at(i)->executed);
        return out;
    }
    std::string apply(const std::string& text, uint64_t t = 100) {
        const ChangeRecord c = parse(text, t);
        check_change(cfg, c);
        return host->apply(c);
    }
    const LifetimeStats& life() const { return host->lifetime(); }
};

VmConfig vm(const std::string& name, bool start = true) {
    VmConfig v;
    v.name = name;
    v.start = start;
    v.map.push_back(map(0x8000'0000, 0x1'0000'0000, 2ull << 20, 0x1000));
    return v;
}

// vm0 with an S2 device (devs) and a nested one (devn, vSID 5) on smmu0.
Config one_vm(VmidPolicy policy = VmidPolicy::PerS2Domain) {
    Config c;
    c.smmu.sid_bits = 8;
    c.host.vmid_policy = policy;
    c.vms.push_back(vm("vm0"));
    ViommuConfig v;
    v.name = "viommu0";
    v.vm = "vm0";
    v.smmu = "smmu0";
    c.viommus.push_back(v);
    c.devices.push_back(device("devs", 0x10, AttachMode::S2, "vm0"));
    DeviceConfig n = device("devn", 0x11, AttachMode::Nested, "vm0", {context(0, 1, {map(0x1000'0000, 0x8000'0000, 0x1000)})});
    n.viommu = "viommu0";
    n.vsid = 5;
    c.devices.push_back(n);
    return c;
}

}  // namespace

TEST_CASE("Lifetime records parse into their ioctl and arguments", "[lifetime]") {
    const ChangeRecord a = parse("hwpt_alloc s2a vm=vm0 smmu=smmu1");
    CHECK(a.kind == ChangeRecord::Kind::Lifetime);
    CHECK(a.lifetime.op == LifetimeOp::Op::HwptAlloc);
    CHECK(a.lifetime.name == "s2a");
    CHECK(a.lifetime.args.at("vm") == "vm0");
    CHECK(a.lifetime.args.at("smmu") == "smmu1");
    const ChangeRecord at = parse("attach deva byp");
    CHECK(at.lifetime.op == LifetimeOp::Op::Attach);
    CHECK(at.lifetime.name == "deva");
    CHECK(at.lifetime.target == "byp");
    CHECK(parse("nested_alloc n1 viommu=v1 vste=s1 device=deva").lifetime.args.at("vste") == "s1");
    CHECK(parse("vdevice_alloc vd1 viommu=v1 device=deva vsid=0x10").lifetime.args.at("vsid") == "0x10");
    CHECK(parse("vm_stop vm3").lifetime.op == LifetimeOp::Op::VmStop);
    CHECK(is_lifetime_keyword("destroy"));
    CHECK_FALSE(is_lifetime_keyword("map"));

    auto error = [](const std::string& text) {
        try {
            parse(text);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error("hwpt_alloc s2a") == "t.trace:3: vm: missing (expected <t> hwpt_alloc <name> vm=<vm> [smmu=<smmu>])");
    CHECK(error("hwpt_alloc s2a vm=vm0 colour=red") ==
          "t.trace:3: token 5: unexpected 'colour=red' (<t> hwpt_alloc <name> vm=<vm> [smmu=<smmu>])");
    CHECK(error("hwpt_alloc s2a vm=vm0 vm=vm1") == "t.trace:3: vm: given twice");
    CHECK(error("attach deva") == "t.trace:3: hwpt: missing (expected <t> attach <device> <abort|bypass|hwpt>)");
    CHECK(error("detach") == "t.trace:3: device: missing (expected <t> detach <device>)");
    CHECK(error("nested_alloc n viommu=v vste=s2") == "t.trace:3: vste: expected abort, bypass or s1, got 's2'");
    CHECK(error("nested_alloc n viommu=v vste=s1") ==
          "t.trace:3: device: missing: vste=s1 takes the guest's CD table of a device's contexts");
    CHECK(error("vdevice_alloc vd viommu=v device=d vsid=x") == "t.trace:3: vsid: expected a 32-bit StreamID, got 'x'");
    CHECK(error("veventq_alloc q viommu=v depth=0") == "t.trace:3: depth: expected 1..2^31-1 events, got '0'");
    CHECK(parse("veventq_alloc q viommu=v depth=64").lifetime.op == LifetimeOp::Op::VeventqAlloc);
    CHECK(error("destroy vm=vm0") == "t.trace:3: name: expected a name, got 'vm=vm0' (<t> destroy <name>)");
}

TEST_CASE("Lifetime records are checked against the config at dispatch", "[lifetime]") {
    Config c = one_vm();
    c.devices.push_back(device("host", 0x20, AttachMode::S1, "", {context(0, 9, {})}));
    auto error = [&](const std::string& text) {
        try {
            check_change(c, parse(text));
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error("hwpt_alloc s vm=vm9") == "t.trace:3: vm: unknown vm 'vm9'");
    CHECK(error("hwpt_alloc s vm=vm0 smmu=smmu7") == "t.trace:3: smmu: unknown SMMU instance 'smmu7'");
    CHECK(error("attach nodev vm0") == "t.trace:3: device: unknown device 'nodev'");
    CHECK(error("vm_start vm9") == "t.trace:3: vm: unknown vm 'vm9'");
    CHECK(error("nested_alloc n viommu=viommu0 vste=s1 device=devs") ==
          "t.trace:3: device: device devs has no contexts (the guest's stage 1 of vste=s1)");
    CHECK_THAT(error("detach host"), Catch::Contains("is a host DMA device (attach: s1)"));
    CHECK(error("attach devs vm0") == "no error");
}

TEST_CASE("Golden: detach writes the blocked domain's abort STE, destroying the S2 flushes its VMID, then frees it",
          "[lifetime][linux]") {
    HostRig r(one_vm());
    CHECK(r.host->vmid("vm0") == 1);
    // arm_smmu_attach_dev_blocked: S2 -> abort breaks V (2 syncs, KUnit's s2_to_abort), then the prefetch.
    CHECK(r.apply("detach devs") == "lifetime.detach");
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    CHECK(r.host->device_vmid("devs") == 0);
    // Still held by devn's nested attach (via viommu0): IOMMU_DESTROY is -EBUSY, nothing issued.
    r.apply("destroy vm0");
    CHECK(r.take().empty());
    REQUIRE(r.life().failures.size() == 1);
    CHECK(r.life().failures[0].err == -EBUSY);
    // vm_stop: devn to abort, then devn.nested, devn.vdev, viommu0 (no commands under mainline:
    // arm_vsmmu_ops has no destroy), vm0: arm_smmu_domain_free_paging's TLBI_S12_VMALL + SYNC.
    r.apply("vm_stop vm0", 200);
    const auto seq = r.take();
    CHECK(names(seq) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "TLBI_S12_VMALL", "SYNC"});
    CHECK(seq[5].get(cmd::VMID) == 1);
    CHECK(r.host->vmids_per_smmu() == std::vector<unsigned>{0});
    CHECK(r.host->vmids_freed() == 1);
    CHECK(r.life().failures.size() == 1);  // vm_stop found nothing refused
    // The samples for --vmid-csv: 1 at the start, 0 after vm_stop (200 ns).
    REQUIRE(r.life().vmid_samples.size() == 2);
    CHECK(r.life().vmid_samples[1].time_ns == 200);
    CHECK(r.life().vmid_samples[1].in_use == std::vector<unsigned>{0});

    SECTION("vm_start again: a new S2 takes the lowest free VMID (1 again) and the devices are attached anew") {
        r.apply("vm_start vm0", 300);
        const Names seq2 = names(r.take());
        CHECK(r.host->vmid("vm0") == 1);
        CHECK(r.host->device_vmid("devs") == 1);
        CHECK(r.host->viommu_vmid("viommu0") == 1);
        CHECK(std::count(seq2.begin(), seq2.end(), "PREFETCH_CONFIG") == 2);  // one STE write per device
        CHECK(std::count(seq2.begin(), seq2.end(), "TLBI_S12_VMALL") == 0);   // no TLBI on attach
        CHECK(r.life().failures.size() == 1);
    }
    SECTION("a destroyed object: its name is -ENOENT (a stale ID), not bad input") {
        r.apply("destroy vm0", 300);
        REQUIRE(r.life().failures.size() == 2);
        CHECK(r.life().failures[1].err == -ENOENT);
        CHECK(r.life().failures[1].where == "t.trace:3");
        CHECK(r.life().failures[1].op == "destroy");
        CHECK(r.life().failures[1].object == "vm0");
        r.apply("detach devs", 400);  // not attached: iommufd_device_detach does nothing
        REQUIRE(r.life().failures.size() == 3);
        CHECK(r.life().failures[2].err == 0);
        CHECK(r.take().empty());
    }
    SECTION("a name nothing ever made is bad input") {
        CHECK_THROWS_WITH(r.apply("destroy nothing"), "t.trace:3: name: unknown object 'nothing'");
        CHECK_THROWS_WITH(r.apply("attach devs nothing"), "t.trace:3: hwpt: unknown object 'nothing'");
    }
}

TEST_CASE("Golden: toggling a nested device between a bypass HWPT and its S1 vSTE (QEMU's accelerated SMMUv3)",
          "[lifetime][linux]") {
    HostRig r(one_vm());
    r.apply("nested_alloc byp viommu=viommu0 vste=bypass");
    r.apply("nested_alloc abt viommu=viommu0 vste=abort");
    CHECK(r.take().empty());  // allocating a nested HWPT issues nothing (arm_vsmmu_alloc_domain_nested)
    // nested (S1 of the guest over S2) -> the proxy identity S1: the parent's S2 STE
    // with the vIOMMU's VMID. Qwords 0 and 1 change: a breaking update (3 syncs).
    r.apply("attach devn byp");
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    CHECK(r.host->device_vmid("devn") == 1);
    // And back: hitless (the S1 fields of qword 1 are unused by the S2 STE, so
    // they go first, then qword 0: 2 syncs), no TLBI, no VMID allocated.
    r.apply("attach devn devn.nested");
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    CHECK(r.host->vmids_allocated() == 1);
    // The abort vSTE: the plain abort STE.
    r.apply("attach devn abt");
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    CHECK(r.host->device_vmid("devn") == 0);
    // A vIOMMU with users cannot go; its nested HWPT can once nothing is attached to it.
    r.apply("destroy viommu0");
    r.apply("destroy devn.nested");
    REQUIRE(r.life().failures.size() == 1);
    CHECK(r.life().failures[0].err == -EBUSY);
    CHECK(r.life().ops.at("attach").changes == 3);
    CHECK(r.life().ops.at("attach").by_opcode.at("CFGI_STE") == 7);
}

TEST_CASE("Golden: per-vIOMMU VMIDs: the vIOMMU's VMID is flushed and freed at its destroy", "[lifetime][linux]") {
    Config c = one_vm(VmidPolicy::PerViommu);
    c.devices.pop_back();  // devs only: its S2 gets a VMID at attach
    HostRig r(c);
    CHECK(r.host->viommu_vmid("viommu0") == 1);
    CHECK(r.host->device_vmid("devs") == 2);
    r.apply("destroy viommu0");
    const auto seq = r.take();
    CHECK(names(seq) == Names{"TLBI_S12_VMALL", "SYNC"});
    CHECK(seq[0].get(cmd::VMID) == 1);
    CHECK(r.host->vmids_per_smmu() == std::vector<unsigned>{1});
    // The next vIOMMU gets VMID 1 again (ida_alloc_range: lowest free).
    r.apply("viommu_alloc v2 hwpt=vm0");
    CHECK(r.host->viommu_vmid("v2") == 1);
}

TEST_CASE("Attach across SMMU instances is the kernel's -EINVAL, the device keeps its STE", "[lifetime]") {
    Config c = one_vm();
    c.smmus = {"smmu0", "smmu1"};
    DeviceConfig far = device("far", 0x30, AttachMode::S2, "vm1");
    far.smmu = "smmu1";
    c.vms.push_back(vm("vm1"));
    c.devices.push_back(far);
    HostRig r(c);
    r.take(1);
    r.apply("attach far vm0");
    REQUIRE(r.life().failures.size() == 1);
    CHECK(r.life().failures[0].err == -EINVAL);
    CHECK_THAT(r.life().failures[0].why, Catch::Contains("arm_smmu_attach_dev"));
    CHECK(r.take(1).empty());
    CHECK(r.host->device_vmid("far") == 1);  // vm1's VMID on smmu1
    r.apply("vdevice_alloc vd viommu=viommu0 device=far vsid=9");
    REQUIRE(r.life().failures.size() == 2);
    CHECK(r.life().failures[1].err == -EINVAL);
    r.apply("viommu_alloc v1 hwpt=vm0 smmu=smmu1");  // arm_vsmmu_init: S2 parent of another instance
    REQUIRE(r.life().failures.size() == 3);
    CHECK_THAT(r.life().failures[2].why, Catch::Contains("arm_vsmmu_init"));
}

TEST_CASE("8-bit VMIDs run out: the 256th VM's start fails with -ENOSPC and the run goes on", "[lifetime]") {
    Config c;
    c.smmu.sid_bits = 12;
    c.smmu.vmid16 = false;  // IDR0.VMID16 = 0: VMIDs 1..255
    for (int i = 0; i < 256; ++i) {
        const std::string n = "vm" + std::to_string(i);
        c.vms.push_back(vm(n, false));
        c.devices.push_back(device("dev" + std::to_string(i), static_cast<uint32_t>(i + 1), AttachMode::S2, n));
    }
    HostRig r(c);
    CHECK(r.host->vmids_per_smmu() == std::vector<unsigned>{0});  // nothing started
    for (int i = 0; i < 256; ++i) r.apply("vm_start vm" + std::to_string(i), 1000 + i);
    CHECK(r.host->vmids_per_smmu() == std::vector<unsigned>{255});
    REQUIRE(r.life().failures.size() == 1);
    const LifetimeStats::Failure& f = r.life().failures[0];
    CHECK(f.err == -ENOSPC);
    CHECK(f.time_ns == 1255);
    CHECK(f.object == "dev255");
    CHECK_THAT(f.why, Catch::Contains("8-bit VMIDs: all 255 in use"));
    CHECK(r.host->device_vmid("dev255") == 0);  // its STE stays abort: DMA aborts
    CHECK(r.host->smmu(0).read_ste(256).config() == SteConfig::Abort);
    // One VM stops: its VMID (8) is flushed, freed, and the next start gets it.
    r.take();
    r.apply("vm_stop vm7", 2000);
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "TLBI_S12_VMALL", "SYNC"});
    r.apply("vm_start vm255", 2001);
    CHECK(r.host->device_vmid("dev255") == 8);
    CHECK(r.life().vmid_samples.back().in_use == std::vector<unsigned>{255});
}
