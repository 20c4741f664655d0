// PRI queue and stalls without SystemC (docs/pri-stall.md): the PRI record
// layout, the PRIQ registers, page requests through SmmuCore and the
// driver's arm_smmu_priq_thread / IOPF path, overflow, PRI_RESP and RESUME
// for unknown groups and STAGs, STALL_TERM and STALL_MAX.
// Kernel followed: arm-smmu-v3.c v6.18.y (atlanticdg/linux-6.18.y
// 6c3dcfd01987: arm_smmu_handle_event, arm_smmu_page_response,
// arm_smmu_handle_ppr, arm_smmu_priq_thread, arm_smmu_make_s1_cd /
// arm_smmu_make_cdtable_ste with master->stall_enabled); the PRI series
// (J-P. Brucker, "iommu/arm-smmu-v3: Add support for PRI") for serving
// page requests.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "smmu_fixtures.h"
#include "driver/arm_smmu_v3/fault.h"
#include "driver/iommufd/iommufd.h"
#include "models/arch/command.h"
#include "models/arch/pri.h"
#include "models/arch/registers.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::driver;

namespace {

constexpr uint64_t kRam = 0x8000'0000;

uint64_t fld(const FieldDef& f, uint64_t v) { return f.get(&v); }

SmmuCoreParams pri_stall_params(unsigned stall_max = 2) {
    SmmuCoreParams p;
    p.caps.sid_bits = 8;
    p.caps.pri = true;
    p.caps.stall_model = 0;  // stall or terminate, per STE/CD
    p.caps.stall_max = stall_max;
    return p;
}

// One SMMU with PRI and stalls, reset by the driver, a stall-capable master
// (SID 5) and a PRI one (SID 6) attached to one S1 domain that maps nothing yet.
struct Rig : DriverRig {
    std::unique_ptr<HwptPaging> domain;
    // pasid_dev (SID 7): a PRI function whose PRI capability says "PRG
    // Response PASID Required".
    ArmSmmuMaster stall_dev, pri_dev, pasid_dev;
    std::vector<PrgResponse> prg;  // what the devices received
    std::vector<std::pair<uint16_t, Cycle>> resolved;

    explicit Rig(SmmuCoreParams p = pri_stall_params(), unsigned priq_log2 = 7)
        : DriverRig(p, params(priq_log2), VmidProfile::PerS2Domain) {
        core.set_prg_responder([this](const PrgResponse& m, Cycle) { prg.push_back(m); });
        core.set_stall_listener([this](uint16_t stag, Cycle c) { resolved.emplace_back(stag, c); });
        domain = std::make_unique<HwptPaging>(ctx, smmu, DomainStage::S1, Granule::K4, 48, false);
        stall_dev.smmu = pri_dev.smmu = &smmu;
        stall_dev.sids = {5};
        stall_dev.stall_enabled = true;
        pri_dev.sids = {6};
        pri_dev.pri_supported = true;
        pasid_dev.smmu = &smmu;
        pasid_dev.sids = {7};
        pasid_dev.pri_supported = pasid_dev.pri_resp_pasid_required = true;
        probe_device(stall_dev);
        probe_device(pri_dev);
        probe_device(pasid_dev);
        attach_dev_paging(stall_dev, *domain, arena);
        attach_dev_paging(pri_dev, *domain, arena);
        attach_dev_paging(pasid_dev, *domain, arena);
        bus.idle();
        bus.executed.clear();
    }
    static ArmSmmuParams params(unsigned priq_log2) {
        ArmSmmuParams a;
        a.priq_log2 = priq_log2;
        return a;
    }
    TranslationResult translate(uint32_t sid, uint64_t iova, bool write = false, Cycle at = 0) {
        TranslationRequest req;
        req.sid = sid;
        req.iova = iova;
        req.write = write;
        AccessLog log;
        return core.translate(req, log, 0, at);
    }
    PageRequest request(uint16_t prgi, uint64_t addr, bool last = true) const {
        PageRequest r;
        r.sid = 6;
        r.addr = addr;
        r.read = true;
        r.write = true;
        r.last = last;
        r.prg_index = prgi;
        return r;
    }
};

}  // namespace

