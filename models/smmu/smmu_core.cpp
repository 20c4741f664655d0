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
      eventq_(unit_.port(), regs_),
      priq_(unit_.port(), regs_),
      stalls_(p.caps.stall_max) {}

CommandQueue::Step SmmuCore::cmdq_step(Cycle now, Cycle* done, bool defer_cons) {
    Cycle t = now;
    cmd_clock_ = &t;
    unit_.port().set_cursor(&t);
    CommandQueue::Step s = cmdq_.step(*this, true);
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
    if (!defer_cons) cmdq_complete(t);
    return s;
}

void SmmuCore::cmdq_complete(Cycle done) {
    if (sync_msi_) {
        // The SYNC's completion is signalled by the MSI (IHI 0070 4.7.3): it
        // is written when the SYNC completes, after every earlier command's
        // effects (the SystemC shell has waited for the ATC_INV answers), not
        // when the SYNC is read. The write is posted: it books the SMMU's
        // memory port from `done` but does not delay the completion.
        Cycle t = done;
        unit_.port().set_cursor(&t);
        if (unit_.port().write(sync_msi_->addr, &sync_msi_->data, 4))
            ++stats_.sync_msis;
        else
            // An aborted CMD_SYNC MSI is reported in GERROR.MSI_CMDQ_ABT_ERR (IHI 0070 6.3.11).
            regs_.raise_gerror(arch::gerror::MSI_CMDQ_ABT_ERR);
        unit_.port().set_cursor(nullptr);
        sync_msi_.reset();
    }
    if (sync_sev_) {
        sync_sev_ = false;
        sev_ = true;
        ++stats_.sync_sevs;
    }
    cmdq_.complete();
}

bool SmmuCore::cmdq_next_is(Opcode op) const {
    arch::Command c;
    return cmdq_.peek(c) && c.opcode() == static_cast<uint8_t>(op);
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
    // CMD_PRI_RESP is IGNORED while SMMUEN=0 (IHI 0070 4.5.2).
    if (op == Opcode::PRI_RESP) return regs_.smmu_enabled() ? pri_resp(c) : void();
    if (op == Opcode::RESUME || op == Opcode::STALL_TERM) return resolve_stall(c);
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
        regs_.id_field(arch::reg::IDR0, arch::idr0::MSI))
        sync_msi_ = SyncMsi{c.get(arch::cmd::MSIAddr), static_cast<uint32_t>(c.get(arch::cmd::MSIData))};
    // CS=SEV: a WFE wake-up event to the PEs at completion, where the system
    // supports it (IDR0.SEV); otherwise the SYNC signals nothing.
    sync_sev_ = c.get(arch::cmd::CS) == static_cast<uint64_t>(arch::SyncCs::Sev) &&
                regs_.id_field(arch::reg::IDR0, arch::idr0::SEV);
}

void SmmuCore::pri_resp(const arch::Command& c) {
    // The SMMU passes the response to the device as a PRG Response message; it
    // does not check that the group is outstanding: the device ignores (and
    // flags in its PRI Status register, UPRGI) a response to a group it has
    // not requested (PCIe 6.0 10.5.2.3).
    PrgResponse m;
    m.sid = static_cast<uint32_t>(c.get(arch::cmd::SID));
    m.ssv = c.get(arch::cmd::SSV);
    m.ssid = m.ssv ? static_cast<uint32_t>(c.get(arch::cmd::SSID)) : 0;
    m.prg_index = static_cast<uint16_t>(c.get(arch::cmd::PRGIndex));
    m.resp = static_cast<arch::PriResp>(c.get(arch::cmd::PriResp));
    ++stats_.pri_responses;
    const auto it = open_groups_.find({m.sid, m.prg_index});
    if (it == open_groups_.end()) {
        ++stats_.pri_responses_unmatched;
    } else {
        const Cycle took = cmd_now() - std::min(cmd_now(), it->second);
        stats_.pri_resp_cycles_total += took;
        stats_.pri_resp_cycles_max = std::max(stats_.pri_resp_cycles_max, took);
        open_groups_.erase(it);
    }
    if (prg_responder_) prg_responder_(m, cmd_now());
}

