// Configuration: stream table (linear or 2-level) -> STE, CD table (linear or
// 2-level, through stage 2 when nested) -> CD, and their decoding into the
// parameters the walker uses (IHI 0070 3.3, 5.2-5.5). An entry the SMMU cannot
// use becomes C_BAD_STE / C_BAD_CD / C_BAD_STREAMID / C_BAD_SUBSTREAMID.
#pragma once
#include <cstdint>

#include "models/arch/cd.h"
#include "models/arch/ste.h"
#include "models/memory/memory_port.h"
#include "models/smmu/translation/types.h"
#include "models/smmu/walker/walker.h"

namespace smmu {

// The ID-register facts that decide which structure contents are legal.
struct SmmuCaps {
    unsigned oas = 48;        // IDR5.OAS in bits
    unsigned sid_bits = 16;   // IDR1.SIDSIZE
    unsigned ssid_bits = 20;  // IDR1.SSIDSIZE
    bool s1p = true, s2p = true;
    bool vmid16 = true, asid16 = true;
    bool cd2l = true;         // 2-level CD tables
    bool two_level_strtab = true;
    bool gran4k = true, gran16k = true, gran64k = true;
    bool ats = true;
    bool pri = false;             // IDR0.PRI: a PRI queue (models/smmu/priq)
    unsigned priq_max_log2 = 19;  // IDR1.PRIQS
    // IDR0.STALL_MODEL: 0 stall or terminate, 1 terminate only, 2 stall forced.
    // It decides which STE/CD contents are ILLEGAL (IHI 0070 5.2, 5.5) and
    // whether a faulting transaction may stall (models/smmu/stall).
    unsigned stall_model = 1;
    unsigned stall_max = 16;      // IDR5.STALL_MAX: stalled transactions the SMMU can hold
    // Advertised in IDR0/IDR3 and not implemented, so they only decide which
    // STE/CD contents are ILLEGAL (IHI 0070 5.2, 5.4): the rules read these
    // values, whatever the ID registers are later made to say.
    unsigned httu = 0;         // IDR0.HTTU: 0 none, 1 access flag, 2 access flag and dirty state
    bool stt = false;          // IDR3.STT: small translation tables (TxSZ up to 48)
    bool granule_supported(arch::Granule g) const {
        return g == arch::Granule::K4 ? gran4k : g == arch::Granule::K16 ? gran16k : gran64k;
    }
};

// STRTAB_BASE / STRTAB_BASE_CFG as the SMMU latched them.
struct StreamTableConfig {
    uint64_t base = 0;
    unsigned log2size = 0;
    unsigned split = 8;
    bool two_level = false;
};

// A decoded, validated STE.
struct StreamConfig {
    arch::SteConfig config = arch::SteConfig::Abort;
    // Stage 1: where the CDs are.
    uint64_t cd_ptr = 0;
    arch::CdTableFormat cd_format = arch::CdTableFormat::Linear;
    unsigned s1cdmax = 0;
    arch::S1Dss s1dss = arch::S1Dss::Terminate;
    // Stage 2.
    StageParams s2;
    uint16_t vmid = 0;
    bool ats = false;  // EATS != 0
    bool s1stalld = false;  // stage 1 stalls disabled: decides whether a CD with S=1 is legal
    bool s2s = false;       // stage 2 faults stall (IHI 0070 5.2 S2S)
    bool ppar = false;      // PASID on automatic PRG responses (IHI 0070 5.2 PPAR, 8.1)
};

// A decoded, validated CD.
struct ContextConfig {
    StageParams s1;        // the lower VA range: TTB0, T0SZ, TG0, TBI0
    StageParams s1_upper;  // the upper VA range: TTB1, T1SZ, TG1, TBI1 (when !epd1)
    uint16_t asid = 0;
    bool epd0 = false;     // no walks of TTB0
    bool epd1 = true;      // no walks of TTB1
    bool stall = false;    // CD.S: stage 1 faults stall (IHI 0070 5.4)
};

class StreamTable {
public:
    StreamTable(MemoryPort& mem, const SmmuCaps& caps) : mem_(mem), caps_(caps) {}

    Expected<arch::Ste> fetch_ste(const StreamTableConfig& st, uint32_t sid, AccessLog& log);
    Expected<StreamConfig> decode_ste(const arch::Ste& ste) const;

    // Fetches the CD for `ssid`; in nested mode every CD-table address is an
    // IPA translated through `walker` (stage 2 faults report CLASS=CD).
    Expected<arch::ContextDescriptor> fetch_cd(const StreamConfig& sc, uint32_t ssid, Walker& walker,
                                               AccessLog& log);
    // `s1stalld`: the STE.S1STALLD of the stream the CD was reached from (IHI 0070 5.5).
    Expected<ContextConfig> decode_cd(const arch::ContextDescriptor& cd, bool s1stalld = false) const;

    const SmmuCaps& caps() const { return caps_; }

private:
    // CD-table address -> PA (identity unless nested).
    Expected<uint64_t> cd_table_pa(const StreamConfig& sc, uint64_t addr, Walker& walker);

    MemoryPort& mem_;
    const SmmuCaps& caps_;
};

}  // namespace smmu
