// The SMMU as another platform meets it: initiators written to the TLM-2.0
// base protocol (IEEE 1666-2011 chapter 14; shaped like Accellera's lt and
// at_4_phase example initiators), not to our sockets: tlm_initiator_socket
// with our own tlm_bw_transport_if, a memory manager, the four phases and the
// request and response exclusion rules. One scenario per process (the kernel
// cannot restart): each TEST_CASE runs the kernel, and ctest runs each in a
// process of its own (`sc_base_protocol_test "<name>"`).
//   lt              b_transport: translated data both ways, walk then TLB-hit time
//   at              nb_transport 4 phases: data, END_REQ/BEGIN_RESP times, both
//                   END_RESP styles (return TLM_UPDATED, or a later call)
//   at_backpressure one translation slot, two masters: the second END_REQ waits
//   wide64          64-bit sockets end to end (SMMU, memory, initiators)
//   dmi             DMI of a translated page (read-write, read-only), refused
//                   unmapped, withdrawn by a TLBI through the command queue
//   dmi_withdrawal  each grant withdrawn with its own range by the TLBI/CFGI
//                   that reaches its translation, the others kept; CR0: all
//   dmi_bounded     past SmmuBase::kMaxDmiGrants grants the oldest is withdrawn
//   debug           transport_dbg translated across pages, no statistics moved
//   no_extension    a port's default StreamID; a port without one warns once
//   exclusive_monitor the memory's global exclusive monitor: an exclusive load
//                   (tlm/exclusive_monitor.h) is woken by the next write to its
//                   granule, only that one, only by b_transport
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "models/arch/command.h"
#include "models/arch/pte.h"
#include "models/arch/registers.h"
#include "models/arch/ste.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "tlm/exclusive_monitor.h"

namespace {

using sc_core::SC_NS;
using sc_core::SC_ZERO_TIME;
using sc_core::sc_time;
namespace arch = smmu::arch;
namespace reg = arch::reg;

// Tables: a linear stream table of 16 STEs; StreamID 3 is stage 2 only (VMID
// 1, 39-bit IPA from level 1, 4 KiB granule) mapping IOVA 0x40000000 + i * 4K
// to PA 0x80000000 + i * 4K, i < 4; page 3 read-only; IOVA 0xc0000000 is a
// 1 GiB block at PA 0x80000000.
constexpr uint64_t kStrtab = 0x10000, kL1 = 0x20000, kL2 = 0x21000, kL3 = 0x22000, kCmdq = 0x30000;
constexpr uint64_t kIova = 0x40000000, kPa = 0x80000000, kPage = 0x1000;
constexpr uint32_t kSid = 3;

void load_tables(smmu::SparseMemory& m) {
    arch::Ste ste;
    ste.set(arch::ste::V, 1);
    ste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::S2Trans));
    ste.set(arch::ste::S2VMID, 1);
    ste.set(arch::ste::S2T0SZ, 25);
    ste.set(arch::ste::S2SL0, 1);
    ste.set(arch::ste::S2PS, 2);
    ste.set(arch::ste::S2AA64, 1);
    ste.set(arch::ste::S2TTB, kL1);
    m.write_words(kStrtab + kSid * 64, ste.w.data(), 8);
    m.write64(kL1 + 1 * 8, arch::Descriptor::make_table(arch::Granule::K4, kL2).raw());
    m.write64(kL2, arch::Descriptor::make_table(arch::Granule::K4, kL3).raw());
    // And IOVA 1 GiB + 2 GiB: a 1 GiB block at PA 2 GiB (pages for many DMI grants).
    arch::Descriptor block = arch::Descriptor::make_leaf(arch::Granule::K4, 1, kPa);
    block.set(arch::pte::S2AP, 3);
    m.write64(kL1 + 3 * 8, block.raw());
    for (unsigned i = 0; i < 4; ++i) {
        arch::Descriptor page = arch::Descriptor::make_leaf(arch::Granule::K4, 3, kPa + i * kPage);
        page.set(arch::pte::S2AP, i == 3 ? 1 : 3);  // bit 6 read, bit 7 write
        m.write64(kL3 + i * 8, page.raw());
        m.write64(kPa + i * kPage, 0x1000 + i);  // each page's first dword: its index
    }
}