void SmmuCore::resolve_stall(const arch::Command& c) {
    const auto sid = static_cast<uint32_t>(c.get(arch::cmd::SID));
    const Cycle now = cmd_now();
    std::vector<uint16_t> resolved;
    if (static_cast<Opcode>(c.opcode()) == Opcode::RESUME) {
        const auto stag = static_cast<uint16_t>(c.get(arch::cmd::STAG));
        const auto action = arch::resume_action(c.get(arch::cmd::Action));
        // A RESUME that matches no stalled transaction (wrong STAG or SID, or
        // one already resumed) is ignored (IHI 0070 4.7.1).
        if (!stalls_.resume(sid, stag, action, now)) {
            ++stats_.resumes_unmatched;
            return;
        }
        ++(action == arch::ResumeAction::Retry ? stats_.resumes_retry : stats_.resumes_abort);
        resolved.push_back(stag);
    } else {
        // CMD_STALL_TERM: every transaction of the StreamID still stalled is
        // terminated with an abort (IHI 0070 4.7.2).
        resolved = stalls_.terminate_stream(sid, now);
        stats_.stall_terms += resolved.size();
    }
    stalls_resolved(resolved, now);
}

void SmmuCore::stalls_resolved(const std::vector<uint16_t>& stags, Cycle now) {
    for (uint16_t stag : stags) {
        const Cycle since = stalls_.since(stag);
        const Cycle took = now - std::min(now, since);
        stats_.stall_cycles_total += took;
        stats_.stall_cycles_max = std::max(stats_.stall_cycles_max, took);
        if (stall_listener_) stall_listener_(stag, now);
    }
}

MmioStatus SmmuCore::mmio_write(uint32_t offset, unsigned size, uint64_t value, WriteEffect& effect, Cycle now) {
    const bool was_enabled = regs_.smmu_enabled();
    const MmioStatus st = regs_.write(offset, size, value, effect);
    if (stalls_.size() == 0) return st;
    if (was_enabled && !regs_.smmu_enabled()) {
        // Translation disabled: held transactions are terminated (IHI 0070 3.12.2).
        const std::vector<uint16_t> stags = stalls_.terminate_all(now);
        stats_.stall_terms += stags.size();
        stalls_resolved(stags, now);
    } else if (stalls_.has_deferred() && eventq_.writable()) {
        // Retried, not resolved: no stall time is counted for them.
        for (uint16_t stag : stalls_.release_deferred(now))
            if (stall_listener_) stall_listener_(stag, now);
    }
    return st;
}

OutputQueue::Outcome SmmuCore::page_request(const PageRequest& in, Cycle arrival, Cycle* done) {
    ++stats_.page_requests;
    // Without SubstreamIDs the SMMU records no PASID (IHI 0070 8: SSV is then 0).
    PageRequest pr = in;
    if (caps().ssid_bits == 0) {
        pr.ssv = false;
        pr.ssid = 0;
    }
    Cycle t = arrival + unit_.params().pipeline_cycles;
    bool msi = false;
    unit_.port().set_cursor(&t);
    // SMMUEN=0 denies page requests as PRIQEN=0 does (IHI 0070 3.11).
    const OutputQueue::Outcome o =
        regs_.smmu_enabled() ? priq_.record(pr, priq_interrupts(pr, OutputQueue::Outcome::Written), msi)
                             : OutputQueue::Outcome::Disabled;
    stats_.priq_msis += msi;
    const bool stop_marker = is_stop_marker(pr);
    std::optional<PrgResponse> automatic;
    switch (o) {
        case OutputQueue::Outcome::Written:
            ++stats_.priq_written;
            // A Stop Marker opens no group (software discards it).
            if (!stop_marker) open_groups_.emplace(std::make_pair(pr.sid, pr.prg_index), arrival);
            break;
        case OutputQueue::Outcome::Overflow:
            ++stats_.priq_dropped_overflow;
            // IHI 0070 8.1: a dropped Last request is answered so the device asks again.
            if (pr.last && !stop_marker) automatic = overflow_response(pr);
            if (priq_interrupts(pr, o)) stats_.priq_msis += priq_.interrupt();
            break;
        case OutputQueue::Outcome::Disabled: ++stats_.priq_dropped_disabled; [[fallthrough]];
        case OutputQueue::Outcome::WriteAbort:
            // IHI 0070 8.2: with PRIQEN=0 (or SMMUEN=0), PRIQ_ABT_ERR active or
            // the request's own write aborted, every page request is answered
            // ResponseFailure, without a PASID.
            if (!stop_marker) automatic = PrgResponse{pr.sid, 0, false, pr.prg_index, arch::PriResp::Failure, true};
            break;
    }
    unit_.port().set_cursor(nullptr);
    if (automatic) {
        ++stats_.prg_auto_responses;
        if (prg_responder_) prg_responder_(*automatic, t);
    }
    if (done) *done = t;
    return o;
}

