#include "testbenches/cli/translate.h"

#include <cstdio>
#include <memory>

#include "models/memory/sparse_memory.h"
#include "models/smmu/smmu_core.h"
#include "testbenches/cli/decode.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/model_params.h"
#include "testbenches/host/direct_bus.h"

namespace smmu::sim {

TranslateWalk translate_cold(const Config& cfg, const TranslateRequest& tr) {
    TranslateWalk out;
    out.device = cfg.find_device(tr.device);
    if (!out.device) throw InputError("--device: unknown device '" + tr.device + "'");
    SparseMemory mem(cfg.memory.pa_bits);
    // Every instance is programmed (an S2 may be shared between them).
    std::vector<std::unique_ptr<SmmuCore>> cores;
    std::vector<std::unique_ptr<DirectBus>> buses;
    std::vector<HostBus*> bus_ptrs;
    for (std::size_t i = 0; i < cfg.smmus.size(); ++i) {
        cores.push_back(std::make_unique<SmmuCore>(mem, core_params(cfg)));
        buses.push_back(std::make_unique<DirectBus>(*cores.back(), mem));
        bus_ptrs.push_back(buses.back().get());
    }
    HostDriver driver(bus_ptrs, cfg);
    driver.reset();
    driver.install();
    const int index = cfg.smmu_index(out.device->smmu);
    SmmuCore& core = *cores.at(index < 0 ? 0 : index);

    TranslationRequest& req = out.request;
    req.sid = out.device->sid;
    req.ssv = tr.ssv;
    req.ssid = tr.ssid;
    req.iova = tr.iova;
    req.write = tr.write;
    AccessLog log;
    log.trace = &out.reads;
    out.result = core.translate(req, log);
    out.walk_reads = log.walk_reads;
    out.config_reads = log.config_reads;
    return out;
}

int translate_command(const Config& cfg, const TranslateRequest& tr, std::ostream& out) {
    const TranslateWalk walk = translate_cold(cfg, tr);
    const DeviceConfig* dev = walk.device;
    const TranslationResult& r = walk.result;
    char line[160];
    std::snprintf(line, sizeof line, "%s (SID %s) %s %s%s\n", dev->name.c_str(), hex(dev->sid).c_str(),
                  tr.write ? "W" : "R", hex(tr.iova).c_str(),
                  tr.ssv ? (" ssid=" + std::to_string(tr.ssid)).c_str() : "");
    out << line;
    out << "  step  what     level  input               descriptor at       value\n";
    unsigned n = 0;
    for (const MemAccess& a : walk.reads) {
        const bool walk = !is_config_access(a.kind);
        std::snprintf(line, sizeof line, "  %4u  %-6s  %5s  %-18s  %-18s  %s%s\n", ++n,
                      std::string(access_kind_name(a.kind)).c_str(), walk ? std::to_string(a.level).c_str() : "-",
                      hex(a.input).c_str(), hex(a.pa).c_str(), hex(a.value).c_str(), a.ok ? "" : "  (abort)");
        out << line;
    }
    out << "  reads: " << walk.walk_reads << " table walk, " << walk.config_reads << " configuration\n";
    switch (r.outcome) {
        case TranslationResult::Outcome::Translated:
        case TranslationResult::Outcome::Bypassed:
            std::snprintf(line, sizeof line, "  result: %s PA %s (IPA %s, leaf %s, %c%c%c)\n",
                          r.outcome == TranslationResult::Outcome::Bypassed ? "bypass" : "translated",
                          hex(r.pa).c_str(), hex(r.ipa).c_str(), hex(r.size).c_str(), r.perms.read ? 'r' : '-',
                          r.perms.write ? 'w' : '-', r.perms.exec ? 'x' : '-');
            out << line;
            return 0;
        case TranslationResult::Outcome::Aborted:
            out << "  result: aborted without event (STE.Config = abort, or SMMU disabled with GBPA.ABORT)\n";
            return 1;
        case TranslationResult::Outcome::Faulted: {
            const arch::EventRecord e = make_event(walk.request, r.fault);
            std::vector<std::string> words;
            for (uint64_t w : e.w) words.push_back(hex(w));
            out << "  result: fault " << arch::event_name(r.fault.id) << "\n  event: " << decode("event", words).dump()
                << "\n";
            return 1;
        }
    }
    return 1;
}

}  // namespace smmu::sim
