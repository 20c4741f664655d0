// Robustness at the SMMU's TLM-2.0 sockets (docs/robustness.md): what a master
// or a CPU can put on the wire that a register file or a translation unit never
// sees: zero-length, unaligned and leaf-crossing DMA, byte enables, MMIO
// outside the two 64 KiB pages, odd sizes. One SystemC kernel run in a process
// of its own; the checks are made after sc_start returns.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/arch/registers.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"

namespace {

using sc_core::sc_time;
using sc_core::SC_NS;
namespace reg = smmu::arch::reg;

// Tables written into memory before the run.
constexpr uint64_t kStrtab = 0x10000;  // linear, 16 STEs
constexpr uint64_t kS2L1 = 0x20000;    // stage 2 level 1 table (39-bit IPA, 4K granule)
constexpr uint64_t kGiB = 1ull << 30;

struct Outcome {
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
    uint8_t event = 0xee;
    uint64_t pa = 0;
    uint64_t data = 0;
};

std::map<std::string, Outcome> dma;                        // by case name
std::map<std::string, tlm::tlm_response_status> mmio_st;   // by case name
std::map<std::string, uint64_t> mmio_val;

struct Tester : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Tester> mmio;
    tlm_utils::simple_initiator_socket<Tester> up;

    SC_HAS_PROCESS(Tester);
    explicit Tester(sc_core::sc_module_name n) : sc_module(n), mmio("mmio"), up("up") { SC_THREAD(run); }

    static void payload(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(static_cast<unsigned char*>(data));
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    }

    tlm::tlm_response_status reg_access(tlm::tlm_command cmd, uint64_t off, uint64_t& v, unsigned len = 4,
                                        unsigned char* byte_enable = nullptr) {
        unsigned char buf[16] = {};
        std::memcpy(buf, &v, 8);
        tlm::tlm_generic_payload gp;
        payload(gp, cmd, off, buf, len);
        if (byte_enable) {
            gp.set_byte_enable_ptr(byte_enable);
            gp.set_byte_enable_length(len);
        }
        sc_time d = sc_core::SC_ZERO_TIME;
        mmio->b_transport(gp, d);
        std::memcpy(&v, buf, 8);
        return gp.get_response_status();
    }
    void wr(uint32_t off, uint64_t v, unsigned len = 4) {
        uint64_t x = v;
        reg_access(tlm::TLM_WRITE_COMMAND, off, x, len);
    }
    uint64_t rd(uint32_t off, unsigned len = 4) {
        uint64_t x = 0;
        reg_access(tlm::TLM_READ_COMMAND, off, x, len);
        return len == 4 ? x & 0xffffffffu : x;
    }

    // One upstream transaction; `ext` false sends none (StreamID 0).
    void send(const std::string& name, tlm::tlm_command cmd, uint64_t iova, unsigned len, uint32_t sid = 1,
              bool ext_on = true, unsigned char* byte_enable = nullptr) {
        unsigned char buf[64] = {};
        tlm::tlm_generic_payload gp;
        payload(gp, cmd, iova, buf, len);
        if (byte_enable) {
            gp.set_byte_enable_ptr(byte_enable);
            gp.set_byte_enable_length(len);
        }
        smmu::SmmuExtension ext;
        ext.sid = sid;
        if (ext_on) gp.set_extension(&ext);
        sc_time d = sc_core::SC_ZERO_TIME;
        up->b_transport(gp, d);
        wait(d);
        if (ext_on) gp.clear_extension(&ext);
        Outcome o;
        o.status = gp.get_response_status();
        o.event = ext_on ? ext.event_id : 0xee;
        o.pa = ext.pa;
        std::memcpy(&o.data, buf, 8);
        dma[name] = o;
    }

