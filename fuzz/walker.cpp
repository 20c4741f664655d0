// The translator over random memory: a window of STEs, CDs and descriptors
// pointing into it, random capabilities and stream-table layout, random
// requests. Invariants: no crash or hang; the uncached walk is deterministic;
// a TranslationUnit with caches gives the uncached result for every request
// when it only ever sees one stream (memory never changes here). Caches shared
// by several streams may legitimately differ: two STEs with one VMID but
// different stage 2 tables are the software's error (IHI 0070 5.2, VMID use).
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "fuzz/common.h"

using namespace smmu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    const SmmuCaps caps = fuzz::random_caps(in);
    const MicroArchParams uarch = fuzz::random_uarch(in);
    SparseMemory mem(caps.oas);
    // Mostly a valid setup with a few random changes, else random layout.
    const uint8_t shape = in.u8();
    const StreamTableConfig st = shape & 3 ? fuzz::build_setup(mem, in) : fuzz::random_strtab(in);
    fuzz::fill_memory(mem, in, shape & 3 ? in.below(4) : 1 + in.below(64));

    Translator plain(mem, caps);
    TranslationUnit shared(mem, caps, uarch);
    using Stream = std::tuple<uint32_t, bool, uint32_t>;
    std::map<Stream, std::unique_ptr<TranslationUnit>> own;
    Cycle now = 0;
    std::vector<MemAccess> trace;
    for (unsigned n = 0; n < 64 && !in.done(); ++n) {
        const TranslationRequest req = fuzz::random_request(in);
        trace.clear();
        AccessLog log{&trace};
        const TranslationResult r = plain.translate(st, req, log);
        FUZZ_CHECK(log.walk_reads + log.config_reads == trace.size(), "access log count");
        FUZZ_CHECK(log.walk_reads + log.config_reads < 1000, "an unbounded walk");
        AccessLog again_log;
        const TranslationResult again = plain.translate(st, req, again_log);
        FUZZ_CHECK(fuzz::same_result(r, again), "the uncached walk is not deterministic");
        if (r.ok()) FUZZ_CHECK(r.size != 0, "a translation without a size");
        fuzz::count(r.outcome == TranslationResult::Outcome::Translated ? "translated"
                    : r.outcome == TranslationResult::Outcome::Faulted ? "faulted" : "bypassed/aborted");
        if (r.ok()) fuzz::count(r.s1_level || r.s2_level ? "translated below level 0" : "ok");

        now += in.below(50);
        AccessLog shared_log;
        (void)shared.translate(st, req, in.below(2), now, shared_log);

        auto& unit = own[Stream{req.sid, req.ssv, req.ssv ? req.ssid : 0}];
        if (!unit) unit = std::make_unique<TranslationUnit>(mem, caps, uarch);
        AccessLog unit_log;
        const TimedTranslation t = unit->translate(st, req, 0, now, unit_log);
        FUZZ_CHECK(t.done >= now, "a translation completing before it arrived");
        if (!fuzz::same_result(r, t.result)) {
            char msg[256];
            std::snprintf(msg, sizeof msg,
                          "cached != uncached for SID 0x%x SSV %d SSID 0x%x IOVA 0x%llx: outcome %d/%d PA 0x%llx/0x%llx",
                          req.sid, req.ssv, req.ssid, static_cast<unsigned long long>(req.iova),
                          static_cast<int>(t.result.outcome), static_cast<int>(r.outcome),
                          static_cast<unsigned long long>(t.result.pa), static_cast<unsigned long long>(r.pa));
            fuzz::fail(msg);
        }
    }
    return 0;
}