// A plain payload: `len` bytes at `addr`, no byte enables, no DMI hint yet.
void fill(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

// A memory manager as the base protocol expects of an AT initiator
// (tlm_mm_interface: the last release() returns the payload here).
class PayloadPool : public tlm::tlm_mm_interface {
public:
    tlm::tlm_generic_payload* allocate() {
        tlm::tlm_generic_payload* gp;
        if (free_.empty()) {
            all_.emplace_back(new tlm::tlm_generic_payload(this));
            gp = all_.back().get();
        } else {
            gp = free_.back();
            free_.pop_back();
        }
        gp->acquire();
        return gp;
    }
    void free(tlm::tlm_generic_payload* gp) override {
        gp->reset();
        free_.push_back(gp);
    }
    std::size_t outstanding() const { return all_.size() - free_.size(); }

private:
    std::vector<std::unique_ptr<tlm::tlm_generic_payload>> all_;
    std::vector<tlm::tlm_generic_payload*> free_;
};

// The CPU: registers over LT (a plain socket), commands into the queue.
template <unsigned W>
struct Cpu : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Cpu, W> mmio;
    smmu::SparseMemory* mem = nullptr;
    uint32_t prod = 0;

    explicit Cpu(sc_core::sc_module_name n) : sc_module(n), mmio("mmio") {}

    void write_reg(uint32_t off, uint64_t v, unsigned len) {
        tlm::tlm_generic_payload gp;
        fill(gp, tlm::TLM_WRITE_COMMAND, off, &v, len);
        sc_time d = SC_ZERO_TIME;
        mmio->b_transport(gp, d);
        CHECK(gp.is_response_ok());
        wait(d);
    }
    // Stream table, command queue (16 entries), SMMUEN.
    void enable() {
        write_reg(reg::STRTAB_BASE, kStrtab, 8);
        write_reg(reg::STRTAB_BASE_CFG, 4, 4);
        write_reg(reg::CMDQ_BASE, kCmdq | 4, 8);
        write_reg(reg::CR0, 1 | 8, 4);  // SMMUEN, CMDQEN
    }
    void command(const arch::Command& c) {
        mem->write_words(kCmdq + (prod % 16) * 16, c.w.data(), 2);
        ++prod;
        write_reg(reg::CMDQ_PROD, prod & 0x1f, 4);
    }
};

// An LT initiator (lt_initiator style): blocking transport, annotated delay
// waited out, DMI used when granted, invalidations honoured.
template <unsigned W>
struct LtInitiator : sc_core::sc_module, tlm::tlm_bw_transport_if<> {
    tlm::tlm_initiator_socket<W> socket;
    std::vector<std::pair<sc_dt::uint64, sc_dt::uint64>> withdrawn;  // invalidate_direct_mem_ptr ranges, in order

    explicit LtInitiator(sc_core::sc_module_name n) : sc_module(n), socket("socket") { socket.bind(*this); }

    tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len, sc_time* took,
                                    smmu::SmmuExtension* ext = nullptr, bool* dmi_allowed = nullptr) {
        tlm::tlm_generic_payload gp;
        fill(gp, cmd, addr, data, len);
        if (ext) gp.set_extension(ext);
        sc_time d = SC_ZERO_TIME;
        socket->b_transport(gp, d);
        if (ext) gp.clear_extension(ext);
        if (took) *took = d;
        if (dmi_allowed) *dmi_allowed = gp.is_dmi_allowed();
        wait(d);
        return gp.get_response_status();
    }
    bool dmi(uint64_t addr, tlm::tlm_command cmd, tlm::tlm_dmi& d) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        return socket->get_direct_mem_ptr(gp, d);
    }
    unsigned debug(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
        tlm::tlm_generic_payload gp;
        fill(gp, cmd, addr, data, len);
        return socket->transport_dbg(gp);
    }

    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload&, tlm::tlm_phase&, sc_time&) override {
        SC_REPORT_ERROR("test", "LT initiator: nb_transport_bw");
        return tlm::TLM_COMPLETED;
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) override {
        withdrawn.emplace_back(start, end);
    }
};

// An AT initiator (at_initiator_4_phase style): one request phase at a time
// (waits for END_REQ before the next BEGIN_REQ), responses accepted either by
// returning TLM_UPDATED/END_RESP or by a later END_RESP call.
template <unsigned W>
struct AtInitiator : sc_core::sc_module, tlm::tlm_bw_transport_if<> {
    struct Done {
        uint64_t addr = 0;
        uint64_t data = 0;
        tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
        sc_time begin_req, end_req, begin_resp;
        bool end_req_seen = false;
    };
    tlm::tlm_initiator_socket<W> socket;
    std::vector<uint64_t> addrs;      // what to read, in order
    bool end_resp_later = false;      // answer BEGIN_RESP with a separate END_RESP call
    std::vector<Done> done;
    PayloadPool pool;

    SC_HAS_PROCESS(AtInitiator);
    AtInitiator(sc_core::sc_module_name n, sc_time start) : sc_module(n), socket("socket"), start_(start) {
        socket.bind(*this);
        SC_THREAD(run);
    }

    void run() {
        wait(start_);
        done.resize(addrs.size());
        buffers_.resize(addrs.size());
        for (std::size_t i = 0; i < addrs.size(); ++i) {
            tlm::tlm_generic_payload* gp = pool.allocate();
            fill(*gp, tlm::TLM_READ_COMMAND, addrs[i], &buffers_[i], 8);
            gp->set_extension(new smmu::SmmuExtension());  // deleted by reset() when freed
            gp->get_extension<smmu::SmmuExtension>()->sid = kSid;
            index_.push_back(gp);
            done[i].addr = addrs[i];
            done[i].begin_req = sc_core::sc_time_stamp();
            tlm::tlm_phase phase = tlm::BEGIN_REQ;
            sc_time t = SC_ZERO_TIME;
            request_open_ = true;
            const tlm::tlm_sync_enum s = socket->nb_transport_fw(*gp, phase, t);
            CHECK(s == tlm::TLM_ACCEPTED);
            if (request_open_) wait(end_req_);  // the request exclusion rule
        }
        while (pool.outstanding() > 0) wait(released_);
    }

    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase, sc_time& t) override {
        Done& d = done[slot(gp)];
        if (phase == tlm::END_REQ) {
            CHECK(request_open_);
            d.end_req = sc_core::sc_time_stamp() + t;
            d.end_req_seen = true;
            request_open_ = false;
            end_req_.notify(t);
            return tlm::TLM_ACCEPTED;
        }
        CHECK(phase == tlm::BEGIN_RESP);
        CHECK(d.end_req_seen);  // this target ends the request phase first
        d.begin_resp = sc_core::sc_time_stamp() + t;
        d.status = gp.get_response_status();
        d.data = buffers_[slot(gp)];
        if (end_resp_later) {
            end_resp_event_.notify(sc_time(5, SC_NS));
            later_.push_back(&gp);
            if (!end_resp_spawned_) {
                end_resp_spawned_ = true;
                sc_core::sc_spawn([this] { end_resp_thread(); });
            }
            return tlm::TLM_ACCEPTED;
        }
        phase = tlm::END_RESP;
        gp.release();
        released_.notify(SC_ZERO_TIME);
        return tlm::TLM_UPDATED;
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64, sc_dt::uint64) override {}

