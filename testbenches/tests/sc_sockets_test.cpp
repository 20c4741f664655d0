// SystemC scenario in a process of its own: the Memory target and the Smmu's
// MMIO and upstream sockets, driven from a test initiator through real
// TLM-2.0 calls. One kernel run; the checks are made after sc_start returns.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/arch/registers.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"

namespace {

using sc_core::sc_time;
using sc_core::SC_NS;

struct Observed {
    // memory
    sc_time read_delay, write_delay;
    uint64_t read_back = 0;
    bool beyond_ok = true;
    tlm::tlm_response_status beyond_status = tlm::TLM_INCOMPLETE_RESPONSE;
    unsigned dbg_bytes = 0;
    uint64_t dbg_value = 0;
    bool dmi_granted = false;
    uint64_t dmi_start = 1, dmi_end = 0;
    uint64_t via_dmi = 0;
    // smmu
    uint32_t idr1 = 0, cr0ack = 0;
    bool bad_size_error = false;
    bool dbg_write_refused = false;
    sc_time mmio_delay;
    uint64_t bypass_pa = 0;
    uint8_t bypass_event = 0xee;
    tlm::tlm_response_status bypass_status = tlm::TLM_INCOMPLETE_RESPONSE;
    uint64_t bypass_data = 0;
    tlm::tlm_response_status abort_status = tlm::TLM_INCOMPLETE_RESPONSE;
    uint8_t abort_event = 0;
};

struct Tester : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Tester> mem;
    tlm_utils::simple_initiator_socket<Tester> mmio;
    tlm_utils::simple_initiator_socket<Tester> dma;
    Observed& o;

    SC_HAS_PROCESS(Tester);
    Tester(sc_core::sc_module_name n, Observed& obs) : sc_module(n), mem("mem"), mmio("mmio"), dma("dma"), o(obs) {
        SC_THREAD(run);
    }

    tlm::tlm_response_status access(tlm_utils::simple_initiator_socket<Tester>& s, tlm::tlm_command cmd,
                                    uint64_t addr, void* data, unsigned len, sc_time& delay,
                                    smmu::SmmuExtension* ext = nullptr) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(static_cast<unsigned char*>(data));
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        if (ext) gp.set_extension(ext);
        s->b_transport(gp, delay);
        if (ext) gp.clear_extension(ext);
        return gp.get_response_status();
    }

    uint64_t reg(tlm::tlm_command cmd, uint32_t off, uint64_t v = 0, unsigned len = 4) {
        sc_time d = sc_core::SC_ZERO_TIME;
        if (access(mmio, cmd, off, &v, len, d) != tlm::TLM_OK_RESPONSE) o.bad_size_error = true;
        return v;
    }

    void run() {
        // Memory: latency annotated, data round trip, address error past pa_bits.
        uint64_t v = 0x1122334455667788ull;
        sc_time d = sc_core::SC_ZERO_TIME;
        access(mem, tlm::TLM_WRITE_COMMAND, 0x1000, &v, 8, d);
        o.write_delay = d;
        d = sc_core::SC_ZERO_TIME;
        access(mem, tlm::TLM_READ_COMMAND, 0x1000, &o.read_back, 8, d);
        o.read_delay = d;
        d = sc_core::SC_ZERO_TIME;
        uint64_t x = 0;
        o.beyond_status = access(mem, tlm::TLM_READ_COMMAND, uint64_t{1} << 40, &x, 8, d);
        // Debug transport: no time, same data.
        tlm::tlm_generic_payload gp;
        gp.set_command(tlm::TLM_READ_COMMAND);
        gp.set_address(0x1000);
        gp.set_data_ptr(reinterpret_cast<unsigned char*>(&o.dbg_value));
        gp.set_data_length(8);
        o.dbg_bytes = mem->transport_dbg(gp);
        // DMI: the page holding the address, usable directly.
        tlm::tlm_dmi dmi;
        gp.set_address(0x1008);
        o.dmi_granted = mem->get_direct_mem_ptr(gp, dmi);
        if (o.dmi_granted) {
            o.dmi_start = dmi.get_start_address();
            o.dmi_end = dmi.get_end_address();
            std::memcpy(&o.via_dmi, dmi.get_dmi_ptr() + (0x1000 - o.dmi_start), 8);
        }

        // SMMU registers over the MMIO socket.
        o.idr1 = static_cast<uint32_t>(reg(tlm::TLM_READ_COMMAND, smmu::arch::reg::IDR1));
        sc_time md = sc_core::SC_ZERO_TIME;
        uint32_t one = 1;
        access(mmio, tlm::TLM_WRITE_COMMAND, smmu::arch::reg::GBPA, &one, 4, md);
        o.mmio_delay = md;
        uint16_t half = 0;
        sc_time hd = sc_core::SC_ZERO_TIME;
        o.bad_size_error = access(mmio, tlm::TLM_READ_COMMAND, smmu::arch::reg::CR0, &half, 2, hd) !=
                           tlm::TLM_OK_RESPONSE;
        tlm::tlm_generic_payload w;
        uint32_t cr0 = 1;
        w.set_command(tlm::TLM_WRITE_COMMAND);
        w.set_address(smmu::arch::reg::CR0);
        w.set_data_ptr(reinterpret_cast<unsigned char*>(&cr0));
        w.set_data_length(4);
        o.dbg_write_refused = mmio->transport_dbg(w) == 0;

        // SMMUEN=0 with GBPA.ABORT=0: upstream DMA bypasses to memory.
        smmu::SmmuExtension ext;
        ext.sid = 3;
        uint64_t data = 0;
        sc_time dd = sc_core::SC_ZERO_TIME;
        o.bypass_status = access(dma, tlm::TLM_READ_COMMAND, 0x1000, &data, 8, dd, &ext);
        o.bypass_pa = ext.pa;
        o.bypass_event = ext.event_id;
        o.bypass_data = data;
        // GBPA.ABORT (with UPDATE): the same DMA is terminated, no event.
        reg(tlm::TLM_WRITE_COMMAND, smmu::arch::reg::GBPA, (1u << 31) | (1u << 20));
        dd = sc_core::SC_ZERO_TIME;
        smmu::SmmuExtension ext2;
        o.abort_status = access(dma, tlm::TLM_READ_COMMAND, 0x1000, &data, 8, dd, &ext2);
        o.abort_event = ext2.event_id;
        // CR0 then CR0ACK.
        reg(tlm::TLM_WRITE_COMMAND, smmu::arch::reg::CR0, 0x8);
        o.cr0ack = static_cast<uint32_t>(reg(tlm::TLM_READ_COMMAND, smmu::arch::reg::CR0ACK));
    }
};

