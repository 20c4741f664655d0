// ATS end to end (README, "ATS"; docs/topologies.md, "ATS"): each case runs
// smmu-sim in a process of its own and checks the ats.* stats.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::run_stats;
using smmu_sim_test::smmu_sim;

const std::string kAts = "--config configs/examples/ats.yaml --trace traces/examples/ats.trace";

}  // namespace

TEST_CASE("ats: ATC misses send Translation Requests, hits go Translated, an unmap's ATC_INV is waited for", "[system][ats]") {
    const auto s = run_stats(kAts, "ats_example");
    const auto& a = s["ats"];
    // gpu: 3 misses (one after the unmap gets R = W = 0), dma: 1.
    CHECK(a["translation_requests"] == 4);
    CHECK(a["completions"]["success"] == 3);
    CHECK(a["completions"]["no_access"] == 1);
    CHECK(a["completions"]["ur"] == 0);
    CHECK(a["translated"]["passed"] == 6);
    // arm_smmu_enable_ats at each attach (2) and the unmap's arm_smmu_atc_inv_domain (1).
    CHECK(a["atc_inv"]["sent"] == 3);
    CHECK(a["atc_inv"]["answered"] == 3);
    // gpu answers after 2000 ns, dma after the default 1000 ns.
    CHECK(a["atc_inv"]["latency_ns"]["max"].get<double>() == 2000.0);
    CHECK(a["atc_inv"]["latency_ns"]["mean"].get<double>() == Approx(5000.0 / 3));
    CHECK(a["sync_wait_for_atc"]["syncs"] == 3);
    CHECK(a["sync_wait_for_atc"]["total_ns"].get<double>() > 4000.0);
    CHECK(a["host_sync_timeouts"] == 0);
    CHECK(s["cmdq"]["by_opcode"]["ATC_INV"] == 3);

    const auto& gpu = s["devices"]["gpu"]["ats"];
    CHECK(gpu["atc"]["lookups"] == 5);
    CHECK(gpu["atc"]["hits"] == 2);
    CHECK(gpu["atc"]["hit_rate"].get<double>() == Approx(0.4));
    CHECK(gpu["translation_requests"] == 3);
    CHECK(gpu["denied"] == 1);
    CHECK(gpu["invalidations"] == 2);
    CHECK(gpu["entries_invalidated"] == 1);
    const auto& dma = s["devices"]["dma"]["ats"];
    CHECK(dma["atc"]["hits"] == 1);
    CHECK(dma["translation_requests"] == 1);
    // The denied access is the device's error; the SMMU records no event for it (3.9.1).
    CHECK(s["totals"]["faults"] == 1);
    CHECK(s["events"].empty());
}

TEST_CASE("ats: a device that never answers ATC_INV: the CMD_SYNC never completes, the host times out", "[system][ats]") {
    const std::string set = " --set host.sync_timeout_us=50 --set devices.gpu.ats.inv_response_ns=never";
    const auto s = run_stats(kAts + set, "ats_never");
    const auto& a = s["ats"];
    CHECK(a["atc_inv"]["sent"] == 1);  // enable_ats's ATC_INV to the gpu, then the queue is stuck
    CHECK(a["atc_inv"]["answered"] == 0);
    CHECK(a["host_sync_timeouts"].get<uint64_t>() >= 1);
    CHECK(a["host_first_sync_timeout"].get<std::string>().rfind("CMD_SYNC timeout at 0x", 0) == 0);
    CHECK(s["devices"]["gpu"]["ats"]["invalidations_unanswered"] == 1);

    const Run r = smmu_sim("run " + kAts + set);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("SYNC TIMEOUT  ") != std::string::npos);
    CHECK(r.out.find("timed out (-ETIMEDOUT), first: CMD_SYNC timeout at 0x") != std::string::npos);
}

