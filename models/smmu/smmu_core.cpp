#include "models/smmu/smmu_core.h"

namespace smmu {

using arch::Opcode;

SmmuCore::SmmuCore(MemoryPort& mem, const SmmuCoreParams& p)
    : mem_(mem),
      regs_(p.caps, p.cmdq_max_log2, p.eventq_max_log2),
      cmdq_(mem, regs_),
      eventq_(mem, regs_),
      translator_(mem, regs_.caps()) {}

CommandQueue::Step SmmuCore::cmdq_step() {
    CommandQueue::Step s = cmdq_.step(*this);
    if (s.kind == CommandQueue::Step::Kind::Error) ++stats_.command_errors;
    return s;
}

void SmmuCore::execute(const arch::Command& c) {
    ++stats_.commands[c.opcode()];
    // This SMMU caches no configuration or translations yet, so CFGI_*, TLBI_*
    // and PREFETCH_* have nothing to act on; commands complete in order, so a
    // SYNC completes as soon as it is consumed (IHI 0070 4.7.3).
    if (static_cast<Opcode>(c.opcode()) == Opcode::SYNC &&
        c.get(arch::cmd::CS) == static_cast<uint64_t>(arch::SyncCs::Irq) && c.get(arch::cmd::MSIAddr) != 0) {
        const uint32_t data = static_cast<uint32_t>(c.get(arch::cmd::MSIData));
        if (mem_.write(c.get(arch::cmd::MSIAddr), &data, 4))
            ++stats_.sync_msis;
        else
            // An aborted CMD_SYNC MSI is reported in GERROR.MSI_CMDQ_ABT_ERR (IHI 0070 6.3.11).
            regs_.raise_gerror(arch::gerror::MSI_CMDQ_ABT_ERR);
    }
}

TranslationResult SmmuCore::translate(const TranslationRequest& req, AccessLog& log) {
    ++stats_.transactions;
    TranslationResult r;
    if (!regs_.smmu_enabled()) {
        // SMMUEN=0: GBPA decides, without events (IHI 0070 6.3.14); an input
        // beyond the OAS aborts, also without an event (IHI 0070 3.4).
        const bool beyond_oas = caps().oas < 64 && (req.iova >> caps().oas) != 0;
        r.outcome = regs_.gbpa_abort() || beyond_oas ? TranslationResult::Outcome::Aborted
                                                     : TranslationResult::Outcome::Bypassed;
        r.pa = r.ipa = req.iova;
        r.perms = {true, true, true};
    } else {
        const unsigned walk_before = log.walk_reads, config_before = log.config_reads;
        r = translator_.translate(regs_.stream_table(), req, log);
        stats_.walk_reads += log.walk_reads - walk_before;
        stats_.config_reads += log.config_reads - config_before;
        stats_.config_cache_misses += log.config_reads != config_before;
        stats_.tlb_misses += log.walk_reads != walk_before;
    }
    switch (r.outcome) {
        case TranslationResult::Outcome::Translated: ++stats_.translated; break;
        case TranslationResult::Outcome::Bypassed: ++stats_.bypassed; break;
        case TranslationResult::Outcome::Aborted: ++stats_.aborted; break;
        case TranslationResult::Outcome::Faulted: {
            ++stats_.faults;
            // CR2.RECINVSID=0: C_BAD_STREAMID is not recorded; the transaction is
            // still terminated (IHI 0070 6.3.4).
            if (r.fault.id == arch::EventId::C_BAD_STREAMID && !regs_.record_invalid_sid()) break;
            bool msi = false;
            switch (eventq_.record(make_event(req, r.fault), msi)) {
                case EventQueue::Outcome::Written: ++stats_.events[static_cast<uint8_t>(r.fault.id)]; break;
                case EventQueue::Outcome::Disabled: ++stats_.events_dropped_disabled; break;
                case EventQueue::Outcome::Overflow: ++stats_.events_dropped_overflow; break;
                case EventQueue::Outcome::WriteAbort: break;
            }
            stats_.event_msis += msi;
            break;
        }
    }
    return r;
}

}  // namespace smmu
