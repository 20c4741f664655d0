// RegisterFile: the SMMU's programming interface as plain C++ (IHI 0070 6.3),
// and the queue-pointer arithmetic every queue shares (IHI 0070 3.5.1).
#include <catch2/catch.hpp>

#include <cstdint>

#include "models/arch/registers.h"
#include "models/smmu/registers/register_file.h"

using namespace smmu;
using namespace smmu::arch;

namespace {

struct Regs {
    RegisterFile rf;
    explicit Regs(const SmmuCaps& caps = {}, unsigned cmdq_max = 19, unsigned eventq_max = 19)
        : rf(caps, cmdq_max, eventq_max) {}

    uint64_t rd(uint32_t off, unsigned size = 4) const {
        uint64_t v = 0xdeadbeef;
        REQUIRE(rf.read(off, size, v) == MmioStatus::Ok);
        return v;
    }
    WriteEffect wr(uint32_t off, uint64_t v, unsigned size = 4) {
        WriteEffect e;
        REQUIRE(rf.write(off, size, v, e) == MmioStatus::Ok);
        return e;
    }
};

uint64_t fld(const FieldDef& f, uint64_t v) { return f.get(&v); }

}  // namespace

TEST_CASE("ID registers built from the default SmmuCaps", "[registers]") {
    Regs r;  // every feature, OAS 48, SIDSIZE 16, SSIDSIZE 20, queues up to 2^19
    const uint64_t idr0 = r.rd(reg::IDR0);
    // S2P|S1P|TTF=AArch64|COHACC|HYP|ATS|NS1ATS|ASID16|MSI|SEV|VMID16|CD2L|TTENDIAN=LE|STALL_MODEL=1|
    // ST_LEVEL=2-level
    CHECK(idr0 == 0x094C7E1Bu);
    CHECK(fld(idr0::NS1ATS, idr0) == 1);  // no Split-stage ATS
    CHECK(fld(idr0::S2P, idr0) == 1);
    CHECK(fld(idr0::S1P, idr0) == 1);
    CHECK(fld(idr0::TTF, idr0) == 2);
    CHECK(fld(idr0::COHACC, idr0) == 1);
    CHECK(fld(idr0::HTTU, idr0) == 0);
    CHECK(fld(idr0::HYP, idr0) == 1);
    CHECK(fld(idr0::ATS, idr0) == 1);
    CHECK(fld(idr0::ASID16, idr0) == 1);
    CHECK(fld(idr0::MSI, idr0) == 1);
    CHECK(fld(idr0::SEV, idr0) == 1);
    CHECK(fld(idr0::PRI, idr0) == 0);
    CHECK(fld(idr0::VMID16, idr0) == 1);
    CHECK(fld(idr0::CD2L, idr0) == 1);
    CHECK(fld(idr0::TTENDIAN, idr0) == 2);
    CHECK(fld(idr0::STALL_MODEL, idr0) == 1);
    CHECK(fld(idr0::ST_LEVEL, idr0) == 1);

    const uint64_t idr1 = r.rd(reg::IDR1);
    CHECK(idr1 == 0x02730510u);
    CHECK(fld(idr1::SIDSIZE, idr1) == 16);
    CHECK(fld(idr1::SSIDSIZE, idr1) == 20);
    CHECK(fld(idr1::PRIQS, idr1) == 0);
    CHECK(fld(idr1::EVENTQS, idr1) == 19);
    CHECK(fld(idr1::CMDQS, idr1) == 19);

    CHECK(r.rd(reg::IDR2) == 0);
    CHECK(r.rd(reg::IDR3) == 0x400);  // RIL
    CHECK(r.rd(reg::IDR4) == 0);
    const uint64_t idr5 = r.rd(reg::IDR5);
    CHECK(idr5 == 0x75);  // OAS=48 (5), GRAN4K|GRAN16K|GRAN64K
    CHECK(fld(idr5::OAS, idr5) == 5);
    CHECK(r.rd(reg::IIDR) == 0);
    CHECK(r.rd(reg::AIDR) == 0x01);  // SMMUv3.1
}