private:
    std::size_t slot(const tlm::tlm_generic_payload& gp) const {
        for (std::size_t i = 0; i < index_.size(); ++i)
            if (index_[i] == &gp) return i;
        SC_REPORT_FATAL("test", "AT initiator: a payload it did not send");
        return 0;
    }
    // END_RESP on the forward path 5 ns after each BEGIN_RESP.
    void end_resp_thread() {
        for (;;) {
            while (later_.empty()) wait(end_resp_event_);
            wait(sc_time(5, SC_NS));
            tlm::tlm_generic_payload* gp = later_.front();
            later_.erase(later_.begin());
            tlm::tlm_phase phase = tlm::END_RESP;
            sc_time t = SC_ZERO_TIME;
            CHECK(socket->nb_transport_fw(*gp, phase, t) == tlm::TLM_COMPLETED);
            gp->release();
            released_.notify(SC_ZERO_TIME);
        }
    }

    sc_time start_;
    std::vector<uint64_t> buffers_;
    std::vector<tlm::tlm_generic_payload*> index_;
    bool request_open_ = false;
    sc_core::sc_event end_req_, released_, end_resp_event_;
    std::vector<tlm::tlm_generic_payload*> later_;
    bool end_resp_spawned_ = false;
};

// SMMU + memory at bus width W, a CPU, and whatever masters a scenario binds.
template <unsigned W>
struct Bench {
    smmu::BasicMemory<W> memory{"memory", 40, sc_time(50, SC_NS), sc_time(50, SC_NS)};
    smmu::BasicSmmu<W> smmu;
    Cpu<W> cpu{"cpu"};

    explicit Bench(const ::smmu::SmmuCoreParams& p = {}) : smmu("smmu", p) {
        smmu.downstream.bind(memory.socket);
        cpu.mmio.bind(smmu.mmio);
        cpu.mem = &memory.store();
        load_tables(memory.store());
    }
};

// A thread body run once at time 0.
struct Script : sc_core::sc_module {
    std::function<void()> body;
    SC_HAS_PROCESS(Script);
    Script(sc_core::sc_module_name n, std::function<void()> b) : sc_module(n), body(std::move(b)) {
        SC_THREAD(run);
    }
    void run() { body(); }
};

// An IOTLB and a configuration cache (the defaults have none: every access walks).
::smmu::SmmuCoreParams cached() {
    ::smmu::SmmuCoreParams p;
    p.uarch.iotlb.geometry = {16, 4};
    p.uarch.config.geometry = {16, 4};
    return p;
}

smmu::SmmuExtension ext_of(uint32_t sid) {
    smmu::SmmuExtension e;
    e.sid = sid;
    return e;
}

template <unsigned W>
void lt_scenario() {
    Bench<W> b(cached());
    LtInitiator<W> dma("dma");
    dma.socket.bind(b.smmu.upstream);
    uint64_t first = 0, second = 0, written = 0;
    sc_time walk, hit;
    tlm::tlm_response_status st1 = tlm::TLM_INCOMPLETE_RESPONSE, st2 = st1, st3 = st1;
    smmu::SmmuExtension ext = ext_of(kSid);
    Script s("script", [&] {
        b.cpu.enable();
        st1 = dma.access(tlm::TLM_READ_COMMAND, kIova + kPage, &first, 8, &walk, &ext);
        uint64_t v = 0xfeedface;
        st2 = dma.access(tlm::TLM_WRITE_COMMAND, kIova + 2 * kPage + 8, &v, 8, nullptr, &ext);
        st3 = dma.access(tlm::TLM_READ_COMMAND, kIova + kPage, &second, 8, &hit, &ext);
    });
    sc_core::sc_start();
    CHECK(st1 == tlm::TLM_OK_RESPONSE);
    CHECK(st2 == tlm::TLM_OK_RESPONSE);
    CHECK(st3 == tlm::TLM_OK_RESPONSE);
    CHECK(first == 0x1001);
    CHECK(second == 0x1001);
    b.memory.store().peek(kPa + 2 * kPage + 8, &written, 8);
    CHECK(written == 0xfeedface);
    CHECK(ext.pa == kPa + kPage);
    // The walk (config fetch + three levels) costs memory reads the hit does not.
    CHECK(walk > hit + sc_time(150, SC_NS));
    CHECK(hit >= sc_time(50, SC_NS));
    CHECK(b.smmu.core().stats().translated == 3);
}

