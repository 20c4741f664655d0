// SystemC scenarios, one per process: the Linux driver model (ArmSmmuDevice)
// over TLM sockets (TlmHostBus, TlmCpu) waiting for its CMD_SYNCs, against
// the SMMU and the memory's exclusive monitor.
//   msi_wfe        IDR0.MSI on a coherent SMMU: __arm_smmu_cmdq_poll_until_msi
//                  waits in WFE (no register read while it waits) and sees the
//                  SYNC when its MSI lands, plus the reload of the word
//   msi_wfe_stuck  a SYNC behind an illegal command never writes its MSI: the
//                  event stream's next tick (100 us) wakes the CPU, which finds
//                  CMDQ_CONS.ERR (the GERROR interrupt's stand-in)
//   msi_wfe_slow_cpu the MSI lands while the CPU is still paying for its poll's
//                  loads (a slow memory access): the load-exclusive after them
//                  sees it, the CPU does not sleep to the event stream's tick
//   cons_sev       IDR0.MSI 0, IDR0.SEV 1: __arm_smmu_cmdq_poll_until_consumed
//                  reads CMDQ_CONS, sleeps in WFE until the SYNC's SEV (CS=SEV),
//                  reads it again
//   event_register an SEV while the CPU is busy is kept in its event register:
//                  the next WFE returns at once; without one it sleeps to the
//                  event stream's tick
//   cons_sev_unwired IDR0.SEV but the SEV not wired to the CPU: polls
//   msi_poll       poll_instead_of_wfe(): the MSI word polled, not waited for
//   cons_spin      IDR0.MSI 0, IDR0.SEV 0: CMDQ_CONS read until the SYNC is
//                  consumed, cpu_relax() between reads, no SEV
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "driver/arm_smmu_v3/arm_smmu_v3.h"
#include "driver/errors.h"
#include "models/arch/command.h"
#include "models/arch/registers.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "tlm/tlm_host_bus.h"

namespace {

using sc_core::sc_time;
using sc_core::SC_NS;
using namespace smmu::driver;
namespace arch = smmu::arch;

constexpr uint64_t kTables = 0x1000'0000;

// A CPU that runs `body` with the driver probed and reset.
struct Cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Cpu> mmio, mem;
    smmu::TlmCpu cpu;
    smmu::TlmHostBus bus;
    std::function<void(ArmSmmuDevice&)> body;

    SC_HAS_PROCESS(Cpu);
    Cpu(sc_core::sc_module_name n, std::function<void(ArmSmmuDevice&)> b, sc_time mem_access, sc_time mmio_latency)
        : sc_module(n), mmio("mmio"), mem("mem"), cpu(mem, mem_access), bus(cpu, mmio, mmio_latency), body(std::move(b)) {
        SC_THREAD(run);
    }
    void run() {
        TableArena arena("tables", kTables, kTables, 16 << 20);
        ArmSmmuDevice smmu(bus, arena, ArmSmmuParams{});
        smmu.hw_probe();
        smmu.device_reset();
        body(smmu);
    }
};

struct Bench {
    smmu::Memory memory{"memory", 40, sc_time(50, SC_NS), sc_time(50, SC_NS)};
    smmu::Smmu smmu;
    Cpu cpu;
    Bench(const smmu::SmmuCoreParams& p, std::function<void(ArmSmmuDevice&)> body,
          sc_time mem_access = sc_time(1, SC_NS), sc_time mmio_latency = sc_time(10, SC_NS), bool sev = true)
        : smmu("smmu", p), cpu("cpu", std::move(body), mem_access, mmio_latency) {
        cpu.mmio.bind(smmu.mmio);
        cpu.mem.bind(memory.socket);
        smmu.downstream.bind(memory.socket);
        if (sev) cpu.bus.connect_sev(smmu.sev());
    }
};

arch::Command tlbi_all() { return arch::Command::make(arch::Opcode::TLBI_NSNH_ALL); }

}  // namespace

