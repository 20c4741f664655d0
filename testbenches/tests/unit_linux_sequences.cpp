// Golden command sequences: for each host operation, the exact commands the
// SMMU executes and where the CMD_SYNCs fall, as the Linux kernel issues
// them. Each case names the kernel function it follows and the commit read:
//   arm-smmu-v3.c      v6.18.y (atlanticdg/linux-6.18.y 6c3dcfd01987), the
//                      same code as torvalds/linux 056daec2 for these paths
//   arm-smmu-v3-iommufd.c  torvalds/linux 056daec2925d
//   dma-iommu.c        237a3563155b, io-pgtable-arm.c 461f084f23db
//   the "invs" series  "iommu/arm-smmu-v3: Introduce arm_smmu_domain_inv_range"
//                      (Nicolin Chen, Sep 2025), for the per-vIOMMU profile
// The commands are recorded on the SMMU's side (what its command queue
// consumed), not from the driver's own bookkeeping.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "config_builders.h"
#include "smmu_fixtures.h"
#include "driver/dma_iommu/flush_queue.h"
#include "driver/iommufd/iommufd.h"
#include "models/arch/command.h"
#include "models/arch/registers.h"
#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/host_driver.h"

using namespace smmu;
using namespace smmu::arch;
using namespace smmu::driver;
using smmu::sim::Config;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kTables = 0x4000'0000;

using Names = std::vector<std::string>;

// One SMMU, reset, with the driver library used directly (no config).
struct Rig : DriverRig {
    explicit Rig(VmidProfile profile = VmidProfile::PerS2Domain, SmmuCoreParams p = default_params())
        : DriverRig(p, params(), profile) {}
    static SmmuCoreParams default_params() {
        Config c;
        c.smmu.sid_bits = 8;
        return sim::core_params(c);
    }
    static ArmSmmuParams params() {
        ArmSmmuParams p;
        p.name = "smmu0";
        return p;
    }
    // What ran since the last call.
    std::vector<Command> take() {
        bus.idle();
        std::vector<Command> out;
        out.swap(bus.executed);
        return out;
    }
    ArmSmmuMaster master(uint32_t sid, bool ats = false) {
        ArmSmmuMaster m;
        m.smmu = &smmu;
        m.sids = {sid};
        m.ats_supported = ats;
        return m;
    }
};

// A VM's stage 2 with 2 MiB of 4K pages at IPA 0x8000_0000.
std::unique_ptr<HwptPaging> vm_s2(Rig& r, bool nest_parent) {
    auto s2 = std::make_unique<HwptPaging>(r.ctx, r.smmu, DomainStage::S2, Granule::K4, 48, nest_parent);
    s2->map(0x8000'0000, 0x1'0000'0000, 2 * kMiB, PageAttrs{}, 0x1000);
    return s2;
}

}  // namespace

TEST_CASE("Golden: arm_smmu_device_reset issues CFGI_ALL, TLBI_EL2_ALL, TLBI_NSNH_ALL, each with a SYNC",
          "[linux]") {
    SparseMemory mem(48);
    SmmuCore core(mem, Rig::default_params());
    RecordingBus bus(core, mem);
    TableArena arena("tables", kTables, kTables, 64 * kMiB);
    ArmSmmuDevice smmu(bus, arena, Rig::params());
    const Features& f = smmu.hw_probe();
    CHECK(f.hyp);
    CHECK(f.msipoll);  // IDR0.MSI on a coherent SMMU: ARM_SMMU_OPT_MSIPOLL
    smmu.device_reset();
    bus.idle();
    CHECK(names(bus.executed) == Names{"CFGI_STE_RANGE", "SYNC", "TLBI_EL2_ALL", "SYNC", "TLBI_NSNH_ALL", "SYNC"});
    CHECK(bus.executed[0].get(cmd::Range) == 31);  // CMDQ_OP_CFGI_ALL
    // One CMDQ_PROD write per arm_smmu_cmdq_issue_cmd_with_sync, after the two PROD=0 of the setup.
    CHECK(bus.prod_writes == 1 + 3);
    // CR0: CMDQEN, EVTQEN, ATSCHK (IDR0.ATS), SMMUEN.
    CHECK(bus.mmio_read(reg::CR0, 4) == (cr0::SMMUEN.mask() | cr0::EVTQEN.mask() | cr0::CMDQEN.mask() | cr0::ATSCHK.mask()));
    // arm_smmu_cmdq_build_sync_cmd with MSIPOLL: CS=IRQ, the MSI to the SYNC's own slot,
    // MSH=ISH, MSIATTR=OIWB; the SMMU wrote MSIData 0 over the slot's first word.
    const Command& sync = bus.executed[1];
    CHECK(sync.get(cmd::CS) == static_cast<uint64_t>(SyncCs::Irq));
    CHECK(sync.get(cmd::MSH) == 3);
    CHECK(sync.get(cmd::MSIAttr) == 0xf);
    const uint64_t cmdq = bus.mmio_read(reg::CMDQ_BASE, 8) & 0x000f'ffff'ffff'ffe0ull;
    CHECK(sync.get(cmd::MSIAddr) == cmdq + 1 * Command::kBytes);
    uint64_t w0 = 1;
    mem.read64(cmdq + 1 * Command::kBytes, w0);
    CHECK(static_cast<uint32_t>(w0) == 0);
    // Every STE of the linear table starts as an abort STE (arm_smmu_init_initial_stes).
    Ste s;
    mem.read_words(smmu.ste_address(77), s.w.data(), Ste::kDwords);
    CHECK(s.valid());
    CHECK(s.config() == SteConfig::Abort);
}