    void run() {
        using tlm::TLM_READ_COMMAND;
        using tlm::TLM_WRITE_COMMAND;
        // ---- MMIO at the socket
        uint64_t v = 0;
        unsigned char be[16];
        std::memset(be, 0xff, sizeof be);
        mmio_st["beyond 128 KiB"] = reg_access(TLM_READ_COMMAND, reg::kMmioSize, v);
        v = 1;
        mmio_st["beyond 128 KiB write"] = reg_access(TLM_WRITE_COMMAND, reg::kMmioSize + reg::CR0, v);
        mmio_st["far beyond (64-bit address)"] = reg_access(TLM_READ_COMMAND, 0xffffffff00000020ull, v);
        mmio_st["size 1"] = reg_access(TLM_READ_COMMAND, reg::CR0, v, 1);
        mmio_st["size 2"] = reg_access(TLM_WRITE_COMMAND, reg::CR0, v, 2);
        mmio_st["size 16"] = reg_access(TLM_READ_COMMAND, reg::STRTAB_BASE, v, 16);
        mmio_st["misaligned"] = reg_access(TLM_READ_COMMAND, reg::CR0 + 2, v, 4);
        mmio_st["misaligned 8"] = reg_access(TLM_WRITE_COMMAND, reg::STRTAB_BASE + 4, v, 8);
        mmio_st["byte enables"] = reg_access(TLM_WRITE_COMMAND, reg::CR0, v, 4, be);
        mmio_val["CR0 after bad writes"] = rd(reg::CR0);
        v = 0xffffffff;
        mmio_st["reserved write"] = reg_access(TLM_WRITE_COMMAND, 0x30, v);
        v = 0x55;
        mmio_st["reserved read"] = reg_access(TLM_READ_COMMAND, 0x30, v);
        mmio_val["reserved read"] = v & 0xffffffffu;
        const uint64_t idr0 = rd(reg::IDR0);
        wr(reg::IDR0, 0);
        mmio_val["IDR0 unchanged"] = rd(reg::IDR0) == idr0;

        // ---- SMMUEN=0, GBPA bypass: the leaf is a 4 KiB page
        send("bypass ok", TLM_READ_COMMAND, 0x3000, 8);
        send("bypass crossing 4K", TLM_READ_COMMAND, 0x3ffc, 8);
        send("bypass zero length", TLM_READ_COMMAND, 0x3000, 0);
        send("bypass beyond OAS", TLM_READ_COMMAND, 1ull << 48, 8);

        // ---- SMMUEN=1 with the S2-only STE for SID 1
        wr(reg::STRTAB_BASE, kStrtab, 8);
        wr(reg::STRTAB_BASE_CFG, 4);  // linear, 16 STEs
        wr(reg::CR0, 1);              // SMMUEN
        // Changing a base register while enabled is ignored.
        wr(reg::STRTAB_BASE, 0x90000, 8);
        mmio_val["STRTAB_BASE while SMMUEN"] = rd(reg::STRTAB_BASE, 8);

        send("translated", TLM_READ_COMMAND, 0x1000, 8);
        send("zero length", TLM_READ_COMMAND, 0x1000, 0);
        send("zero length write", TLM_WRITE_COMMAND, 0x1000, 0);
        send("unaligned", TLM_READ_COMMAND, 0x2003, 8);
        send("crossing 4K inside a 1G block", TLM_READ_COMMAND, 0x2ffc, 8);
        send("crossing the 1G block", TLM_READ_COMMAND, kGiB - 4, 8);
        send("beyond S2T0SZ", TLM_READ_COMMAND, 1ull << 39, 8);
        send("beyond IAS", TLM_READ_COMMAND, 1ull << 48, 8);
        send("output beyond S2PS", TLM_READ_COMMAND, 2 * kGiB, 8);
        send("invalid descriptor", TLM_READ_COMMAND, 3 * kGiB, 8);
        send("no extension: SID 0, invalid STE", TLM_READ_COMMAND, 0x1000, 8, 0, false);
        send("SID beyond the stream table", TLM_READ_COMMAND, 0x1000, 8, 100);
        send("byte enables", TLM_WRITE_COMMAND, 0x1000, 8, 1, true, be);
        send("ignore command", tlm::TLM_IGNORE_COMMAND, 0x1000, 8);
    }
};

// Before the Catch session: no REQUIRE here.
void w64(smmu::Memory& m, uint64_t pa, uint64_t v) {
    if (!m.store().write(pa, &v, 8)) std::abort();
}

Outcome& at(const std::string& name) {
    INFO(name);
    REQUIRE(dma.count(name) == 1);
    return dma[name];
}

}  // namespace

