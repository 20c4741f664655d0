// PRI page requests and stalls in `run` (docs/pri-stall.md): each case runs
// smmu-sim in a process of its own over configs/examples/pri.yaml and checks
// what the devices, the SMMU and the host's fault thread counted.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::run_stats;
using smmu_sim_test::smmu_sim;

const std::string kPri = "--config configs/examples/pri.yaml --trace traces/examples/pri.trace";
constexpr double kHandlingNs = 2000;  // host.fault.handling_ns in the example

}  // namespace

TEST_CASE("pri in run: an ATS denial -> Page Request -> the host maps -> PRI_RESP Success -> a new Translation Request",
          "[system][pri]") {
    const auto s = run_stats(kPri, "pri_example");
    const auto& nic = s["devices"]["nic"];
    // The device: one Page Request, answered Success, the access asked again.
    CHECK(nic["pri"]["page_requests"] == 1);
    CHECK(nic["pri"]["responses"]["success"] == 1);
    CHECK(nic["pri"]["responses"]["invalid"] == 0);
    CHECK(nic["pri"]["unexpected"] == 0);
    CHECK(nic["pri"]["retries"] == 1);
    CHECK(nic["pri"]["wait_ns"]["max"].get<double>() > kHandlingNs);
    // Its ATS side: the denied Translation Request (R = W = 0), and the one after the response.
    CHECK(nic["ats"]["denied"] == 1);
    CHECK(nic["ats"]["translation_requests"] == 3);
    CHECK(nic["ats"]["atc"]["hits"] == 1);
    // The host: the PRI queue record read, the page mapped, CMD_PRI_RESP Success.
    CHECK(nic["faults"]["page_requests"] == 1);
    CHECK(nic["faults"]["pri_responses"]["success"] == 1);
    CHECK(nic["faults"]["pages_mapped"] == 1);
    CHECK(nic["faults"]["handling_ns"]["mean"].get<double>() >= kHandlingNs);
    CHECK(nic["faults"]["handling_ns"]["mean"].get<double>() < nic["pri"]["wait_ns"]["max"].get<double>());
    // The SMMU: written to the PRI queue, the response executed.
    const auto& smmu = s["smmus"][0];
    CHECK(smmu["pri"]["page_requests"] == 1);
    CHECK(smmu["pri"]["written"] == 1);
    CHECK(smmu["pri"]["responses"] == 1);
    CHECK(smmu["pri"]["responses_unmatched"] == 0);
    // arm_smmu_page_response sends no CMD_SYNC after a PRI_RESP or RESUME.
    CHECK(s["cmdq"]["by_opcode"]["PRI_RESP"] == 1);
    // Every DMA completed.
    CHECK(s["totals"]["faults"] == 0);
    CHECK(s["totals"]["transactions"] == 8);

    // The text summary says the same.
    const Run r = smmu_sim("run " + kPri);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("page faults   1 PRI (success 1, invalid 0, failure 0), 2 stalls (retry 2, abort 0), 3 pages "
                     "mapped") != std::string::npos);
}

TEST_CASE("stall in run: STALL_MODEL 0, CD.S and STE.S2S: the transaction is held, RESUME Retry completes it",
          "[system][stall]") {
    const auto s = run_stats(kPri, "stall_example");
    for (const char* name : {"dsp", "dma"}) {
        INFO(name);
        const auto& f = s["devices"][name]["faults"];
        CHECK(f["stalls"] == 1);
        CHECK(f["resumes"]["retry"] == 1);
        CHECK(f["resumes"]["abort"] == 0);
        CHECK(f["pages_mapped"] == 1);
        CHECK(f["handling_ns"]["mean"].get<double>() >= kHandlingNs);
        CHECK(s["devices"][name]["faults"]["page_requests"] == 0);
        // The held transaction's latency includes the host's handling.
        CHECK(s["devices"][name]["latency_ns"]["max"].get<double>() > kHandlingNs);
    }
    const auto& st = s["smmus"][0]["stalls"];
    CHECK(st["stalled"] == 2);
    CHECK(st["resumed_retry"] == 2);
    CHECK(st["resume_unmatched"] == 0);
    CHECK(st["resume_latency_ns"]["mean"].get<double>() > kHandlingNs);
    CHECK(s["cmdq"]["by_opcode"]["RESUME"] == 2);
    // The stall events, as the host's fault thread read them.
    CHECK(s["events"]["F_TRANSLATION"] == 2);
    CHECK(s["event_queue"].size() == 2);
    CHECK(s["faults"]["stalls"] == 2);
    CHECK(s["faults"]["pages_mapped"] == 3);
}

TEST_CASE("stall in run: STALL_MODEL 2 (stall forced) runs to the end, and fast mode counts the same", "[system][stall]") {
    const auto s = run_stats(kPri + " --set smmu.idr.IDR0.STALL_MODEL=2", "stall_force");
    CHECK(s["faults"]["stalls"] == 2);
    CHECK(s["faults"]["resumes"]["retry"] == 2);
    CHECK(s["faults"]["page_requests"] == 1);
    CHECK(s["totals"]["faults"] == 0);
    const auto f = run_stats(kPri + " --set smmu.idr.IDR0.STALL_MODEL=2 --set sim.mode=fast", "stall_force_fast");
    CHECK(f["faults"]["stalls"] == 2);
    CHECK(f["faults"]["resumes"]["retry"] == 2);
    CHECK(f["devices"]["nic"]["pri"]["retries"] == 1);
    CHECK(f["totals"]["faults"] == 0);
    CHECK(f["totals"]["transactions"] == s["totals"]["transactions"]);
}