TEST_CASE("ID registers follow reduced SmmuCaps and queue limits", "[registers]") {
    SmmuCaps caps;
    caps.s2p = false;
    caps.vmid16 = false;
    caps.asid16 = false;
    caps.cd2l = false;
    caps.two_level_strtab = false;
    caps.ats = false;
    caps.gran16k = false;
    caps.oas = 40;
    caps.sid_bits = 8;
    caps.ssid_bits = 5;
    Regs r(caps, 8, 7);

    const uint64_t idr0 = r.rd(reg::IDR0);
    CHECK(idr0 == 0x0140621Au);  // S1P|TTF|COHACC|HYP|MSI|SEV|TTENDIAN|STALL_MODEL
    CHECK(fld(idr0::S2P, idr0) == 0);
    CHECK(fld(idr0::S1P, idr0) == 1);
    CHECK(fld(idr0::VMID16, idr0) == 0);
    CHECK(fld(idr0::ASID16, idr0) == 0);
    CHECK(fld(idr0::CD2L, idr0) == 0);
    CHECK(fld(idr0::ATS, idr0) == 0);
    CHECK(fld(idr0::ST_LEVEL, idr0) == 0);

    const uint64_t idr1 = r.rd(reg::IDR1);
    CHECK(idr1 == 0x01070148u);
    CHECK(fld(idr1::SIDSIZE, idr1) == 8);
    CHECK(fld(idr1::SSIDSIZE, idr1) == 5);
    CHECK(fld(idr1::EVENTQS, idr1) == 7);
    CHECK(fld(idr1::CMDQS, idr1) == 8);

    const uint64_t idr5 = r.rd(reg::IDR5);
    CHECK(idr5 == 0x52);  // OAS=40 (2), GRAN4K, GRAN64K
    CHECK(fld(idr5::GRAN4K, idr5) == 1);
    CHECK(fld(idr5::GRAN16K, idr5) == 0);
    CHECK(fld(idr5::GRAN64K, idr5) == 1);

    SECTION("OAS encodings") {
        for (auto [bits, enc] : {std::pair<unsigned, unsigned>{32, 0}, {36, 1}, {40, 2}, {42, 3}, {44, 4}, {48, 5},
                                 {52, 6}}) {
            SmmuCaps c;
            c.oas = bits;
            Regs rr(c);
            CHECK(fld(idr5::OAS, rr.rd(reg::IDR5)) == enc);
        }
    }
    CHECK(r.rf.cmdq_max_log2() == 8);
    CHECK(r.rf.eventq_max_log2() == 7);
}

TEST_CASE("CR0 and IRQ_CTRL: the ACK register follows at once, PRIQEN and PRIQ_IRQEN are RES0", "[registers]") {
    Regs r;
    CHECK(r.rd(reg::CR0) == 0);
    CHECK(r.rd(reg::CR0ACK) == 0);

    WriteEffect e = r.wr(reg::CR0, 0x8);  // CMDQEN
    CHECK(e.cmdq_kick);                   // the queue was (re-)enabled
    CHECK_FALSE(e.ignored);
    CHECK(r.rd(reg::CR0) == 0x8);
    CHECK(r.rd(reg::CR0ACK) == 0x8);
    CHECK(r.rf.cmdq_enabled());
    CHECK_FALSE(r.rf.smmu_enabled());
    CHECK_FALSE(r.rf.eventq_enabled());

    e = r.wr(reg::CR0, 0x8 | 0x4);  // CMDQEN already on: no kick
    CHECK_FALSE(e.cmdq_kick);
    CHECK(r.rd(reg::CR0ACK) == 0xc);
    CHECK(r.rf.eventq_enabled());

    r.wr(reg::CR0, 0x2);  // PRIQEN alone: no PRI queue, RES0
    CHECK(r.rd(reg::CR0) == 0);
    CHECK(r.rd(reg::CR0ACK) == 0);

    r.wr(reg::CR0, 0xffffffff);  // SMMUEN|EVTQEN|CMDQEN|ATSCHK only
    CHECK(r.rd(reg::CR0) == 0x1d);
    CHECK(r.rd(reg::CR0ACK) == 0x1d);
    CHECK(r.rf.smmu_enabled());

    r.wr(reg::CR0, 0);
    CHECK(r.rd(reg::CR0ACK) == 0);

    r.wr(reg::IRQ_CTRL, 0x7);  // GERROR_IRQEN | PRIQ_IRQEN (RES0) | EVTQ_IRQEN
    CHECK(r.rd(reg::IRQ_CTRL) == 0x5);
    CHECK(r.rd(reg::IRQ_CTRLACK) == 0x5);
    CHECK(r.rf.eventq_irq_enabled());
    CHECK(r.rf.gerror_irq_enabled());
    r.wr(reg::IRQ_CTRL, 0x4);
    CHECK(r.rd(reg::IRQ_CTRLACK) == 0x4);
    CHECK_FALSE(r.rf.gerror_irq_enabled());
}

