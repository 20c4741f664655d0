// System tests of iommufd objects in time: lifetime records in a trace, run
// by the smmu-sim command in a process of its own (traces/README.md,
// "Lifetime records"; docs/lifetime-study.md).
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

namespace {

const std::string kData = std::string(SMMUSIM_SOURCE_DIR) + "/testbenches/tests/data/system/";
const std::string kFourModes = " --config configs/examples/four-modes.yaml";

nlohmann::json run_stats(const std::string& args, const std::string& name) {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/lifetime_" + name + ".json";
    const auto r = smmu_sim("run " + args + " --stats '" + stats + "' --quiet");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(stats));
}

}  // namespace

TEST_CASE("Lifetime records run in time: detach aborts DMA, refusals are counted, vm_stop/vm_start", "[lifetime]") {
    const std::string csv = std::string(CMAKE_BINARY_DIR) + "/lifetime_vmids.csv";
    const auto s = run_stats(kFourModes + " --trace " + kData + "lifetime.trace --vmid-csv '" + csv + "'", "run");
    const auto& lt = s["lifetime"];
    CHECK(lt["records"] == 7);
    CHECK(lt["failed"] == 3);
    CHECK(lt["failed_by_errno"] == nlohmann::json({{"no-op", 1}, {"-EBUSY", 1}, {"-ENOENT", 1}}));
    CHECK(lt["failures"][0]["where"].get<std::string>().find("lifetime.trace:5") != std::string::npos);
    CHECK(lt["failures"][1]["op"] == "destroy");
    CHECK(lt["failures"][2]["time_ns"] == 40000);
    // vm_stop frees vm0's VMID after [TLBI_S12_VMALL, SYNC]; vm_start takes VMID 1 again.
    CHECK(lt["flush_on_free_commands"] == 1);
    CHECK(lt["ops"]["vm_stop"]["by_opcode"]["TLBI_S12_VMALL"] == 1);
    CHECK(s["vmids"]["allocated"] == 2);
    CHECK(s["vmids"]["freed"] == 1);
    CHECK(s["vmids"]["used"] == 1);
    CHECK(s["devices"]["gpu"]["vmid"] == 1);
    // gpu: the read after the detach and nic: the read after vm_stop abort (no event: an abort STE).
    CHECK(s["devices"]["gpu"]["faults"] == 1);
    CHECK(s["devices"]["nic"]["faults"] == 1);
    CHECK(s["devices"]["gpu"]["transactions"] == 4);
    CHECK(s["events"].empty());
    // The two guest_inv records of one time are one batch.
    CHECK(s["invalidation"]["guest_batches"]["batches"] == 1);
    CHECK(s["invalidation"]["guest_batches"]["by_size"]["2"] == 1);
    const auto& lat = s["invalidation"]["guest_batches"]["latency_ns"];
    CHECK(lat["trap_mean"] == 2000.0);
    CHECK(lat["ioctl_mean"] == 1000.0);
    CHECK(lat["sync_mean"].get<double>() > 0.0);
    CHECK(lat["total_mean"].get<double>() ==
          Approx(lat["trap_mean"].get<double>() + lat["ioctl_mean"].get<double>() + lat["queue_mean"].get<double>() +
                 lat["sync_mean"].get<double>()));
    CHECK(slurp(csv) == "time_ns,smmu0,total\n0,1,1\n20000,0,0\n42000,1,1\n");
}

TEST_CASE("Bypass toggles through the vIOMMU's bypass HWPT vs a direct S2 attach (docs/lifetime-study.md, b)",
          "[lifetime]") {
    const std::string cfg = " --config configs/examples/nested-cold.yaml --set host.driver=linux-viommu-vmid";
    const auto proxy = run_stats(cfg + " --trace traces/examples/toggle-proxy.trace", "proxy");
    const auto direct = run_stats(cfg + " --trace traces/examples/toggle-direct.trace", "direct");
    CHECK(proxy["lifetime"]["ops"]["attach"]["changes"] == 20);
    CHECK(proxy["lifetime"]["ops"]["attach"]["by_opcode"]["CFGI_STE"] == 50);
    CHECK(direct["lifetime"]["ops"]["attach"]["by_opcode"]["CFGI_STE"] == 60);
    CHECK(proxy["vmids"]["used"] == 1);
    CHECK(direct["vmids"]["used"] == 2);
    CHECK(proxy["totals"]["faults"] == 0);
    CHECK(direct["totals"]["faults"] == 0);
    CHECK(proxy["invalidation"]["by_opcode"].empty());  // no TLBI on attach
}

