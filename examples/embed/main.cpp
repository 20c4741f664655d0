// An SMMUv3 between your DMA master and memory. The master is any TLM-2.0
// base-protocol initiator: it knows nothing of the SMMU (its port has a
// default StreamID). The tables are loaded into memory before the run; the
// CPU's part is three register writes.
#include <cstdio>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/arch/pte.h"
#include "models/arch/registers.h"
#include "models/arch/ste.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"

using namespace sc_core;
namespace arch = smmu::arch;

struct Platform : sc_module {
    tlm_utils::simple_initiator_socket<Platform> cpu;  // to the SMMU's registers
    tlm_utils::simple_initiator_socket<Platform> dma;  // your master
    uint64_t data = 0;
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;

    SC_HAS_PROCESS(Platform);
    explicit Platform(sc_module_name n) : sc_module(n), cpu("cpu"), dma("dma") { SC_THREAD(run); }

    void access(tlm_utils::simple_initiator_socket<Platform>& s, tlm::tlm_command cmd, uint64_t addr, void* p,
                unsigned len) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(static_cast<unsigned char*>(p));
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        sc_time delay = SC_ZERO_TIME;
        s->b_transport(gp, delay);
        wait(delay);
        status = gp.get_response_status();
    }
    void write_reg(uint32_t offset, uint64_t value, unsigned len) {
        access(cpu, tlm::TLM_WRITE_COMMAND, offset, &value, len);
    }

    void run() {
        write_reg(arch::reg::STRTAB_BASE, 0x10000, 8);   // linear stream table at 0x10000
        write_reg(arch::reg::STRTAB_BASE_CFG, 4, 4);     // LOG2SIZE 4: StreamIDs 0-15
        write_reg(arch::reg::CR0, 1, 4);                 // SMMUEN
        access(dma, tlm::TLM_READ_COMMAND, 0x40001000, &data, 8);  // IOVA 1 GiB + 4 KiB
    }
};

int sc_main(int, char*[]) {
    smmu::Memory memory("memory", /*pa_bits=*/40, sc_time(50, SC_NS), sc_time(50, SC_NS));
    smmu::SmmuCoreParams params;  // capabilities and params.uarch: clock, caches, slots (docs/timing.md)
    smmu::Smmu smmu("smmu", params);
    Platform platform("platform");
    platform.cpu.bind(smmu.mmio);             // registers at offset 0 (two 64 KiB pages)
    platform.dma.bind(smmu.upstream);         // upstream port 0
    smmu.downstream.bind(memory.socket);      // table walks, queues, translated DMA
    smmu.set_default_stream(0, 5);            // port 0 is StreamID 5 (else: an smmu::SmmuExtension)

    // STE 5: stage 2 only, VMID 1, 39-bit IPA from level 1, 4 KiB granule, 40-bit PA.
    arch::Ste ste;
    ste.set(arch::ste::V, 1);
    ste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::S2Trans));
    ste.set(arch::ste::S2VMID, 1);
    ste.set(arch::ste::S2T0SZ, 25);
    ste.set(arch::ste::S2SL0, 1);
    ste.set(arch::ste::S2PS, 2);
    ste.set(arch::ste::S2AA64, 1);
    ste.set(arch::ste::S2TTB, 0x20000);
    memory.store().write_words(0x10000 + 5 * 64, ste.w.data(), 8);
    // Level 1 entry 1: the 1 GiB block at IPA 1 GiB -> PA 2 GiB, read-write.
    arch::Descriptor block = arch::Descriptor::make_leaf(arch::Granule::K4, 1, 0x80000000);
    block.set(arch::pte::S2AP, 3);
    memory.store().write64(0x20000 + 1 * 8, block.raw());
    memory.store().write64(0x80001000, 0x1234abcd);  // what the DMA should read

    sc_start();
    std::printf("DMA read 0x%llx (%s); %llu translated, %llu walk reads\n",
                static_cast<unsigned long long>(platform.data), platform.status == tlm::TLM_OK_RESPONSE ? "ok" : "error",
                static_cast<unsigned long long>(smmu.core().stats().translated),
                static_cast<unsigned long long>(smmu.core().stats().walk_reads));
    return platform.status == tlm::TLM_OK_RESPONSE && platform.data == 0x1234abcd ? 0 : 1;
}
