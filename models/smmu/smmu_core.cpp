#include "models/smmu/smmu_core.h"

#include <algorithm>

namespace smmu {

using arch::Opcode;

bool is_invalidation(Opcode op) {
    switch (op) {
        case Opcode::CFGI_STE:
        case Opcode::CFGI_STE_RANGE:
        case Opcode::CFGI_CD:
        case Opcode::CFGI_CD_ALL:
        case Opcode::TLBI_NH_ALL:
        case Opcode::TLBI_NH_ASID:
        case Opcode::TLBI_NH_VA:
        case Opcode::TLBI_NH_VAA:
        case Opcode::TLBI_EL2_ALL:
        case Opcode::TLBI_EL2_ASID:
        case Opcode::TLBI_EL2_VA:
        case Opcode::TLBI_EL2_VAA:
        case Opcode::TLBI_S12_VMALL:
        case Opcode::TLBI_S2_IPA:
        case Opcode::TLBI_NSNH_ALL:
        case Opcode::ATC_INV: return true;
        default: return false;
    }
}

SmmuCore::SmmuCore(MemoryPort& mem, const SmmuCoreParams& p)
    : regs_(p.caps, p.cmdq_max_log2, p.eventq_max_log2, p.idr),
      unit_(mem, regs_.caps(), p.uarch),
      cmdq_(unit_.port(), regs_),
      eventq_(unit_.port(), regs_) {}

CommandQueue::Step SmmuCore::cmdq_step(Cycle now, Cycle* done, bool defer_cons) {
    Cycle t = now;
    cmd_clock_ = &t;
    unit_.port().set_cursor(&t);
    CommandQueue::Step s = cmdq_.step(*this, defer_cons);
    unit_.port().set_cursor(nullptr);
    cmd_clock_ = nullptr;
    if (s.kind == CommandQueue::Step::Kind::Error) ++stats_.command_errors;
    if (s.kind == CommandQueue::Step::Kind::Executed) {
        const auto op = static_cast<Opcode>(s.cmd.opcode());
        t += unit_.params().cmd_cycles + (is_invalidation(op) ? unit_.params().inv_cycles : 0);
        if (op == Opcode::SYNC) {
            ++stats_.syncs;
            stats_.sync_cycles_total += t - now;
            stats_.sync_cycles_max = std::max(stats_.sync_cycles_max, t - now);
        }
    }
    if (recorder_ && s.kind != CommandQueue::Step::Kind::Idle) recorder_->command(s, now, t);
    if (done) *done = t;
    return s;
}

void SmmuCore::execute(const arch::Command& c) {
    ++stats_.commands[c.opcode()];
    recent_.push_back(c);
    if (recent_.size() > kRecentCommands) recent_.pop_front();
    const auto op = static_cast<Opcode>(c.opcode());
    if (op == Opcode::PREFETCH_CONFIG || op == Opcode::PREFETCH_ADDR) {
        unit_.prefetch(regs_.stream_table(), c, cmd_clock_);
        return;
    }
    if (op != Opcode::SYNC) {
        // Without range invalidation (IDR3.RIL 0) TG, NUM, SCALE and TTL are
        // RES0 (IHI 0070 4.4.1): one address, whatever software wrote there.
        arch::Command inv = c;
        const bool ranged = op == Opcode::TLBI_NH_VA || op == Opcode::TLBI_NH_VAA || op == Opcode::TLBI_EL2_VA ||
                            op == Opcode::TLBI_EL2_VAA || op == Opcode::TLBI_S2_IPA;
        if (ranged && !regs_.id_field(arch::reg::IDR3, arch::idr3::RIL))
            for (const arch::FieldDef& f : {arch::cmd::TG, arch::cmd::NUM, arch::cmd::SCALE, arch::cmd::TTL}) inv.set(f, 0);
        stats_.invalidated_entries += unit_.invalidate(inv);
        return;
    }
    // CMD_SYNC completes when every earlier command has (they run in order)
    // and every translation accepted before it has finished, so none can
    // still use an entry an earlier invalidation removed (IHI 0070 4.7.3).
    if (cmd_clock_) *cmd_clock_ = std::max(*cmd_clock_, unit_.busy_until());
    // An SMMU without MSIs (IDR0.MSI 0) signals CS=IRQ on its wired interrupt: no write.
    if (c.get(arch::cmd::CS) == static_cast<uint64_t>(arch::SyncCs::Irq) && c.get(arch::cmd::MSIAddr) != 0 &&
        regs_.id_field(arch::reg::IDR0, arch::idr0::MSI)) {
        const uint32_t data = static_cast<uint32_t>(c.get(arch::cmd::MSIData));
        if (unit_.port().write(c.get(arch::cmd::MSIAddr), &data, 4))
            ++stats_.sync_msis;
        else
            // An aborted CMD_SYNC MSI is reported in GERROR.MSI_CMDQ_ABT_ERR (IHI 0070 6.3.11).
            regs_.raise_gerror(arch::gerror::MSI_CMDQ_ABT_ERR);
    }
}

TranslationResult SmmuCore::global_bypass(const TranslationRequest& req) const {
    // SMMUEN=0: GBPA decides, without events (IHI 0070 6.3.14); an input
    // beyond the OAS aborts, also without an event (IHI 0070 3.4).
    TranslationResult r;
    const bool beyond_oas = caps().oas < 64 && (req.iova >> caps().oas) != 0;
    r.outcome = regs_.gbpa_abort() || beyond_oas ? TranslationResult::Outcome::Aborted
                                                 : TranslationResult::Outcome::Bypassed;
    r.pa = r.ipa = req.iova;
    r.size = arch::granule_bytes(arch::Granule::K4);
    r.perms = r.priv = r.unpriv = {true, true, true};
    return r;
}

TranslationResult SmmuCore::translate_debug(const TranslationRequest& req, MemoryPort& mem,
                                            TranslationContext* ctx) const {
    if (!regs_.smmu_enabled()) return global_bypass(req);
    Translator walker(mem, caps());
    AccessLog log;
    return walker.translate(regs_.stream_table(), req, log, ctx);
}

TranslationResult SmmuCore::translate(const TranslationRequest& req, AccessLog& log, unsigned port, Cycle arrival,
                                      Cycle* done, Cycle* accepted) {
    ++stats_.transactions;
    const bool enabled = regs_.smmu_enabled();
    const unsigned walk_before = log.walk_reads, config_before = log.config_reads;
    // Built in place either way (C++17 copy elision); SMMUEN=0 has no translation.
    const TimedTranslation tt =
        enabled ? unit_.translate(regs_.stream_table(), req, port, arrival, log) : TimedTranslation{};
    TranslationResult r;
    Cycle t = arrival;
    if (accepted) *accepted = arrival;
    if (!enabled) {
        r = global_bypass(req);
        t += unit_.params().pipeline_cycles;
    } else {
        r = tt.result;
        t = tt.done;
        if (accepted) *accepted = tt.accepted;
        stats_.walk_reads += log.walk_reads - walk_before;
        stats_.config_reads += log.config_reads - config_before;
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
            // The record is written before the master sees the abort.
            unit_.port().set_cursor(&t);
            const EventQueue::Outcome o = eventq_.record(make_event(req, r.fault), msi);
            unit_.port().set_cursor(nullptr);
            if (recorder_) recorder_->event(req, r.fault, o, t);
            switch (o) {
                case EventQueue::Outcome::Written: ++stats_.events[static_cast<uint8_t>(r.fault.id)]; break;
                case EventQueue::Outcome::Disabled: ++stats_.events_dropped_disabled; break;
                case EventQueue::Outcome::Overflow: ++stats_.events_dropped_overflow; break;
                case EventQueue::Outcome::WriteAbort: break;
            }
            stats_.event_msis += msi;
            break;
        }
    }
    // A SYNC waits for the whole transaction: a fault's event record write
    // (and the SMMUEN=0 path) ends after what the translation unit booked.
    unit_.extend_busy_until(t);
    if (done) *done = t;
    if (recorder_) recorder_->translation(port, req, r, arrival, enabled ? &tt : nullptr, t);
    if (observer_) observer_(req, r);
    return r;
}

}  // namespace smmu