TEST_CASE("msi_wfe", "[systemc]") {
    bool msipoll = false;
    uint64_t accesses = 0;
    double waited = 0, took = 0;
    uint64_t msis = 0;
    Bench b(smmu::SmmuCoreParams{}, [&](ArmSmmuDevice& d) {
        msipoll = d.features().msipoll;
        const uint64_t a0 = b.cpu.bus.mmio_accesses(), msis0 = b.smmu.core().stats().sync_msis;
        const double w0 = d.counters().sync_wait_ns, t0 = b.cpu.bus.now_ns();
        d.issue_cmd_with_sync(tlbi_all());
        accesses = b.cpu.bus.mmio_accesses() - a0;
        waited = d.counters().sync_wait_ns - w0;
        took = b.cpu.bus.now_ns() - t0;
        msis = b.smmu.core().stats().sync_msis - msis0;
    });
    sc_core::sc_start();
    CHECK(msipoll);
    CHECK(msis == 1);
    // One register access in all: the CMDQ_PROD write. No poll of CMDQ_CONS,
    // no GERROR read: the CPU slept in WFE until the MSI.
    CHECK(accesses == 1);
    CHECK(waited > 0);
    CHECK(waited < took);
}

TEST_CASE("msi_wfe_slow_cpu", "[systemc]") {
    double took = 0;
    Bench b(
        smmu::SmmuCoreParams{},
        [&](ArmSmmuDevice& d) {
            const double t0 = b.cpu.bus.now_ns();
            d.issue_cmd_with_sync(tlbi_all());
            took = b.cpu.bus.now_ns() - t0;
        },
        sc_time(2000, SC_NS));  // each CPU load or store: longer than the SYNC takes
    sc_core::sc_start();
    // Writing the command, the PROD write, a read of the word and the
    // load-exclusive: a few loads' worth, far from the 100 us tick.
    CHECK(took < 20000);
}

TEST_CASE("msi_wfe_stuck", "[systemc]") {
    std::string error;
    double submitted = 0, failed = 0;
    Bench b(smmu::SmmuCoreParams{}, [&](ArmSmmuDevice& d) {
        arch::Command bad;
        bad.set(arch::cmd::opcode, 0x7f);  // no such command: CERROR_ILL
        submitted = b.cpu.bus.now_ns();
        try {
            d.issue_cmdlist({bad}, true);
        } catch (const HostError& e) {
            error = e.what();
        }
        failed = b.cpu.bus.now_ns();
    });
    sc_core::sc_start();
    CHECK(error.find("CMDQ_CONS.ERR=1") != std::string::npos);
    CHECK(error.find("waiting for CMD_SYNC") != std::string::npos);
    // The reset ends before 100 us; the event stream ticks at 100 us, and
    // the GERROR, GERRORN and CMDQ_CONS reads follow.
    REQUIRE(submitted < 100000);
    CHECK(failed >= 100000);
    CHECK(failed < 100200);
}

// An SMMU without MSIs: the driver's SYNCs signal by SEV (arm_smmu_cmdq_build_sync_cmd).
smmu::SmmuCoreParams no_msi(bool sev) {
    smmu::SmmuCoreParams p;
    p.idr.push_back(smmu::IdrOverride{arch::reg::IDR0, arch::idr0::MSI.mask(), 0});
    p.idr.push_back(smmu::IdrOverride{arch::reg::IDR0, arch::idr0::SEV.mask(), sev ? arch::idr0::SEV.mask() : 0});
    return p;
}

// One SYNC after the reset: register accesses, SEVs sent, the time it took.
struct SyncRun {
    bool msipoll = true, sev = false;
    uint64_t accesses = 0, sevs = 0, msis = 0;
    double took = 0;
};
SyncRun run_sync(const smmu::SmmuCoreParams& p, bool sev_wired = true, bool poll_msi = false) {
    SyncRun r;
    Bench* bench = nullptr;
    Bench b(
        p,
        [&](ArmSmmuDevice& d) {
            r.msipoll = d.features().msipoll;
            r.sev = d.features().sev;
            const uint64_t a0 = bench->cpu.bus.mmio_accesses(), s0 = bench->smmu.core().stats().sync_sevs,
                           m0 = bench->smmu.core().stats().sync_msis;
            const double t0 = bench->cpu.bus.now_ns();
            d.issue_cmd_with_sync(tlbi_all());
            r.accesses = bench->cpu.bus.mmio_accesses() - a0;
            r.sevs = bench->smmu.core().stats().sync_sevs - s0;
            r.msis = bench->smmu.core().stats().sync_msis - m0;
            r.took = bench->cpu.bus.now_ns() - t0;
        },
        sc_time(1, SC_NS), sc_time(10, SC_NS), sev_wired);
    bench = &b;
    b.cpu.bus.poll_instead_of_wfe(poll_msi);
    sc_core::sc_start();
    return r;
}