TEST_CASE("CR1, CR2, GERRORN and IRQ config registers keep their defined bits", "[registers]") {
    Regs r;
    r.wr(reg::CR1, 0xffffffff);
    CHECK(r.rd(reg::CR1) == 0xfff);
    r.wr(reg::CR2, 0xffffffff);
    CHECK(r.rd(reg::CR2) == 0x7);
    r.wr(reg::GERRORN, 0xffffffff);
    CHECK(r.rd(reg::GERRORN) == gerror::kDefined);
    r.wr(reg::GERROR_IRQ_CFG0, 0xffffffffffffffffull, 8);
    CHECK(r.rd(reg::GERROR_IRQ_CFG0, 8) == 0x000ffffffffffffcull);
    r.wr(reg::GERROR_IRQ_CFG1, 0x12345678);
    CHECK(r.rd(reg::GERROR_IRQ_CFG1) == 0x12345678);
    r.wr(reg::GERROR_IRQ_CFG2, 0xff);
    CHECK(r.rd(reg::GERROR_IRQ_CFG2) == 0x3f);
    r.wr(reg::EVENTQ_IRQ_CFG0, 0x8000'1003ull, 8);
    CHECK(r.rd(reg::EVENTQ_IRQ_CFG0, 8) == 0x8000'1000ull);
    CHECK(r.rf.eventq_irq_addr() == 0x8000'1000ull);
    r.wr(reg::EVENTQ_IRQ_CFG1, 0xcafef00d);
    CHECK(r.rf.eventq_irq_data() == 0xcafef00du);
    CHECK(r.rf.gerror_irq_addr() == 0x000ffffffffffffcull);
    CHECK(r.rf.gerror_irq_data() == 0x12345678u);
}

TEST_CASE("GBPA updates only with UPDATE=1, and UPDATE reads back 0", "[registers]") {
    Regs r;
    CHECK(r.rd(reg::GBPA) == 0);  // bypass
    CHECK_FALSE(r.rf.gbpa_abort());

    WriteEffect e = r.wr(reg::GBPA, 1u << 20);  // ABORT without UPDATE
    CHECK(e.ignored);
    CHECK(r.rd(reg::GBPA) == 0);
    CHECK_FALSE(r.rf.gbpa_abort());

    e = r.wr(reg::GBPA, (1u << 31) | (1u << 20));
    CHECK_FALSE(e.ignored);
    CHECK(r.rd(reg::GBPA) == (1u << 20));  // update complete: UPDATE = 0
    CHECK(r.rf.gbpa_abort());

    r.wr(reg::GBPA, 0);  // clearing ABORT without UPDATE does nothing
    CHECK(r.rf.gbpa_abort());

    r.wr(reg::GBPA, (1u << 31) | 0x000fffff | (1u << 20) | 0x7fe00000);  // reserved [30:21] stay 0
    CHECK(r.rd(reg::GBPA) == 0x001fffffu);

    r.wr(reg::GBPA, 1u << 31);
    CHECK(r.rd(reg::GBPA) == 0);
    CHECK_FALSE(r.rf.gbpa_abort());
}

TEST_CASE("STRTAB_BASE(_CFG) are ignored while SMMUEN=1", "[registers]") {
    Regs r;
    r.wr(reg::STRTAB_BASE, 0x4000'0000'1234'5040ull | (1ull << 62), 8);
    r.wr(reg::STRTAB_BASE_CFG, (1u << 16) | (8u << 6) | 12);
    CHECK(r.rd(reg::STRTAB_BASE, 8) == ((1ull << 62) | 0x1234'5040ull));
    CHECK(r.rd(reg::STRTAB_BASE_CFG) == 0x1020c);

    r.wr(reg::CR0, 1);  // SMMUEN
    WriteEffect e = r.wr(reg::STRTAB_BASE, 0x9999'0000ull, 8);
    CHECK(e.ignored);
    e = r.wr(reg::STRTAB_BASE + 4, 0x1);
    CHECK(e.ignored);
    e = r.wr(reg::STRTAB_BASE_CFG, 4);
    CHECK(e.ignored);
    CHECK(r.rd(reg::STRTAB_BASE, 8) == ((1ull << 62) | 0x1234'5040ull));
    CHECK(r.rd(reg::STRTAB_BASE_CFG) == 0x1020c);
    const StreamTableConfig st = r.rf.stream_table();
    CHECK(st.base == 0x1234'5040ull);
    CHECK(st.log2size == 12);
    CHECK(st.split == 8);
    CHECK(st.two_level);

    r.wr(reg::CR0, 0);
    r.wr(reg::STRTAB_BASE_CFG, 4);
    CHECK(r.rd(reg::STRTAB_BASE_CFG) == 4);
}

TEST_CASE("CMDQ_BASE and CMDQ_CONS are ignored while CMDQEN=1, CMDQ_PROD kicks", "[registers]") {
    Regs r;
    r.wr(reg::CMDQ_BASE, 0x8000'0000ull | 5, 8);
    r.wr(reg::CMDQ_CONS, 3);
    CHECK(r.rd(reg::CMDQ_CONS) == 3);
    CHECK(r.rf.cmdq_cons() == 3);

    r.wr(reg::CR0, cr0::CMDQEN.mask());
    WriteEffect e = r.wr(reg::CMDQ_BASE, 0x9000'0000ull | 2, 8);
    CHECK(e.ignored);
    CHECK_FALSE(e.cmdq_kick);
    e = r.wr(reg::CMDQ_CONS, 7);
    CHECK(e.ignored);
    CHECK(r.rd(reg::CMDQ_BASE, 8) == (0x8000'0000ull | 5));
    CHECK(r.rd(reg::CMDQ_CONS) == 3);
    CHECK(r.rf.cmdq().base == 0x8000'0000ull);
    CHECK(r.rf.cmdq().log2size == 5);

    e = r.wr(reg::CMDQ_PROD, 0x25);
    CHECK(e.cmdq_kick);
    CHECK_FALSE(e.ignored);
    CHECK(r.rd(reg::CMDQ_PROD) == 0x25);
    CHECK(r.rf.cmdq_prod() == 0x25);
    r.wr(reg::CMDQ_PROD, 0xffffffff);  // WR[19:0] only
    CHECK(r.rd(reg::CMDQ_PROD) == 0xfffff);

    r.wr(reg::CR0, 0);
    r.wr(reg::CMDQ_CONS, 0x7f00'0004);  // ERR[30:24] is not software's to write
    CHECK(r.rd(reg::CMDQ_CONS) == 4);
}

TEST_CASE("EVENTQ_BASE and EVENTQ_PROD are writable only while EVTQEN=0", "[registers]") {
    Regs r;
    r.wr(reg::EVENTQ_BASE, 0x7000'0000ull | 4, 8);
    r.wr(reg::EVENTQ_PROD, 0x8000'0003);  // OVFLG and WR
    CHECK(r.rd(reg::EVENTQ_PROD) == 0x8000'0003u);
    CHECK(r.rd(reg::EVENTQ_PROD_ALIAS) == 0x8000'0003u);  // page-0 alias, same register
    r.wr(reg::EVENTQ_PROD_ALIAS, 5);
    CHECK(r.rd(reg::EVENTQ_PROD) == 5);

    r.wr(reg::CR0, cr0::EVTQEN.mask());
    WriteEffect e = r.wr(reg::EVENTQ_PROD, 9);
    CHECK(e.ignored);
    e = r.wr(reg::EVENTQ_PROD_ALIAS, 9);
    CHECK(e.ignored);
    e = r.wr(reg::EVENTQ_BASE, 0x1000, 8);
    CHECK(e.ignored);
    CHECK(r.rd(reg::EVENTQ_PROD) == 5);
    CHECK(r.rf.eventq_prod() == 5);
    CHECK(r.rf.eventq().base == 0x7000'0000ull);
    CHECK(r.rf.eventq().log2size == 4);

    // CONS is software's: always writable, OVACKFLG included.
    e = r.wr(reg::EVENTQ_CONS, 0x8000'0002);
    CHECK_FALSE(e.ignored);
    CHECK(r.rd(reg::EVENTQ_CONS) == 0x8000'0002u);
    CHECK(r.rd(reg::EVENTQ_CONS_ALIAS) == 0x8000'0002u);
    CHECK(r.rf.eventq_cons() == 0x8000'0002u);
    r.wr(reg::EVENTQ_CONS, 0x7fff'ffff);
    CHECK(r.rd(reg::EVENTQ_CONS) == 0xfffff);

    // The SMMU side still moves PROD.
    r.rf.set_eventq_prod(6);
    CHECK(r.rd(reg::EVENTQ_PROD) == 6);

    r.wr(reg::CR0, 0);
    r.wr(reg::EVENTQ_PROD, 0);
    CHECK(r.rd(reg::EVENTQ_PROD) == 0);
}

TEST_CASE("64-bit registers: one 8-byte access or two 4-byte halves", "[registers]") {
    Regs r;
    SECTION("8-byte write, 8- and 4-byte reads") {
        r.wr(reg::STRTAB_BASE, 0xffff'ffff'ffff'ffffull, 8);
        CHECK(r.rd(reg::STRTAB_BASE, 8) == 0x400f'ffff'ffff'ffc0ull);  // RA[62], ADDR[51:6]
        CHECK(r.rd(reg::STRTAB_BASE) == 0xffff'ffc0u);
        CHECK(r.rd(reg::STRTAB_BASE + 4) == 0x400f'ffffu);
        CHECK(r.rf.stream_table().base == 0x000f'ffff'ffff'ffc0ull);
    }
    SECTION("two 4-byte writes, low then high") {
        r.wr(reg::CMDQ_BASE, 0x1234'5667);  // ADDR[31:5] | LOG2SIZE 7
        r.wr(reg::CMDQ_BASE + 4, 0x4000'00ab);
        CHECK(r.rd(reg::CMDQ_BASE, 8) == 0x4000'00ab'1234'5667ull);
        CHECK(r.rf.cmdq().base == 0x0000'00ab'1234'5660ull);
        CHECK(r.rf.cmdq().log2size == 7);
        // Writing one half leaves the other alone.
        r.wr(reg::CMDQ_BASE + 4, 0);
        CHECK(r.rd(reg::CMDQ_BASE, 8) == 0x1234'5667ull);
        r.wr(reg::CMDQ_BASE, 0x20);
        CHECK(r.rd(reg::CMDQ_BASE, 8) == 0x20ull);
    }
    SECTION("reserved high bits are masked in either form") {
        r.wr(reg::EVENTQ_BASE + 4, 0xffff'ffff);
        CHECK(r.rd(reg::EVENTQ_BASE, 8) == 0x400f'ffff'0000'0000ull);
        r.wr(reg::EVENTQ_IRQ_CFG0 + 4, 0xffff'ffff);
        r.wr(reg::EVENTQ_IRQ_CFG0, 0xffff'ffff);
        CHECK(r.rd(reg::EVENTQ_IRQ_CFG0, 8) == 0x000f'ffff'ffff'fffcull);
    }
}

TEST_CASE("Bad MMIO accesses are bus errors", "[registers]") {
    Regs r;
    uint64_t v = 0x55;
    WriteEffect e;
    // 8-byte accesses to 32-bit registers.
    for (uint32_t off : {reg::CR0, reg::IDR0, reg::GERROR, reg::CMDQ_PROD, reg::EVENTQ_PROD, reg::GBPA}) {
        CAPTURE(off);
        CHECK(r.rf.read(off, 8, v) == MmioStatus::BusError);
        CHECK(r.rf.write(off, 8, 0x1, e) == MmioStatus::BusError);
    }
    r.rf.write(reg::CR0, 8, 0x1, e);
    CHECK(r.rd(reg::CR0) == 0);  // the failed write changed nothing
    // Sizes other than 4 and 8.
    for (unsigned size : {1u, 2u, 3u, 16u}) {
        CAPTURE(size);
        CHECK(r.rf.read(reg::CR0, size, v) == MmioStatus::BusError);
        CHECK(r.rf.write(reg::CR0, size, 0x1, e) == MmioStatus::BusError);
    }
    // Misaligned.
    CHECK(r.rf.read(reg::CR0 + 2, 4, v) == MmioStatus::BusError);
    CHECK(r.rf.write(reg::CR0 + 1, 4, 1, e) == MmioStatus::BusError);
    CHECK(r.rf.read(reg::STRTAB_BASE + 4, 8, v) == MmioStatus::BusError);
    CHECK(r.rf.write(reg::CMDQ_BASE + 4, 8, 1, e) == MmioStatus::BusError);
    CHECK(r.rf.read(0x31, 4, v) == MmioStatus::BusError);  // reserved, still misaligned
    CHECK(r.rd(reg::CR0) == 0);
    CHECK(r.rd(reg::CMDQ_BASE, 8) == 0);
}

TEST_CASE("Reserved offsets are RAZ/WI, read-only registers ignore writes", "[registers]") {
    Regs r;
    for (uint32_t off : {0x30u, 0x3cu, reg::AGBPA, 0x58u, 0xc0u, 0xfffcu, 0x10000u, 0x100b0u, 0x1fffcu, 0x20000u}) {
        CAPTURE(off);
        WriteEffect e = r.wr(off, 0xffffffff);
        CHECK(e.ignored);
        CHECK_FALSE(e.cmdq_kick);
        CHECK(r.rd(off) == 0);
        // 0xc0 is PRIQ_BASE: RES0 without IDR0.PRI, but named (traces name it).
        CHECK(r.rf.name(off) == (off == 0xc0u ? "PRIQ_BASE" : "RESERVED"));
    }
    CHECK(r.rd(0x30, 8) == 0);
    CHECK(r.wr(0xc0, ~0ull, 8).ignored);

    const uint64_t idr0 = r.rd(reg::IDR0);
    for (uint32_t off : {reg::IDR0, reg::IDR1, reg::IDR5, reg::AIDR, reg::CR0ACK, reg::STATUSR, reg::IRQ_CTRLACK,
                         reg::GERROR}) {
        CAPTURE(off);
        const uint64_t before = r.rd(off);
        CHECK(r.wr(off, 0xa5a5a5a5).ignored);
        CHECK(r.rd(off) == before);
    }
    CHECK(r.rd(reg::IDR0) == idr0);
    CHECK(r.rd(reg::CR0ACK) == 0);
    CHECK(r.rd(reg::GERROR) == 0);
}

TEST_CASE("Register names", "[registers]") {
    CHECK(RegisterFile::name(reg::CR0) == "CR0");
    CHECK(RegisterFile::name(reg::STRTAB_BASE + 4) == "STRTAB_BASE");
    CHECK(RegisterFile::name(reg::EVENTQ_PROD) == "EVENTQ_PROD");
    CHECK(RegisterFile::name(reg::EVENTQ_PROD_ALIAS) == "EVENTQ_PROD");
    CHECK(RegisterFile::name(reg::GERRORN) == "GERRORN");
    CHECK(RegisterFile::name(0x44) == "GBPA");
}

TEST_CASE("stream_table() decodes STRTAB_BASE(_CFG)", "[registers]") {
    SECTION("linear") {
        Regs r;
        r.wr(reg::STRTAB_BASE, 0x0000'0001'0000'0000ull | 0x3f, 8);  // low 6 bits are not ADDR
        r.wr(reg::STRTAB_BASE_CFG, 10);
        const StreamTableConfig st = r.rf.stream_table();
        CHECK(st.base == 0x1'0000'0000ull);
        CHECK(st.log2size == 10);
        CHECK_FALSE(st.two_level);
        CHECK(st.split == 8);  // SPLIT=0 is not 6/8/10
    }
    SECTION("2-level, each legal SPLIT") {
        Regs r;
        for (unsigned split : {6u, 8u, 10u}) {
            r.wr(reg::STRTAB_BASE_CFG, (1u << 16) | (split << 6) | 16);
            const StreamTableConfig st = r.rf.stream_table();
            CHECK(st.two_level);
            CHECK(st.split == split);
            CHECK(st.log2size == 16);
        }
    }
    SECTION("invalid SPLIT reads as 8") {
        Regs r;
        for (unsigned split : {0u, 1u, 7u, 9u, 11u, 31u}) {
            CAPTURE(split);
            r.wr(reg::STRTAB_BASE_CFG, (1u << 16) | (split << 6) | 16);
            CHECK(r.rf.stream_table().split == 8);
        }
    }
    SECTION("FMT=2-level without IDR0.ST_LEVEL, or a reserved FMT, is linear") {
        SmmuCaps caps;
        caps.two_level_strtab = false;
        Regs r(caps);
        r.wr(reg::STRTAB_BASE_CFG, (1u << 16) | (6u << 6) | 8);
        CHECK_FALSE(r.rf.stream_table().two_level);
        CHECK(r.rf.stream_table().split == 6);
        Regs r2;
        r2.wr(reg::STRTAB_BASE_CFG, (2u << 16) | 8);
        CHECK_FALSE(r2.rf.stream_table().two_level);
    }
    SECTION("LOG2SIZE is 6 bits") {
        Regs r;
        r.wr(reg::STRTAB_BASE_CFG, 0xff);
        CHECK(r.rf.stream_table().log2size == 63);
        CHECK(r.rf.stream_table().split == 8);  // SPLIT = 3: invalid
    }
}

TEST_CASE("stream_table()'s decode is kept until STRTAB_BASE or STRTAB_BASE_CFG is written", "[registers]") {
    Regs r;
    // One decode, held by reference as the translation path holds it.
    const StreamTableConfig& st = r.rf.stream_table();
    CHECK(st.base == 0);  // reset values: linear, no entries, SPLIT 0 read as 8
    CHECK(st.log2size == 0);
    CHECK(st.split == 8);
    CHECK_FALSE(st.two_level);

    r.wr(reg::STRTAB_BASE, 0x8000'0000ull, 8);
    CHECK(st.base == 0x8000'0000ull);
    r.wr(reg::STRTAB_BASE + 4, 0x2);  // the upper word alone
    CHECK(st.base == 0x2'8000'0000ull);
    r.wr(reg::STRTAB_BASE_CFG, (1u << 16) | (6u << 6) | 12);
    CHECK(st.two_level);
    CHECK(st.split == 6);
    CHECK(st.log2size == 12);

    // Other registers leave it alone, the queues' bases included.
    r.wr(reg::CMDQ_BASE, 0x1000 | 8, 8);
    r.wr(reg::EVENTQ_BASE, 0x2000 | 8, 8);
    r.wr(reg::CR2, 2);
    CHECK(st.base == 0x2'8000'0000ull);
    CHECK(st.log2size == 12);

    // Ignored writes (SMMUEN=1) change neither the registers nor the decode.
    r.wr(reg::CR0, 1);
    CHECK(r.wr(reg::STRTAB_BASE_CFG, 10).ignored);
    CHECK(r.wr(reg::STRTAB_BASE, 0x4000, 8).ignored);
    CHECK(st.base == 0x2'8000'0000ull);
    CHECK(st.two_level);
    CHECK(st.log2size == 12);

    // Disabled again, a write takes effect at once.
    r.wr(reg::CR0, 0);
    r.wr(reg::STRTAB_BASE_CFG, 10);
    CHECK_FALSE(st.two_level);
    CHECK(st.log2size == 10);
    CHECK(st.split == 8);
}

TEST_CASE("Queue LOG2SIZE is capped at IDR1.CMDQS / EVENTQS", "[registers]") {
    Regs r({}, 8, 7);
    r.wr(reg::CMDQ_BASE, 0x1000 | 31, 8);
    r.wr(reg::EVENTQ_BASE, 0x2000 | 10, 8);
    CHECK(r.rd(reg::CMDQ_BASE, 8) == (0x1000 | 31));  // the register keeps what was written
    CHECK(r.rf.cmdq().log2size == 8);
    CHECK(r.rf.cmdq().base == 0x1000);
    CHECK(r.rf.eventq().log2size == 7);
    CHECK(r.rf.eventq().base == 0x2000);
    r.wr(reg::CMDQ_BASE, 0x1000 | 8, 8);
    r.wr(reg::EVENTQ_BASE, 0x2000 | 3, 8);
    CHECK(r.rf.cmdq().log2size == 8);
    CHECK(r.rf.eventq().log2size == 3);
    r.wr(reg::CMDQ_BASE, 0x1000, 8);
    CHECK(r.rf.cmdq().log2size == 0);
}

TEST_CASE("Command queue errors toggle GERROR.CMDQ_ERR and set CMDQ_CONS.ERR", "[registers]") {
    Regs r;
    r.wr(reg::CMDQ_CONS, 5);
    CHECK_FALSE(r.rf.cmdq_error_active());
    r.rf.raise_cmdq_error(CmdqError::Ill);
    CHECK(r.rd(reg::CMDQ_CONS) == ((1u << 24) | 5));
    CHECK(r.rd(reg::GERROR) == 1);
    CHECK(r.rf.cmdq_error_active());
    r.wr(reg::GERRORN, 1);
    CHECK_FALSE(r.rf.cmdq_error_active());
    r.rf.raise_cmdq_error(CmdqError::Abt);
    CHECK(r.rd(reg::GERROR) == 0);  // toggled back: differs from GERRORN again
    CHECK(r.rf.cmdq_error_active());
    CHECK(r.rd(reg::CMDQ_CONS) == ((2u << 24) | 5));
    r.rf.set_cmdq_cons(6);  // the SMMU moving CONS keeps ERR
    CHECK(r.rd(reg::CMDQ_CONS) == ((2u << 24) | 6));

    // Other GERROR bits toggle only when not already active.
    r.rf.raise_gerror(gerror::EVTQ_ABT_ERR);
    CHECK(r.rd(reg::GERROR) == 0x4);
    r.rf.raise_gerror(gerror::EVTQ_ABT_ERR);
    CHECK(r.rd(reg::GERROR) == 0x4);
    CHECK(r.rf.gerror_active(gerror::EVTQ_ABT_ERR));
    r.wr(reg::GERRORN, 0x5);  // acknowledges EVTQ_ABT_ERR, leaves CMDQ_ERR's bit as it was
    CHECK_FALSE(r.rf.gerror_active(gerror::EVTQ_ABT_ERR));
    CHECK(r.rf.cmdq_error_active());
    r.wr(reg::GERRORN, 0x4);
    CHECK_FALSE(r.rf.cmdq_error_active());
}

TEST_CASE("QueuePointer: index, wrap, full, empty", "[registers]") {
    using QP = QueuePointer;
    constexpr unsigned L = 3;  // 8 entries
    CHECK(QP::mask(L) == 0xf);
    CHECK(QP::mask(0) == 0x1);
    CHECK(QP::mask(19) == 0xfffff);
    CHECK(QP::index(0xd, L) == 5);
    CHECK(QP::wrap(0xd, L) == 1);
    CHECK(QP::wrap(0x5, L) == 0);
    CHECK(QP::next(0x6, L) == 0x7);
    CHECK(QP::next(0x7, L) == 0x8);  // index 7 -> 0, wrap 0 -> 1
    CHECK(QP::next(0xf, L) == 0x0);  // wrap 1 -> 0
    CHECK(QP::next(0x8000'000f, L) == 0);  // bits above the wrap are dropped

    CHECK(QP::empty(0, 0, L));
    CHECK(QP::empty(0xb, 0xb, L));
    CHECK_FALSE(QP::empty(0x3, 0xb, L));  // same index, different wrap: full, not empty
    CHECK(QP::full(0x3, 0xb, L));
    CHECK(QP::full(0x8, 0x0, L));
    CHECK_FALSE(QP::full(0x8, 0x8, L));
    CHECK_FALSE(QP::full(0x7, 0x0, L));
    // Flags above the wrap bit (OVFLG, ERR) do not count.
    CHECK(QP::empty(0x8000'0002, 0x0100'0002, L));
    CHECK(QP::full(0x8000'000a, 0x2, L));

    // Walk a whole lap: 8 nexts from 0 reach "full against 0", 16 return to 0.
    uint32_t p = 0;
    for (int i = 0; i < 8; ++i) {
        CHECK_FALSE(QP::full(p, 0, L));
        p = QP::next(p, L);
    }
    CHECK(p == 0x8);
    CHECK(QP::full(p, 0, L));
    for (int i = 0; i < 8; ++i) p = QP::next(p, L);
    CHECK(p == 0);
    CHECK(QP::empty(p, 0, L));
}

TEST_CASE("IDR0.STALL_MODEL, IDR0.HTTU and IDR3.STT report the capabilities the ILLEGAL rules use", "[registers][issue11]") {
    auto field = [](const Regs& r, uint32_t off, const FieldDef& f) {
        const uint64_t v = r.rd(off);
        return f.get(&v);
    };
    const Regs d;
    CHECK(field(d, reg::IDR0, idr0::STALL_MODEL) == 1);  // terminate only: no stalls modelled
    CHECK(field(d, reg::IDR0, idr0::HTTU) == 0);
    CHECK(field(d, reg::IDR3, idr3::STT) == 0);
    SmmuCaps caps;
    caps.stall_model = 2;
    caps.httu = 2;
    caps.stt = true;
    const Regs r(caps);
    CHECK(field(r, reg::IDR0, idr0::STALL_MODEL) == 2);
    CHECK(field(r, reg::IDR0, idr0::HTTU) == 2);
    CHECK(field(r, reg::IDR3, idr3::STT) == 1);
}