bool SmmuCore::is_stop_marker(const PageRequest& pr) {
    // The PCIe Stop PASID marker: L=1, R=W=0, with a PASID (IHI 0070 8).
    return pr.ssv && pr.last && !pr.read && !pr.write;
}

bool SmmuCore::priq_interrupts(const PageRequest& pr, OutputQueue::Outcome o) const {
    // IHI 0070 6.3.36: with LO, only records with L set; a Last request
    // dropped on overflow interrupts too. LO applies to wired interrupts and MSIs.
    if (o == OutputQueue::Outcome::Written) return !regs_.priq_irq_last_only() || pr.last;
    return o == OutputQueue::Outcome::Overflow && pr.last && !is_stop_marker(pr);
}

PrgResponse SmmuCore::overflow_response(const PageRequest& pr) {
    // IHI 0070 8.1: Success, with the request's PASID when IDR3.PPS says
    // responses always carry it, else when the StreamID's STE has PPAR=1; an
    // STE the SMMU cannot use (out of range, fetch abort, invalid, ILLEGAL)
    // gives ResponseFailure without a PASID.
    PrgResponse m{pr.sid, 0, false, pr.prg_index, arch::PriResp::Success, true};
    if (!pr.ssv) return m;
    bool pasid = regs_.id_field(arch::reg::IDR3, arch::idr3::PPS) != 0;
    if (!pasid) {
        const Expected<StreamConfig> sc = unit_.stream_config(regs_.stream_table(), pr.sid);
        if (!sc.ok()) {
            m.resp = arch::PriResp::Failure;
            return m;
        }
        pasid = sc.value().ppar;
    }
    if (pasid) {
        m.ssv = true;
        m.ssid = pr.ssid;
    }
    return m;
}

bool SmmuCore::record_fault(const TranslationRequest& req, TranslationResult& r, Cycle& t) {
    arch::EventRecord e = make_event(req, r.fault);
    // A stallable fault is held if there is room (IDR5.STALL_MAX) and the
    // stall model allows it (IDR0.STALL_MODEL 0b00/0b10; the STE/CD checks
    // made CD.S/S2S legal only then).
    std::optional<uint16_t> stag;
    if (r.fault.stall) {
        stag = stalls_.stall(req.sid, t);
        if (!stag) ++stats_.stalls_refused;
    }
    if (stag) {
        e.set(arch::evt::Stall, 1);
        e.set(arch::evt::STAG, *stag);
    }
    // A stall whose event cannot be written now (EVTQEN=0, the queue full)
    // is held without a record and retried as though it had just arrived
    // once the queue is writable (IHI 0070 3.12.2; mmio_write).
    if (stag && !eventq_.writable()) {
        stalls_.defer(*stag);
        ++stats_.stalls_deferred;
        r.stalled = true;
        r.stag = *stag;
        return false;
    }
    bool msi = false;
    // The record is written before the master sees the abort.
    unit_.port().set_cursor(&t);
    const EventQueue::Outcome o = eventq_.record(e, msi);
    unit_.port().set_cursor(nullptr);
    if (recorder_) recorder_->event(req, r.fault, o, t);
    switch (o) {
        case EventQueue::Outcome::Written: ++stats_.events[static_cast<uint8_t>(r.fault.id)]; break;
        case EventQueue::Outcome::Disabled: ++stats_.events_dropped_disabled; break;
        case EventQueue::Outcome::Overflow: ++stats_.events_dropped_overflow; break;
        case EventQueue::Outcome::WriteAbort: break;
    }
    stats_.event_msis += msi;
    if (!stag) return o == EventQueue::Outcome::Written;
    if (o == EventQueue::Outcome::WriteAbort) {
        // The record's write aborted (GERROR.EVTQ_ABT_ERR): software will
        // not learn of this stall, so it is terminated.
        stalls_.drop(*stag);
        ++stats_.stalls_refused;
        return false;
    }
    ++stats_.stalls;
    r.stalled = true;
    r.stag = *stag;
    return true;
}