void at_scenario(bool end_resp_later) {
    Bench<32> b(cached());
    AtInitiator<32> dma("dma", sc_time(100, SC_NS));
    dma.addrs = {kIova + kPage, kIova + kPage + 8, kIova + 2 * kPage, kIova + 0x100000};  // the last unmapped
    dma.end_resp_later = end_resp_later;
    dma.socket.bind(b.smmu.upstream);
    Script s("script", [&] { b.cpu.enable(); });
    sc_core::sc_start();
    REQUIRE(dma.done.size() == 4);
    const auto& d = dma.done;
    CHECK(d[0].status == tlm::TLM_OK_RESPONSE);
    CHECK(d[0].data == 0x1001);
    CHECK(d[1].status == tlm::TLM_OK_RESPONSE);
    CHECK(d[1].data == 0);
    CHECK(d[2].status == tlm::TLM_OK_RESPONSE);
    CHECK(d[2].data == 0x1002);
    CHECK(d[3].status == tlm::TLM_GENERIC_ERROR_RESPONSE);
    for (const auto& x : d) {
        CHECK(x.end_req >= x.begin_req);
        CHECK(x.begin_resp > x.end_req);
    }
    // Unlimited slots: every request is taken at once; the walk's response
    // comes later than the TLB hit's (the second is issued after the first's
    // END_REQ, at the same time, and waits for the walk in flight: miss merging).
    CHECK(d[0].end_req == d[0].begin_req);
    CHECK(d[0].begin_resp - d[0].begin_req > sc_time(200, SC_NS));
    CHECK(d[1].begin_req == d[0].end_req);
    CHECK(d[1].begin_resp - d[0].begin_resp < sc_time(60, SC_NS));
    CHECK(b.smmu.core().unit().stats().merged >= 1);
    CHECK(d[2].begin_resp - d[2].begin_req > sc_time(50, SC_NS));
    CHECK(dma.pool.outstanding() == 0);
    CHECK(b.smmu.core().stats().translated == 3);
    CHECK(b.smmu.core().stats().faults == 1);
}

TEST_CASE("at_backpressure", "[systemc]") {
    smmu::SmmuCoreParams p;
    p.uarch.translation_slots = 1;
    Bench<32> b(p);
    AtInitiator<32> a("a", sc_time(100, SC_NS)), c("c", sc_time(100, SC_NS));
    a.addrs = {kIova + kPage};
    c.addrs = {kIova + 2 * kPage};
    a.socket.bind(b.smmu.upstream);
    c.socket.bind(b.smmu.upstream);
    Script s("script", [&] { b.cpu.enable(); });
    sc_core::sc_start();
    REQUIRE(a.done.size() == 1);
    REQUIRE(c.done.size() == 1);
    // One slot: the first walk holds it; the second request is accepted
    // (END_REQ) only when that translation is done, before its data is back.
    CHECK(a.done[0].end_req == a.done[0].begin_req);
    CHECK(c.done[0].begin_req == a.done[0].begin_req);
    CHECK(c.done[0].end_req > c.done[0].begin_req + sc_time(150, SC_NS));
    CHECK(c.done[0].end_req < a.done[0].begin_resp);
    CHECK(c.done[0].begin_resp > a.done[0].begin_resp);
    CHECK(a.done[0].data == 0x1001);
    CHECK(c.done[0].data == 0x1002);
}

TEST_CASE("dmi", "[systemc]") {
    Bench<32> b;
    LtInitiator<32> dma("dma");
    dma.socket.bind(b.smmu.upstream);
    b.smmu.set_default_stream(0, kSid);
    tlm::tlm_dmi rw, ro, none, ro_write;
    bool got_rw = false, got_ro = false, got_none = true, got_ro_write = true, allowed = false,
         allowed_fault = true;
    uint64_t via_ptr = 0, x = 0;
    unsigned inv_before_tlbi = 99;
    Script s("script", [&] {
        b.cpu.enable();
        dma.access(tlm::TLM_READ_COMMAND, kIova + kPage, &x, 8, nullptr, nullptr, &allowed);
        dma.access(tlm::TLM_READ_COMMAND, kIova + 0x100000, &x, 8, nullptr, nullptr, &allowed_fault);
        got_rw = dma.dmi(kIova + kPage + 0x10, tlm::TLM_READ_COMMAND, rw);
        if (got_rw) std::memcpy(&via_ptr, rw.get_dmi_ptr(), 8);
        got_ro = dma.dmi(kIova + 3 * kPage, tlm::TLM_READ_COMMAND, ro);
        got_ro_write = dma.dmi(kIova + 3 * kPage, tlm::TLM_WRITE_COMMAND, ro_write);
        got_none = dma.dmi(kIova + 0x100000, tlm::TLM_READ_COMMAND, none);
        inv_before_tlbi = static_cast<unsigned>(dma.withdrawn.size());
        // The unmap's TLBI withdraws the pointers.
        arch::Command tlbi;
        tlbi.set(arch::cmd::opcode, static_cast<uint64_t>(arch::Opcode::TLBI_S12_VMALL));
        tlbi.set(arch::cmd::VMID, 1);
        b.cpu.command(tlbi);
        wait(sc_time(1, sc_core::SC_US));
    });
    sc_core::sc_start();
    CHECK(allowed);
    CHECK(!allowed_fault);
    CHECK(got_rw);
    CHECK(rw.get_start_address() == kIova + kPage);
    CHECK(rw.get_end_address() == kIova + 2 * kPage - 1);
    CHECK(rw.is_read_write_allowed());
    CHECK(via_ptr == 0x1001);
    CHECK(rw.get_read_latency() >= sc_time(50, SC_NS));
    CHECK(got_ro);
    CHECK(ro.is_read_allowed());
    CHECK(!ro.is_write_allowed());
    CHECK(!got_ro_write);  // a write DMI to a read-only page is a permission fault: refused
    CHECK(!got_none);
    CHECK(none.get_granted_access() == tlm::tlm_dmi::DMI_ACCESS_NONE);
    CHECK(none.get_start_address() <= kIova + 0x100000);
    CHECK(none.get_end_address() >= kIova + 0x100000);
    CHECK(inv_before_tlbi == 0);
    // Both grants of VMID 1, each with its own range (the write grant to page 3 was refused).
    using Range = std::pair<sc_dt::uint64, sc_dt::uint64>;
    CHECK(dma.withdrawn == std::vector<Range>{{kIova + kPage, kIova + 2 * kPage - 1},
                                              {kIova + 3 * kPage, kIova + 4 * kPage - 1}});
}