TEST_CASE("MMIO at the socket: outside the window, sizes 1, 2, 16, misaligned, byte enables", "[robustness][systemc]") {
    CHECK(mmio_st["beyond 128 KiB"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["beyond 128 KiB write"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["far beyond (64-bit address)"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["size 1"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["size 2"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["size 16"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_st["misaligned"] == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(mmio_st["misaligned 8"] == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(mmio_st["byte enables"] == tlm::TLM_ADDRESS_ERROR_RESPONSE);
    CHECK(mmio_val["CR0 after bad writes"] == 0);  // none of them wrote
}

TEST_CASE("MMIO at the socket: reserved offsets RAZ/WI, read-only and locked registers ignore writes",
          "[robustness][systemc]") {
    CHECK(mmio_st["reserved write"] == tlm::TLM_OK_RESPONSE);
    CHECK(mmio_st["reserved read"] == tlm::TLM_OK_RESPONSE);
    CHECK(mmio_val["reserved read"] == 0);
    CHECK(mmio_val["IDR0 unchanged"] == 1);
    CHECK(mmio_val["STRTAB_BASE while SMMUEN"] == kStrtab);
}

TEST_CASE("DMA with SMMUEN=0: a 4 KiB leaf, zero length refused, beyond OAS aborts", "[robustness][systemc]") {
    CHECK(at("bypass ok").status == tlm::TLM_OK_RESPONSE);
    CHECK(at("bypass ok").pa == 0x3000);
    CHECK(at("bypass crossing 4K").status == tlm::TLM_BURST_ERROR_RESPONSE);
    CHECK(at("bypass zero length").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("bypass zero length").event == smmu::SmmuExtension::kAbortNoEvent);
    CHECK(at("bypass beyond OAS").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("bypass beyond OAS").event == smmu::SmmuExtension::kAbortNoEvent);
}

TEST_CASE("DMA: zero length is an error response, not a crash or a no-op", "[robustness][systemc]") {
    CHECK(at("zero length").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("zero length").event == smmu::SmmuExtension::kAbortNoEvent);
    CHECK(at("zero length write").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
}

TEST_CASE("DMA: unaligned is fine, crossing the leaf is a burst error", "[robustness][systemc]") {
    CHECK(at("translated").status == tlm::TLM_OK_RESPONSE);
    CHECK(at("translated").pa == 0x1000);
    CHECK(at("unaligned").status == tlm::TLM_OK_RESPONSE);
    CHECK(at("unaligned").pa == 0x2003);
    CHECK(at("unaligned").data == 0x0a09080706050403ull);  // bytes 3..10 of the pattern
    // Inside a 1 GiB block a transaction may cross 4 KiB: it is one translation.
    CHECK(at("crossing 4K inside a 1G block").status == tlm::TLM_OK_RESPONSE);
    CHECK(at("crossing the 1G block").status == tlm::TLM_BURST_ERROR_RESPONSE);
    CHECK(at("crossing the 1G block").event == 0);  // translated (no fault, no event), then refused whole
}

TEST_CASE("DMA: beyond the input size, beyond the output size, unmapped", "[robustness][systemc]") {
    CHECK(at("beyond S2T0SZ").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("beyond S2T0SZ").event == 0x10);  // F_TRANSLATION
    CHECK(at("beyond IAS").event == 0x11);     // F_ADDR_SIZE (IHI 0070 3.4)
    CHECK(at("output beyond S2PS").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("output beyond S2PS").event == 0x11);  // F_ADDR_SIZE
    CHECK(at("invalid descriptor").event == 0x10);
}

TEST_CASE("DMA: no extension, unknown SID, byte enables, IGNORE command", "[robustness][systemc]") {
    CHECK(at("no extension: SID 0, invalid STE").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("SID beyond the stream table").status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(at("SID beyond the stream table").event == 0x02);  // C_BAD_STREAMID
    // Translated, then refused by the memory (byte enables are not modelled there).
    CHECK(at("byte enables").status == tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    CHECK(at("ignore command").status == tlm::TLM_OK_RESPONSE);
}

int sc_main(int argc, char* argv[]) {
    smmu::Memory memory("memory", 48, sc_time(10, SC_NS), sc_time(10, SC_NS));
    smmu::SmmuCoreParams params;
    smmu::Smmu smmu("smmu", params);
    Tester tester("tester");
    tester.mmio.bind(smmu.mmio);
    tester.up.bind(smmu.upstream);
    smmu.downstream.bind(memory.socket);

    // SID 1: S2 only, VMID 1, 39-bit IPA (S2T0SZ=25), start level 1 (S2SL0=1),
    // 4K granule, S2PS=2 (40-bit PA), AArch64.
    const uint64_t ste = kStrtab + 1 * 64;
    w64(memory, ste, 0x1 | (6ull << 1));
    w64(memory, ste + 16, 1 | (25ull << 32) | (1ull << 38) | (2ull << 48) | (1ull << 51));
    w64(memory, ste + 24, kS2L1);
    // Level 1: 1 GiB blocks. [0] -> PA 0, [1] -> PA 1 GiB, [2] -> PA 2^40 (beyond S2PS), [3] invalid.
    const uint64_t block = 0x4C1;  // valid, block, S2AP=rw, AF
    w64(memory, kS2L1 + 0, 0 | block);
    w64(memory, kS2L1 + 8, kGiB | block);
    w64(memory, kS2L1 + 16, (1ull << 40) | block);
    // Data for the unaligned read.
    for (unsigned i = 0; i < 16; ++i) {
        const uint8_t b = static_cast<uint8_t>(i);
        if (!memory.store().write(0x2000 + i, &b, 1)) std::abort();
    }
    sc_core::sc_start();
    return Catch::Session().run(argc, argv);
}
