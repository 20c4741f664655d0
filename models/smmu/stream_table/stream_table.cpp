#include "models/smmu/stream_table/stream_table.h"

#include <algorithm>
#include <optional>

#include "models/arch/registers.h"

namespace smmu {

using arch::EventId;
namespace ste = arch::ste;
namespace cd = arch::cd;

namespace {
Fault fault(EventId id, uint64_t fetch_addr = 0) {
    Fault f{id};
    f.fetch_addr = fetch_addr;
    return f;
}
}  // namespace

Expected<arch::Ste> StreamTable::fetch_ste(const StreamTableConfig& st, uint32_t sid, AccessLog& log) {
    // LOG2SIZE beyond IDR1.SIDSIZE behaves as SIDSIZE (IHI 0070 6.3.24).
    const unsigned log2size = std::min(st.log2size, caps_.sid_bits);
    if (log2size < 32 && (uint64_t{sid} >> log2size) != 0) return fault(EventId::C_BAD_STREAMID);

    uint64_t ste_addr = st.base + uint64_t{sid} * arch::Ste::kBytes;
    if (st.two_level) {
        const uint64_t l1_addr = st.base + (uint64_t{sid} >> st.split) * arch::L1StreamDescriptor::kBytes;
        arch::L1StreamDescriptor l1;
        const bool ok = mem_.read64(l1_addr, l1.w[0]);
        log.add({AccessKind::L1Std, 1, sid, l1_addr, l1.w[0], ok});
        if (!ok) return fault(EventId::F_STE_FETCH, l1_addr);
        // Span 0 marks an invalid L1 entry; Span > SPLIT+1 is ILLEGAL and treated
        // the same; a SID past the L2 table's 2^(Span-1) entries has no STE (5.3).
        const unsigned span = static_cast<unsigned>(l1.get(arch::l1std::Span));
        const uint64_t low = sid & ((uint64_t{1} << st.split) - 1);
        if (span == 0 || span > st.split + 1 || (low >> (span - 1)) != 0) return fault(EventId::C_BAD_STREAMID);
        ste_addr = l1.get(arch::l1std::L2Ptr) + low * arch::Ste::kBytes;
    }
    arch::Ste s;
    const bool ok = mem_.read_words(ste_addr, s.w.data(), arch::Ste::kDwords);
    log.add({AccessKind::Ste, 0, sid, ste_addr, s.w[0], ok});
    if (!ok) return fault(EventId::F_STE_FETCH, ste_addr);
    return s;
}

Expected<StreamConfig> StreamTable::decode_ste(const arch::Ste& s) const {
    const Fault bad{EventId::C_BAD_STE};
    if (!s.valid()) return bad;
    StreamConfig c;
    c.config = s.config();
    c.ppar = s.get(ste::PPAR);
    if (c.config == arch::SteConfig::Abort || c.config == arch::SteConfig::Bypass) return c;
    if ((s.stage1() && !caps_.s1p) || (s.stage2() && !caps_.s2p)) return bad;

    if (s.stage1()) {
        const auto fmt = s.get(ste::S1Fmt);
        if (fmt == 3 || (fmt != 0 && !caps_.cd2l)) return bad;
        c.cd_format = static_cast<arch::CdTableFormat>(fmt);
        c.s1cdmax = static_cast<unsigned>(s.get(ste::S1CDMax));
        if (c.s1cdmax > caps_.ssid_bits) return bad;
        const auto dss = s.get(ste::S1DSS);
        if (dss == 3) return bad;
        c.s1dss = static_cast<arch::S1Dss>(dss);
        c.cd_ptr = s.get(ste::S1ContextPtr);
        // IHI 0070 5.2 S1STALLD, 5.5: only a configurable stall model (STALL_MODEL 0b00)
        // lets software disable stage 1 stalls.
        c.s1stalld = s.get(ste::S1STALLD);
        if (c.s1stalld && caps_.stall_model != 0) return bad;
    }
    if (s.stage2()) {
        // AArch64 little-endian tables only (IDR0.TTF = AArch64, TTENDIAN = LE).
        if (!s.get(ste::S2AA64) || s.get(ste::S2ENDI)) return bad;
        const auto tg = s.get(ste::S2TG);
        if (tg == 3) return bad;
        StageParams& p = c.s2;
        p.stage = 2;
        p.granule = static_cast<arch::Granule>(tg);
        if (!caps_.granule_supported(p.granule)) return bad;
        // IHI 0070 5.2 S2T0SZ (ILLEGAL outside its range from SMMUv3.1): at least
        // MAX(16, 64 - IAS), where IAS = OAS (no AArch32 tables, 3.4); at most 39,
        // or 48 (47 with 64K) with small translation tables (IDR3.STT).
        const auto t0sz = static_cast<unsigned>(s.get(ste::S2T0SZ));
        const unsigned max_t0sz = !caps_.stt ? 39 : p.granule == arch::Granule::K64 ? 47 : 48;
        if (t0sz < 64 - std::min(caps_.oas, arch::kDescriptorOaBits) || t0sz > max_t0sz) return bad;
        p.ias = 64 - t0sz;
        // S2SL0 (a reserved encoding is ILLEGAL); the start level must resolve
        // between 1 table and 16 concatenated tables (5.2 S2SL0, S2T0SZ).
        const auto level = arch::s2sl0_start_level(p.granule, static_cast<unsigned>(s.get(ste::S2SL0)), caps_.stt);
        if (!level || !arch::s2_start_level_consistent(p.granule, p.ias, *level)) return bad;
        p.start_level = *level;
        const unsigned bits = p.ias - arch::level_shift(p.granule, p.start_level);
        const unsigned stride = arch::level_stride(p.granule);
        p.concat = bits > stride ? 1u << (bits - stride) : 1u;
        p.oas = std::min(arch::pa_bits(static_cast<unsigned>(s.get(ste::S2PS))), caps_.oas);
        p.ttb = s.get(ste::S2TTB);
        // IHI 0070 5.2 S2TTB / 3.4: a base beyond the effective S2PS (or 48 bits
        // without LPA) makes the STE ILLEGAL (C_BAD_STE), not an Address Size fault.
        if ((p.ttb >> std::min(p.oas, arch::kDescriptorOaBits)) != 0) return bad;
        p.affd = s.get(ste::S2AFFD);
        // IHI 0070 5.2 S2HA/S2HD: hardware flag updates need IDR0.HTTU (1: AF, 2: AF and dirty).
        if ((s.get(ste::S2HA) && caps_.httu < 1) || (s.get(ste::S2HD) && caps_.httu < 2)) return bad;
        // IHI 0070 5.5: STALL_MODEL 0b01 (terminate only) forbids S2S=1, 0b10 (stall forced) S2S=0.
        if (s.get(ste::S2S) ? caps_.stall_model == 1 : caps_.stall_model == 2) return bad;
        c.s2s = s.get(ste::S2S);
        c.vmid = static_cast<uint16_t>(s.get(ste::S2VMID) & (caps_.vmid16 ? 0xffff : 0xff));
    }
    // STE.EATS (IHI 0070 5.2), used only when the STE translates and the SMMU
    // has ATS: 0b10 (Split-stage ATS) is ILLEGAL with IDR0.NS1ATS 1, as this
    // SMMU advertises; 0b11 is reserved without DPT and behaves as 0b00;
    // 0b01 is ILLEGAL on a stage 2 or nested STE with S2S=1.
    const auto eats = s.get(ste::EATS);
    if (caps_.ats && (s.stage1() || s.stage2())) {
        if (eats == 2) return bad;
        if (eats == 1 && s.stage2() && s.get(ste::S2S)) return bad;
    }
    c.ats = eats == 1;
    return c;
}

Expected<uint64_t> StreamTable::cd_table_pa(const StreamConfig& sc, uint64_t addr, Walker& walker) {
    if (sc.config != arch::SteConfig::Nested) return addr;
    // IHI 0070 3.4.3: with stage 2 enabled, S1ContextPtr and L1CD.L2Ptr are IPAs.
    StageResult r = walker.walk_s2(sc.s2, addr, arch::FaultClass::CD, false, false);
    if (!r.ok) return r.fault;
    return r.leaf.oa;
}

Expected<arch::ContextDescriptor> StreamTable::fetch_cd(const StreamConfig& sc, uint32_t ssid, Walker& walker,
                                                        AccessLog& log) {
    uint64_t cd_addr = sc.cd_ptr + uint64_t{ssid} * arch::ContextDescriptor::kBytes;
    if (sc.cd_format != arch::CdTableFormat::Linear) {
        // A 4K leaf table holds 64 CDs, a 64K one 1024 (STE.S1Fmt).
        const unsigned split = sc.cd_format == arch::CdTableFormat::TwoLevel4K ? 6 : 10;
        const uint64_t l1_ipa = sc.cd_ptr + (uint64_t{ssid} >> split) * arch::L1CdDescriptor::kBytes;
        auto l1_pa = cd_table_pa(sc, l1_ipa, walker);
        if (!l1_pa.ok()) return l1_pa.fault();
        arch::L1CdDescriptor l1;
        const bool ok = mem_.read64(l1_pa.value(), l1.w[0]);
        log.add({AccessKind::L1Cd, 1, ssid, l1_pa.value(), l1.w[0], ok});
        if (!ok) return fault(EventId::F_CD_FETCH, l1_pa.value());
        if (!l1.get(arch::l1cd::V)) return fault(EventId::C_BAD_SUBSTREAMID);
        cd_addr = l1.get(arch::l1cd::L2Ptr) + (ssid & ((uint64_t{1} << split) - 1)) * arch::ContextDescriptor::kBytes;
    }
    auto pa = cd_table_pa(sc, cd_addr, walker);
    if (!pa.ok()) return pa.fault();
    arch::ContextDescriptor d;
    const bool ok = mem_.read_words(pa.value(), d.w.data(), arch::ContextDescriptor::kDwords);
    log.add({AccessKind::Cd, 0, ssid, pa.value(), d.w[0], ok});
    if (!ok) return fault(EventId::F_CD_FETCH, pa.value());
    return d;
}

Expected<ContextConfig> StreamTable::decode_cd(const arch::ContextDescriptor& d, bool s1stalld) const {
    const Fault bad{EventId::C_BAD_CD};
    // AArch64 little-endian tables only (IHI 0070 5.4).
    if (!d.valid() || !d.get(cd::AA64) || d.get(cd::ENDI)) return bad;
    // IHI 0070 5.4 HA/HD: ILLEGAL beyond what IDR0.HTTU advertises.
    if ((d.get(cd::HA) && caps_.httu < 1) || (d.get(cd::HD) && caps_.httu < 2)) return bad;
    // IHI 0070 5.5: CD.S=1 needs a stall model that allows it and an STE that does
    // not disable stage 1 stalls; a forced stall model (0b10) needs S=1.
    if (d.get(cd::S) ? caps_.stall_model == 1 || (caps_.stall_model == 0 && s1stalld) : caps_.stall_model == 2)
        return bad;
    // IHI 0070 5.4 ASID: with 8-bit ASIDs (IDR0.ASID16=0) ASID[15:8] must be zero.
    if (!caps_.asid16 && (d.get(cd::ASID) >> 8) != 0) return bad;
    // IPS beyond OAS behaves as OAS (IHI 0070 5.4, CD.IPS).
    const unsigned oas = std::min(arch::pa_bits(static_cast<unsigned>(d.get(cd::IPS))), caps_.oas);
    // One VA range from its TxSZ, granule, TTBx and TBIx; false: ILLEGAL.
    auto range = [&](uint64_t tsz, std::optional<arch::Granule> g, uint64_t ttb, bool tbi, bool upper, StageParams& p) {
        p.stage = 1;
        if (!g || !caps_.granule_supported(*g)) return false;
        p.granule = *g;
        // IHI 0070 5.4 T0SZ: 16 up to 39, or 48 (47 with 64K) with small translation
        // tables (IDR3.STT); outside that ILLEGAL from SMMUv3.1 (AIDR says 3.1).
        const unsigned max_tsz = !caps_.stt ? 39 : *g == arch::Granule::K64 ? 47 : 48;
        if (tsz < 16 || tsz > max_tsz) return false;
        p.ias = 64 - static_cast<unsigned>(tsz);
        p.start_level = stage1_start_level(p.granule, p.ias);
        p.oas = oas;
        p.ttb = ttb;
        // IHI 0070 5.4 TTBx / 3.4: a base beyond the effective IPS (or 48 bits without
        // LPA) makes the CD ILLEGAL (C_BAD_CD), not an Address Size fault.
        if ((p.ttb >> std::min(p.oas, arch::kDescriptorOaBits)) != 0) return false;
        p.affd = d.get(cd::AFFD);
        p.tbi = tbi;
        p.upper = upper;
        return true;
    };
    // TG0: 0 4K, 1 64K, 2 16K (3 reserved); TG1: 1 16K, 2 4K, 3 64K (0 reserved).
    // A reserved granule makes the CD ILLEGAL here (CONSTRAINED UNPREDICTABLE).
    auto tg0 = [](uint64_t v) -> std::optional<arch::Granule> {
        if (v == 3) return std::nullopt;
        return static_cast<arch::Granule>(v);
    };
    ContextConfig c;
    c.epd0 = d.get(cd::EPD0);
    c.epd1 = d.get(cd::EPD1);
    // With EPDx set, the range's TxSZ, TGx, IRx, ORx, SHx and TTBx are IGNORED
    // (IHI 0070 5.4; Linux's arm_smmu_get_cd_used drops them): EPD1 is how
    // Linux's CDs leave TTB1 at 0, EPD0 how a TTB1-only CD leaves TTB0.
    if (!c.epd0 && !range(d.get(cd::T0SZ), tg0(d.get(cd::TG0)), d.get(cd::TTB0), d.get(cd::TBI0), false, c.s1))
        return bad;
    if (!c.epd1 && !range(d.get(cd::T1SZ), cd::tg1_granule(d.get(cd::TG1)), d.get(cd::TTB1), d.get(cd::TBI1), true, c.s1_upper))
        return bad;
    c.asid = static_cast<uint16_t>(d.get(cd::ASID));
    c.stall = d.get(cd::S);
    return c;
}

}  // namespace smmu
