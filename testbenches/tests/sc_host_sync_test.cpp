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
//   cons_poll      IDR0.MSI 0: __arm_smmu_cmdq_poll_until_consumed reads
//                  CMDQ_CONS until the SYNC is consumed
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
    smmu::TlmHostBus bus{cpu, mmio};
    std::function<void(ArmSmmuDevice&)> body;

    SC_HAS_PROCESS(Cpu);
    Cpu(sc_core::sc_module_name n, std::function<void(ArmSmmuDevice&)> b, sc_time mem_access)
        : sc_module(n), mmio("mmio"), mem("mem"), cpu(mem, mem_access), body(std::move(b)) {
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
          sc_time mem_access = sc_time(1, SC_NS))
        : smmu("smmu", p), cpu("cpu", std::move(body), mem_access) {
        cpu.mmio.bind(smmu.mmio);
        cpu.mem.bind(memory.socket);
        smmu.downstream.bind(memory.socket);
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

TEST_CASE("cons_poll", "[systemc]") {
    smmu::SmmuCoreParams p;
    p.idr.push_back(smmu::IdrOverride{arch::reg::IDR0, arch::idr0::MSI.mask(), 0});
    bool msipoll = true;
    uint64_t accesses = 0, msis = 99;
    Bench b(p, [&](ArmSmmuDevice& d) {
        msipoll = d.features().msipoll;
        const uint64_t a0 = b.cpu.bus.mmio_accesses();
        d.issue_cmd_with_sync(tlbi_all());
        accesses = b.cpu.bus.mmio_accesses() - a0;
        msis = b.smmu.core().stats().sync_msis;
    });
    sc_core::sc_start();
    CHECK_FALSE(msipoll);
    CHECK(msis == 0);
    CHECK(accesses > 2);  // CMDQ_PROD, then CMDQ_CONS until the SYNC is past
}

int sc_main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