TEST_CASE("Lifetime bad input exits 2 naming the file, line and field", "[lifetime]") {
    auto r = smmu_sim("run" + kFourModes + " --trace " + kData + "lifetime-unknown.trace --quiet");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "smmu-sim: " + kData + "lifetime-unknown.trace:2: hwpt: unknown object 'vm7'\n");
    CHECK(r.out.empty());
}

TEST_CASE("vEVENTQ: a nested device's stage 1 faults go to its vIOMMU with the vSID, up to the depth", "[lifetime]") {
    // arm_smmu_handle_event -> arm_vmaster_report_event -> iommufd_viommu_report_event.
    const auto s = run_stats(kFourModes + " --set devices.nic.vsid=9 --trace " + kData + "veventq.trace", "veventq");
    const auto& v = s["veventq"]["vm0@smmu0"];
    CHECK(v["depth"] == 2);
    CHECK(v["queued"] == 2);
    CHECK(v["lost"] == 2);        // num_events == depth: the lost_events_header
    CHECK(v["unreported"] == 1);  // after the vEVENTQ's destroy: -EOPNOTSUPP, the host logs it
    CHECK(v["veventq"] == "");
    REQUIRE(v["records"].size() == 2);
    CHECK(v["records"][0]["name"] == "F_TRANSLATION");
    CHECK(v["records"][0]["S2"] == 0);
    CHECK(v["records"][0]["SID"] == 9);  // the vSID in place of nic's SID 1
    CHECK(v["records"][0]["InputAddr"] == 0x20000000);
    CHECK(v["records"][1]["InputAddr"] == 0x20001000);
    // The SMMU's own queue has them all (and gpu's, a device without a vIOMMU).
    CHECK(s["events"]["F_TRANSLATION"] == 6);
    CHECK(s["event_queue"][0]["SID"] == 1);
    CHECK(s["lifetime"]["failed_by_errno"] == nlohmann::json({{"-EBUSY", 1}}));
}

TEST_CASE("vmasters and vDEVICEs as the kernel keeps them: a new vEVENTQ, one vDEVICE per device, a same-HWPT "
          "replace, the vmaster taken at attach",
          "[lifetime]") {
    const auto s = run_stats(kFourModes + " --set devices.nic.vsid=9 --trace " + kData + "vmaster.trace", "vmaster");
    const auto& v = s["veventq"]["vm0@smmu0"];
    // q (depth 1) queues the first fault and loses the second; q2 starts at num_events 0
    // (iommufd_veventq_alloc) and queues the third and the fourth.
    CHECK(v["veventq"] == "q2");
    CHECK(v["queued"] == 3);
    CHECK(v["lost"] == 1);
    CHECK(v["unreported"] == 0);
    REQUIRE(v["records"].size() == 2);
    CHECK(v["records"][0]["InputAddr"] == 0x20002000);
    // The fourth came after nic.vdev's destroy: the vmaster taken at attach still has vSID 9.
    CHECK(v["records"][1]["InputAddr"] == 0x20003000);
    CHECK(v["records"][1]["SID"] == 9);
    const auto& lt = s["lifetime"];
    // iommufd_vdevice_alloc_ioctl: nic has nic.vdev already (idev->vdev): -EEXIST for v2.
    CHECK(lt["failed"] == 1);
    CHECK(lt["failures"][0]["op"] == "vdevice_alloc");
    CHECK(lt["failures"][0]["errno"] == "-EEXIST");
    // iommufd_device_do_replace: the HWPT already attached returns before the driver.
    CHECK(lt["ops"]["attach"]["changes"] == 1);
    CHECK(lt["ops"]["attach"]["commands"] == 0);
    CHECK(lt["ops"]["attach"]["syncs"] == 0);
}

TEST_CASE("A domain allocated in time maps what the VM's IOAS maps at that time", "[lifetime]") {
    const auto s = run_stats(kFourModes + " --trace " + kData + "lifetime-ioas.trace", "ioas");
    CHECK(s["devices"]["gpu"]["transactions"] == 3);
    CHECK(s["devices"]["gpu"]["faults"] == 1);
    REQUIRE(s["event_queue"].size() == 1);
    CHECK(s["event_queue"][0]["name"] == "F_TRANSLATION");
    CHECK(s["event_queue"][0]["S2"] == 1);
    CHECK(s["event_queue"][0]["InputAddr"] == 0x80000000);
    CHECK(s["vmids"]["allocated"] == 2);
}