TEST_CASE("ats: nested, proxy and direct S2: ATS on, off (BYPASS vSTE) and on", "[system][ats]") {
    const auto s = run_stats("--config configs/examples/ats-topologies.yaml --trace traces/examples/ats-topologies.trace",
                             "ats_topologies");
    const auto& d = s["devices"];
    // arm_smmu_validate_vste: enable_ats only for an S1_TRANS vSTE; the proxy
    // (BYPASS vSTE) gets EATS 0 and its device sends untranslated DMA.
    CHECK(d["proxy"]["ats"]["translation_requests"] == 0);
    CHECK(d["proxy"]["ats"]["atc"]["lookups"] == 0);
    CHECK(s["pmu"]["transaction"] == 2);
    // nested_ats_flush: the S2 unmap flushes nic's whole ATC (its entry
    // goes, and it asks again); gpu's ranged ATC_INV misses its page.
    CHECK(d["nic"]["ats"]["entries_invalidated"] == 1);
    CHECK(d["nic"]["ats"]["translation_requests"] == 2);
    CHECK(d["gpu"]["ats"]["entries_invalidated"] == 0);
    CHECK(d["gpu"]["ats"]["atc"]["hits"] == 2);
    CHECK(s["invalidation"]["paths"]["s2_change"]["commands"] == 4);  // TLBI_S2_IPA, TLBI_NH_ALL, 2 ATC_INV
    CHECK(s["ats"]["atc_inv"]["answered"] == 4);
}

TEST_CASE("ats: decode of CMD_ATC_INV and F_BAD_ATS_TREQ as the kernel packs them", "[system][ats]") {
    // arm_smmu_cmdq_build_cmd: CMDQ_ATC_0_SSV bit 11, GLOBAL bit 9,
    // SSID [31:12], SID [63:32]; CMDQ_ATC_1_SIZE [5:0], ADDR [63:12].
    Run r = smmu_sim("decode cmd 0x0000000300005a40 0x0000000080001034");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["name"] == "ATC_INV");
    CHECK(j["SSV"] == 1);
    CHECK(j["Global"] == 1);
    CHECK(j["SSID"] == 5);
    CHECK(j["SID"] == 3);
    CHECK(j["Size"] == 52);
    CHECK(j["Addr"] == 0x80001000);
    // EVTQ_0_ID 0x05, EVTQ_0_SID [63:32]; InputAddr in dword 2.
    r = smmu_sim("decode event 0x0000000400000005 0x0 0x80001000");
    REQUIRE(r.exit_code == 0);
    j = nlohmann::json::parse(r.out);
    CHECK(j["name"] == "F_BAD_ATS_TREQ");
    CHECK(j["SID"] == 4);
    CHECK(j["InputAddr"] == 0x80001000);
}

TEST_CASE("ats: bad devices.<d>.ats input exits 2 naming the file, line and field", "[system][ats]") {
    const Run r = smmu_sim("run --config configs/examples/ats.yaml --config testbenches/tests/data/config/errors/ats_ways.yaml");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("ats_ways.yaml:6: devices.dev0.ats.atc.ways: 4 ways do not divide 10 entries") != std::string::npos);
    const Run n = smmu_sim("run --config configs/examples/ats.yaml --set devices.gpu.ats.inv_response_ns=soon");
    CHECK(n.exit_code == 2);
    CHECK(n.err.find("devices.gpu.ats.inv_response_ns") != std::string::npos);
}

TEST_CASE("ats: the guest's ATC_INV through VIOMMU_INVALIDATE reaches the device by its physical SID", "[system][ats]") {
    const auto s = run_stats("--config configs/examples/ats-topologies.yaml --trace "
                             "testbenches/tests/data/system/ats-guest-inv.trace",
                             "ats_guest_inv");
    // arm_vsmmu_convert_user_cmd turns vSID 5 into SID 1; nic's ATC loses its page.
    const auto& nic = s["devices"]["nic"]["ats"];
    CHECK(nic["invalidations"] == 2);  // arm_smmu_enable_ats's, then the guest's
    CHECK(nic["entries_invalidated"] == 1);
    CHECK(nic["translation_requests"] == 2);
    const auto& p = s["invalidation"]["paths"]["viommu_invalidate"];
    CHECK(p["commands"] == 1);
    // The guest's CMD_SYNC waited for nic's answer (1000 ns).
    CHECK(p["host_time_ns"]["sync_wait_mean"].get<double>() > 1000.0);
}