TEST_CASE("dmi_withdrawal", "[systemc]") {
    // Each grant goes with the invalidation that would remove a micro-TLB
    // entry of its translation, and with its own range (IEEE 1666-2011
    // 11.2.9); the others stay.
    Bench<32> b;
    LtInitiator<32> dma("dma");
    dma.socket.bind(b.smmu.upstream);
    b.smmu.set_default_stream(0, kSid);
    using Range = std::pair<sc_dt::uint64, sc_dt::uint64>;
    std::vector<Range> after_ipa, after_others, after_cfgi, after_cr0;
    tlm::tlm_dmi d;
    bool granted[4] = {};
    const auto command = [&](arch::Opcode op, std::initializer_list<std::pair<arch::FieldDef, uint64_t>> f) {
        b.cpu.command(arch::Command::make(op, f));
        wait(sc_time(1, sc_core::SC_US));
    };
    Script s("script", [&] {
        b.cpu.enable();
        for (unsigned i = 0; i < 3; ++i) granted[i] = dma.dmi(kIova + i * kPage, tlm::TLM_READ_COMMAND, d);
        // The unmap of page 1 (S2 only, VMID 1): its TLBI_S2_IPA.
        command(arch::Opcode::TLBI_S2_IPA, {{arch::cmd::VMID, 1}, {arch::cmd::IPA, kIova + kPage}, {arch::cmd::Leaf, 1}});
        after_ipa = dma.withdrawn;
        // Another VMID, stage 1 only entries, another StreamID: nothing of these grants.
        command(arch::Opcode::TLBI_S2_IPA, {{arch::cmd::VMID, 2}, {arch::cmd::IPA, kIova}});
        command(arch::Opcode::TLBI_NH_ALL, {{arch::cmd::VMID, 1}});
        command(arch::Opcode::CFGI_STE, {{arch::cmd::SID, kSid + 1}});
        after_others = dma.withdrawn;
        // The STE changes: every grant of the stream goes.
        command(arch::Opcode::CFGI_STE, {{arch::cmd::SID, kSid}});
        after_cfgi = dma.withdrawn;
        // A regime change (CR0) withdraws every grant there is.
        granted[3] = dma.dmi(kIova + 3 * kPage, tlm::TLM_READ_COMMAND, d);
        b.cpu.write_reg(reg::CR0, 1 | 8, 4);
        after_cr0 = dma.withdrawn;
    });
    sc_core::sc_start();
    CHECK((granted[0] && granted[1] && granted[2] && granted[3]));
    const Range page0{kIova, kIova + kPage - 1}, page1{kIova + kPage, kIova + 2 * kPage - 1},
        page2{kIova + 2 * kPage, kIova + 3 * kPage - 1}, page3{kIova + 3 * kPage, kIova + 4 * kPage - 1};
    CHECK(after_ipa == std::vector<Range>{page1});
    CHECK(after_others == after_ipa);
    CHECK(after_cfgi == std::vector<Range>{page1, page0, page2});
    CHECK(after_cr0 == std::vector<Range>{page1, page0, page2, page3});
}