AtsCompletion SmmuCore::ats_translate(const TranslationRequest& req, bool nw, Cycle arrival, Cycle* done) {
    ++stats_.ats_requests;
    Cycle t = arrival + unit_.params().pipeline_cycles;
    // The permissions asked for are checked against what the leaf grants,
    // so the walk is made as a read (a write it would refuse is answered
    // with W = 0, not a fault).
    TranslationRequest rd = req;
    rd.write = false;
    std::optional<AtsRefusal> refused = ats_request_refusal(regs_.smmu_enabled(), nullptr);
    AtsCompletion c;
    if (regs_.smmu_enabled()) {
        AccessLog log;
        const TranslationGate gate = [&](const TranslationContext& ctx) {
            refused = ats_request_refusal(true, &ctx);
            return !refused;
        };
        const TimedTranslation tt = unit_.translate(regs_.stream_table(), rd, 0, arrival, log, &gate);
        t = tt.done;
        stats_.walk_reads += log.walk_reads;
        stats_.config_reads += log.config_reads;
        // A configuration fault never reached the gate: CA (3.9.1.2).
        if (!tt.gated) {
            refused.reset();
            // The smallest granule the SMMU implements (3.9.1: the STU).
            const uint64_t stu = caps().gran4k ? 4096 : caps().gran16k ? 16384 : 65536;
            c = ats_completion(tt.result, req.iova, req.ssv, nw, stu);
        }
    }
    if (refused) {
        c.status = refused->status;
        if (refused->event) {
            // F_BAD_ATS_TREQ: recorded, never stalled (not a stallable fault, 4.6.2).
            TranslationResult refusal;
            refusal.fault = Fault{*refused->event};
            record_fault(req, refusal, t);
        }
    }
    switch (c.status) {
        case AtsStatus::Success: ++(c.read || c.write ? stats_.ats_success : stats_.ats_no_access); break;
        case AtsStatus::UnsupportedRequest: ++stats_.ats_ur; break;
        case AtsStatus::CompleterAbort: ++stats_.ats_ca; break;
    }
    unit_.extend_busy_until(t);
    if (done) *done = t;
    return c;
}

TranslationResult SmmuCore::ats_translated(const TranslationRequest& in, Cycle arrival, Cycle* done) {
    // This SMMU has no IDR3.PASIDTT: a Translated transaction is treated as
    // presented with PnU == 0, InD == 0 and SSV == 0 (IHI 0070 3.9.1.3).
    TranslationRequest req = in;
    req.ssv = false;
    req.ssid = 0;
    req.privileged = req.instruction = false;
    Cycle t = arrival + unit_.params().pipeline_cycles;
    std::optional<AtsRefusal> refused = translated_refusal(regs_.smmu_enabled(), false, nullptr);
    if (regs_.smmu_enabled() && regs_.ats_check()) {
        // ATSCHK = 1: the STE decides (its configuration only: no walk).
        AccessLog log;
        const TranslationGate gate = [&](const TranslationContext& ctx) {
            refused = translated_refusal(true, true, &ctx);
            return false;
        };
        const TimedTranslation tt = unit_.translate(regs_.stream_table(), req, 0, arrival, log, &gate);
        t = tt.done;
        stats_.config_reads += log.config_reads;
        if (!tt.gated) refused = translated_refusal(true, true, nullptr);
    }
    TranslationResult r;
    // An address beyond the PA size is aborted (IHI 0070 3.9.1.1 lets an
    // implementation abort or truncate it; this one aborts, without an event).
    const bool beyond_pa = caps().oas < 64 && (req.iova >> caps().oas) != 0;
    if (refused || beyond_pa) {
        ++stats_.ats_translated_aborted;
        r.outcome = TranslationResult::Outcome::Aborted;
        if (refused && refused->event) {
            r.outcome = TranslationResult::Outcome::Faulted;
            r.fault = Fault{*refused->event};
            record_fault(req, r, t);
        }
    } else {
        ++stats_.ats_translated;
        r.outcome = TranslationResult::Outcome::Bypassed;
        r.pa = r.ipa = req.iova;
        r.size = arch::granule_bytes(arch::Granule::K4);
        r.perms = r.priv = r.unpriv = {true, true, true};
    }
    unit_.extend_busy_until(t);
    if (done) *done = t;
    return r;
}

void SmmuCore::atc_inv_answered(Cycle latency) {
    ++stats_.atc_invs_answered;
    stats_.atc_inv_cycles_total += latency;
    stats_.atc_inv_cycles_max = std::max(stats_.atc_inv_cycles_max, latency);
}

void SmmuCore::sync_waited_for_atc(Cycle cycles) {
    ++stats_.sync_atc_waits;
    stats_.sync_atc_wait_cycles += cycles;
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
        case TranslationResult::Outcome::Faulted:
            ++stats_.faults;
            // CR2.RECINVSID=0: C_BAD_STREAMID is not recorded; the transaction is
            // still terminated (IHI 0070 6.3.4).
            if (r.fault.id == arch::EventId::C_BAD_STREAMID && !regs_.record_invalid_sid()) break;
            record_fault(req, r, t);
            break;
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