TEST_CASE("cons_sev", "[systemc]") {
    const SyncRun r = run_sync(no_msi(true));
    CHECK_FALSE(r.msipoll);
    CHECK(r.sev);
    CHECK(r.msis == 0);
    CHECK(r.sevs == 1);
    // CMDQ_PROD, CMDQ_CONS (not yet), WFE until the SEV, CMDQ_CONS (past).
    CHECK(r.accesses == 3);
    CHECK(r.took < 2000);
}

TEST_CASE("event_register", "[systemc]") {
    struct Pe : sc_core::sc_module {
        tlm_utils::simple_initiator_socket<Pe> mmio, mem;
        smmu::TlmCpu cpu{mem};
        smmu::TlmHostBus bus{cpu, mmio};
        sc_core::sc_event sev;
        bool first = false, second = true;
        sc_time t_first, t_second;
        SC_HAS_PROCESS(Pe);
        explicit Pe(sc_core::sc_module_name n) : sc_module(n), mmio("mmio"), mem("mem") {
            bus.connect_sev(sev);
            SC_THREAD(source);
            SC_THREAD(run);
        }
        void source() {
            wait(sc_time(10, SC_NS));
            sev.notify(sc_core::SC_ZERO_TIME);  // the CPU is busy until 50 ns
        }
        void run() {
            bus.cpu(50);
            first = bus.wait_for_event();
            t_first = sc_core::sc_time_stamp();
            second = bus.wait_for_event();
            t_second = sc_core::sc_time_stamp();
        }
    };
    smmu::Memory memory("memory", 40, sc_time(50, SC_NS), sc_time(50, SC_NS));
    Pe pe("pe");
    pe.mmio.bind(memory.socket);
    pe.mem.bind(memory.socket);
    sc_core::sc_start();
    CHECK(pe.first);                              // the SEV at 10 ns, kept
    CHECK(pe.t_first == sc_time(50, SC_NS));      // returned once the CPU was done
    CHECK_FALSE(pe.second);                       // no SEV since: the event stream
    CHECK(pe.t_second == sc_time(100, sc_core::SC_US));
}

TEST_CASE("cons_sev_unwired", "[systemc]") {
    // IDR0.SEV, but the SMMU's SEV reaches no CPU input: the driver polls.
    const SyncRun r = run_sync(no_msi(true), false);
    CHECK(r.sev);
    CHECK(r.sevs == 1);
    CHECK(r.accesses > 2);
    CHECK(r.took < 2000);
}

TEST_CASE("msi_poll", "[systemc]") {
    // TlmHostBus::poll_instead_of_wfe (a memory without an exclusive monitor):
    // the word is read every host.mmio_latency_ns, no register read either.
    const SyncRun r = run_sync(smmu::SmmuCoreParams{}, true, true);
    CHECK(r.msipoll);
    CHECK(r.msis == 1);
    CHECK(r.accesses == 1);
    CHECK(r.took < 2000);
}

TEST_CASE("cons_spin", "[systemc]") {
    const SyncRun r = run_sync(no_msi(false));
    CHECK_FALSE(r.msipoll);
    CHECK_FALSE(r.sev);
    CHECK(r.sevs == 0);  // CS=SEV without IDR0.SEV signals nothing
    CHECK(r.accesses > 2);  // CMDQ_PROD, then CMDQ_CONS until the SYNC is past
    CHECK(r.took < 2000);
}

int sc_main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