TEST_CASE("dmi_bounded", "[systemc]") {
    // The SMMU keeps kMaxDmiGrants grants: one more withdraws the oldest (its
    // range only), the rest stay until an invalidation reaches them.
    Bench<32> b;
    LtInitiator<32> dma("dma");
    dma.socket.bind(b.smmu.upstream);
    b.smmu.set_default_stream(0, kSid);
    constexpr uint64_t kBlock = 0xc0000000;
    constexpr std::size_t kMax = smmu::SmmuBase::kMaxDmiGrants;
    std::size_t granted = 0, withdrawn_at_max = 99;
    std::vector<std::pair<sc_dt::uint64, sc_dt::uint64>> after_one_more;
    std::size_t after_vmall = 0;
    Script s("script", [&] {
        b.cpu.enable();
        tlm::tlm_dmi d;
        for (uint64_t i = 0; i < kMax; ++i) granted += dma.dmi(kBlock + i * kPage, tlm::TLM_READ_COMMAND, d);
        granted += dma.dmi(kBlock, tlm::TLM_READ_COMMAND, d);  // asked again: the same grant, not a new one
        withdrawn_at_max = dma.withdrawn.size();
        granted += dma.dmi(kBlock + kMax * kPage, tlm::TLM_READ_COMMAND, d);
        after_one_more = dma.withdrawn;
        b.cpu.command(arch::Command::make(arch::Opcode::TLBI_S12_VMALL, {{arch::cmd::VMID, 1}}));
        wait(sc_time(1, sc_core::SC_US));
        after_vmall = dma.withdrawn.size();
    });
    sc_core::sc_start();
    CHECK(granted == kMax + 2);
    CHECK(withdrawn_at_max == 0);
    CHECK(after_one_more == std::vector<std::pair<sc_dt::uint64, sc_dt::uint64>>{{kBlock, kBlock + kPage - 1}});
    CHECK(after_vmall == 1 + kMax);
}

// A bus that forwards everything but DMI, which it refuses: what it connects
// is reached by b_transport only.
struct NoDmiBus : sc_core::sc_module, tlm::tlm_fw_transport_if<>, tlm::tlm_bw_transport_if<> {
    tlm::tlm_target_socket<32> in;
    tlm::tlm_initiator_socket<32> out;

    explicit NoDmiBus(sc_core::sc_module_name n) : sc_module(n), in("in"), out("out") {
        in.bind(*this);
        out.bind(*this);
    }
    void b_transport(tlm::tlm_generic_payload& gp, sc_time& d) override {
        out->b_transport(gp, d);
        gp.set_dmi_allowed(false);
    }
    tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) override {
        return out->nb_transport_fw(gp, ph, d);
    }
    bool get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) override {
        dmi.set_granted_access(tlm::tlm_dmi::DMI_ACCESS_NONE);
        return false;
    }
    unsigned transport_dbg(tlm::tlm_generic_payload& gp) override { return out->transport_dbg(gp); }
    tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload&, tlm::tlm_phase&, sc_time&) override {
        return tlm::TLM_COMPLETED;
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64 s, sc_dt::uint64 e) override { in->invalidate_direct_mem_ptr(s, e); }
};

// One platform of the walker_dmi scenario: the SMMU straight on the memory
// (it grants DMI) or behind a NoDmiBus; no TLBs, so every DMA walks.
struct WalkTree : sc_core::sc_module {
    smmu::Memory memory{"memory", 40, sc_time(50, SC_NS), sc_time(50, SC_NS)};
    smmu::Smmu smmu{"smmu", ::smmu::SmmuCoreParams{}};
    Cpu<32> cpu{"cpu"};
    LtInitiator<32> dma{"dma"};
    std::unique_ptr<NoDmiBus> bus;
    std::vector<sc_time> took;
    std::vector<tlm::tlm_response_status> status;
    std::vector<uint64_t> data;

    SC_HAS_PROCESS(WalkTree);
    WalkTree(sc_core::sc_module_name n, bool dmi) : sc_module(n) {
        if (dmi) {
            smmu.downstream.bind(memory.socket);
        } else {
            bus = std::make_unique<NoDmiBus>("bus");
            smmu.downstream.bind(bus->in);
            bus->out.bind(memory.socket);
        }
        cpu.mmio.bind(smmu.mmio);
        dma.socket.bind(smmu.upstream);
        smmu.set_default_stream(0, kSid);
        cpu.mem = &memory.store();
        load_tables(memory.store());
        // IOVA 2 GiB: a level-2 table at a page nothing ever wrote (reads as
        // zero: translation fault), which a DMI read must not allocate.
        memory.store().write64(kL1 + 2 * 8, arch::Descriptor::make_table(arch::Granule::K4, 0x60000).raw());
        SC_THREAD(run);
    }
    void run() {
        cpu.enable();
        for (uint64_t iova : {kIova, kIova + kPage, kIova + 2 * kPage + 8, kIova + kPage, kIova + 0x100000,
                              uint64_t{0x80000000}, kIova + 3 * kPage, uint64_t{0xc0000000} + 5 * kPage}) {
            uint64_t v = 0;
            sc_time t;
            status.push_back(dma.access(tlm::TLM_READ_COMMAND, iova, &v, 8, &t));
            took.push_back(t);
            data.push_back(v);
        }
    }
};

