#include "testbenches/config/model_params.h"

namespace smmu::sim {

namespace {
CacheParams cache_params(const SmmuParams& s, const std::string& name) {
    CacheParams p;
    auto it = s.caches.find(name);
    if (it == s.caches.end()) return p;  // absent: entries 0
    const CacheConfig& c = it->second;
    p.geometry.entries = c.entries;
    p.geometry.ways = c.ways ? c.ways : c.entries;
    p.geometry.policy = replacement_from_name(c.policy).value_or(Replacement::Lru);
    p.latency = c.latency;
    return p;
}
}  // namespace

SmmuCoreParams core_params(const Config& cfg) {
    const SmmuParams& s = cfg.smmu;
    SmmuCoreParams p;
    p.caps.oas = s.oas;
    p.caps.sid_bits = s.sid_bits;
    p.caps.ssid_bits = s.ssid_bits;
    p.caps.vmid16 = s.vmid16;
    p.cmdq_max_log2 = 19;
    p.eventq_max_log2 = 19;
    // smmu.idr: what the SMMU advertises, and the capabilities behind it (a
    // field the model acts on is a capability, so it behaves as it says).
    for (const IdrSetting& f : s.idr) {
        p.idr.push_back({f.offset, f.mask, static_cast<uint32_t>(f.value << f.lsb)});
        const bool on = f.value != 0;
        const unsigned v = static_cast<unsigned>(f.value);
        if (f.field == "S1P") p.caps.s1p = on;
        else if (f.field == "S2P") p.caps.s2p = on;
        else if (f.field == "ATS") p.caps.ats = on;
        else if (f.field == "ASID16") p.caps.asid16 = on;
        else if (f.field == "CD2L") p.caps.cd2l = on;
        else if (f.field == "ST_LEVEL") p.caps.two_level_strtab = on;
        else if (f.field == "GRAN4K") p.caps.gran4k = on;
        else if (f.field == "GRAN16K") p.caps.gran16k = on;
        else if (f.field == "GRAN64K") p.caps.gran64k = on;
        else if (f.field == "STALL_MODEL") p.caps.stall_model = v;
        else if (f.field == "STALL_MAX") p.caps.stall_max = v;
        else if (f.field == "PRI") p.caps.pri = on;
        else if (f.field == "PRIQS") p.caps.priq_max_log2 = v;
        else if (f.field == "HTTU") p.caps.httu = v;
        else if (f.field == "STT") p.caps.stt = on;
        else if (f.field == "CMDQS") p.cmdq_max_log2 = v;
        else if (f.field == "EVENTQS") p.eventq_max_log2 = v;
    }
    MicroArchParams& u = p.uarch;
    u.clock_mhz = s.clock_mhz;
    u.iotlb = cache_params(s, "iotlb");
    u.config = cache_params(s, "config");
    u.ipa = cache_params(s, "ipa");
    u.utlb = cache_params(s, "utlb");
    for (unsigned i = 0; i < 8; ++i) u.walk[i] = cache_params(s, walk_cache_name(i));
    u.translation_slots = s.translation_slots;
    u.walk_slots = s.walk_slots;
    u.tlb_ports = s.tlb_ports;
    u.walk_port_bytes = s.walk_port_bytes;
    u.pipeline_cycles = s.pipeline_cycles;
    u.cmd_cycles = s.cmd_cycles;
    u.inv_cycles = s.inv_cycles;
    u.seed = cfg.seed;
    return p;
}

}  // namespace smmu::sim
