// SystemC scenarios of PRI and stalls (docs/pri-stall.md), one per process
// (`sc_pri_stall_test SCENARIO`): an Smmu with PRI and the stall model, the
// Linux driver model on a CPU thread (TlmHostBus) servicing faults as the
// kernel does (driver/arm_smmu_v3/fault.h: arm_smmu_evtq_thread /
// arm_smmu_priq_thread, iommu_report_device_fault, the iommufd fault
// queue's handler mapping the page, arm_smmu_page_response), a PRI device
// (testbenches/traffic/pri_device.h) and a stalling master written to the
// TLM-2.0 base protocol. Checks are made after sc_start returns.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>
#include <memory>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "driver/arm_smmu_v3/fault.h"
#include "driver/iommufd/iommufd.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "testbenches/traffic/pri_device.h"
#include "tlm/tlm_host_bus.h"

namespace {

using namespace sc_core;
using namespace smmu::driver;
namespace arch = smmu::arch;

std::string g_scenario;

constexpr uint64_t kTables = 0x1000'0000;
constexpr uint64_t kRam = 0x8000'0000;
constexpr uint32_t kStallSid = 5, kPriSid = 6;
constexpr double kHandlingNs = 2000;  // the fault handler's time after it mapped the page

// A stalling master written to the base protocol (LT): one read with its StreamID.
struct Master : sc_module {
    tlm_utils::simple_initiator_socket<Master> socket;
    explicit Master(sc_module_name n) : sc_module(n), socket("socket") {}
    tlm::tlm_response_status read(uint64_t addr, uint64_t& data, uint8_t& event_id) {
        tlm::tlm_generic_payload gp;
        smmu::SmmuExtension ext;
        ext.sid = kStallSid;
        gp.set_command(tlm::TLM_READ_COMMAND);
        gp.set_address(addr);
        gp.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
        gp.set_data_length(8);
        gp.set_streaming_width(8);
        gp.set_extension(&ext);
        sc_time delay = SC_ZERO_TIME;
        socket->b_transport(gp, delay);
        gp.clear_extension(&ext);
        wait(delay);
        event_id = ext.event_id;
        return gp.get_response_status();
    }
};

// The same master approximately timed (the base protocol's four phases):
// reads in flight at once, each waiting for its BEGIN_RESP.
struct AtMaster : sc_module {
    tlm_utils::simple_initiator_socket<AtMaster> socket;
    struct Read {
        tlm::tlm_generic_payload gp;
        smmu::SmmuExtension ext;
        uint64_t data = 0;
        sc_event done;
        double done_ns = 0;
    };
    explicit AtMaster(sc_module_name n) : sc_module(n), socket("socket") {
        socket.register_nb_transport_bw(this, &AtMaster::nb_transport_bw);
    }
    void begin(Read& r, uint64_t addr) {
        r.ext.sid = kStallSid;
        r.gp.set_command(tlm::TLM_READ_COMMAND);
        r.gp.set_address(addr);
        r.gp.set_data_ptr(reinterpret_cast<unsigned char*>(&r.data));
        r.gp.set_data_length(8);
        r.gp.set_streaming_width(8);
        r.gp.set_extension(&r.ext);
        reads_.push_back(&r);
        tlm::tlm_phase phase = tlm::BEGIN_REQ;
        sc_time delay = SC_ZERO_TIME;
        socket->nb_transport_fw(r.gp, phase, delay);
    }
    std::vector<Read*> reads_;
    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase, sc_time&) {
        if (phase == tlm::BEGIN_RESP) {
            Read* r = nullptr;
            for (Read* x : reads_)
                if (&x->gp == &gp) r = x;
            r->done_ns = sc_time_stamp().to_seconds() * 1e9;
            r->done.notify();
            gp.clear_extension(&r->ext);
            phase = tlm::END_RESP;
            return tlm::TLM_COMPLETED;
        }
        return tlm::TLM_ACCEPTED;  // END_REQ
    }
};