TEST_CASE("ats: a host PASID domain's unmap sends ATC_INV with SSV=1 and its SSID, and the ATC stays coherent",
          "[system][ats]") {
    // arm_smmu_set_pasid -> arm_smmu_attach_prepare lists the master with
    // master_domain->ssid = 1; arm_smmu_atc_inv_domain then sends
    // arm_smmu_atc_inv_to_cmd(1, iova, size): SSV=1, SSID 1 (arm-smmu-v3.c 6c3dcfd01987).
    const std::string run = "--config testbenches/tests/data/system/ats-pasid.yaml "
                            "--trace testbenches/tests/data/system/ats-pasid.trace";
    const auto s = run_stats(run, "ats_pasid");
    const auto& acc = s["devices"]["acc"]["ats"];
    // PASID 1 and the RID each asked once; after the unmap PASID 1 asks again and is denied,
    // where a stale ATC entry would have sent it Translated to the unmapped page.
    CHECK(acc["translation_requests"] == 3);
    CHECK(acc["denied"] == 1);
    CHECK(acc["entries_invalidated"] == 1);  // only PASID 1's entry: the RID's stays
    CHECK(acc["atc"]["hits"] == 2);
    // arm_smmu_enable_ats (SSV=0, Size 52), set_pasid's commit (SSID 1, Size 52), the unmap's.
    CHECK(s["ats"]["atc_inv"]["sent"] == 3);
    CHECK(s["invalidation"]["paths"]["dma_domain"]["commands"] == 2);  // TLBI_NH_VA, ATC_INV
    CHECK(s["totals"]["faults"] == 1);
}

TEST_CASE("ats: VIOMMU_INVALIDATE returns -ETIMEDOUT when its CMD_SYNC times out", "[system][ats]") {
    // arm_vsmmu_cache_invalidate (arm-smmu-v3-iommufd.c 056daec2): "ret =
    // arm_smmu_cmdq_issue_cmdlist(...); if (ret) { cur--; goto out; }": the run
    // was issued, entry_num = its end - 1, and the ioctl fails with -ETIMEDOUT.
    const std::string run = "--config configs/examples/ats-topologies.yaml --trace "
                            "testbenches/tests/data/system/ats-guest-inv.trace"
                            " --set host.sync_timeout_us=50 --set \"devices.nic.ats={inv_response_ns: never}\"";
    const auto s = run_stats(run, "ats_guest_inv_timeout");
    const auto& rejected = s["invalidation"]["rejected"];
    REQUIRE(rejected.size() == 1);
    const std::string why = rejected[0].get<std::string>();
    CHECK(why.find("testbenches/tests/data/system/ats-guest-inv.trace:5: ") == 0);  // the guest_inv record
    CHECK(why.find("the CMD_SYNC after commands 0..0 timed out (arm_smmu_cmdq_issue_cmdlist) (-ETIMEDOUT, "
                   "entry_num=0)") != std::string::npos);
    CHECK(s["invalidation"]["paths"]["viommu_invalidate"]["rejected"] == 1);
    // The guest's SYNC is the first to time out; the SMMU still holds it, so
    // every later SYNC (queued behind it) times out as well.
    CHECK(s["ats"]["host_sync_timeouts"].get<uint64_t>() >= 1);
    CHECK(s["ats"]["atc_inv"]["sent"] == 1);
    CHECK(s["ats"]["atc_inv"]["answered"] == 0);
}

TEST_CASE("ats: a guest unmap that removed nothing sends no TLBI and no ATC_INV", "[system][ats]") {
    // The guest's arm_smmu_iotlb_sync (arm-smmu-v3.c 6c3dcfd01987): "if
    // (!gather->pgsize) return;" before arm_smmu_tlb_inv_range_domain, whose
    // arm_smmu_atc_inv_domain is the only ATC_INV of an unmap.
    const std::string run = "--config configs/examples/ats-topologies.yaml --trace "
                            "testbenches/tests/data/system/ats-guest-unmap.trace";
    const auto s = run_stats(run, "ats_guest_unmap_empty");
    const auto& path = s["invalidation"]["paths"]["viommu_invalidate"];
    CHECK(path["changes"] == 2);
    CHECK(path["commands"] == 2);  // the second unmap's TLBI_NH_VA and ATC_INV only
    CHECK(path["syncs"] == 2);
    CHECK(s["invalidation"]["by_opcode"]["ATC_INV"] == 1);
    CHECK(s["invalidation"]["by_opcode"]["TLBI_NH_VA"] == 1);
}
