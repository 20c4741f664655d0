// ATS (IHI 0070 3.9.1) as plain C++: the SMMU's answers to Translation
// Requests and its checks of Translated transactions (models/smmu/ats) over
// the tables the host driver builds (arm_smmu_make_s2_domain_ste /
// arm_smmu_make_cdtable_ste set STE.EATS for an ATS master), the device's
// ATC (models/pcie/atc.h) and devices.<d>.ats in the config.
#include <catch2/catch.hpp>

#include "config_builders.h"
#include "smmu_fixtures.h"

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/ste.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/ats/ats.h"
#include "models/smmu/smmu_core.h"
#include "models/smmu/stream_table/stream_table.h"
#include "models/arch/registers.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/direct_bus.h"
#include "testbenches/host/host_driver.h"
#include "models/pcie/atc.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::sim;
using namespace smmu_test;

namespace {

constexpr uint64_t kMiB = 1ull << 20;

// One VM and four devices: an S2 and an S1 master with ATS, an S2 master
// without, and a bypass one.
Config ats_config() {
    Config c;
    c.smmu.sid_bits = 8;
    c.memory.table_base = 0x4000'0000;
    c.memory.table_size = 64 * kMiB;
    VmConfig v;
    v.name = "vm0";
    v.s2.ias = 40;
    v.map = {map(0x8000'0000, 0x2'0000'0000, 0x4000, 0x1000)};
    v.map.back().write = false;  // IPA 0x8000_0000..: read-only
    v.map.push_back(map(0x8010'0000, 0x2'0010'0000, 0x4000, 0x1000));
    c.vms.push_back(v);
    c.devices.push_back(device("gpu", 2, AttachMode::S2, "vm0"));
    c.devices.back().ats = true;
    c.devices.push_back(device("dma", 3, AttachMode::S1, "", {context(0, 7, {map(0x100'0000, 0x3'0000'0000, 0x10000, 0x1000)})}));
    c.devices.back().ats = true;
    c.devices.push_back(device("plain", 4, AttachMode::S2, "vm0"));
    c.devices.push_back(device("uart", 5, AttachMode::Bypass));
    return c;
}

struct AtsBench : HostBench {
    explicit AtsBench(Config c) : HostBench(std::move(c)) { boot(); }
    AtsCompletion request(uint32_t sid, uint64_t iova, bool write) {
        TranslationRequest r;
        r.sid = sid;
        r.iova = iova;
        r.write = write;
        return core.ats_translate(r, !write);
    }
    TranslationResult translated(uint32_t sid, uint64_t pa) {
        TranslationRequest r;
        r.sid = sid;
        r.iova = pa;
        return core.ats_translated(r);
    }
};

}  // namespace

TEST_CASE("ats: the driver sets STE.EATS and CR0.ATSCHK for ATS masters only", "[ats]") {
    AtsBench b(ats_config());
    // arm_smmu_make_s2_domain_ste / arm_smmu_make_cdtable_ste: EATS_TRANS when ats_enabled.
    CHECK(b.ste(2).get(ste::EATS) == 1);
    CHECK(b.ste(3).get(ste::EATS) == 1);
    CHECK(b.ste(4).get(ste::EATS) == 0);
    // arm_smmu_device_reset: CR0.ATSCHK with IDR0.ATS.
    CHECK(b.core.regs().ats_check());
    CHECK(b.drv.device_ats_enabled("gpu"));
    CHECK_FALSE(b.drv.device_ats_enabled("plain"));
    // arm_smmu_enable_ats: one ATC_INV (SSV 0, Size 52) + SYNC per ATS master at attach.
    CHECK(b.core.stats().commands[static_cast<uint8_t>(Opcode::ATC_INV)] == 2);
}

TEST_CASE("ats: Translation Requests are answered as IHI 0070 3.9.1.2 says", "[ats]") {
    AtsBench b(ats_config());
    // S2: the IPA's PA, one 4K page, R/W as the leaf grants.
    AtsCompletion c = b.request(2, 0x8010'0123, true);
    CHECK(c.status == AtsStatus::Success);
    CHECK(c.addr == 0x2'0010'0000);
    CHECK(c.size == 0x1000);
    CHECK(c.read);
    CHECK(c.write);
    // NW = 1 (a read request): no write permission granted.
    c = b.request(2, 0x8010'0000, false);
    CHECK(c.read);
    CHECK_FALSE(c.write);
    // A read-only page: asked for write, granted read only (a subset, 3.9.1).
    c = b.request(2, 0x8000'1000, true);
    CHECK(c.status == AtsStatus::Success);
    CHECK(c.read);
    CHECK_FALSE(c.write);
    // Unmapped: Success with R == W == 0, no event (translation fault).
    c = b.request(2, 0x9000'0000, false);
    CHECK(c.status == AtsStatus::Success);
    CHECK_FALSE(c.read);
    CHECK_FALSE(c.write);
    CHECK(c.size == 0x1000);
    // S1 (a DMA domain): VA -> PA, Global 0 entry of ASID 7.
    c = b.request(3, 0x100'2000, true);
    CHECK(c.status == AtsStatus::Success);
    CHECK(c.addr == 0x3'0000'2000);
    CHECK(c.write);
    CHECK(b.drv.drain_events().empty());

    // EATS = 0 and Config = bypass: UR and F_BAD_ATS_TREQ; a StreamID with
    // no device (Linux's abort STE): UR, no event.
    CHECK(b.request(4, 0x8010'0000, false).status == AtsStatus::UnsupportedRequest);
    CHECK(b.request(5, 0x1000, true).status == AtsStatus::UnsupportedRequest);
    CHECK(b.request(9, 0x1000, false).status == AtsStatus::UnsupportedRequest);
    const auto events = b.drv.drain_events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].id() == static_cast<uint8_t>(EventId::F_BAD_ATS_TREQ));
    CHECK(events[0].get(evt::SID) == 4);
    CHECK(events[0].get(evt::InputAddr) == 0x8010'0000);
    // IHI 0070 7.3.6: R always 1, W = !NW, one STU; dw1 = Span | R << 31 (| W << 30).
    CHECK(events[0].w[1] == ((1ull << 31) | 1));  // NW: a read-only request
    CHECK((events[0].get(evt::AtsR) == 1 && events[0].get(evt::AtsW) == 0 && events[0].get(evt::AtsSpan) == 1));
    CHECK(events[1].get(evt::SID) == 5);
    CHECK(events[1].get(evt::AtsW) == 1);

    const SmmuStats& s = b.core.stats();
    CHECK(s.ats_requests == 8);
    CHECK(s.ats_success == 4);
    CHECK(s.ats_no_access == 1);
    CHECK(s.ats_ur == 3);
    CHECK(s.ats_ca == 0);
    CHECK(s.events[static_cast<uint8_t>(EventId::F_BAD_ATS_TREQ)] == 2);
}

TEST_CASE("ats: STE.EATS 0b10 is ILLEGAL with IDR0.NS1ATS 1 (Completer Abort without an event), 0b11 behaves as "
          "0b00 without DPT, 0b01 is ILLEGAL with S2S=1 (IHI 0070 5.2)",
          "[ats]") {
    AtsBench b(ats_config());
    CHECK(b.core.regs().id_field(reg::IDR0, idr0::NS1ATS) == 1);  // no Split-stage ATS
    Ste s = b.ste(2);
    s.set(ste::EATS, 2);
    b.mem.write_words(b.drv.ste_address(2), s.w.data(), Ste::kDwords);
    CHECK(b.request(2, 0x8010'0000, false).status == AtsStatus::CompleterAbort);
    CHECK(b.drv.drain_events().empty());  // SMMU_CR2.REC_CFG_ATS = 0
    CHECK(b.core.stats().ats_ca == 1);
    // 0b11: reserved, as 0b00: UR and F_BAD_ATS_TREQ (the ILLEGAL STE was not cached).
    s.set(ste::EATS, 3);
    b.mem.write_words(b.drv.ste_address(2), s.w.data(), Ste::kDwords);
    CHECK(b.request(2, 0x8010'0000, false).status == AtsStatus::UnsupportedRequest);
    const auto events = b.drv.drain_events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].id() == static_cast<uint8_t>(EventId::F_BAD_ATS_TREQ));
    // 0b01 with S2S=1 on a stage 2 STE (legal on its own with STALL_MODEL 0b00).
    SmmuCaps caps;
    caps.stall_model = 0;
    StreamTable table(b.mem, caps);
    s.set(ste::EATS, 1);
    s.set(ste::S2S, 1);
    CHECK(!table.decode_ste(s).ok());
    s.set(ste::EATS, 0);
    CHECK(table.decode_ste(s).ok());
    s.set(ste::EATS, 3);
    REQUIRE(table.decode_ste(s).ok());
    CHECK(!table.decode_ste(s).value().ats);
}

TEST_CASE("ats: Translated transactions are checked as IHI 0070 3.9.1.3 says", "[ats]") {
    AtsBench b(ats_config());
    TranslationResult r = b.translated(2, 0x2'0010'0040);
    CHECK(r.outcome == TranslationResult::Outcome::Bypassed);
    CHECK(r.pa == 0x2'0010'0040);
    // ATSCHK = 1, EATS = 0 or Config = bypass: F_TRANSL_FORBIDDEN; abort STE: aborted, no event.
    CHECK(b.translated(4, 0x2'0010'0040).fault.id == EventId::F_TRANSL_FORBIDDEN);
    CHECK(b.translated(5, 0x1000).fault.id == EventId::F_TRANSL_FORBIDDEN);
    CHECK(b.translated(9, 0x1000).outcome == TranslationResult::Outcome::Aborted);
    const auto events = b.drv.drain_events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].id() == static_cast<uint8_t>(EventId::F_TRANSL_FORBIDDEN));
    CHECK(events[0].get(evt::SID) == 4);
    CHECK(events[0].get(evt::InputAddr) == 0x2'0010'0040);
    CHECK(b.core.stats().ats_translated == 1);
    CHECK(b.core.stats().ats_translated_aborted == 3);
    // No IDR3.PASIDTT: a Translated transaction's PASID is ignored (3.9.1.3),
    // so the S1 device's STE (S1CDMax 0) passes it instead of C_BAD_SUBSTREAMID.
    TranslationRequest tagged;
    tagged.sid = 3;
    tagged.ssv = true;
    tagged.ssid = 5;
    tagged.iova = 0x3'0000'0040;
    CHECK(b.core.ats_translated(tagged).outcome == TranslationResult::Outcome::Bypassed);
    // Beyond the PA size (OAS 48): aborted, no event (3.9.1.1).
    CHECK(b.translated(2, uint64_t{1} << 48).outcome == TranslationResult::Outcome::Aborted);
    CHECK(b.drv.drain_events().empty());
}

TEST_CASE("ats: the decision tables on their own", "[ats]") {
    TranslationContext ctx;
    ctx.config = SteConfig::S2Trans;
    ctx.s2 = true;
    ctx.ats = true;
    CHECK_FALSE(ats_request_refusal(true, &ctx));
    CHECK(ats_request_refusal(false, &ctx)->event == EventId::F_BAD_ATS_TREQ);  // SMMUEN = 0
    CHECK(ats_request_refusal(true, nullptr)->status == AtsStatus::CompleterAbort);
    CHECK_FALSE(ats_request_refusal(true, nullptr)->event);
    ctx.ats = false;
    CHECK(ats_request_refusal(true, &ctx)->event == EventId::F_BAD_ATS_TREQ);
    // ATSCHK = 0: Translated traffic passes unchecked; SMMUEN = 0 never.
    CHECK_FALSE(translated_refusal(true, false, &ctx));
    CHECK(translated_refusal(false, false, nullptr)->event == EventId::F_TRANSL_FORBIDDEN);
    CHECK(translated_refusal(true, true, &ctx)->event == EventId::F_TRANSL_FORBIDDEN);
    ctx.config = SteConfig::Abort;
    CHECK(ats_request_refusal(true, &ctx)->status == AtsStatus::UnsupportedRequest);
    CHECK_FALSE(ats_request_refusal(true, &ctx)->event);

    // Completions: S1-only with stage 1 skipped (S1DSS bypass) is identity, R == W == 1.
    TranslationResult r;
    r.outcome = TranslationResult::Outcome::Bypassed;
    AtsCompletion c = ats_completion(r, 0x12345, false, false, 0x1000);
    CHECK(c.addr == 0x12000);
    CHECK((c.read && c.write));
    r.outcome = TranslationResult::Outcome::Faulted;
    r.fault = Fault{EventId::F_WALK_EABT};
    CHECK(ats_completion(r, 0, false, false, 0x1000).status == AtsStatus::CompleterAbort);
    r.fault = Fault{EventId::F_PERMISSION};
    c = ats_completion(r, 0, false, false, 0x1000);
    CHECK(c.status == AtsStatus::Success);
    CHECK_FALSE((c.read || c.write));
    // A 2 MiB leaf: one entry for the block; Global only without a PASID.
    r.outcome = TranslationResult::Outcome::Translated;
    r.pa = 0x4020'1234;
    r.size = 2 * kMiB;
    r.perms = {true, true, false};
    r.global = true;
    c = ats_completion(r, 0x1234, true, false, 0x1000);
    CHECK(c.addr == 0x4020'0000);
    CHECK(c.size == 2 * kMiB);
    CHECK_FALSE(c.global);
}

TEST_CASE("ats: the device's ATC: hits, write permission, ATC_INV by range, PASID, Global and Size 52", "[ats]") {
    CacheGeometry g;
    g.entries = 8;
    g.ways = 2;
    Atc atc(g);
    atc.fill(false, 0, 0x1000, 0x5000, 0x1000, true, false, false);
    atc.fill(true, 3, 0x2000, 0x6000, 0x1000, true, true, false);
    atc.fill(true, 4, 0x200000, 0x800000, 0x200000, true, true, true);  // a 2 MiB global entry
    atc.fill(false, 0, 0x9000, 0x9000, 0x1000, false, false, false);    // R == W == 0: not kept
    CHECK(atc.lookup(false, 0, 0x1abc, false)->out_base == 0x5000);
    CHECK(atc.lookup(false, 0, 0x1abc, true) == nullptr);  // read-only entry: a write asks again
    CHECK(atc.lookup(true, 3, 0x2000, true) != nullptr);
    CHECK(atc.lookup(true, 4, 0x3f0000, false)->out_base == 0x800000);
    CHECK(atc.lookup(false, 0, 0x9000, false) == nullptr);
    CHECK(atc.stats().lookups == 5);
    CHECK(atc.stats().hits == 4);

    // SSV = 1, SSID 3, 8 KiB at 0x2000 (Size 1): only PASID 3's page.
    Command inv = Command::make(Opcode::ATC_INV, {{cmd::SSV, 1}, {cmd::SSID, 3}, {cmd::AtcSize, 1}, {cmd::AtcAddr, 0x2000}});
    CHECK(atc.invalidate(inv) == 1);
    CHECK(atc.lookup(false, 0, 0x1000, false) != nullptr);
    // Global: PASID 9's invalidation of the 2 MiB range also removes the global entry.
    inv = Command::make(Opcode::ATC_INV, {{cmd::SSV, 1}, {cmd::SSID, 9}, {cmd::AtcSize, 9}, {cmd::AtcAddr, 0x200000}});
    CHECK(atc.invalidate(inv) == 0);
    inv.set(cmd::Global, 1);
    CHECK(atc.invalidate(inv) == 1);
    // SSV = 0, Size 52 (arm_smmu_atc_inv_master): everything.
    atc.fill(true, 5, 0x7000, 0x7000, 0x1000, true, true, false);
    CHECK(atc.invalidate(Command::make(Opcode::ATC_INV, {{cmd::AtcSize, 52}})) == 2);
    CHECK(atc.lookup(true, 5, 0x7000, false) == nullptr);
}

TEST_CASE("config: devices.<d>.ats as a map, and its errors name file, line and field", "[ats][config]") {
    const std::string dir = std::string(SMMUSIM_TEST_DATA) + "/config/errors/";
    const auto err = [&](const std::string& f, int line, const std::string& msg) {
        INFO(f);
        CHECK_THROWS_WITH(load_config({dir + f}, {}), dir + f + ":" + std::to_string(line) + ": " + msg);
    };
    err("ats_ways.yaml", 6, "devices.dev0.ats.atc.ways: 4 ways do not divide 10 entries");
    err("ats_response.yaml", 6, "devices.dev0.ats.inv_response_ns: expected an unsigned integer, got 'sometimes'");
    err("ats_key.yaml", 6, "unknown key 'devices.dev0.ats.round_trip_ns'");
    err("ats_bypass.yaml", 5, "devices.dev0.ats: ATS needs a translating attach (s1, s2, nested or proxy)");
    err("sync_timeout.yaml", 2, "host.sync_timeout_us: expected 1..1000000000, got 0");
    const std::string ats_yaml = std::string(SMMUSIM_TEST_DATA) + "/../../../configs/examples/ats.yaml";
    CHECK_THROWS_WITH(load_config({ats_yaml}, {"devices.gpu.ats.pcie_round_trip_ns=2000000000"}),
                      "--set devices.gpu.ats.pcie_round_trip_ns=2000000000: devices.gpu.ats.pcie_round_trip_ns: "
                      "expected 0..1000000000, got 2000000000");
    CHECK_THROWS_WITH(load_config({ats_yaml}, {"devices.gpu.ats.inv_response_ns=2000000000"}),
                      "--set devices.gpu.ats.inv_response_ns=2000000000: devices.gpu.ats.inv_response_ns: "
                      "expected 0..1000000000, got 2000000000");
    // Neither a boolean nor a map; a key --set under `ats: true`.
    CHECK_THROWS_WITH(load_config({ats_yaml}, {"devices.gpu.ats=5"}),
                      "--set devices.gpu.ats=5: devices.gpu.ats: expected true or false, got '5'");
    const std::string topo_yaml = std::string(SMMUSIM_TEST_DATA) + "/../../../configs/examples/ats-topologies.yaml";
    CHECK_THROWS_WITH(load_config({topo_yaml}, {"devices.nic.ats.inv_response_ns=never"}),
                      "--set devices.nic.ats.inv_response_ns=never: devices.nic.ats is not a map");
    CHECK_THROWS_WITH(load_config({ats_yaml}, {"host.sync_timeout_us=2000000000"}),
                      "--set host.sync_timeout_us=2000000000: host.sync_timeout_us: expected 1..1000000000, got "
                      "2000000000");

    const Config c = load_config({std::string(SMMUSIM_TEST_DATA) + "/../../../configs/examples/ats.yaml"},
                                 {"devices.dma.ats={inv_response_ns: never}"});
    const DeviceConfig* gpu = c.find_device("gpu");
    REQUIRE(gpu);
    CHECK(gpu->ats);
    CHECK(gpu->ats_device.atc.entries == 16);
    CHECK(gpu->ats_device.atc.ways == 4);
    CHECK(gpu->ats_device.pcie_round_trip_ns == 500);
    CHECK(gpu->ats_device.inv_response_ns == 2000u);
    const DeviceConfig* dma = c.find_device("dma");
    CHECK(dma->ats);
    CHECK(dma->ats_device.atc.entries == 64);
    CHECK_FALSE(dma->ats_device.inv_response_ns);
}