TEST_CASE("Golden: an S2 attach is a hitless STE update: CFGI_STE + SYNC twice, then PREFETCH_CONFIG", "[linux]") {
    // arm_smmu_attach_dev -> arm_smmu_make_s2_domain_ste, arm_smmu_install_ste_for_dev ->
    // arm_smmu_write_ste -> arm_smmu_write_entry (abort -> S2: one used qword differs,
    // so the unused qwords first, then qword 0), then CMDQ_OP_PREFETCH_CFG (no SYNC).
    Rig r;
    auto s2 = vm_s2(r, false);
    ArmSmmuMaster m = r.master(0x10);
    attach_dev_paging(m, *s2, r.arena);
    const auto seq = r.take();
    CHECK(names(seq) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    CHECK(seq[0].get(cmd::SID) == 0x10);
    CHECK(seq[0].get(cmd::Leaf) == 1);
    const Ste ste = r.smmu.read_ste(0x10);
    CHECK(ste.config() == SteConfig::S2Trans);
    CHECK(ste.get(ste::S2VMID) == 1);  // ida_alloc_range(vmid_map, 1, ...): the lowest free
    CHECK(ste.get(ste::S2PTW) == 1);
    CHECK(ste.get(ste::S2R) == 1);

    SECTION("writing the same STE again changes nothing: no CFGI, only the PREFETCH") {
        r.smmu.write_ste(0x10, ste);
        CHECK(names(r.take()) == Names{"PREFETCH_CONFIG"});
    }
    SECTION("S2 -> S1 (a domain switch) breaks: V=0, the rest, qword 0: three CFGI_STE + SYNC") {
        // The KUnit test arm_smmu_v3_write_ste_test_s2_to_s1 expects 3 syncs;
        // arm_smmu_attach_dev writes CD 0 first (CFGI_CD + SYNC per step).
        HwptPaging s1(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
        attach_dev_paging(m, s1, r.arena);
        CHECK(names(r.take()) == Names{"CFGI_CD", "SYNC", "CFGI_CD", "SYNC", "CFGI_STE", "SYNC", "CFGI_STE", "SYNC",
                                       "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
        CHECK(r.smmu.read_ste(0x10).config() == SteConfig::S1Trans);
    }
    SECTION("ATS off: leaving an ATS attachment flushes the whole ATC after the STE (arm_smmu_attach_commit)") {
        ArmSmmuMaster ats = r.master(0x11, true);
        attach_dev_paging(ats, *s2, r.arena);
        r.take();
        attach_ste(ats, {make_abort_ste()});
        const auto seq = r.take();
        REQUIRE(names(seq) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
        CHECK(seq[5].get(cmd::AtcSize) == 52);
        CHECK_FALSE(ats.ats_enabled);
        CHECK(s2->domain().devices().size() == 1);  // only the first master is left on the domain
    }
    SECTION("S2 -> abort (detach to the blocked domain): two CFGI_STE + SYNC, no TLBI") {
        attach_ste(m, {make_abort_ste()});
        CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    }
    SECTION("S1 -> blocked, then S1 -> S2: the RID's CD 0 is cleared after the STE (arm_smmu_clear_cd)") {
        // arm_smmu_attach_dev_ste (blocked, identity) and arm_smmu_attach_dev's
        // S2 case end with arm_smmu_clear_cd(master, IOMMU_NO_PASID):
        // arm_smmu_write_cd_entry to an all-zero CD, two steps each with
        // CFGI_CD + SYNC (arm-smmu-v3-test.c arm_smmu_v3_write_cd_test_s1_clear:
        // NUM_EXPECTED_SYNCS(2)).
        HwptPaging s1(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
        attach_dev_paging(m, s1, r.arena);
        r.take();
        const uint64_t cd0 = m.cdtab;  // linear: CD 0 first
        ContextDescriptor cd;
        r.mem.read_words(cd0, cd.w.data(), ContextDescriptor::kDwords);
        REQUIRE(cd.get(cd::V) == 1);
        attach_ste(m, {make_abort_ste()});
        auto seq = r.take();
        REQUIRE(names(seq) ==
                Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "CFGI_CD", "SYNC", "CFGI_CD", "SYNC"});
        CHECK(seq[5].get(cmd::SID) == 0x10);
        CHECK(seq[5].get(cmd::SSID) == 0);
        CHECK(seq[5].get(cmd::Leaf) == 1);
        r.mem.read_words(cd0, cd.w.data(), ContextDescriptor::kDwords);
        CHECK(cd.get(cd::V) == 0);
        // CD 0 is invalid already: the S2 attach clears nothing more.
        attach_dev_paging(m, *s2, r.arena);
        CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    }
    SECTION("an ATS device S1 -> S2: CD 0 cleared between the STE and the commit's ATC_INV") {
        // arm_smmu_attach_dev, ARM_SMMU_DOMAIN_S2: arm_smmu_install_ste_for_dev,
        // arm_smmu_clear_cd, then arm_smmu_attach_commit (ATS stays on: the
        // master's ATC flushed, arm_smmu_atc_inv_master).
        ArmSmmuMaster ats = r.master(0x12, true);
        HwptPaging s1(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
        attach_dev_paging(ats, s1, r.arena);
        r.take();
        attach_dev_paging(ats, *s2, r.arena);
        const Names seq = names(r.take());
        REQUIRE(seq.size() >= 6);
        CHECK(Names(seq.end() - 6, seq.end()) == Names{"CFGI_CD", "SYNC", "CFGI_CD", "SYNC", "ATC_INV", "SYNC"});
        CHECK(seq[0] == "CFGI_STE");
    }
}

TEST_CASE("Golden: mainline S2 unmap of a nesting parent: S2_IPA batch + SYNC, then TLBI_NH_ALL + SYNC", "[linux]") {
    // iommu_unmap -> io-pgtable-arm gathers the 4K leaves -> arm_smmu_iotlb_sync ->
    // arm_smmu_tlb_inv_range_domain(iova, size, 4K, leaf): __arm_smmu_tlb_inv_range
    // (IDR3.RIL: one range command: TG=1 (4K), TTL=3, NUM+1 << SCALE pages), its SYNC;
    // nest_parent: "all the nested S1 ASIDs have to be flushed too": TLBI_NH_ALL with a
    // SYNC of its own; no ATS masters: no ATC_INV and no third SYNC.
    Rig r;
    auto s2 = vm_s2(r, true);
    r.take();
    CHECK(s2->unmap(0x8001'0000, 0x10000) == 0x10000);
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC"});
    CHECK(seq[0].get(cmd::VMID) == 1);
    CHECK(seq[0].get(cmd::IPA) == 0x8001'0000);
    CHECK(seq[0].get(cmd::TG) == 1);
    CHECK(seq[0].get(cmd::TTL) == 3);
    CHECK(seq[0].get(cmd::Leaf) == 1);
    CHECK(seq[0].get(cmd::SCALE) == 4);  // 16 pages: NUM=0 (1) << SCALE 4
    CHECK(seq[0].get(cmd::NUM) == 0);
    CHECK(seq[2].get(cmd::VMID) == 1);

    SECTION("an unaligned page count takes one range command per 5-bit group, low end first") {
        // 0x23 pages = 35: SCALE 0 NUM 2 (3 pages), then SCALE 5 NUM 0 (32 pages).
        CHECK(s2->unmap(0x8010'0000, 0x23000) == 0x23000);
        const auto two = r.take();
        REQUIRE(names(two) == Names{"TLBI_S2_IPA", "TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC"});
        CHECK(two[0].get(cmd::SCALE) == 0);
        CHECK(two[0].get(cmd::NUM) == 2);
        CHECK(two[1].get(cmd::IPA) == 0x8010'3000);
        CHECK(two[1].get(cmd::SCALE) == 5);
        CHECK(two[1].get(cmd::NUM) == 0);
    }
    SECTION("a hole splits the gather: two syncs of the range, each with its own NH_ALL") {
        // iommu_iotlb_gather_add_page syncs a disjoint page first.
        CHECK(s2->unmap(0x8004'1000, 0x1000) == 0x1000);
        r.take();
        CHECK(s2->unmap(0x8004'0000, 0x3000) == 0x2000);  // 0x80040000 and 0x80042000; 0x80041000 is a hole
        CHECK(names(r.take()) == Names{"TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC", "TLBI_S2_IPA", "SYNC",
                                       "TLBI_NH_ALL", "SYNC"});
    }
}

TEST_CASE("Golden: an S2 that is not a nesting parent gets no TLBI_NH_ALL, ATS masters get ATC_INV + SYNC",
          "[linux]") {
    // arm_smmu_tlb_inv_range_domain, then arm_smmu_atc_inv_domain: per ATS master
    // arm_smmu_atc_inv_to_cmd (range: the smallest aligned 2^Size 4K-page span),
    // batched, then a SYNC. A nested master of a nesting parent (nested_ats_flush)
    // gets the whole ATC (Size 52).
    Rig r;
    auto s2 = vm_s2(r, false);
    ArmSmmuMaster m = r.master(0x20, true);
    attach_dev_paging(m, *s2, r.arena);
    // The attach: STE (EATS=TRANS) then arm_smmu_enable_ats: the whole ATC + SYNC.
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
    CHECK(r.smmu.read_ste(0x20).get(ste::EATS) == 1);
    s2->unmap(0x8003'0000, 0x3000);
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S2_IPA", "SYNC", "ATC_INV", "SYNC"});
    CHECK(seq[2].get(cmd::SID) == 0x20);
    CHECK(seq[2].get(cmd::AtcAddr) == 0x8003'0000);  // pages 0x80030..0x80032: span 4 pages
    CHECK(seq[2].get(cmd::AtcSize) == 2);
    CHECK(seq[2].get(cmd::SSV) == 0);
}

TEST_CASE("Golden: a nested attach under a vIOMMU: nested STE with MEV, then the ATC flush when the vSTE asks ATS",
          "[linux]") {
    // arm_vsmmu_init (the vIOMMU takes the parent's VMID), arm_smmu_validate_vste,
    // arm_smmu_attach_dev_nested -> arm_smmu_make_nested_cd_table_ste -> install, commit
    // (ATS on: arm_smmu_enable_ats -> arm_smmu_atc_inv_master(IOMMU_NO_PASID)).
    Rig r;
    auto s2 = vm_s2(r, true);
    Viommu vi(r.ctx, r.smmu, *s2);
    CHECK(vi.vmid() == 1);
    ArmSmmuMaster m = r.master(0x30, true);
    vi.add_vdevice(0x3, m);
    Ste vste;
    vste.set(ste::V, 1);
    vste.set(ste::Config, static_cast<uint64_t>(SteConfig::S1Trans));
    vste.set(ste::S1ContextPtr, 0x7fc0'0000);
    vste.set(ste::EATS, 1);
    HwptNested nested(vi, vste);
    CHECK(nested.enable_ats());
    r.take();
    attach_dev_nested(m, nested);
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
    const Ste ste = r.smmu.read_ste(0x30);
    CHECK(ste.config() == SteConfig::Nested);
    CHECK(ste.get(ste::MEV) == 1);
    CHECK(ste.get(ste::S2VMID) == 1);
    CHECK(ste.get(ste::EATS) == 1);
    CHECK(ste.get(ste::S1ContextPtr) == 0x7fc0'0000);

    // An S2 unmap now also flushes the nested master's whole ATC.
    s2->unmap(0x8000'0000, 0x1000);
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC", "ATC_INV", "SYNC"});
    CHECK(seq[4].get(cmd::AtcSize) == 52);

    SECTION("mainline: an S2 parent of another instance is -EINVAL (arm_vsmmu_init)") {
        SparseMemory mem2(48);
        SmmuCore core2(r.mem, Rig::default_params());
        RecordingBus bus2(core2, r.mem);
        ArmSmmuParams p = Rig::params();
        p.name = "smmu1";
        ArmSmmuDevice smmu1(bus2, r.arena, p);
        smmu1.hw_probe();
        REQUIRE_THROWS_AS(Viommu(r.ctx, smmu1, *s2), KernelError);
        REQUIRE_THROWS_WITH(Viommu(r.ctx, smmu1, *s2), Catch::Contains("arm_vsmmu_init") && Catch::Contains("-EINVAL"));
    }
}

TEST_CASE("Golden: a bypass vSTE is the proxy identity S1: the parent's S2 STE with the vIOMMU's VMID, no ATS",
          "[linux]") {
    // arm_smmu_make_nested_domain_ste: STRTAB_STE_0_CFG_BYPASS ->
    // arm_smmu_make_s2_domain_ste(..., s2_parent, false).
    Rig r;
    auto s2 = vm_s2(r, true);
    Viommu vi(r.ctx, r.smmu, *s2);
    ArmSmmuMaster m = r.master(0x40, true);
    Ste vste;
    vste.set(ste::V, 1);
    vste.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
    HwptNested proxy(vi, vste);
    r.take();
    attach_dev_nested(m, proxy);
    CHECK(names(r.take()) == Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG"});
    const Ste ste = r.smmu.read_ste(0x40);
    CHECK(ste.config() == SteConfig::S2Trans);
    CHECK(ste.get(ste::S2VMID) == vi.vmid());
    CHECK(ste.get(ste::EATS) == 0);
    CHECK_FALSE(m.ats_enabled);
}

TEST_CASE("Golden: VIOMMU_INVALIDATE converts the guest's commands and issues runs of 63 + SYNC", "[linux]") {
    // arm_vsmmu_cache_invalidate / arm_vsmmu_convert_user_cmd (056daec2).
    Rig r;
    auto s2 = vm_s2(r, true);
    Viommu vi(r.ctx, r.smmu, *s2);
    ArmSmmuMaster m = r.master(0x50);
    vi.add_vdevice(0x5, m);
    r.take();

    SECTION("100 TLBI_NH_VA: 63 + SYNC, then 37 + SYNC, VMID forced to the vIOMMU's") {
        std::vector<Command> guest;
        for (unsigned i = 0; i < 100; ++i)
            guest.push_back(Command::make(Opcode::TLBI_NH_VA, {{cmd::VMID, 0x77}, {cmd::ASID, 3}, {cmd::VA, 0x1000ull * i}}));
        const auto res = vi.cache_invalidate(guest);
        CHECK(res.err == 0);
        CHECK(res.entry_num == 100);
        const auto seq = r.take();
        REQUIRE(seq.size() == 102);
        CHECK(names(seq)[63] == "SYNC");
        CHECK(names(seq)[101] == "SYNC");
        for (unsigned i : {0u, 62u, 64u, 100u}) {
            CHECK(names(seq)[i] == "TLBI_NH_VA");
            CHECK(seq[i].get(cmd::VMID) == vi.vmid());
            CHECK(seq[i].get(cmd::ASID) == 3);
        }
    }
    SECTION("NSNH_ALL becomes NH_ALL of the VMID; CFGI_CD's vSID becomes the SID") {
        const auto res = vi.cache_invalidate(
            {Command::make(Opcode::TLBI_NSNH_ALL), Command::make(Opcode::CFGI_CD, {{cmd::SID, 0x5}, {cmd::Leaf, 1}})});
        CHECK(res.err == 0);
        const auto seq = r.take();
        REQUIRE(names(seq) == Names{"TLBI_NH_ALL", "CFGI_CD", "SYNC"});
        CHECK(seq[0].get(cmd::VMID) == vi.vmid());
        CHECK(seq[1].get(cmd::SID) == 0x50);
    }
    SECTION("NH_ASID, NH_VAA, CFGI_CD_ALL, ATC_INV: VMID forced or vSID translated, everything else as the guest wrote it") {
        const auto res = vi.cache_invalidate(
            {Command::make(Opcode::TLBI_NH_ASID, {{cmd::ASID, 9}}),
             Command::make(Opcode::TLBI_NH_VAA, {{cmd::VA, 0x4000}, {cmd::Leaf, 1}}),
             Command::make(Opcode::CFGI_CD_ALL, {{cmd::SID, 0x5}}),
             Command::make(Opcode::ATC_INV, {{cmd::SID, 0x5}, {cmd::AtcSize, 3}, {cmd::AtcAddr, 0x8000}})});
        CHECK(res.err == 0);
        CHECK(res.entry_num == 4);
        const auto seq = r.take();
        REQUIRE(names(seq) == Names{"TLBI_NH_ASID", "TLBI_NH_VAA", "CFGI_CD_ALL", "ATC_INV", "SYNC"});
        CHECK(seq[0].get(cmd::VMID) == vi.vmid());
        CHECK(seq[0].get(cmd::ASID) == 9);
        CHECK(seq[1].get(cmd::VMID) == vi.vmid());
        CHECK(seq[1].get(cmd::VA) == 0x4000);
        CHECK(seq[2].get(cmd::SID) == 0x50);
        CHECK(seq[3].get(cmd::SID) == 0x50);
        CHECK(seq[3].get(cmd::AtcSize) == 3);
        CHECK(seq[3].get(cmd::AtcAddr) == 0x8000);
    }
    SECTION("an unknown vSID is -EIO; entry_num counts the converted ones, which are not issued") {
        const auto res = vi.cache_invalidate({Command::make(Opcode::TLBI_NH_ALL),
                                              Command::make(Opcode::ATC_INV, {{cmd::SID, 0x9}})});
        CHECK(res.err == -EIO);
        CHECK(res.entry_num == 1);
        CHECK(r.take().empty());
    }
    SECTION("a stage-2 command is refused") {
        const auto res = vi.cache_invalidate({Command::make(Opcode::TLBI_S12_VMALL, {{cmd::VMID, 1}})});
        CHECK(res.err == -EIO);
        CHECK(res.entry_num == 0);
        CHECK(res.why.find("TLBI_S12_VMALL is not allowed") != std::string::npos);
    }
}

TEST_CASE("Golden: a full batch goes out without a SYNC, submit adds the SYNC", "[linux]") {
    // arm_smmu_cmdq_batch_add: at CMDQ_BATCH_ENTRIES (64) the batch is issued with
    // sync=false; arm_smmu_cmdq_batch_submit issues the rest with sync=true.
    // arm_smmu_cmdq_issue_cmdlist writes CMDQ_PROD once per list.
    Rig r;
    const unsigned before = r.bus.prod_writes;
    CmdqBatch batch(r.smmu);
    for (unsigned i = 0; i < 65; ++i) batch.add(Command::make(Opcode::TLBI_NH_ASID, {{cmd::ASID, i + 1}}));
    CHECK(r.bus.prod_writes == before + 1);  // the first 64, published, not waited for
    batch.submit();
    CHECK(r.bus.prod_writes == before + 2);
    const auto seq = r.take();
    REQUIRE(seq.size() == 66);
    CHECK(names(seq)[64] == "TLBI_NH_ASID");
    CHECK(names(seq)[65] == "SYNC");
    SECTION("an empty submit is a lone SYNC") {
        CmdqBatch empty(r.smmu);
        empty.submit();
        CHECK(names(r.take()) == Names{"SYNC"});
    }
}

TEST_CASE("Golden: domain free flushes the whole context before the ID goes back", "[linux]") {
    // arm_smmu_domain_free_paging: free_io_pgtable_ops -> io_pgtable_tlb_flush_all ->
    // arm_smmu_tlb_inv_context (S2: TLBI_S12_VMALL; S1: arm_smmu_tlb_inv_asid), then
    // ida_free(vmid_map) / xa_erase(arm_smmu_asid_xa).
    Rig r;
    HwptPaging s2(r.ctx, r.smmu, DomainStage::S2, Granule::K4, 48, false);
    HwptPaging s1(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    CHECK(r.smmu.vmid_ida().used() == 1);
    CHECK(s1.domain().asid() == 1);
    r.take();
    s2.destroy();
    s1.destroy();
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S12_VMALL", "SYNC", "TLBI_NH_ASID", "SYNC"});
    CHECK(seq[0].get(cmd::VMID) == 1);
    CHECK(seq[2].get(cmd::ASID) == 1);
    CHECK(r.smmu.vmid_ida().used() == 0);
    CHECK(r.ctx.asids.used() == 0);
    // free_io_pgtable_ops: the tables went back after the flush.
    const uint64_t tables = r.arena.used();
    // The next allocation reuses the lowest free VMID.
    HwptPaging again(r.ctx, r.smmu, DomainStage::S2, Granule::K4, 48, false);
    CHECK(again.domain().vmid_on(r.smmu) == 1);
    CHECK(r.arena.used() == tables + 0x1000);  // its root table is the one s2 gave back
}

TEST_CASE("Golden: a DMA domain, strict and lazy", "[linux]") {
    Rig r;
    HwptPaging dma(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    dma.map(0x10'0000, 0x2'0000'0000, 1 * kMiB, PageAttrs{}, 0x1000);
    ArmSmmuMaster m = r.master(0x60);
    attach_dev_paging(m, dma, r.arena);
    r.take();
    SECTION("strict: __iommu_dma_unmap -> iommu_iotlb_sync: TLBI_NH_VA with the ASID, range, leaf, then SYNC") {
        dma.unmap(0x10'0000, 0x2000);
        const auto seq = r.take();
        REQUIRE(names(seq) == Names{"TLBI_NH_VA", "SYNC"});
        CHECK(seq[0].get(cmd::ASID) == dma.domain().asid());
        CHECK(seq[0].get(cmd::VMID) == 0);
        CHECK(seq[0].get(cmd::NUM) == 0);  // 2 pages: (NUM 0 + 1) << SCALE 1
        CHECK(seq[0].get(cmd::SCALE) == 1);
        CHECK(seq[0].get(cmd::VA) == 0x10'0000);
    }
    SECTION("lazy: nothing at unmap; the 255th entry or the 10 ms timer flushes the ASID") {
        // dma-iommu.c queue_iova / fq_flush_iotlb -> arm_smmu_flush_iotlb_all ->
        // arm_smmu_tlb_inv_context -> arm_smmu_tlb_inv_asid.
        FlushQueue fq(dma.domain());
        for (unsigned i = 0; i < 255; ++i) {
            dma.unmap(0x10'0000 + 0x1000ull * i, 0x1000, true);
            fq.queue(0x10'0000 + 0x1000ull * i, 0x1000, 100.0 * i);
        }
        CHECK(r.take().empty());
        CHECK(fq.entries() == 255);
        CHECK(fq.pending(0x10'5000));
        CHECK(*fq.deadline() == 10e6);  // armed by the first entry at t=0
        fq.queue(0x20'0000, 0x1000, 30000.0);  // the ring is full: flush first
        const auto seq = r.take();
        REQUIRE(names(seq) == Names{"TLBI_NH_ASID", "SYNC"});
        CHECK(seq[0].get(cmd::ASID) == dma.domain().asid());
        CHECK(fq.entries() == 1);
        CHECK_FALSE(fq.pending(0x10'5000));
        CHECK(*fq.deadline() == 30000.0 + 10e6);
    }
}

TEST_CASE("Golden: per-vIOMMU VMIDs (invs series): one batch per SMMU, ended before the NH_ALLs", "[linux]") {
    // arm_smmu_domain_inv_range over the sorted invs: S2_VMID entries (the S2's own
    // VMID for a direct attach, the vIOMMU's), then S2_VMID_S1_CLEAR (TLBI_NH_ALL) in
    // a batch of their own (arm_smmu_invs_end_batch), each batch with its SYNC.
    Rig r(VmidProfile::PerViommu);
    auto s2 = vm_s2(r, true);
    CHECK(r.smmu.vmid_ida().used() == 0);  // the proposal: no VMID until someone needs one
    Viommu vi(r.ctx, r.smmu, *s2);
    ArmSmmuMaster direct = r.master(0x70);
    attach_dev_paging(direct, *s2, r.arena);
    CHECK(vi.vmid() == 1);
    CHECK(s2->domain().vmid_on(r.smmu) == 2);
    CHECK(r.smmu.vmid_ida().used() == 2);
    r.take();
    s2->unmap(0x8000'0000, 0x4000);
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S2_IPA", "TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC"});
    CHECK(seq[0].get(cmd::VMID) == 1);
    CHECK(seq[1].get(cmd::VMID) == 2);
    CHECK(seq[3].get(cmd::VMID) == 1);  // only the vIOMMU's VMID holds nested stage 1 entries
}

TEST_CASE("The scenario layer: a seed-like S2 unmap under both profiles", "[linux]") {
    using namespace smmu_test;
    using smmu::sim::HostDriver;
    using smmu::sim::ViommuConfig;
    Config c;
    c.smmu.sid_bits = 8;
    c.memory.table_base = kTables;
    c.memory.table_size = 64 * kMiB;
    sim::VmConfig vm;
    vm.name = "vm0";
    vm.map.push_back(map(0x8000'0000, 0x1'0000'0000, 2 * kMiB, 0x1000));
    c.vms.push_back(vm);
    ViommuConfig v;
    v.name = "viommu1";
    v.vm = "vm0";
    v.smmu = "smmu0";
    c.viommus.push_back(v);
    DeviceConfig a = device("deva", 0x10, AttachMode::Nested, "vm0", {context(0, 1, {map(0x1000'0000, 0x8000'0000, 0x10000, 0x1000)})});
    a.viommu = "viommu1";
    a.vsid = 1;
    c.devices.push_back(a);
    c.devices.push_back(device("devc", 0x20, AttachMode::S2, "vm0"));
    sim::ChangeRecord unmap;
    unmap.kind = sim::ChangeRecord::Kind::Unmap;
    unmap.stage2 = true;
    unmap.target = "vm0";
    unmap.in = 0x8001'0000;
    unmap.size = 0x10000;

    for (const auto policy : {sim::VmidPolicy::PerS2Domain, sim::VmidPolicy::PerViommu}) {
        c.host.vmid_policy = policy;
        SparseMemory mem(48);
        SmmuCore core(mem, sim::core_params(c));
        RecordingBus bus(core, mem);
        HostDriver host(bus, c);
        host.reset();
        host.install();
        bus.idle();
        bus.executed.clear();
        CHECK(host.apply(unmap) == "s2_change");
        bus.idle();
        const auto& p = host.paths().at("s2_change");
        if (policy == sim::VmidPolicy::PerS2Domain) {
            // One VMID: devc's direct attach and viommu1 share the S2 domain's.
            CHECK(host.vmids_per_smmu() == std::vector<unsigned>{1});
            CHECK(names(bus.executed) == Names{"TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC"});
        } else {
            CHECK(host.vmids_per_smmu() == std::vector<unsigned>{2});
            CHECK(names(bus.executed) == Names{"TLBI_S2_IPA", "TLBI_S2_IPA", "SYNC", "TLBI_NH_ALL", "SYNC"});
        }
        CHECK(p.commands + p.syncs == bus.executed.size());
        CHECK(p.syncs == 2);
        // Software time: the ioctl, two command lists, their commands.
        CHECK(p.time_ns - p.sync_wait_ns == Approx(1000 + 2 * 100 + 10.0 * bus.executed.size()));
    }
}

namespace {
// The default SMMU with ID register fields changed (as `smmu.idr` does).
SmmuCoreParams with_idr(std::initializer_list<std::pair<const FieldDef*, uint32_t>> fields) {
    SmmuCoreParams p = Rig::default_params();
    for (const auto& [f, v] : fields) {
        const uint32_t off = f == &idr3::RIL ? reg::IDR3 : reg::IDR0;
        p.idr.push_back({off, static_cast<uint32_t>(f->mask()), static_cast<uint32_t>(v) << f->lsb});
    }
    return p;
}
}  // namespace

TEST_CASE("Golden: without IDR3.RIL, one TLBI per page, batched 64 at a time", "[linux]") {
    // __arm_smmu_tlb_inv_range without ARM_SMMU_FEAT_RANGE_INV: one command per
    // granule (TG=TTL=NUM=SCALE=0); the 6.18 code has no size cap on this path.
    Rig r(VmidProfile::PerS2Domain, with_idr({{&idr3::RIL, 0}}));
    CHECK_FALSE(r.smmu.features().range_inv);
    auto s2 = vm_s2(r, false);
    r.take();
    const unsigned prod_before = r.bus.prod_writes;
    s2->unmap(0x8000'0000, 100 * 0x1000);
    const auto seq = r.take();
    REQUIRE(seq.size() == 101);
    for (unsigned i = 0; i < 100; ++i) {
        CHECK(names(seq)[i] == "TLBI_S2_IPA");
        CHECK(seq[i].get(cmd::IPA) == 0x8000'0000 + 0x1000ull * i);
        CHECK(seq[i].get(cmd::TG) == 0);
        CHECK(seq[i].get(cmd::Leaf) == 1);
    }
    CHECK(names(seq)[100] == "SYNC");
    CHECK(r.bus.prod_writes == prod_before + 2);  // 64 without a SYNC, then 36 + SYNC

    SECTION("the invs series: at 512 pages (2 MiB of 4K) and more, one TLBI_S12_VMALL instead") {
        // arm_smmu_inv_size_too_big; the S2_VMID_S1_CLEAR entry is skipped, VMALL covers it.
        Rig v(VmidProfile::PerViommu, with_idr({{&idr3::RIL, 0}}));
        auto big = vm_s2(v, true);
        Viommu vi(v.ctx, v.smmu, *big);
        v.take();
        big->unmap(0x8000'0000, 2 * kMiB);
        const auto vmall = v.take();
        REQUIRE(names(vmall) == Names{"TLBI_S12_VMALL", "SYNC"});
        CHECK(vmall[0].get(cmd::VMID) == vi.vmid());
        big->unmap(0x9000'0000, 0);  // nothing mapped there: no leaf, no gather, nothing issued
        CHECK(v.take().empty());
    }
}

TEST_CASE("Golden: without IDR0.MSI the SYNC signals by SEV and the driver polls CMDQ_CONS", "[linux]") {
    // arm_smmu_cmdq_build_sync_cmd without ARM_SMMU_OPT_MSIPOLL: CS=SEV;
    // __arm_smmu_cmdq_poll_until_consumed reads CMDQ_CONS until past the SYNC.
    Rig r(VmidProfile::PerS2Domain, with_idr({{&idr0::MSI, 0}}));
    CHECK_FALSE(r.smmu.features().msipoll);
    r.smmu.issue_cmd_with_sync(Command::make(Opcode::TLBI_NH_ALL, {{cmd::VMID, 1}}));
    const auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_NH_ALL", "SYNC"});
    CHECK(seq[1].get(cmd::CS) == static_cast<uint64_t>(SyncCs::Sev));
    CHECK(seq[1].get(cmd::MSIAddr) == 0);
    CHECK(r.core.stats().sync_msis == 0);
    CHECK(r.bus.mmio_read(reg::CMDQ_CONS, 4) == r.bus.mmio_read(reg::CMDQ_PROD, 4));
}

TEST_CASE("Golden: a PASID domain (arm_smmu_set_pasid): listed with its SSID, its unmaps send ATC_INV with SSV=1",
          "[linux]") {
    // arm-smmu-v3.c 6c3dcfd01987: arm_smmu_s1_set_dev_pasid -> arm_smmu_set_pasid:
    // arm_smmu_alloc_cd_ptr, arm_smmu_attach_prepare (state.ssid = pasid:
    // master_domain->ssid = pasid, list_add), arm_smmu_write_cd_entry,
    // arm_smmu_update_ste (nothing when the CD table is in the STE with the same
    // EATS), arm_smmu_attach_commit (ATS kept: arm_smmu_atc_inv_master(master,
    // pasid)). Then arm_smmu_atc_inv_domain -> arm_smmu_atc_inv_to_cmd(master_domain->ssid):
    // substream_valid = (ssid != IOMMU_NO_PASID).
    Rig r;
    HwptPaging rid(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    HwptPaging pasid(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    pasid.map(0x4000'0000, 0x2'0000'0000, 64 * 1024, PageAttrs{}, 0x1000);
    ArmSmmuMaster m = r.master(0x30, true);
    m.s1cdmax = 2;  // SSIDs 0..3
    attach_dev_paging(m, rid, r.arena);
    r.take();
    set_pasid(m, pasid.domain(), 1, r.arena);
    auto seq = r.take();
    // CD 1 (hitless: the other qwords, then qword 0 with V), no STE write, the ATC of SSID 1.
    REQUIRE(names(seq) == Names{"CFGI_CD", "SYNC", "CFGI_CD", "SYNC", "ATC_INV", "SYNC"});
    CHECK(seq[0].get(cmd::SSID) == 1);
    CHECK(seq[4].get(cmd::SSV) == 1);
    CHECK(seq[4].get(cmd::SSID) == 1);
    CHECK(seq[4].get(cmd::AtcSize) == 52);
    REQUIRE(pasid.domain().devices().size() == 1);
    CHECK(pasid.domain().devices().front().ssid == 1);

    CHECK(pasid.unmap(0x4000'1000, 0x2000) == 0x2000);
    seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_NH_VA", "SYNC", "ATC_INV", "SYNC"});
    CHECK(seq[0].get(cmd::ASID) == pasid.domain().asid());
    CHECK(seq[2].get(cmd::SID) == 0x30);
    CHECK(seq[2].get(cmd::SSV) == 1);
    CHECK(seq[2].get(cmd::SSID) == 1);
    CHECK(seq[2].get(cmd::AtcAddr) == 0x4000'0000);  // pages 0x40001..0x40002: a 4-page span
    CHECK(seq[2].get(cmd::AtcSize) == 2);
    // The RID's domain still invalidates untagged (SSV=0 covers every PASID's entries too).
    rid.map(0x10'0000, 0x2'1000'0000, 0x1000, PageAttrs{}, 0x1000);
    rid.unmap(0x10'0000, 0x1000);
    seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_NH_VA", "SYNC", "ATC_INV", "SYNC"});
    CHECK(seq[2].get(cmd::SSV) == 0);

    SECTION("a master with only PASIDs: the first set_pasid installs the CD-table STE (S1DSS terminate) and enables ATS") {
        // arm_smmu_update_ste on a blocked RID: arm_smmu_make_cdtable_ste(S1DSS_TERMINATE);
        // commit: arm_smmu_enable_ats -> arm_smmu_atc_inv_master(IOMMU_NO_PASID), pci_enable_ats.
        ArmSmmuMaster p = r.master(0x31, true);
        p.s1cdmax = 2;
        HwptPaging second(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
        set_pasid(p, second.domain(), 2, r.arena);
        seq = r.take();
        REQUIRE(names(seq) == Names{"CFGI_CD", "SYNC", "CFGI_CD", "SYNC", "CFGI_STE", "SYNC", "CFGI_STE", "SYNC",
                                    "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
        CHECK(seq[9].get(cmd::SSV) == 0);
        CHECK(seq[9].get(cmd::AtcSize) == 52);
        const Ste ste = r.smmu.read_ste(0x31);
        CHECK(ste.config() == SteConfig::S1Trans);
        CHECK(ste.get(ste::S1DSS) == static_cast<uint64_t>(S1Dss::Terminate));
        CHECK(ste.get(ste::EATS) == 1);
        CHECK(p.pci_ats_enabled);
        // A second PASID: no STE write, its own SSID's ATC.
        set_pasid(p, pasid.domain(), 3, r.arena);
        seq = r.take();
        REQUIRE(names(seq) == Names{"CFGI_CD", "SYNC", "CFGI_CD", "SYNC", "ATC_INV", "SYNC"});
        CHECK(seq[4].get(cmd::SSID) == 3);
        // pasid's list, newest first (list_add): p at SSID 3, then m at SSID 1.
        REQUIRE(pasid.domain().devices().size() == 2);
        CHECK(pasid.domain().devices()[0].master == &p);
        CHECK(pasid.domain().devices()[1].master == &m);
    }
    SECTION("a PASID next to an S2 RID is -EINVAL (the RID does not use the CD table)") {
        ArmSmmuMaster s = r.master(0x32, true);
        s.s1cdmax = 2;
        auto s2 = vm_s2(r, false);
        attach_dev_paging(s, *s2, r.arena);
        CHECK_THROWS_AS(set_pasid(s, pasid.domain(), 1, r.arena), KernelError);
    }
    SECTION("an S2 attach of the RID while PASIDs are attached is -EBUSY, nothing written") {
        // arm_smmu_attach_dev, ARM_SMMU_DOMAIN_S2: if (arm_smmu_ssids_in_use(&master->cd_table)) return -EBUSY;
        auto s2 = vm_s2(r, false);
        r.take();
        try {
            attach_dev_paging(m, *s2, r.arena);
            FAIL("no -EBUSY");
        } catch (const KernelError& e) {
            CHECK(e.err == -EBUSY);
        }
        CHECK(r.take().empty());
        CHECK(r.smmu.read_ste(0x30).config() == SteConfig::S1Trans);
    }
}

TEST_CASE("An S2 attach refused with -EBUSY allocates nothing: the check comes before the VMID (per-vIOMMU VMIDs)",
          "[linux]") {
    // arm_smmu_attach_dev: the S2 case checks arm_smmu_ssids_in_use before it
    // writes anything; with a VMID per instance the S2 gets its VMID only when
    // it is attached, so a refused attach must leave the IDA as it was.
    Rig r(VmidProfile::PerViommu);
    HwptPaging s1(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    HwptPaging pasid(r.ctx, r.smmu, DomainStage::S1, Granule::K4, 48, false);
    ArmSmmuMaster m = r.master(0x40);
    m.s1cdmax = 2;
    attach_dev_paging(m, s1, r.arena);
    set_pasid(m, pasid.domain(), 1, r.arena);
    auto s2 = vm_s2(r, false);
    const uint16_t before = s2->domain().vmid_on(r.smmu);
    r.take();
    CHECK(before == 0);  // a VMID of its own only once attached
    try {
        attach_dev_paging(m, *s2, r.arena);
        FAIL("no -EBUSY");
    } catch (const KernelError& e) {
        CHECK(e.err == -EBUSY);
    }
    CHECK(s2->domain().vmid_on(r.smmu) == before);
    CHECK(r.take().empty());
}

TEST_CASE("Golden: ATC_INV goes to the masters newest first (the devices list is list_add)", "[linux]") {
    // arm_smmu_attach_prepare: list_add(&master_domain->devices_elm, &smmu_domain->devices);
    // arm_smmu_atc_inv_domain walks it with list_for_each_entry.
    Rig r;
    auto s2 = vm_s2(r, false);
    ArmSmmuMaster a = r.master(0x21, true), b = r.master(0x22, true);
    attach_dev_paging(a, *s2, r.arena);
    attach_dev_paging(b, *s2, r.arena);
    r.take();
    s2->unmap(0x8000'0000, 0x1000);
    auto seq = r.take();
    REQUIRE(names(seq) == Names{"TLBI_S2_IPA", "SYNC", "ATC_INV", "ATC_INV", "SYNC"});
    CHECK(seq[2].get(cmd::SID) == 0x22);
    CHECK(seq[3].get(cmd::SID) == 0x21);
    // A re-attach of the same domain lists the master twice (prepare), and
    // commit removes one (arm_smmu_find_master_domain: the first match).
    attach_dev_paging(a, *s2, r.arena);
    CHECK(s2->domain().devices().size() == 2);
}

namespace {
// What the function's ATS Control Enable was each time a command list was
// published (a CMDQ_PROD write), and how many commands had run before it.
struct PciAtsBus : RecordingBus {
    using RecordingBus::RecordingBus;
    const ArmSmmuMaster* master = nullptr;
    struct Publish {
        std::size_t executed_before;
        bool pci_ats_enabled;
    };
    std::vector<Publish> publishes;
    void mmio_write(uint32_t off, unsigned size, uint64_t value) override {
        if (off == reg::CMDQ_PROD && master) {
            idle();
            publishes.push_back({executed.size(), master->pci_ats_enabled});
        }
        RecordingBus::mmio_write(off, size, value);
    }
};
}  // namespace

TEST_CASE("Golden: pci_disable_ats before the STE loses EATS, pci_enable_ats after the ATC flush", "[linux]") {
    // arm-smmu-v3.c 6c3dcfd01987, arm_smmu_attach_prepare: "if (!state->ats_enabled &&
    // master->ats_enabled) { pci_disable_ats(); wmb(); }" before arm_smmu_install_ste_for_dev
    // ("the config write for disabling ATS should complete before the STE is configured to
    // generate UR"); arm_smmu_attach_commit after it: arm_smmu_atc_inv_master(IOMMU_NO_PASID).
    // Turning ATS on: arm_smmu_enable_ats flushes the ATC, then pci_enable_ats.
    SparseMemory mem(48);
    SmmuCore core(mem, Rig::default_params());
    PciAtsBus bus(core, mem);
    TableArena arena("tables", kTables, kTables, 64 * kMiB);
    ArmSmmuDevice smmu(bus, arena, Rig::params());
    Iommufd ctx(VmidProfile::PerS2Domain, IommufdCosts{}, bus);
    smmu.hw_probe();
    smmu.device_reset();
    HwptPaging s2(ctx, smmu, DomainStage::S2, Granule::K4, 48, false);
    ArmSmmuMaster m;
    m.smmu = &smmu;
    m.sids = {0x40};
    m.ats_supported = true;
    bus.idle();
    bus.executed.clear();
    bus.master = &m;

    attach_dev_paging(m, s2, arena);  // ATS on
    bus.idle();
    REQUIRE(names(bus.executed) ==
            Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
    REQUIRE(bus.publishes.size() == 4);
    CHECK(bus.publishes[3].executed_before == 5);  // the ATC_INV list ...
    CHECK_FALSE(bus.publishes[3].pci_ats_enabled);  // ... went out with ATS still off at the function
    CHECK(m.pci_ats_enabled);
    CHECK(m.ats_enabled);

    bus.executed.clear();
    bus.publishes.clear();
    attach_ste(m, {make_abort_ste()});  // ATS off
    bus.idle();
    REQUIRE(names(bus.executed) ==
            Names{"CFGI_STE", "SYNC", "CFGI_STE", "SYNC", "PREFETCH_CONFIG", "ATC_INV", "SYNC"});
    REQUIRE(bus.publishes.size() == 4);
    CHECK_FALSE(bus.publishes[0].pci_ats_enabled);  // disabled before the first STE step
    CHECK(bus.executed[5].get(cmd::AtcSize) == 52);  // then the whole ATC, after the STE
    CHECK_FALSE(m.ats_enabled);
}

namespace {
// An SMMU whose command queue stops consuming once `stuck` is set: a CMD_SYNC
// held for good (as behind an ATC_INV its device never answers).
struct StuckBus : RecordingBus {
    using RecordingBus::RecordingBus;
    bool stuck = false;
    void idle() override {
        if (!stuck) RecordingBus::idle();
    }
};
}  // namespace

TEST_CASE("Golden: VIOMMU_INVALIDATE returns -ETIMEDOUT, entry_num one short of the run whose CMD_SYNC timed out",
          "[linux]") {
    // arm_vsmmu_cache_invalidate (arm-smmu-v3-iommufd.c 056daec2): "ret =
    // arm_smmu_cmdq_issue_cmdlist(smmu, &smmu->cmdq, last->cmd, cur - last, true);
    // if (ret) { cur--; goto out; }" with out: "array->entry_num = cur - cmds".
    // arm_smmu_cmdq_issue_cmdlist returns -ETIMEDOUT after ARM_SMMU_POLL_TIMEOUT_US.
    SparseMemory mem(48);
    SmmuCore core(mem, Rig::default_params());
    StuckBus bus(core, mem);
    TableArena arena("tables", kTables, kTables, 64 * kMiB);
    ArmSmmuParams params = Rig::params();
    params.sync_timeout_ns = 50'000;
    ArmSmmuDevice smmu(bus, arena, params);
    Iommufd ctx(VmidProfile::PerS2Domain, IommufdCosts{}, bus);
    smmu.hw_probe();
    smmu.device_reset();
    HwptPaging s2(ctx, smmu, DomainStage::S2, Granule::K4, 48, true);
    Viommu vi(ctx, smmu, s2);
    bus.idle();
    bus.stuck = true;
    const unsigned prods = bus.prod_writes;
    std::vector<Command> guest;
    for (unsigned i = 0; i < 100; ++i)
        guest.push_back(Command::make(Opcode::TLBI_NH_VA, {{cmd::ASID, 3}, {cmd::VA, 0x1000ull * i}}));
    const auto res = vi.cache_invalidate(guest);
    CHECK(res.err == -ETIMEDOUT);
    CHECK(res.entry_num == 62);  // the first run (commands 0..62) was issued; cur-- leaves 62
    CHECK(bus.prod_writes - prods == 1);  // the second run never went out
    CHECK(smmu.counters().sync_timeouts == 1);
    CHECK(bus.now_ns() >= 50'000);
}