TEST_CASE("PRI queue records are bit-exact (IHI 0070 8.1, Linux PRIQ_0_* and PRIQ_1_*)", "[pri]") {
    PageRequest r;
    r.sid = 0x12;
    r.ssv = true;
    r.ssid = 0x345;
    r.read = true;
    r.exec = true;
    r.priv = true;
    r.last = true;
    r.prg_index = 0x1ab;
    r.addr = 0xdead'beefull;  // the page offset is not sent
    const PriRecord rec = r.record();
    // PRIQ_0_SID [31:0], SSID [51:32], PERM_PRIV 58, EXEC 59, READ 60, WRITE 61, PRG_LAST 62, SSID_V 63.
    CHECK(rec.w[0] == (0x12ull | (0x345ull << 32) | (1ull << 58) | (1ull << 59) | (1ull << 60) | (1ull << 62) |
                       (1ull << 63)));
    // PRIQ_1_PRG_IDX [8:0], PRIQ_1_ADDR_MASK [63:12].
    CHECK(rec.w[1] == (0x1abull | 0xdead'b000ull));
    const PageRequest back = page_request_from(rec);
    CHECK(back.sid == 0x12);
    CHECK(back.ssid == 0x345);
    CHECK(back.prg_index == 0x1ab);
    CHECK(back.addr == 0xdead'b000ull);
    CHECK((back.read && !back.write && back.exec && back.priv && back.last && back.ssv));
    // The PRI series' arm_smmu_handle_ppr reads the same fields.
    const PageFault f = fault_from_ppr(rec);
    CHECK((f.sid == 0x12 && f.pasid_valid && f.pasid == 0x345 && f.grpid == 0x1ab && f.last && !f.stall));
    CHECK(f.addr == 0xdead'b000ull);
}

TEST_CASE("IDR0.PRI, IDR1.PRIQS, IDR5.STALL_MAX and the PRIQ registers", "[pri][registers]") {
    Rig r;
    CHECK(fld(idr0::PRI, r.rd(reg::IDR0)) == 1);
    CHECK(fld(idr0::STALL_MODEL, r.rd(reg::IDR0)) == 0);
    CHECK(fld(idr1::PRIQS, r.rd(reg::IDR1)) == 19);
    CHECK(fld(idr5::STALL_MAX, r.rd(reg::IDR5)) == 2);
    const Features& f = r.smmu.features();
    CHECK((f.pri && f.stalls && !f.stall_force && f.max_stalls == 2));
    // arm_smmu_device_reset: PRIQ_BASE (RA, 2^7 entries), PRIQEN, PRIQ_IRQEN.
    CHECK((r.rd(reg::CR0) & cr0::PRIQEN.mask()) != 0);
    CHECK((r.rd(reg::IRQ_CTRL) & irq_ctrl::PRIQ_IRQEN.mask()) != 0);
    const uint64_t base = r.bus.mmio_read(reg::PRIQ_BASE, 8);
    CHECK((base & 0x1f) == 7);
    // PRIQ_BASE is locked while PRIQEN=1 (IHI 0070 6.3.30).
    r.bus.mmio_write(reg::PRIQ_BASE, 8, 0x1234'0000);
    CHECK(r.bus.mmio_read(reg::PRIQ_BASE, 8) == base);
    // Without IDR0.PRI, PRIQEN and PRIQ_IRQEN stay RES0.
    SparseMemory mem(48);
    SmmuCore plain(mem, SmmuCoreParams{});
    WriteEffect e;
    plain.mmio_write(reg::CR0, 4, cr0::PRIQEN.mask(), e);
    uint64_t v = 1;
    plain.mmio_read(reg::CR0, 4, v);
    CHECK(v == 0);
}

TEST_CASE("A stall-capable master gets CD.S and no S1STALLD, the others S1STALLD (arm_smmu_make_s1_cd, "
          "arm_smmu_make_cdtable_ste)",
          "[stall][linux]") {
    Rig r;
    const Ste stall_ste = r.smmu.read_ste(5), other_ste = r.smmu.read_ste(6);
    CHECK(stall_ste.get(ste::S1STALLD) == 0);
    CHECK(other_ste.get(ste::S1STALLD) == 1);
    ContextDescriptor cd;
    r.mem.read_words(r.stall_dev.cdtab, cd.w.data(), ContextDescriptor::kDwords);
    CHECK(cd.get(cd::S) == 1);
    r.mem.read_words(r.pri_dev.cdtab, cd.w.data(), ContextDescriptor::kDwords);
    CHECK(cd.get(cd::S) == 0);
}

TEST_CASE("Page request round trip: PRI queue, arm_smmu_priq_thread, the IOPF handler maps, PRI_RESP Success",
          "[pri][linux]") {
    Rig r;
    // The requests of one group: two partial, then the last.
    CHECK(r.core.page_request(r.request(3, 0x10'0000, false), 100) == OutputQueue::Outcome::Written);
    CHECK(r.core.page_request(r.request(3, 0x10'1000, false), 110) == OutputQueue::Outcome::Written);
    CHECK(r.core.page_request(r.request(3, 0x10'2000, true), 120) == OutputQueue::Outcome::Written);
    CHECK(r.rd(reg::PRIQ_PROD) == 3);
    std::vector<uint64_t> mapped;
    IopfQueue iopf([&](const std::vector<PageFault>& group) {
        for (const PageFault& f : group) {
            r.domain->map(f.addr, kRam + f.addr, 0x1000, PageAttrs{});
            mapped.push_back(f.addr);
        }
        return PageResponseCode::Success;
    });
    std::vector<Command> responses;
    for (const PriRecord& rec : r.smmu.drain_page_requests())
        for (const Command& c : iopf.report(r.pri_dev, fault_from_ppr(rec))) responses.push_back(c);
    CHECK(r.rd(reg::PRIQ_CONS) == 3);
    CHECK(mapped == std::vector<uint64_t>{0x10'0000, 0x10'1000, 0x10'2000});
    REQUIRE(responses.size() == 1);  // one response per group
    for (const Command& c : responses) r.smmu.issue_cmd(c);  // arm_smmu_cmdq_issue_cmd, no SYNC
    r.bus.idle();
    REQUIRE(r.prg.size() == 1);
    CHECK(r.prg[0].sid == 6);
    CHECK(r.prg[0].prg_index == 3);
    CHECK(r.prg[0].resp == PriResp::Success);
    CHECK(!r.prg[0].automatic);
    CHECK(r.core.stats().page_requests == 3);
    CHECK(r.core.stats().priq_written == 3);
    CHECK(r.core.stats().pri_responses == 1);
    CHECK(r.core.stats().pri_responses_unmatched == 0);
    CHECK(iopf.stats().groups == 1);
    CHECK(iopf.stats().faults == 3);
    // The device retries: the pages translate now.
    CHECK(r.translate(6, 0x10'1008).outcome == TranslationResult::Outcome::Translated);
}

TEST_CASE("Mainline arm_smmu_handle_ppr denies: PRI_RESP DENY for the last request only", "[pri][linux]") {
    Rig r;
    r.core.page_request(r.request(7, 0x2000, false), 0);
    r.core.page_request(r.request(7, 0x3000, true), 0);
    std::vector<Command> cmds;
    for (const PriRecord& rec : r.smmu.drain_page_requests())
        if (auto c = deny_ppr(rec)) cmds.push_back(*c);
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].opcode() == static_cast<uint8_t>(Opcode::PRI_RESP));
    CHECK(cmds[0].get(cmd::PRGIndex) == 7);
    CHECK(cmds[0].get(cmd::SID) == 6);
    // PRI_RESP_DENY is 0: ResponseFailure (IHI 0070 4.5.2).
    CHECK(cmds[0].get(cmd::PriResp) == 0);
    CHECK(cmds[0].get(cmd::PriResp) == static_cast<uint64_t>(PriResp::Failure));
}

TEST_CASE("PRI queue overflow: OVFLG, the request dropped, a dropped last request answered Success by the SMMU",
          "[pri][overflow]") {
    Rig r(pri_stall_params(), 1);  // a 2-entry PRI queue
    CHECK(r.core.page_request(r.request(1, 0x1000), 0) == OutputQueue::Outcome::Written);
    CHECK(r.core.page_request(r.request(2, 0x2000), 0) == OutputQueue::Outcome::Written);
    CHECK(r.core.page_request(r.request(3, 0x3000, false), 0) == OutputQueue::Outcome::Overflow);
    CHECK(r.prg.empty());  // a partial request gets no answer
    CHECK(r.core.page_request(r.request(4, 0x4000), 0) == OutputQueue::Outcome::Overflow);
    REQUIRE(r.prg.size() == 1);
    CHECK(r.prg[0].prg_index == 4);
    CHECK(r.prg[0].resp == PriResp::Success);
    CHECK(r.prg[0].automatic);
    CHECK((r.rd(reg::PRIQ_PROD) & eventq_prod::OVFLG.mask()) != 0);
    CHECK(r.core.stats().priq_dropped_overflow == 2);
    CHECK(r.core.stats().prg_auto_responses == 1);
    // arm_smmu_priq_thread: the two records, then OVACKFLG = OVFLG.
    CHECK(r.smmu.drain_page_requests().size() == 2);
    CHECK((r.rd(reg::PRIQ_CONS) & eventq_cons::OVACKFLG.mask()) != 0);
    CHECK(r.core.page_request(r.request(5, 0x5000), 0) == OutputQueue::Outcome::Written);
}

TEST_CASE("PRIQEN=0 or SMMUEN=0: every page request is dropped and answered ResponseFailure without a PASID "
          "(IHI 0070 8.2 and 3.11), a Stop Marker is not answered",
          "[pri]") {
    Rig r;
    r.bus.mmio_write(reg::CR0, 4, r.rd(reg::CR0) & ~cr0::PRIQEN.mask());
    PageRequest partial = r.request(9, 0x1000, false);
    partial.ssv = true;
    partial.ssid = 4;
    CHECK(r.core.page_request(partial, 0) == OutputQueue::Outcome::Disabled);
    CHECK(r.core.page_request(r.request(9, 0x2000), 0) == OutputQueue::Outcome::Disabled);
    PageRequest stop = r.request(10, 0, true);
    stop.ssv = true;
    stop.read = stop.write = false;
    CHECK(r.core.page_request(stop, 0) == OutputQueue::Outcome::Disabled);
    REQUIRE(r.prg.size() == 2);
    for (const PrgResponse& m : r.prg) {
        CHECK(m.resp == PriResp::Failure);
        CHECK(!m.ssv);
        CHECK(m.automatic);
    }
    CHECK(r.core.stats().priq_dropped_disabled == 3);
    CHECK(r.core.stats().prg_auto_responses == 2);
    // SMMUEN=0 denies them as PRIQEN=0 does, with PRIQEN=1.
    r.bus.mmio_write(reg::CR0, 4, (r.rd(reg::CR0) | cr0::PRIQEN.mask()) & ~cr0::SMMUEN.mask());
    CHECK(r.core.page_request(r.request(11, 0x3000), 0) == OutputQueue::Outcome::Disabled);
    REQUIRE(r.prg.size() == 3);
    CHECK(r.prg[2].resp == PriResp::Failure);
}

TEST_CASE("PRI_RESP for a group never requested reaches the device and is counted unmatched, reserved Resp is "
          "CERROR_ILL",
          "[pri][robustness]") {
    Rig r;
    r.smmu.issue_cmd(Command::make(Opcode::PRI_RESP, {{cmd::SID, 6}, {cmd::PRGIndex, 0x55}, {cmd::PriResp, 2}}));
    r.bus.idle();
    REQUIRE(r.prg.size() == 1);  // the SMMU forwards it; the device ignores it (PCIe UPRGI)
    CHECK(r.prg[0].prg_index == 0x55);
    CHECK(r.core.stats().pri_responses_unmatched == 1);
    CHECK(r.core.stats().command_errors == 0);
    SmmuCaps caps;
    caps.pri = true;
    CHECK(command_is_legal(Command::make(Opcode::PRI_RESP, {{cmd::PriResp, 2}}), caps));
    CHECK(!command_is_legal(Command::make(Opcode::PRI_RESP, {{cmd::PriResp, 3}}), caps));
    caps.pri = false;
    CHECK(!command_is_legal(Command::make(Opcode::PRI_RESP, {{cmd::PriResp, 2}}), caps));
    CHECK(!command_is_legal(Command::make(Opcode::RESUME, {{cmd::Action, 3}}), caps));
}

TEST_CASE("Stall: the fault is held with a STAG, recorded with Stall=1, the handler maps and RESUME retries",
          "[stall][linux]") {
    Rig r;
    const TranslationResult first = r.translate(5, 0x40'0000, true, 1000);
    CHECK(first.outcome == TranslationResult::Outcome::Faulted);
    REQUIRE(first.stalled);
    CHECK(r.core.stalled() == 1);
    const auto events = r.smmu.drain_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].id() == static_cast<uint8_t>(EventId::F_TRANSLATION));
    CHECK(events[0].get(evt::Stall) == 1);
    CHECK(events[0].get(evt::STAG) == first.stag);
    CHECK(events[0].get(evt::RnW) == 0);
    // arm_smmu_handle_event -> iommu_report_device_fault -> the handler maps ->
    // arm_smmu_page_response: CMD_RESUME Retry with the STAG.
    const std::optional<PageFault> f = fault_from_event(events[0]);
    REQUIRE(f);
    CHECK((f->stall && f->write && !f->read && f->grpid == first.stag && f->addr == 0x40'0000));
    IopfQueue iopf([&](const std::vector<PageFault>& g) {
        r.domain->map(g.back().addr & ~0xfffull, kRam, 0x1000, PageAttrs{});
        return PageResponseCode::Success;
    });
    const std::vector<Command> resp = iopf.report(r.stall_dev, *f);
    REQUIRE(resp.size() == 1);
    CHECK(resp[0].opcode() == static_cast<uint8_t>(Opcode::RESUME));
    CHECK(resp[0].get(cmd::Action) == static_cast<uint64_t>(ResumeAction::Retry));
    CHECK(resp[0].get(cmd::SID) == 5);
    r.smmu.issue_cmd(resp[0]);
    r.bus.idle();
    REQUIRE(r.resolved.size() == 1);
    CHECK(r.resolved[0].first == first.stag);
    const auto e = r.core.take_stall(first.stag);
    REQUIRE(e);
    CHECK(e->action == ResumeAction::Retry);
    CHECK(r.core.stalled() == 0);
    CHECK(r.translate(5, 0x40'0000, true).outcome == TranslationResult::Outcome::Translated);
    CHECK(r.core.stats().stalls == 1);
    CHECK(r.core.stats().resumes_retry == 1);
}

TEST_CASE("Stall: RESUME Abort, a RESUME for an unknown STAG or SID is ignored, STALL_TERM ends the rest",
          "[stall][robustness]") {
    Rig r(pri_stall_params(3));
    const TranslationResult a = r.translate(5, 0x1000), b = r.translate(5, 0x2000), c = r.translate(5, 0x3000);
    REQUIRE((a.stalled && b.stalled && c.stalled));
    CHECK(a.stag != b.stag);
    // The master that cannot stall is terminated as before.
    CHECK(!r.translate(6, 0x1000).stalled);
    r.smmu.issue_cmd(Command::make(Opcode::RESUME, {{cmd::SID, 5}, {cmd::STAG, 0x7777}, {cmd::Action, 1}}));
    r.smmu.issue_cmd(Command::make(Opcode::RESUME, {{cmd::SID, 6}, {cmd::STAG, a.stag}, {cmd::Action, 1}}));
    r.bus.idle();
    CHECK(r.core.stats().resumes_unmatched == 2);
    CHECK(r.core.stats().command_errors == 0);
    CHECK(r.resolved.empty());
    r.smmu.issue_cmd(page_response(r.stall_dev, PageFault{5, false, 0, true, a.stag, true, false, false, false, 0x1000, true},
                                   PageResponseCode::Failure));
    r.bus.idle();
    REQUIRE(r.resolved.size() == 1);
    CHECK(r.core.take_stall(a.stag)->action == ResumeAction::Abort);
    // A second RESUME for a transaction already resumed matches nothing.
    r.smmu.issue_cmd(Command::make(Opcode::RESUME, {{cmd::SID, 5}, {cmd::STAG, a.stag}, {cmd::Action, 1}}));
    r.smmu.issue_cmd(Command::make(Opcode::STALL_TERM, {{cmd::SID, 5}}));
    r.bus.idle();
    CHECK(r.core.stats().resumes_unmatched == 3);
    CHECK(r.core.stats().stall_terms == 2);
    CHECK(r.core.take_stall(b.stag)->action == ResumeAction::Abort);
    CHECK(r.core.take_stall(c.stag)->action == ResumeAction::Abort);
    CHECK(r.core.stalled() == 0);
}

TEST_CASE("Stall: beyond IDR5.STALL_MAX a stallable fault terminates, one whose event cannot be written waits for "
          "the event queue and is retried (IHI 0070 3.12.2)",
          "[stall][overflow]") {
    Rig r(pri_stall_params(1));
    const TranslationResult first = r.translate(5, 0x1000);
    CHECK(first.stalled);
    const TranslationResult second = r.translate(5, 0x2000);
    CHECK(second.outcome == TranslationResult::Outcome::Faulted);
    CHECK(!second.stalled);
    CHECK(r.core.stats().stalls_refused == 1);
    const auto events = r.smmu.drain_events();
    REQUIRE(events.size() == 2);
    CHECK(events[1].get(evt::Stall) == 0);  // terminated: recorded as a plain fault
    CHECK(!fault_from_event(events[1]));    // arm_smmu_handle_event reports only stalls
    r.smmu.issue_cmd(Command::make(Opcode::STALL_TERM, {{cmd::SID, 5}}));
    r.bus.idle();
    CHECK(r.core.take_stall(first.stag)->action == ResumeAction::Abort);
    // With the event queue off the record cannot be written: the transaction
    // is held without one (its STAG was never told, so no RESUME reaches it) ...
    const uint32_t cr0 = static_cast<uint32_t>(r.rd(reg::CR0));
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::EVTQEN.mask());
    const uint32_t prod = static_cast<uint32_t>(r.rd(reg::EVENTQ_PROD));
    const TranslationResult held = r.translate(5, 0x3000);
    REQUIRE(held.stalled);
    CHECK(r.core.stats().stalls_deferred == 1);
    CHECK(r.rd(reg::EVENTQ_PROD) == prod);
    r.smmu.issue_cmd(Command::make(Opcode::RESUME, {{cmd::SID, 5}, {cmd::STAG, held.stag}, {cmd::Action, 1}}));
    r.bus.idle();
    CHECK(!r.core.take_stall(held.stag));
    // ... until the queue is writable again: retried as though it had just arrived.
    r.bus.mmio_write(reg::CR0, 4, cr0);
    REQUIRE(r.resolved.size() == 2);
    CHECK(r.resolved.back().first == held.stag);
    CHECK(r.core.take_stall(held.stag)->action == ResumeAction::Retry);
    CHECK(r.core.stats().stalls_refused == 1);
    // CMD_STALL_TERM reaches a held one too (IHI 0070 4.7.2: all of the StreamID's).
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::EVTQEN.mask());
    const TranslationResult term = r.translate(5, 0x4000);
    REQUIRE(term.stalled);
    r.smmu.issue_cmd(Command::make(Opcode::STALL_TERM, {{cmd::SID, 5}}));
    r.bus.idle();
    CHECK(r.core.take_stall(term.stag)->action == ResumeAction::Abort);
    CHECK(r.core.stalled() == 0);
}

TEST_CASE("Stall: an unacknowledged GERROR.EVTQ_ABT_ERR makes the event queue unwritable, a stall waits for the "
          "acknowledgement (IHI 0070 7.2.1)",
          "[stall]") {
    Rig r;
    const uint32_t cr0 = static_cast<uint32_t>(r.rd(reg::CR0));
    const uint64_t base = r.bus.mmio_read(reg::EVENTQ_BASE, 8);
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::EVTQEN.mask());
    r.bus.mmio_write(reg::EVENTQ_BASE, 8, (1ull << 50) | (base & 0x1f));  // beyond the address space
    r.bus.mmio_write(reg::CR0, 4, cr0);
    const TranslationResult lost = r.translate(5, 0x1000);  // its record's write aborts
    CHECK(!lost.stalled);
    CHECK((r.rd(reg::GERROR) & gerror::EVTQ_ABT_ERR.mask()) != 0);
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::EVTQEN.mask());
    r.bus.mmio_write(reg::EVENTQ_BASE, 8, base);
    r.bus.mmio_write(reg::CR0, 4, cr0);
    const TranslationResult held = r.translate(5, 0x2000);
    REQUIRE(held.stalled);
    CHECK(r.core.stats().stalls_deferred == 1);
    r.bus.mmio_write(reg::GERRORN, 4, r.rd(reg::GERROR));  // acknowledged: writable again
    REQUIRE(!r.resolved.empty());
    CHECK(r.core.take_stall(held.stag)->action == ResumeAction::Retry);
}

TEST_CASE("Stall: clearing SMMUEN terminates every held transaction (IHI 0070 3.12.2)", "[stall]") {
    Rig r;
    const TranslationResult a = r.translate(5, 0x1000);
    REQUIRE(a.stalled);
    r.bus.mmio_write(reg::CR0, 4, r.rd(reg::CR0) & ~cr0::SMMUEN.mask());
    REQUIRE(r.resolved.size() == 1);
    CHECK(r.core.take_stall(a.stag)->action == ResumeAction::Abort);
    CHECK(r.core.stats().stall_terms == 1);
    CHECK(r.core.stalled() == 0);
}

namespace {
// The event/PRI queue and command queue register accesses of a run, as
// "R EVENTQ_PROD=2" / "W EVENTQ_CONS=1" / "W CMDQ_PROD".
std::vector<std::string> queue_accesses(const RecordingBus& bus, std::size_t from) {
    std::vector<std::string> out;
    for (std::size_t i = from; i < bus.accesses.size(); ++i) {
        const RecordingBus::Access& a = bus.accesses[i];
        const char* name = a.off == reg::EVENTQ_PROD ? "EVENTQ_PROD"
                           : a.off == reg::EVENTQ_CONS ? "EVENTQ_CONS"
                           : a.off == reg::PRIQ_PROD   ? "PRIQ_PROD"
                           : a.off == reg::PRIQ_CONS   ? "PRIQ_CONS"
                           : a.off == reg::CMDQ_PROD   ? "CMDQ_PROD"
                                                       : nullptr;
        if (!name) continue;
        std::string s = std::string(a.write ? "W " : "R ") + name;
        if (a.off != reg::CMDQ_PROD) s += "=" + std::to_string(a.value);
        out.push_back(s);
    }
    return out;
}
}  // namespace

TEST_CASE("arm_smmu_evtq_thread: CONS written after each record, the thread's own answer before the next record "
          "(queue_remove_raw, iopf_error_response), a handler's answers after the run",
          "[stall][linux]") {
    // arm-smmu-v3.c 6c3dcfd01987, arm_smmu_evtq_thread:
    //   do { while (!queue_remove_raw(q, evt)) { ... arm_smmu_handle_event ... }
    //        queue_sync_prod_in(q) ... } while (!queue_empty(llq));
    // queue_remove_raw reads the entry, queue_inc_cons, queue_sync_cons_out.
    Rig r;
    REQUIRE(r.translate(5, 0x1000).stalled);
    REQUIRE(r.translate(5, 0x2000).stalled);
    CHECK(r.rd(reg::EVENTQ_PROD) == 2);
    const double cpu_before = r.bus.cpu_ns;
    // Two arm_smmu_cmdq_issue_cmd calls (one command each) cost this much CPU time.
    const ArmSmmuParams costs;
    const double issue_ns = 2 * (costs.costs.cmdlist_ns + costs.costs.cmd_ns);
    // One run of the threads: what it sent, and its queue register accesses.
    std::vector<std::string> accesses;
    const auto serve = [&](IopfQueue& q, PageRequestPolicy policy) {
        const std::size_t from = r.bus.accesses.size();
        FaultPass p = service_faults(r.smmu, q, policy, 500);
        accesses = queue_accesses(r.bus, from);
        return p;
    };

    SECTION("no fault handler (mainline): each RESUME Abort goes out inside the loop") {
        IopfQueue none;
        const FaultPass p = serve(none, PageRequestPolicy::Deny);
        CHECK(accesses == std::vector<std::string>{"R EVENTQ_PROD=2", "W EVENTQ_CONS=1", "W CMDQ_PROD",
                                                   "W EVENTQ_CONS=2", "W CMDQ_PROD", "R EVENTQ_PROD=2",
                                                   "R PRIQ_PROD=0"});
        REQUIRE(p.responses.size() == 2);
        CHECK(p.responses[0].get(cmd::Action) == static_cast<uint64_t>(ResumeAction::Abort));
        CHECK(r.bus.cpu_ns == cpu_before + issue_ns);  // no handler runs: nothing spent before answering
        REQUIRE(p.issued_ns.size() == 2);
        CHECK(p.issued_ns[0] == cpu_before + issue_ns / 2);  // each answer at its own time
        CHECK(p.issued_ns[1] == cpu_before + issue_ns);
    }
    SECTION("iommufd's handler: the VMM answers once the thread read everything") {
        IopfQueue vmm([&](const std::vector<PageFault>& g) {
            r.domain->map(g.back().addr & ~0xfffull, kRam + (g.back().addr & ~0xfffull), 0x1000, PageAttrs{});
            return PageResponseCode::Success;
        });
        const FaultPass p = serve(vmm, PageRequestPolicy::Iopf);
        CHECK(accesses == std::vector<std::string>{"R EVENTQ_PROD=2", "W EVENTQ_CONS=1", "W EVENTQ_CONS=2",
                                                   "R EVENTQ_PROD=2", "R PRIQ_PROD=0", "W CMDQ_PROD",
                                                   "W CMDQ_PROD"});
        REQUIRE(p.responses.size() == 2);
        CHECK(p.responses[1].get(cmd::Action) == static_cast<uint64_t>(ResumeAction::Retry));
        CHECK(r.bus.cpu_ns == cpu_before + 500 + issue_ns);
        REQUIRE(p.issued_ns.size() == 2);
        CHECK(p.issued_ns[0] == cpu_before + 500 + issue_ns / 2);
    }
    // Nothing new: one PROD read per queue, no CONS write.
    IopfQueue again;
    CHECK(serve(again, PageRequestPolicy::Deny).events.empty());
    CHECK(accesses == std::vector<std::string>{"R EVENTQ_PROD=2", "R PRIQ_PROD=0"});
}

TEST_CASE("iommu_report_device_fault without a fault handler answers every page request INVALID at once, a "
          "partial one too (err_bad_iopf -> iopf_error_response)",
          "[pri][linux]") {
    // drivers/iommu/io-pgfault.c: find_fault_handler() is NULL when the
    // domain has no iopf_handler; the partial-request path is after it.
    IopfQueue none;
    ArmSmmuMaster m;
    m.prg_resp_needs_ssid = true;
    PageFault partial;
    partial.sid = 6;
    partial.grpid = 3;
    partial.last = false;
    partial.pasid_valid = true;
    partial.pasid = 9;
    PageFault last = partial;
    last.last = true;
    const std::vector<Command> a = none.report(m, partial);
    const std::vector<Command> b = none.report(m, last);
    REQUIRE(a.size() == 1);
    REQUIRE(b.size() == 1);
    for (const Command& c : {a[0], b[0]}) {
        CHECK(c.opcode() == static_cast<uint8_t>(Opcode::PRI_RESP));
        CHECK(c.get(cmd::PriResp) == static_cast<uint64_t>(PriResp::Invalid));
        CHECK(c.get(cmd::PRGIndex) == 3);
        CHECK(c.get(cmd::SSID) == 9);
    }
    CHECK(none.stats().invalid == 2);
    CHECK(none.stats().groups == 0);
}

TEST_CASE("PRG Response PASID: the PRI series' arm_smmu_init_pri sets STE.PPAR and answers with the PASID only for "
          "a function that requires it",
          "[pri][linux]") {
    // PRI series: arm_smmu_init_pri: prg_resp_needs_ssid = ssid_bits &&
    // pci_prg_resp_pasid_required; arm_smmu_write_strtab_ent: PPAR with the
    // S1 configuration; arm_smmu_page_response: substream_valid =
    // pasid_valid && master->prg_resp_needs_ssid.
    Rig r;
    CHECK(r.pasid_dev.prg_resp_needs_ssid);
    CHECK(!r.pri_dev.prg_resp_needs_ssid);
    CHECK(r.smmu.read_ste(7).get(ste::PPAR) == 1);
    CHECK(r.smmu.read_ste(6).get(ste::PPAR) == 0);
    PageFault f;
    f.sid = 7;
    f.pasid_valid = true;
    f.pasid = 0x21;
    f.grpid = 5;
    const Command with = page_response(r.pasid_dev, f, PageResponseCode::Success);
    CHECK(with.get(cmd::SSV) == 1);
    CHECK(with.get(cmd::SSID) == 0x21);
    f.sid = 6;
    const Command without = page_response(r.pri_dev, f, PageResponseCode::Success);
    CHECK(without.get(cmd::SSV) == 0);
    CHECK(without.get(cmd::SSID) == 0);
    // The SMMU passes CMD_PRI_RESP's SSV/SSID on as they are (IHI 0070 4.5.2).
    r.smmu.issue_cmd(with);
    r.smmu.issue_cmd(without);
    r.bus.idle();
    REQUIRE(r.prg.size() == 2);
    CHECK((r.prg[0].ssv && r.prg[0].ssid == 0x21 && r.prg[0].sid == 7));
    CHECK((!r.prg[1].ssv && r.prg[1].sid == 6));
}

TEST_CASE("PRI queue overflow: writes inhibited until OVACKFLG, a dropped Last answered with the PASID as IDR3.PPS "
          "and STE.PPAR say, ResponseFailure for an unusable STE (IHI 0070 8.1)",
          "[pri][overflow]") {
    Rig r(pri_stall_params(), 1);  // a 2-entry PRI queue
    CHECK(r.core.page_request(r.request(1, 0x1000), 0) == OutputQueue::Outcome::Written);
    CHECK(r.core.page_request(r.request(2, 0x2000), 0) == OutputQueue::Outcome::Written);
    const auto with_pasid = [&](uint32_t sid, uint16_t prgi) {
        PageRequest q = r.request(prgi, 0x3000);
        q.sid = sid;
        q.ssv = true;
        q.ssid = 0x33;
        return q;
    };
    CHECK(r.core.page_request(with_pasid(6, 3), 0) == OutputQueue::Outcome::Overflow);    // PPAR 0
    CHECK(r.core.page_request(with_pasid(7, 4), 0) == OutputQueue::Outcome::Overflow);    // PPAR 1
    CHECK(r.core.page_request(with_pasid(0x90, 5), 0) == OutputQueue::Outcome::Overflow); // abort STE: valid
    CHECK(r.core.page_request(with_pasid(0x1ff, 6), 0) == OutputQueue::Outcome::Overflow);  // beyond SIDSIZE 8
    PageRequest stop = with_pasid(6, 7);
    stop.read = stop.write = false;  // a Stop Marker: no answer
    CHECK(r.core.page_request(stop, 0) == OutputQueue::Outcome::Overflow);
    REQUIRE(r.prg.size() == 4);
    CHECK((r.prg[0].resp == PriResp::Success && !r.prg[0].ssv));
    CHECK((r.prg[1].resp == PriResp::Success && r.prg[1].ssv && r.prg[1].ssid == 0x33));
    CHECK((r.prg[2].resp == PriResp::Success && !r.prg[2].ssv));
    CHECK((r.prg[3].resp == PriResp::Failure && !r.prg[3].ssv));
    // Software frees the queue but has not acknowledged the overflow: still inhibited.
    const uint32_t prod = static_cast<uint32_t>(r.rd(reg::PRIQ_PROD));
    r.bus.mmio_write(reg::PRIQ_CONS, 4, prod & ~eventq_prod::OVFLG.mask());
    CHECK(r.core.page_request(r.request(8, 0x8000), 0) == OutputQueue::Outcome::Overflow);
    r.bus.mmio_write(reg::PRIQ_CONS, 4, prod);  // OVACKFLG = OVFLG
    CHECK(r.core.page_request(r.request(9, 0x9000), 0) == OutputQueue::Outcome::Written);
    // With IDR3.PPS 1 every automatic response carries the request's PASID.
    SmmuCoreParams pps = pri_stall_params();
    pps.idr.push_back(IdrOverride{reg::IDR3, idr3::PPS.mask(), 1u << idr3::PPS.lsb});
    Rig p(pps, 1);
    p.core.page_request(p.request(1, 0x1000), 0);
    p.core.page_request(p.request(2, 0x2000), 0);
    p.core.page_request(with_pasid(6, 3), 0);
    REQUIRE(p.prg.size() == 1);
    CHECK((p.prg[0].ssv && p.prg[0].ssid == 0x33 && p.prg[0].resp == PriResp::Success));
}

TEST_CASE("PRIQ_IRQ_CFG2.LO: the PRI queue's MSI only for a request with Last set (IHI 0070 6.3.36), without a "
          "PASID a record's X and Priv are 0",
          "[pri][registers]") {
    Rig r;
    r.bus.mmio_write(reg::PRIQ_IRQ_CFG0, 8, kRam + 0x7000);
    r.bus.mmio_write(reg::PRIQ_IRQ_CFG1, 4, 0x55);
    r.bus.mmio_write(reg::PRIQ_IRQ_CFG2, 4, 0x8000'0000);
    CHECK(r.rd(reg::PRIQ_IRQ_CFG2) == 0x8000'0000);
    r.core.page_request(r.request(1, 0x1000, false), 0);
    CHECK(r.core.stats().priq_msis == 0);
    r.core.page_request(r.request(1, 0x2000, true), 0);
    CHECK(r.core.stats().priq_msis == 1);
    uint32_t data = 0;
    r.mem.read(kRam + 0x7000, &data, 4);
    CHECK(data == 0x55);
    // The wired interrupt follows LO too.
    CHECK(r.core.priq_interrupts(r.request(1, 0), OutputQueue::Outcome::Written));
    CHECK(!r.core.priq_interrupts(r.request(1, 0, false), OutputQueue::Outcome::Written));
    // A Last request dropped on overflow interrupts (IHI 0070 6.3.36), a partial one does not.
    CHECK(r.core.priq_interrupts(r.request(1, 0), OutputQueue::Outcome::Overflow));
    CHECK(!r.core.priq_interrupts(r.request(1, 0, false), OutputQueue::Outcome::Overflow));
    r.bus.mmio_write(reg::PRIQ_IRQ_CFG2, 4, 0);
    r.core.page_request(r.request(2, 0x3000, false), 0);
    CHECK(r.core.stats().priq_msis == 2);
    CHECK(r.core.priq_interrupts(r.request(1, 0, false), OutputQueue::Outcome::Written));

    PageRequest q = r.request(3, 0x4000);
    q.exec = q.priv = true;
    const PriRecord plain = q.record();
    CHECK((plain.get(pri::EXEC) == 0 && plain.get(pri::PRIV) == 0));
    q.ssv = true;
    const PriRecord tagged = q.record();
    CHECK((tagged.get(pri::EXEC) == 1 && tagged.get(pri::PRIV) == 1));
}

TEST_CASE("The fault threads find the master by StreamID: a stall or page request from a StreamID no master has "
          "is not answered, a Stop Marker is discarded (arm_smmu_handle_event, the PRI series' "
          "arm_smmu_handle_ppr)",
          "[pri][stall][linux]") {
    Rig r;
    CHECK(r.smmu.find_master(6) == &r.pri_dev);
    CHECK(r.smmu.find_master(0x40) == nullptr);
    // arm_smmu_insert_master: a StreamID of another master is -ENODEV, nothing of the new one stays.
    ArmSmmuMaster alias;
    alias.smmu = &r.smmu;
    alias.sids = {0x41, 6};
    try {
        probe_device(alias);
        FAIL("aliasing StreamID accepted");
    } catch (const KernelError& e) {
        CHECK(e.err == -ENODEV);
        CHECK(std::string(e.what()).find("Aliasing StreamID") != std::string::npos);
    }
    CHECK(r.smmu.find_master(0x41) == nullptr);
    CHECK(r.smmu.find_master(6) == &r.pri_dev);

    PageRequest stray = r.request(1, 0x1000);
    stray.sid = 0x40;
    r.core.page_request(stray, 0);
    PageRequest stop = r.request(2, 0);
    stop.sid = 7;
    stop.ssv = true;
    stop.ssid = 3;
    stop.read = stop.write = false;
    r.core.page_request(stop, 0);
    IopfQueue vmm([](const std::vector<PageFault>&) { return PageResponseCode::Success; });
    const FaultPass p = service_faults(r.smmu, vmm, PageRequestPolicy::Iopf, 100);
    CHECK(p.requests.size() == 2);
    CHECK(p.responses.empty());
    CHECK(vmm.stats().faults == 0);
    // Mainline's arm_smmu_handle_ppr looks no master up: it denies both.
    r.core.page_request(stray, 0);
    IopfQueue none;
    CHECK(service_faults(r.smmu, none, PageRequestPolicy::Deny, 100).responses.size() == 1);
}

TEST_CASE("RESUME Ac=1 retries whatever Ab says, RESUME and STALL_TERM are CERROR_ILL with STALL_MODEL 0b01, "
          "PRI_RESP is ignored with SMMUEN=0 (IHI 0070 4.7.1, 4.7.2, 4.5.2)",
          "[stall][pri][robustness]") {
    Rig r;
    const TranslationResult a = r.translate(5, 0x1000);
    REQUIRE(a.stalled);
    r.smmu.issue_cmd(Command::make(Opcode::RESUME, {{cmd::SID, 5}, {cmd::STAG, a.stag}, {cmd::Action, 3}}));
    r.bus.idle();
    CHECK(r.core.take_stall(a.stag)->action == ResumeAction::Retry);
    CHECK(r.core.stats().command_errors == 0);
    CHECK(resume_action(0) == ResumeAction::Term);
    CHECK(resume_action(2) == ResumeAction::Abort);

    SmmuCore terminate_only(r.mem, SmmuCoreParams{});  // STALL_MODEL 0b01
    CHECK(!command_is_legal(Command::make(Opcode::RESUME), terminate_only.caps()));
    CHECK(!command_is_legal(Command::make(Opcode::STALL_TERM), terminate_only.caps()));

    r.bus.mmio_write(reg::CR0, 4, r.rd(reg::CR0) & ~cr0::SMMUEN.mask());
    r.smmu.issue_cmd(Command::make(Opcode::PRI_RESP, {{cmd::SID, 6}, {cmd::PRGIndex, 1}, {cmd::PriResp, 2}}));
    r.bus.idle();
    CHECK(r.prg.empty());
    CHECK(r.core.stats().pri_responses == 0);
}

TEST_CASE("A PRI queue write that aborts: GERROR.PRIQ_ABT_ERR, the request and every one while the error is "
          "active answered ResponseFailure (IHI 0070 8.2)",
          "[pri][robustness]") {
    Rig r;
    const uint32_t cr0 = static_cast<uint32_t>(r.rd(reg::CR0));
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::PRIQEN.mask());
    r.bus.mmio_write(reg::PRIQ_BASE, 8, (1ull << 50) | 1);  // beyond the 48-bit address space
    r.bus.mmio_write(reg::CR0, 4, cr0);
    CHECK(r.core.page_request(r.request(1, 0x1000), 0) == OutputQueue::Outcome::WriteAbort);
    CHECK((r.rd(reg::GERROR) & gerror::PRIQ_ABT_ERR.mask()) != 0);
    PageRequest partial = r.request(2, 0x2000, false);
    CHECK(r.core.page_request(partial, 0) == OutputQueue::Outcome::Disabled);
    REQUIRE(r.prg.size() == 2);
    CHECK((r.prg[0].resp == PriResp::Failure && r.prg[0].automatic && r.prg[0].prg_index == 1));
    CHECK((r.prg[1].resp == PriResp::Failure && r.prg[1].prg_index == 2));
    // Acknowledged (GERRORN toggled) and a good base: requests are written again.
    r.bus.mmio_write(reg::GERRORN, 4, r.rd(reg::GERROR));
    r.bus.mmio_write(reg::CR0, 4, cr0 & ~cr0::PRIQEN.mask());
    r.bus.mmio_write(reg::PRIQ_BASE, 8, kRam | 1);
    r.bus.mmio_write(reg::CR0, 4, cr0);
    CHECK(r.core.page_request(r.request(3, 0x3000), 0) == OutputQueue::Outcome::Written);
}

TEST_CASE("PRI: a written Stop Marker opens no group, a request without SubstreamIDs at the SMMU has no PASID, a "
          "Last request dropped on overflow sends the MSI",
          "[pri]") {
    Rig r(pri_stall_params(), 1);  // a 2-entry PRI queue
    PageRequest stop = r.request(4, 0);
    stop.ssv = true;
    stop.ssid = 2;
    stop.read = stop.write = false;
    CHECK(r.core.page_request(stop, 0) == OutputQueue::Outcome::Written);
    r.smmu.issue_cmd(Command::make(Opcode::PRI_RESP, {{cmd::SID, 6}, {cmd::PRGIndex, 4}, {cmd::PriResp, 2}}));
    r.bus.idle();
    CHECK(r.core.stats().pri_responses_unmatched == 1);  // the marker's index named no group
    r.bus.mmio_write(reg::PRIQ_IRQ_CFG0, 8, kRam + 0x7000);
    CHECK(r.core.page_request(r.request(5, 0x1000), 0) == OutputQueue::Outcome::Written);
    const uint64_t msis = r.core.stats().priq_msis;
    CHECK(r.core.page_request(r.request(6, 0x2000), 0) == OutputQueue::Outcome::Overflow);
    CHECK(r.core.stats().priq_msis == msis + 1);

    SmmuCoreParams no_ssid = pri_stall_params();
    no_ssid.caps.ssid_bits = 0;
    Rig n(no_ssid);
    PageRequest tagged = n.request(1, 0x1000);
    tagged.ssv = true;
    tagged.ssid = 3;
    tagged.exec = true;
    n.core.page_request(tagged, 0);
    const std::vector<PriRecord> recs = n.smmu.drain_page_requests();
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].get(pri::SSV) == 0);
    CHECK(recs[0].get(pri::SSID) == 0);
    CHECK(recs[0].get(pri::EXEC) == 0);
}