struct Observed {
    bool finished = false;  // the device's thread got to its end
    uint64_t deferred_before_enable = 0;
    bool dma_ok = false;
    uint64_t data = 0;
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
    double done_ns = 0;
    smmu::SmmuStats smmu;
    smmu::sim::PriDeviceStats dev;
    IopfQueue::Stats iopf;
    bool uprgi = false;
    // stall_at: the held read and one behind it to a mapped page.
    bool at_first_ok = false, at_second_ok = false;
    uint64_t at_first_data = 0, at_second_data = 0;
    double at_first_ns = 0, at_second_ns = 0;
};

struct Platform : sc_module {
    tlm_utils::simple_initiator_socket<Platform> mmio, mem;
    smmu::Memory memory{"memory", 40, sc_time(50, SC_NS), sc_time(50, SC_NS)};
    smmu::Smmu smmu_dev;
    Master master{"master"};
    AtMaster at_master{"at_master"};
    smmu::sim::PriDevice pri;
    smmu::TlmCpu cpu{mem};
    smmu::TlmHostBus bus{cpu, mmio};
    Observed& o;
    sc_event host_ready;

    static smmu::SmmuCoreParams params() {
        smmu::SmmuCoreParams p;
        p.caps.sid_bits = 8;
        p.caps.pri = true;
        p.caps.stall_model = 0;
        p.caps.stall_max = 4;
        return p;
    }
    static smmu::sim::PriDeviceParams pri_params() {
        smmu::sim::PriDeviceParams p;
        p.sid = kPriSid;
        // pri_pasid*: DMA with PASID 1 from a function whose PRI capability
        // says "PRG Response PASID Required".
        if (g_scenario.rfind("pri_pasid", 0) == 0) {
            p.ssv = true;
            p.ssid = 1;
            p.pasid_required = true;
        }
        return p;
    }

    SC_HAS_PROCESS(Platform);
    Platform(sc_module_name n, Observed& obs)
        : sc_module(n), mmio("mmio"), mem("mem"), smmu_dev("smmu", params()), pri("pri", pri_params()), o(obs) {
        mmio.bind(smmu_dev.mmio);
        mem.bind(memory.socket);
        smmu_dev.downstream.bind(memory.socket);
        master.socket.bind(smmu_dev.upstream);
        pri.socket.bind(smmu_dev.upstream);
        at_master.socket.bind(smmu_dev.upstream);
        smmu_dev.set_prg_handler([this](const smmu::PrgResponse& m, sc_time d) {
            if (m.sid == kPriSid) pri.prg_response(m, d);
        });
        SC_THREAD(host);
        SC_THREAD(device);
    }

    // The host: reset, attach both masters to one S1 domain mapping nothing,
    // then service faults on the queues' interrupts.
    std::unique_ptr<ArmSmmuDevice> smmu;
    std::unique_ptr<TableArena> arena;
    std::unique_ptr<Iommufd> iommufd;
    std::unique_ptr<HwptPaging> domain;
    ArmSmmuMaster stall_dev, pri_dev;
    std::unique_ptr<IopfQueue> iopf;