TEST_CASE("walker_dmi", "[systemc]") {
    WalkTree direct("direct", true), behind("behind", false);
    sc_core::sc_start();
    // Through DMI the walks cost exactly what b_transport charged: the read
    // latency the memory states in its grant.
    REQUIRE(direct.took.size() == 8);
    CHECK(direct.took == behind.took);
    CHECK(direct.status == behind.status);
    CHECK(direct.data == behind.data);
    CHECK(direct.data[1] == 0x1001);
    CHECK(direct.status[4] == tlm::TLM_GENERIC_ERROR_RESPONSE);  // IOVA + 1 MiB: no level-3 entry
    CHECK(direct.status[5] == tlm::TLM_GENERIC_ERROR_RESPONSE);  // the never-written table
    CHECK(direct.took[0] > sc_time(200, SC_NS));                 // STE and three levels, each 50 ns
    CHECK(direct.smmu.core().stats().translated == behind.smmu.core().stats().translated);
    CHECK(direct.smmu.core().stats().faults == behind.smmu.core().stats().faults);
    // The never-written table page stays unallocated (a DMI read is refused there).
    CHECK(direct.memory.store().bytes_allocated() == behind.memory.store().bytes_allocated());
    CHECK(direct.memory.store().existing_page(0x60000) == nullptr);
    // The walker's reads went through DMI: the memory's b_transport saw the
    // six translated DMAs' reads, the first read of each table page (stream
    // table, levels 1-3: its DMI hint) and the read of the never-written
    // table (no hint, no DMI), and behind the bus every walk read.
    CHECK(direct.memory.reads() == 6 + 4 + 1);
    CHECK(behind.memory.reads() > 6 + 8 * 3);
}

TEST_CASE("debug", "[systemc]") {
    Bench<32> b;
    LtInitiator<32> dma("dma");
    dma.socket.bind(b.smmu.upstream);
    b.smmu.set_default_stream(0, kSid);
    uint8_t across[16] = {};
    unsigned n_across = 0, n_unmapped = 99, n_write = 0;
    uint64_t stats_before = 99, reads_before = 0;
    Script s("script", [&] {
        b.cpu.enable();
        b.memory.store().write64(kPa + kPage + 0xff8, 0x1122334455667788ull);
        stats_before = b.smmu.core().stats().transactions;
        reads_before = b.memory.reads();
        n_across = dma.debug(tlm::TLM_READ_COMMAND, kIova + kPage + 0xff8, across, 16);
        uint64_t junk = 0;
        n_unmapped = dma.debug(tlm::TLM_READ_COMMAND, kIova + 0x100000, &junk, 8);
        uint64_t v = 0xabcdef;
        n_write = dma.debug(tlm::TLM_WRITE_COMMAND, kIova + 2 * kPage + 16, &v, 8);
    });
    sc_core::sc_start();
    CHECK(n_across == 16);
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, across, 8);
    std::memcpy(&hi, across + 8, 8);
    CHECK(lo == 0x1122334455667788ull);
    CHECK(hi == 0x1002);  // the next page's first dword (IOVA page 2 -> PA page 2)
    CHECK(n_unmapped == 0);
    CHECK(n_write == 8);
    uint64_t written = 0;
    b.memory.store().peek(kPa + 2 * kPage + 16, &written, 8);
    CHECK(written == 0xabcdef);
    // No translation counted, no memory access counted, no TLB entry made.
    CHECK(b.smmu.core().stats().transactions == stats_before);
    CHECK(b.memory.reads() == reads_before);
    CHECK(b.smmu.core().unit().stats().walks == 0);
}

TEST_CASE("no_extension", "[systemc]") {
    Bench<32> b;
    LtInitiator<32> with_default("with_default"), without("without");
    with_default.socket.bind(b.smmu.upstream);  // port 0
    without.socket.bind(b.smmu.upstream);       // port 1
    b.smmu.set_default_stream(0, kSid);
    // Warnings counted, not printed.
    sc_core::sc_report_handler::set_actions(smmu::report::kUpstream, sc_core::SC_WARNING, sc_core::SC_DO_NOTHING);
    uint64_t data = 0, junk = 0;
    tlm::tlm_response_status st0 = tlm::TLM_INCOMPLETE_RESPONSE, st1 = st0, st2 = st0;
    int warnings_after_first = -1;
    Script s("script", [&] {
        b.cpu.enable();
        st0 = with_default.access(tlm::TLM_READ_COMMAND, kIova + kPage, &data, 8, nullptr);
        st1 = without.access(tlm::TLM_READ_COMMAND, kIova + kPage, &junk, 8, nullptr);
        warnings_after_first = sc_core::sc_report_handler::get_count(smmu::report::kUpstream);
        st2 = without.access(tlm::TLM_READ_COMMAND, kIova + kPage, &junk, 8, nullptr);
    });
    sc_core::sc_start();
    CHECK(st0 == tlm::TLM_OK_RESPONSE);
    CHECK(data == 0x1001);
    // StreamID 0: STE 0 is not valid (C_BAD_STE), the master sees an error.
    CHECK(st1 == tlm::TLM_GENERIC_ERROR_RESPONSE);
    CHECK(st2 == st1);
    CHECK(warnings_after_first == 1);
    CHECK(sc_core::sc_report_handler::get_count(smmu::report::kUpstream) == 1);
    CHECK(b.smmu.core().stats().faults == 2);  // both, as StreamID 0
}