Observed observed;

}  // namespace

TEST_CASE("memory target: latency, data, address error, debug transport, DMI", "[systemc]") {
    CHECK(observed.write_delay == sc_time(7, SC_NS));
    CHECK(observed.read_delay == sc_time(5, SC_NS));
    CHECK(observed.read_back == 0x1122334455667788ull);
    CHECK(observed.beyond_status == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(observed.dbg_bytes == 8);
    CHECK(observed.dbg_value == 0x1122334455667788ull);
    CHECK(observed.dmi_granted);
    CHECK(observed.dmi_start == 0x1000);
    CHECK(observed.dmi_end == 0x1fff);
    CHECK(observed.via_dmi == 0x1122334455667788ull);
}

TEST_CASE("SMMU sockets: MMIO registers, GBPA bypass and abort", "[systemc]") {
    CHECK((observed.idr1 & 0x3f) == 12);  // SIDSIZE
    CHECK(observed.mmio_delay == sc_time(2, SC_NS));  // 1 cycle at 500 MHz
    CHECK(observed.bad_size_error);
    CHECK(observed.dbg_write_refused);
    CHECK(observed.bypass_status == tlm::TLM_OK_RESPONSE);
    CHECK(observed.bypass_pa == 0x1000);
    CHECK(observed.bypass_event == 0);
    CHECK(observed.bypass_data == 0x1122334455667788ull);
    CHECK(observed.abort_status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(observed.abort_event == smmu::SmmuExtension::kAbortNoEvent);
    CHECK(observed.cr0ack == 0x8);
}

int sc_main(int argc, char* argv[]) {
    smmu::Memory memory("memory", 40, sc_time(5, SC_NS), sc_time(7, SC_NS));
    smmu::SmmuCoreParams params;
    params.caps.sid_bits = 12;
    params.uarch.clock_mhz = 500;
    smmu::Smmu smmu("smmu", params);
    Tester tester("tester", observed);
    tester.mem.bind(memory.socket);
    tester.mmio.bind(smmu.mmio);
    tester.dma.bind(smmu.upstream);
    smmu.downstream.bind(memory.socket);
    sc_core::sc_start();
    return Catch::Session().run(argc, argv);
}