    void host() {
        arena = std::make_unique<TableArena>("tables", kTables, kTables, 64 << 20);
        ArmSmmuParams ap;
        smmu = std::make_unique<ArmSmmuDevice>(bus, *arena, ap);
        smmu->hw_probe();
        smmu->device_reset();
        iommufd = std::make_unique<Iommufd>(VmidProfile::PerS2Domain, IommufdCosts{}, bus);
        domain = std::make_unique<HwptPaging>(*iommufd, *smmu, DomainStage::S1, arch::Granule::K4, 48, false);
        stall_dev.smmu = pri_dev.smmu = smmu.get();
        stall_dev.sids = {kStallSid};
        stall_dev.stall_enabled = true;
        pri_dev.sids = {kPriSid};
        pri_dev.pri_supported = true;
        // pri_pasid_mismatch: the host is not told the function needs the
        // PASID (its PRI Status bit), so its responses carry none.
        pri_dev.pri_resp_pasid_required = g_scenario == "pri_pasid";
        if (g_scenario.rfind("pri_pasid", 0) == 0) pri_dev.s1cdmax = 1;  // SSIDs 0 and 1
        probe_device(stall_dev);
        probe_device(pri_dev);
        attach_dev_paging(stall_dev, *domain, *arena);
        attach_dev_paging(pri_dev, *domain, *arena);
        if (g_scenario.rfind("pri_pasid", 0) == 0) set_pasid(pri_dev, domain->domain(), 1, *arena);
        bus.memory().write64(kRam + 0x3000, 0xfeedface);
        bus.memory().write64(kRam + 0x5000, 0xc0ffee);
        domain->map(0x50'0000, kRam + 0x5000, 0x1000, PageAttrs{});
        if (g_scenario == "unknown") {
            // Responses to nothing: a group the device never requested, a STAG never given.
            smmu->issue_cmd(arch::Command::make(arch::Opcode::PRI_RESP,
                                                {{arch::cmd::SID, kPriSid}, {arch::cmd::PRGIndex, 0x55}, {arch::cmd::PriResp, 2}}));
            smmu->issue_cmd(arch::Command::make(arch::Opcode::RESUME,
                                                {{arch::cmd::SID, kStallSid}, {arch::cmd::STAG, 0x7777}, {arch::cmd::Action, 1}}));
            smmu->issue_cmd_with_sync(arch::Command::make(arch::Opcode::SYNC));
        }
        if (g_scenario != "stall_deferred") host_ready.notify();
        const bool fail = g_scenario == "stall_abort";
        iopf = std::make_unique<IopfQueue>([this, fail](const std::vector<PageFault>& group) {
            if (fail) return PageResponseCode::Failure;
            for (const PageFault& f : group) domain->map(f.addr & ~0xfffull, kRam + 0x3000, 0x1000, PageAttrs{});
            return PageResponseCode::Success;
        });
        const PageRequestPolicy policy = g_scenario == "pri_deny" ? PageRequestPolicy::Deny : PageRequestPolicy::Iopf;
        if (g_scenario == "stall_deferred") {
            // The event queue off while the read faults: the read is held
            // without an event, retried once EVTQEN is back (IHI 0070 3.12.2),
            // stalls again with its event and is served as in stall_retry.
            const uint64_t cr0 = bus.mmio_read(arch::reg::CR0, 4);
            bus.mmio_write(arch::reg::CR0, 4, cr0 & ~arch::cr0::EVTQEN.mask());
            host_ready.notify();
            wait(5, SC_US);
            o.deferred_before_enable = smmu_dev.core().stats().stalls_deferred;
            bus.mmio_write(arch::reg::CR0, 4, cr0);
        }
        if (g_scenario == "stall_term") {
            // A RESUME with Ac=0, Ab=0 (Linux never sends one): Terminate,
            // RAZ/WI with IDR0.TERM_MODEL 0.
            wait(smmu_dev.evtq_irq());
            for (const arch::EventRecord& e : smmu->drain_events())
                smmu->issue_cmd(arch::Command::make(
                    arch::Opcode::RESUME,
                    {{arch::cmd::SID, e.get(arch::evt::SID)}, {arch::cmd::STAG, e.get(arch::evt::STAG)}, {arch::cmd::Action, 0}}));
            return;
        }
        for (;;) {
            wait(smmu_dev.evtq_irq() | smmu_dev.priq_irq());
            // Run again while a run read something: an interrupt raised
            // while the threads ran is not lost (IRQTF_RUNTHREAD).
            for (FaultPass p = service_faults(*smmu, *iopf, policy, kHandlingNs);
                 !p.events.empty() || !p.requests.empty();)
                p = service_faults(*smmu, *iopf, policy, kHandlingNs);
        }
    }

    void device() {
        wait(host_ready);
        const sc_time start = sc_time_stamp();
        if (g_scenario == "stall_at") {
            // The first read stalls; the second, behind it, is not held up.
            AtMaster::Read first, second;
            at_master.begin(first, 0x40'0000);
            wait(10, SC_NS);
            at_master.begin(second, 0x50'0000);
            wait(first.done & second.done);
            o.at_first_ok = first.gp.is_response_ok();
            o.at_second_ok = second.gp.is_response_ok();
            o.at_first_data = first.data;
            o.at_second_data = second.data;
            o.at_first_ns = first.done_ns;
            o.at_second_ns = second.done_ns;
        } else if (g_scenario.rfind("pri", 0) == 0 || g_scenario == "unknown") {
            uint64_t data = 0;
            o.dma_ok = pri.dma(0x20'0000, false, &data, 8);
            o.data = data;
        } else {
            uint8_t ev = 0;
            o.status = master.read(0x40'0000, o.data, ev);
            o.dma_ok = o.status == tlm::TLM_OK_RESPONSE;
        }
        o.done_ns = (sc_time_stamp() - start).to_seconds() * 1e9;
        o.finished = true;
        sc_stop();
    }

    // After sc_start, also when the device never finished.
    void observe() {
        o.smmu = smmu_dev.core().stats();
        o.dev = pri.stats();
        o.uprgi = pri.uprgi();
        if (iopf) o.iopf = iopf->stats();
    }
};

Observed g_o;

}  // namespace

int sc_main(int argc, char* argv[]) {
    // The scenario is the last argument; the TEST_CASE of that name checks it.
    g_scenario = argc > 1 ? argv[argc - 1] : "";
    Platform platform("platform", g_o);
    sc_start(sc_time(1, SC_MS));
    platform.observe();
    const char* args[] = {argv[0], "--warn", "NoTests", g_scenario.c_str()};
    return Catch::Session().run(4, const_cast<char**>(args));
}

// A fault the host served: the IOPF handler got one group, mapped the page
// and answered Success after kHandlingNs; the access then read the page.
void check_served_once() {
    CHECK(g_o.dma_ok);
    CHECK(g_o.data == 0xfeedface);
    CHECK(g_o.iopf.groups == 1);
    CHECK(g_o.iopf.success == 1);
    CHECK(g_o.done_ns > kHandlingNs);
}

TEST_CASE("pri_retry") {
    // The DMA faults, the device asks for the page, the host's IOPF handler
    // maps it and answers; the retry reads the data.
    check_served_once();
    CHECK(g_o.dev.page_requests == 1);
    CHECK(g_o.dev.retries == 1);
    CHECK(g_o.dev.resp_success == 1);
    CHECK(g_o.dev.wait_ns_max >= kHandlingNs);
    CHECK(!g_o.uprgi);
    CHECK(g_o.smmu.page_requests == 1);
    CHECK(g_o.smmu.priq_written == 1);
    CHECK(g_o.smmu.pri_responses == 1);
    CHECK(g_o.smmu.pri_responses_unmatched == 0);
    CHECK(g_o.smmu.pri_resp_cycles_max > 0);
}

TEST_CASE("pri_deny") {
    // Mainline arm_smmu_handle_ppr: PRI_RESP DENY (0: ResponseFailure), the DMA fails.
    CHECK(!g_o.dma_ok);
    CHECK(g_o.dev.page_requests == 1);
    CHECK(g_o.dev.resp_failure == 1);
    CHECK(g_o.dev.resp_invalid == 0);
    CHECK(g_o.dev.retries == 0);
    CHECK(g_o.smmu.pri_responses == 1);
    CHECK(g_o.iopf.groups == 0);
}

TEST_CASE("stall_retry") {
    // The read is held (not a spin: the master's b_transport waits on the
    // STAG's event); the host maps and RESUMEs Retry; the read completes.
    check_served_once();
    CHECK(g_o.smmu.stalls == 1);
    CHECK(g_o.smmu.resumes_retry == 1);
    CHECK(g_o.smmu.resumes_abort == 0);
    CHECK(g_o.smmu.events[static_cast<uint8_t>(arch::EventId::F_TRANSLATION)] == 1);
    CHECK(g_o.smmu.stall_cycles_max > 0);
}

TEST_CASE("stall_abort") {
    // The handler fails: arm_smmu_page_response sends RESUME Abort; the read ends in an error.
    CHECK(!g_o.dma_ok);
    CHECK(g_o.status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(g_o.smmu.stalls == 1);
    CHECK(g_o.smmu.resumes_abort == 1);
    CHECK(g_o.iopf.failure == 1);
}

TEST_CASE("unknown") {
    // A PRI_RESP for a group never requested reaches the device, which flags
    // UPRGI and ignores it; a RESUME for a STAG never given is ignored. The
    // device's own request then goes round as in pri_retry.
    CHECK(g_o.uprgi);
    CHECK(g_o.dev.responses_unexpected == 1);
    CHECK(g_o.smmu.pri_responses_unmatched == 1);
    CHECK(g_o.smmu.resumes_unmatched == 1);
    CHECK(g_o.smmu.command_errors == 0);
    CHECK(g_o.dma_ok);
    CHECK(g_o.data == 0xfeedface);
}

TEST_CASE("stall_at") {
    // Approximately timed: the held read waits in a process of its own; the
    // read behind it (a mapped page) completes first.
    CHECK(g_o.at_first_ok);
    CHECK(g_o.at_first_data == 0xfeedface);
    CHECK(g_o.at_second_ok);
    CHECK(g_o.at_second_data == 0xc0ffee);
    CHECK(g_o.at_second_ns < g_o.at_first_ns);
    CHECK(g_o.at_first_ns > kHandlingNs);
    CHECK(g_o.smmu.stalls == 1);
    CHECK(g_o.smmu.resumes_retry == 1);
}

TEST_CASE("pri_pasid") {
    // The page request carries PASID 1; the host (prg_resp_needs_ssid)
    // answers with it, the function matches its group and retries.
    check_served_once();
    CHECK(g_o.dev.resp_success == 1);
    CHECK(!g_o.uprgi);
    CHECK(g_o.smmu.pri_responses == 1);
}

TEST_CASE("pri_pasid_mismatch") {
    // A host that does not know the function needs the PASID answers without
    // one: the function flags UPRGI, ignores it, and its DMA never completes.
    CHECK(!g_o.finished);
    CHECK(g_o.uprgi);
    CHECK(g_o.dev.page_requests == 1);
    CHECK(g_o.dev.responses_unexpected == 1);
    CHECK(g_o.dev.resp_success == 0);
    CHECK(g_o.smmu.pri_responses == 1);
    CHECK(g_o.iopf.success == 1);
}

TEST_CASE("stall_term") {
    // RESUME Terminate (Ab=0) with IDR0.TERM_MODEL 0: the read completes
    // with RAZ/WI semantics, zeros and no error (IHI 0070 4.7.1).
    CHECK(g_o.finished);
    CHECK(g_o.status == tlm::TLM_OK_RESPONSE);
    CHECK(g_o.data == 0);
    CHECK(g_o.smmu.stalls == 1);
    CHECK(g_o.smmu.resumes_retry == 0);
}

TEST_CASE("stall_deferred") {
    // Held without an event while EVTQEN=0, then retried, stalled with its
    // event, served: the read completes after the 5 us and the handling.
    CHECK(g_o.deferred_before_enable == 1);
    check_served_once();
    CHECK(g_o.done_ns > 5000 + kHandlingNs);
    CHECK(g_o.smmu.stalls_deferred == 1);
    CHECK(g_o.smmu.stalls == 1);
    CHECK(g_o.smmu.resumes_retry == 1);
}