// The memory and the register port take nb_transport_fw too: both complete
// at BEGIN_REQ (TLM_COMPLETED, the access time annotated).
TEST_CASE("at_targets", "[systemc]") {
    Bench<32> b;
    LtInitiator<32> probe("probe");  // its socket, straight to the memory
    probe.socket.bind(b.memory.socket);
    uint64_t idr1 = 0, page1 = 0;
    tlm::tlm_sync_enum mmio_s = tlm::TLM_ACCEPTED, mem_s = tlm::TLM_ACCEPTED;
    tlm::tlm_phase mmio_phase = tlm::BEGIN_REQ, mem_phase = tlm::BEGIN_REQ;
    sc_time mmio_t, mem_t;
    tlm::tlm_generic_payload g1, g2;
    Script s("script", [&] {
        fill(g1, tlm::TLM_READ_COMMAND, reg::IDR1, &idr1, 4);
        mmio_s = b.cpu.mmio->nb_transport_fw(g1, mmio_phase, mmio_t);
        fill(g2, tlm::TLM_READ_COMMAND, kPa + kPage, &page1, 8);
        mem_s = probe.socket->nb_transport_fw(g2, mem_phase, mem_t);
    });
    sc_core::sc_start();
    CHECK(mmio_s == tlm::TLM_COMPLETED);
    CHECK(g1.is_response_ok());
    CHECK((idr1 & 0x3f) == b.smmu.core().caps().sid_bits);  // IDR1.SIDSIZE
    CHECK(mmio_t == b.smmu.clock_period());
    CHECK(mem_s == tlm::TLM_COMPLETED);
    CHECK(g2.is_response_ok());
    CHECK(page1 == 0x1001);
    CHECK(mem_t == sc_time(50, SC_NS));
}

// What a CPU's WFE after a load-exclusive (arm64 __cmpwait_relaxed) relies
// on: a write by another initiator to the reservation granule wakes it.
TEST_CASE("exclusive_monitor", "[systemc]") {
    smmu::Memory memory("memory", 48, sc_time(100, SC_NS), sc_time(100, SC_NS));
    LtInitiator<32> cpu("cpu"), other("other");
    cpu.socket.bind(memory.socket);
    other.socket.bind(memory.socket);
    sc_core::sc_event wake;
    std::vector<sc_time> woken;
    Script waiter("waiter", [&] {
        for (;;) {
            wait(wake);
            woken.push_back(sc_core::sc_time_stamp());
        }
    });
    uint32_t loaded = 0;
    sc_time load_delay;
    Script script("script", [&] {
        uint32_t v = 0x5a5a;
        other.access(tlm::TLM_WRITE_COMMAND, 0x1000, &v, 4, nullptr);  // before the load: no wake
        // The exclusive load: a plain read carrying the extension.
        tlm::tlm_generic_payload gp;
        fill(gp, tlm::TLM_READ_COMMAND, 0x1000, &loaded, 4);
        smmu::ExclusiveMonitorExtension ext;
        ext.wake = &wake;
        gp.set_extension(&ext);
        cpu.socket->b_transport(gp, load_delay);
        gp.clear_extension(&ext);
        wait(sc_time(1000, SC_NS) - sc_core::sc_time_stamp());
        other.access(tlm::TLM_WRITE_COMMAND, 0x1040, &v, 4, nullptr);  // the next granule: no wake
        wait(sc_time(1500, SC_NS) - sc_core::sc_time_stamp());
        other.access(tlm::TLM_IGNORE_COMMAND, 0x1000, &v, 4, nullptr);  // no write: no wake
        wait(sc_time(2000, SC_NS) - sc_core::sc_time_stamp());
        other.access(tlm::TLM_WRITE_COMMAND, 0x103c, &v, 4, nullptr);  // its last word: wakes, at the write's call
        wait(sc_time(3000, SC_NS) - sc_core::sc_time_stamp());
        other.access(tlm::TLM_WRITE_COMMAND, 0x1000, &v, 4, nullptr);  // disarmed by the wake: none
        // Armed again, then moved by a second exclusive load with the same event.
        uint32_t again = 0;
        gp.set_data_ptr(reinterpret_cast<unsigned char*>(&again));
        gp.set_extension(&ext);
        sc_time d;
        cpu.socket->b_transport(gp, d);
        gp.set_address(0x8000);
        cpu.socket->b_transport(gp, d);
        gp.clear_extension(&ext);
        wait(sc_time(4000, SC_NS) - sc_core::sc_time_stamp());
        other.access(tlm::TLM_WRITE_COMMAND, 0x1000, &v, 4, nullptr);  // the old granule: none
        wait(sc_time(5000, SC_NS) - sc_core::sc_time_stamp());
        uint64_t dword = 0x5a5a5a5a5a5a5a5aull;
        other.access(tlm::TLM_WRITE_COMMAND, 0x8010, &dword, 8, nullptr);  // the new one: wakes
        sc_core::sc_stop();
    });
    sc_core::sc_start();
    CHECK(loaded == 0x5a5a);
    CHECK(load_delay == sc_time(100, SC_NS));  // an ordinary read's latency
    REQUIRE(woken.size() == 2);
    CHECK(woken[0] == sc_time(2000, SC_NS));
    CHECK(woken[1] == sc_time(5000, SC_NS));
}

TEST_CASE("lt", "[systemc]") { lt_scenario<32>(); }
TEST_CASE("wide64", "[systemc]") { lt_scenario<64>(); }
TEST_CASE("at", "[systemc]") { at_scenario(false); }
TEST_CASE("at_end_resp_later", "[systemc]") { at_scenario(true); }

}  // namespace

int sc_main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