TEST_CASE("stall forced with a vEVENTQ: stall events the host reads between records are answered too",
          "[system][stall]") {
    // With a vEVENTQ the host reads events before each record; a stall read
    // there goes to the fault path like one read on the interrupt
    // (arm_smmu_handle_event: a stall is reported with
    // iommu_report_device_fault, never to the vEVENTQ).
    const std::string args = "--config configs/examples/four-modes.yaml --set devices.nic.vsid=9 --trace "
                             "testbenches/tests/data/system/veventq.trace --set smmu.idr.IDR0.STALL_MODEL=2";
    const auto s = run_stats(args, "stall_force_veventq");
    CHECK(s["faults"]["stalls"] == 6);
    // The s2 device's page is mapped; the guest's stage 1 faults are not the
    // host's to fix (FAILURE: RESUME Abort).
    CHECK(s["faults"]["resumes"]["retry"] == 1);
    CHECK(s["faults"]["resumes"]["abort"] == 5);
    CHECK(s["smmus"][0]["stalls"]["stalled"] == 6);
    CHECK(s["smmus"][0]["stalls"]["resume_unmatched"] == 0);
}

TEST_CASE("mainline policy: PRI_RESP DENY fails the nic's access, the stalls are RESUMEd Abort", "[system][pri][stall]") {
    const auto s = run_stats(kPri + " --set host.fault.policy=mainline", "fault_mainline");
    const auto& nic = s["devices"]["nic"];
    // The nic's two reads of the unmapped page: each Translation Request
    // denied, each Page Request answered DENY (PRI_RESP_DENY = 0:
    // ResponseFailure, IHI 0070 4.5.2).
    CHECK(nic["pri"]["page_requests"] == 2);
    CHECK(nic["pri"]["responses"]["failure"] == 2);
    CHECK(nic["pri"]["responses"]["invalid"] == 0);
    CHECK(nic["pri"]["retries"] == 0);
    CHECK(nic["faults"]["pri_responses"]["failure"] == 2);
    CHECK(nic["faults"]["pages_mapped"] == 0);
    // dsp's write and its read of the page nobody mapped, and dma's read:
    // three stalls, each RESUMEd Abort (iopf_error_response: INVALID).
    CHECK(s["faults"]["stalls"] == 3);
    CHECK(s["faults"]["resumes"]["abort"] == 3);
    CHECK(s["faults"]["resumes"]["retry"] == 0);
    CHECK(s["smmus"][0]["stalls"]["resumed_abort"] == 3);
    CHECK(s["totals"]["faults"] == 5);
    // No handler runs: the threads answer at once, without host.fault.handling_ns.
    CHECK(s["faults"]["handling_ns"]["max"].get<double>() < kHandlingNs);
}

TEST_CASE("pri without ATS: the terminated DMA's translation fault makes the page request", "[system][pri]") {
    const auto s = run_stats(kPri + " --set devices.nic.ats=false", "pri_no_ats");
    const auto& nic = s["devices"]["nic"];
    CHECK(nic["pri"]["page_requests"] == 1);
    CHECK(nic["pri"]["retries"] == 1);
    CHECK(nic["faults"]["pages_mapped"] == 1);
    CHECK(s["totals"]["faults"] == 0);
    // The fault was recorded as an event too (F_TRANSLATION, no stall: the nic cannot stall).
    CHECK(s["events"]["F_TRANSLATION"] == 3);
}

TEST_CASE("a host that never answers: the run ends with a message naming the waiting devices, exit 3",
          "[system][pri][stall]") {
    const Run r = smmu_sim("run " + kPri + " --set host.fault.policy=none");
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("DMA unfinished (devices: nic (1 page request(s) unanswered), dsp, dma; 2 transaction(s) "
                     "stalled): nothing will answer them (host.fault.policy: none") != std::string::npos);
    CHECK(r.out.empty());
}

TEST_CASE("pri and stall config: bad input is exit 2 naming file, line and field", "[system][pri][robustness]") {
    struct Case {
        std::string set, message;
    };
    // A second file that takes stalls away: it is blamed, at its line.
    const std::string overlay = std::string(CMAKE_BINARY_DIR) + "/pri_stall_model1.yaml";
    std::ofstream(overlay) << "smmu:\n  idr:\n    IDR0: {STALL_MODEL: 1}\n";
    const Case cases[] = {
        {"--config " + overlay, overlay + ":3: smmu.idr.IDR0.STALL_MODEL: devices.dsp.stall needs"},
        // The setting given last is blamed (the --set), the device named.
        {"--set smmu.idr.IDR0.PRI=0",
         "--set smmu.idr.IDR0.PRI=0: smmu.idr.IDR0.PRI: devices.nic.pri needs smmu.idr.IDR0.PRI: 1"},
        {"--set smmu.idr.IDR0.STALL_MODEL=1",
         "--set smmu.idr.IDR0.STALL_MODEL=1: smmu.idr.IDR0.STALL_MODEL: devices.dsp.stall needs "
         "smmu.idr.IDR0.STALL_MODEL: 0 or 2"},
        {"--set devices.dma.attach=bypass", "devices.dma.attach: I/O page faults need attach s1 or s2"},
        {"--set host.fault.policy=sometimes", "host.fault.policy: expected one of mainline, iopf, none"},
        {"--set host.fault.pa_base=0x1234", "host.fault.pa_base: 0x1234 is not a 4 KiB-aligned page"},
        {"--set devices.nic.pri.outstanding=0", "devices.nic.pri.outstanding"},
        {"--set host.fault.handling_ns=-1", "host.fault.handling_ns"},
    };
    for (const Case& c : cases) {
        INFO(c.set);
        const Run r = smmu_sim("run " + kPri + " " + c.set);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(c.message) != std::string::npos);
        CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    }
}
