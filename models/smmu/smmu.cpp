#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "models/smmu/smmu.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "models/arch/event.h"

namespace smmu {

using sc_core::sc_time;

namespace {
std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

// A DMI refusal says where it holds (IEEE 1666-2011 11.2.8: the initiator
// need not ask again inside that range).
void refuse_dmi(tlm::tlm_dmi& dmi, uint64_t start, uint64_t end) {
    dmi.init();
    dmi.set_start_address(start);
    dmi.set_end_address(end);
    dmi.set_granted_access(tlm::tlm_dmi::DMI_ACCESS_NONE);
}
}  // namespace

SmmuBase::SmmuBase(sc_core::sc_module_name name, const SmmuCoreParams& params, unsigned mmio_cycles)
    : sc_module(name),
      mmio_cycles_(mmio_cycles),
      // Integer picoseconds: a clock whose period is not a whole number of ps
      // (1.5 GHz) rounds here, once, not at every use.
      period_(sc_time::from_value(params.uarch.period_ps() * sc_time(1, sc_core::SC_PS).value())),
      inv_period_(1.0 / static_cast<double>(period_.value())),
      core_(port_, params),
      at_arrivals_("at_arrivals"),
      at_phases_("at_phases") {
    core_.set_prg_responder([this](const PrgResponse& m, Cycle at) {
        if (prg_handler_) prg_handler_(m, time_of(at) - std::min(time_of(at), sc_core::sc_time_stamp()));
    });
    core_.set_stall_listener([this](uint16_t stag, Cycle at) {
        auto it = stall_events_.find(stag);
        if (it != stall_events_.end())
            it->second->notify(time_of(at) - std::min(time_of(at), sc_core::sc_time_stamp()));
    });
    SC_THREAD(cmdq_thread);
    SC_THREAD(at_thread);
    SC_METHOD(at_phase_method);
    sensitive << at_phases_.get_event();
    dont_initialize();
}

void SmmuBase::attach(TlmForwardPort& downstream) {
    downstream_ = &downstream;
    port_.attach(downstream);
    port_.use_dmi_reads();
    debug_port_.attach(downstream);
}

Cycle SmmuBase::now_cycles(sc_time offset) const {
    const uint64_t v = (sc_core::sc_time_stamp() + offset).value();
    const uint64_t p = period_.value();
    // ceil(v / p) without a 64-bit divide on every transaction: a floating
    // estimate, corrected to the exact quotient (v below 2^52: exact range).
    if (v < (uint64_t{1} << 52)) {
        uint64_t c = static_cast<uint64_t>(static_cast<double>(v) * inv_period_);
        while (c * p < v) ++c;
        while (c > 0 && (c - 1) * p >= v) --c;
        return c;
    }
    return (v + p - 1) / p;
}

SmmuBase::Port& SmmuBase::port(unsigned p) {
    if (p >= ports_.size()) ports_.resize(p + 1);
    return ports_[p];
}

void SmmuBase::end_of_elaboration() {
    // Every bound port has its state now: none is added while a callback
    // holds a reference to another's.
    port(upstream_ports());
}

void SmmuBase::set_default_stream(unsigned p, uint32_t sid) {
    Port& s = port(p);
    s.has_sid = true;
    s.sid = sid;
}

TranslationRequest SmmuBase::request(unsigned p, const tlm::tlm_generic_payload& gp, SmmuExtension* ext) {
    TranslationRequest req;
    if (ext) {
        req.sid = ext->sid;
        req.ssid = ext->ssid;
        req.ssv = ext->ssv;
        req.privileged = ext->privileged;
        req.instruction = ext->instruction;
    } else {
        Port& s = port(p);
        if (s.has_sid) {
            req.sid = s.sid;
        } else if (!s.warned) {
            s.warned = true;
            const std::string msg = std::string(name()) + ".upstream[" + std::to_string(p) +
                                    "]: a transaction without SmmuExtension on a port without a default StreamID "
                                    "(set_default_stream): StreamID 0 is used (reported once per port)";
            SC_REPORT_WARNING(report::kUpstream, msg.c_str());
        }
    }
    req.iova = gp.get_address();
    req.write = gp.is_write();
    return req;
}

void SmmuBase::page_request(tlm::tlm_generic_payload& gp, SmmuExtension& ext, sc_time& delay) {
    PageRequest pr;
    pr.sid = ext.sid;
    pr.ssid = ext.ssid;
    pr.ssv = ext.ssv;
    pr.addr = gp.get_address();
    pr.read = gp.is_read();
    pr.write = gp.is_write();
    pr.exec = ext.instruction;
    pr.priv = ext.privileged;
    pr.last = ext.prg_last;
    pr.prg_index = ext.prg_index & 0x1ff;
    Cycle done = 0;
    if (core_.priq_interrupts(pr, core_.page_request(pr, now_cycles(delay), &done)))
        priq_irq_.notify(time_of(done) - sc_core::sc_time_stamp());
    delay = time_of(done) - sc_core::sc_time_stamp();
    ext.event_id = 0;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

void SmmuBase::await_stall(unsigned p, tlm::tlm_generic_payload& gp, sc_time& delay, Cycle& accepted,
                           uint16_t stag) {
    for (;;) {
        // Held: the master's transaction waits here, in the calling process,
        // for the command that resolves it (no polling).
        wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        std::optional<StallTable::Entry> e;
        while (!(e = core_.take_stall(stag))) wait(*stall_events_.at(stag));
        stall_events_.erase(stag);
        // Terminate with IDR0.TERM_MODEL 0: the transaction completes with
        // RAZ/WI semantics (IHI 0070 4.7.1: Ab=0).
        if (e->action == arch::ResumeAction::Term &&
            !core_.regs().id_field(arch::reg::IDR0, arch::idr0::TERM_MODEL)) {
            if (gp.is_read()) std::fill_n(gp.get_data_ptr(), gp.get_data_length(), 0);
            if (SmmuExtension* ext = gp.get_extension<SmmuExtension>()) ext->event_id = 0;
            gp.set_response_status(tlm::TLM_OK_RESPONSE);
            gp.set_dmi_allowed(false);
            return;
        }
        if (e->action != arch::ResumeAction::Retry) {
            if (SmmuExtension* ext = gp.get_extension<SmmuExtension>()) ext->event_id = SmmuExtension::kAbortNoEvent;
            gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
            gp.set_dmi_allowed(false);
            return;
        }
        // Retry: translated again, as if it had just arrived (IHI 0070 4.7.1).
        const std::optional<uint16_t> again = transact(p, gp, delay, accepted);
        if (!again) return;
        stag = *again;
    }
}

std::optional<uint16_t> SmmuBase::transact(unsigned p, tlm::tlm_generic_payload& gp, sc_time& delay,
                                           Cycle& accepted) {
    SmmuExtension* ext = gp.get_extension<SmmuExtension>();
    if (ext && ext->page_request) {
        page_request(gp, *ext, delay);
        accepted = now_cycles(delay);
        return std::nullopt;
    }
    if (ext && ext->ats != SmmuExtension::Ats::None) {
        accepted = now_cycles(delay);
        ats_transact(p, gp, *ext, delay);
        return std::nullopt;
    }
    // Robustness (docs/robustness.md): a zero-length transaction is no AXI
    // burst; it is refused before translation (no event, no statistics) with
    // a generic error rather than passed on to memory as a successful no-op.
    if (gp.get_data_length() == 0) {
        if (ext) ext->event_id = SmmuExtension::kAbortNoEvent;
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        accepted = now_cycles(delay);
        return std::nullopt;
    }
    const TranslationRequest req = request(p, gp, ext);
    const uint64_t iova = req.iova;
    arrival_ = sc_core::sc_time_stamp() + delay;
    AccessLog log;
    Cycle done = 0;
    const uint32_t evtq_prod = core_.regs().eventq_prod();
    const TranslationResult r = core_.translate(req, log, p, now_cycles(delay), &done, &accepted);
    delay = time_of(done) - sc_core::sc_time_stamp();
    if (core_.regs().eventq_prod() != evtq_prod) evtq_irq_.notify(delay);
    if (r.stalled) {
        stall_events_[r.stag] = std::make_unique<sc_core::sc_event>();
        return r.stag;
    }
    if (!r.ok()) {
        if (ext) ext->event_id = r.records_event() ? static_cast<uint8_t>(r.fault.id) : SmmuExtension::kAbortNoEvent;
        // The master sees a slave error: the SMMU terminated the transaction
        // (and no DMI is offered where translation fails).
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        gp.set_dmi_allowed(false);
        if (report::verbose())
            SC_REPORT_INFO_VERB(report::kUpstream,
                                (std::string(name()) + ": SID " + std::to_string(req.sid) + " IOVA " + hex(iova) +
                                 ": " + (r.records_event() ? std::string(arch::event_name(r.fault.id)) : "abort"))
                                    .c_str(),
                                sc_core::SC_HIGH);
        return std::nullopt;
    }
    // A transaction must stay inside one translation (AXI bursts never cross
    // 4 KiB, and a leaf is at least that): anything longer is a burst error.
    const uint64_t page_end = (r.pa | (r.size - 1)) + 1;
    if (gp.get_data_length() > page_end - r.pa) {
        gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return std::nullopt;
    }
    if (ext) {
        ext->event_id = 0;
        ext->pa = r.pa;
    }
    gp.set_address(r.pa);
    (*downstream_)->b_transport(gp, delay);
    gp.set_address(iova);
    if (!gp.is_response_ok() && report::verbose())
        SC_REPORT_INFO_VERB(report::kDownstream,
                            (std::string(name()) + ": SID " + std::to_string(req.sid) + " IOVA " + hex(iova) + " PA " +
                             hex(r.pa) + ": " + gp.get_response_string())
                                .c_str(),
                            sc_core::SC_HIGH);
    return std::nullopt;
}

void SmmuBase::ats_transact(unsigned p, tlm::tlm_generic_payload& gp, SmmuExtension& ext, sc_time& delay) {
    const TranslationRequest req = request(p, gp, &ext);
    Cycle done = 0;
    switch (ext.ats) {
        case SmmuExtension::Ats::TranslationRequest: {
            // The completion travels back in the extension; no data moves.
            const AtsCompletion c = core_.ats_translate(req, !gp.is_write(), now_cycles(delay), &done);
            ext.ats_status = static_cast<uint8_t>(c.status);
            ext.pa = c.addr;
            ext.ats_size = c.size;
            ext.ats_read = c.read;
            ext.ats_write = c.write;
            ext.ats_global = c.global;
            ext.event_id = 0;
            gp.set_response_status(tlm::TLM_OK_RESPONSE);
            delay = time_of(done) - sc_core::sc_time_stamp();
            return;
        }
        case SmmuExtension::Ats::Translated: {
            const TranslationResult r = core_.ats_translated(req, now_cycles(delay), &done);
            delay = time_of(done) - sc_core::sc_time_stamp();
            if (!r.ok()) {
                ext.event_id = r.records_event() ? static_cast<uint8_t>(r.fault.id) : SmmuExtension::kAbortNoEvent;
                gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
                return;
            }
            ext.event_id = 0;
            ext.pa = r.pa;
            (*downstream_)->b_transport(gp, delay);
            return;
        }
        default:
            // Invalidate travels the other way (ats_inv).
            gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
            return;
    }
}

void SmmuBase::send_atc_inv(const arch::Command& c) {
    const auto route = ats_routes_.find(static_cast<uint32_t>(c.get(arch::cmd::SID)));
    if (route == ats_routes_.end()) return;
    const unsigned port = route->second;
    ++atc_outstanding_;
    core_.atc_inv_sent();
    sc_core::sc_spawn(
        [this, port, c] {
            const Cycle sent = now_cycles();
            uint8_t data[arch::Command::kBytes];
            std::memcpy(data, c.w.data(), sizeof data);
            SmmuExtension ext;
            ext.ats = SmmuExtension::Ats::Invalidate;
            ext.sid = static_cast<uint32_t>(c.get(arch::cmd::SID));
            ext.ssv = c.get(arch::cmd::SSV);
            ext.ssid = static_cast<uint32_t>(c.get(arch::cmd::SSID));
            tlm::tlm_generic_payload gp;
            gp.set_command(tlm::TLM_WRITE_COMMAND);
            gp.set_address(c.get(arch::cmd::AtcAddr));
            gp.set_data_ptr(data);
            gp.set_data_length(sizeof data);
            gp.set_streaming_width(sizeof data);
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            gp.set_extension(&ext);
            sc_time delay = sc_core::SC_ZERO_TIME;
            // The device returns when its invalidation has completed (a
            // device that never answers never returns).
            ats_inv_fw(port)->b_transport(gp, delay);
            wait(delay);
            gp.clear_extension(&ext);
            core_.atc_inv_answered(now_cycles() - sent);
            if (--atc_outstanding_ == 0) atc_answered_.notify(sc_core::SC_ZERO_TIME);
        },
        sc_core::sc_gen_unique_name("atc_inv"));
}

void SmmuBase::upstream_b_transport(int p, tlm::tlm_generic_payload& gp, sc_time& delay) {
    Cycle accepted;
    if (const std::optional<uint16_t> stag = transact(static_cast<unsigned>(p), gp, delay, accepted))
        await_stall(static_cast<unsigned>(p), gp, delay, accepted, *stag);
}

// ---- Approximately timed upstream (IEEE 1666-2011 14.2: the base protocol's four phases).
// BEGIN_REQ is queued for its time; the AT thread translates it then (the
// walk may read memory through a downstream target that waits, so not in
// nb_transport_fw), which fixes when a translation slot takes it (END_REQ)
// and when the data is back (BEGIN_RESP).

tlm::tlm_sync_enum SmmuBase::upstream_nb_transport_fw(int p, tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                                      sc_time& delay) {
    if (phase == tlm::BEGIN_REQ) {
        if (gp.has_mm()) gp.acquire();
        AtTxn* x = at_alloc();
        x->gp = &gp;
        x->port = static_cast<unsigned>(p);
        x->req_ended = false;
        port(x->port);
        at_arrivals_.notify(*x, delay);
        return tlm::TLM_ACCEPTED;
    }
    if (phase == tlm::END_RESP) {
        at_finish(port(static_cast<unsigned>(p)));
        return tlm::TLM_COMPLETED;
    }
    // END_REQ and BEGIN_RESP travel the backward path only.
    SC_REPORT_ERROR(report::kUpstream, (std::string(name()) + ": nb_transport_fw with a phase the base protocol "
                                                              "does not send forward")
                                           .c_str());
    return tlm::TLM_COMPLETED;
}

SmmuBase::AtTxn* SmmuBase::at_alloc() {
    if (at_free_.empty()) {
        at_pool_.push_back(std::make_unique<AtTxn>());
        return at_pool_.back().get();
    }
    AtTxn* x = at_free_.back();
    at_free_.pop_back();
    return x;
}

void SmmuBase::at_thread() {
    for (;;) {
        wait(at_arrivals_.get_event());
        while (AtTxn* x = at_arrivals_.get_next_transaction()) {
            sc_time delay = sc_core::SC_ZERO_TIME;
            Cycle accepted = 0;
            if (const std::optional<uint16_t> stag = transact(x->port, *x->gp, delay, accepted)) {
                // Held: the request is accepted; the rest waits in a process
                // of its own so the other transactions go on.
                at_end_req(*x);
                sc_core::sc_spawn(sc_core::sc_bind(&SmmuBase::at_stalled, this, x, delay, *stag));
                continue;
            }
            // END_REQ now, or queued before the response (same-time entries
            // leave the queue in the order they entered it).
            const sc_time accept_at = time_of(accepted);
            if (accept_at <= sc_core::sc_time_stamp())
                at_end_req(*x);
            else
                at_phases_.notify(*x, accept_at - sc_core::sc_time_stamp());
            at_phases_.notify(*x, delay);
        }
    }
}

void SmmuBase::at_stalled(AtTxn* x, sc_time delay, uint16_t stag) {
    Cycle accepted = 0;
    await_stall(x->port, *x->gp, delay, accepted, stag);
    at_phases_.notify(*x, delay);
}

void SmmuBase::at_end_req(AtTxn& x) {
    x.req_ended = true;
    tlm::tlm_phase phase = tlm::END_REQ;
    sc_time t = sc_core::SC_ZERO_TIME;
    upstream_bw(x.port)->nb_transport_bw(*x.gp, phase, t);  // TLM_ACCEPTED: END_REQ needs no answer
}

void SmmuBase::at_phase_method() {
    while (AtTxn* x = at_phases_.get_next_transaction()) {
        // A transaction's first entry is its END_REQ if that was not sent at
        // once; its last (and the last use of x before it is freed) its response.
        if (!x->req_ended) {
            at_end_req(*x);
            continue;
        }
        Port& p = port(x->port);
        // One response in flight per port (the response exclusion rule).
        if (p.in_resp)
            p.waiting.push_back(x);
        else
            at_respond(*x);
    }
}

void SmmuBase::at_respond(AtTxn& x) {
    Port& p = port(x.port);
    p.in_resp = &x;
    tlm::tlm_phase phase = tlm::BEGIN_RESP;
    sc_time t = sc_core::SC_ZERO_TIME;
    const tlm::tlm_sync_enum s = upstream_bw(x.port)->nb_transport_bw(*x.gp, phase, t);
    if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP)) at_finish(p);
}

void SmmuBase::at_finish(Port& p) {
    // Iterative: a response completed at once lets the next one go now.
    while (AtTxn* x = p.in_resp) {
        p.in_resp = nullptr;
        tlm::tlm_generic_payload* gp = x->gp;
        at_free_.push_back(x);
        if (gp->has_mm()) gp->release();
        if (p.waiting.empty()) return;
        AtTxn* next = p.waiting.front();
        p.waiting.erase(p.waiting.begin());
        p.in_resp = next;
        tlm::tlm_phase phase = tlm::BEGIN_RESP;
        sc_time t = sc_core::SC_ZERO_TIME;
        const tlm::tlm_sync_enum s = upstream_bw(next->port)->nb_transport_bw(*next->gp, phase, t);
        if (!(s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && phase == tlm::END_RESP))) return;
    }
}

// ---- Debug transport and DMI: translated from the tables without side effects.

unsigned SmmuBase::upstream_transport_dbg(int p, tlm::tlm_generic_payload& gp) {
    SmmuExtension* ext = gp.get_extension<SmmuExtension>();
    TranslationRequest req = request(static_cast<unsigned>(p), gp, ext);
    const uint64_t iova = req.iova;
    unsigned char* const data = gp.get_data_ptr();
    const unsigned len = gp.get_data_length();
    unsigned done = 0;
    // A debugger's access may cross pages: each is translated on its own.
    while (done < len) {
        req.iova = iova + done;
        const TranslationResult r = core_.translate_debug(req, debug_port_);
        if (!r.ok()) break;
        const uint64_t page_end = (r.pa | (r.size - 1)) + 1;
        const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(len - done, page_end - r.pa));
        gp.set_address(r.pa);
        gp.set_data_ptr(data + done);
        gp.set_data_length(chunk);
        const unsigned n = (*downstream_)->transport_dbg(gp);
        done += std::min(n, chunk);
        if (n < chunk) break;
    }
    gp.set_address(iova);
    gp.set_data_ptr(data);
    gp.set_data_length(len);
    return done;
}

bool SmmuBase::upstream_get_direct_mem_ptr(int p, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
    const TranslationRequest req = request(static_cast<unsigned>(p), gp, gp.get_extension<SmmuExtension>());
    const uint64_t iova = req.iova;
    TranslationContext ctx;
    const TranslationResult r = core_.translate_debug(req, debug_port_, &ctx);
    if (!r.ok()) {
        // Refused for the smallest granule around the address: a later
        // mapping there must be asked for again.
        refuse_dmi(dmi, iova & ~uint64_t{0xfff}, iova | 0xfff);
        return false;
    }
    const uint64_t in_base = iova & ~(r.size - 1);
    const uint64_t out_base = r.pa & ~(r.size - 1);
    tlm::tlm_dmi down;
    gp.set_address(r.pa);
    const bool granted = (*downstream_)->get_direct_mem_ptr(gp, down);
    gp.set_address(iova);
    if (!granted || !down.get_dmi_ptr()) {
        refuse_dmi(dmi, iova & ~uint64_t{0xfff}, iova | 0xfff);
        return false;
    }
    // What both grant: the leaf's output range inside the target's region.
    const uint64_t lo = std::max<uint64_t>(out_base, down.get_start_address());
    const uint64_t hi = std::min<uint64_t>(out_base + (r.size - 1), down.get_end_address());
    unsigned access = tlm::tlm_dmi::DMI_ACCESS_NONE;
    if (r.perms.read && down.is_read_allowed()) access |= tlm::tlm_dmi::DMI_ACCESS_READ;
    if (r.perms.write && down.is_write_allowed()) access |= tlm::tlm_dmi::DMI_ACCESS_WRITE;
    dmi.init();
    dmi.set_dmi_ptr(down.get_dmi_ptr() + (lo - down.get_start_address()));
    dmi.set_start_address(in_base + (lo - out_base));
    dmi.set_end_address(in_base + (hi - out_base));
    dmi.set_granted_access(static_cast<tlm::tlm_dmi::dmi_access_e>(access));
    // A DMI access skips the TLBs but not the SMMU's pipeline.
    const sc_time pipeline = time_of(core_.unit().params().pipeline_cycles);
    dmi.set_read_latency(down.get_read_latency() + pipeline);
    dmi.set_write_latency(down.get_write_latency() + pipeline);
    // Remembered as the micro-TLB entry this translation would fill: the
    // invalidations that remove that entry withdraw the grant.
    DmiGrant g{static_cast<unsigned>(p), dmi.get_start_address(), dmi.get_end_address(), lo, hi,
               make_tlb_entry(req, ctx, r)};
    const bool known = std::any_of(dmi_grants_.begin(), dmi_grants_.end(), [&](const DmiGrant& o) {
        return o.port == g.port && o.start == g.start && o.end == g.end;
    });
    if (known) return true;
    // Bounded as a micro-TLB is: a master that keeps asking for new pages
    // loses its oldest grant (a target may withdraw one at any time).
    if (dmi_grants_.size() == kMaxDmiGrants) {
        const DmiGrant oldest = dmi_grants_.front();
        withdraw_dmi([&](const DmiGrant& o) { return o.port == oldest.port && o.start == oldest.start; });
    }
    dmi_grants_.push_back(g);
    return true;
}

// A grant is the initiator's own copy of a translation: it goes when the
// translation may have changed, with the range it covered (IEEE 1666-2011
// 11.2.9: the addresses are the initiator's, here IOVAs). The callbacks run
// after the list is updated: an initiator may ask again from inside one.
void SmmuBase::withdraw_dmi(const std::function<bool(const DmiGrant&)>& gone) {
    std::vector<DmiGrant> withdrawn;
    auto keep = std::stable_partition(dmi_grants_.begin(), dmi_grants_.end(), [&](const DmiGrant& g) { return !gone(g); });
    withdrawn.assign(keep, dmi_grants_.end());
    dmi_grants_.erase(keep, dmi_grants_.end());
    for (const DmiGrant& g : withdrawn) {
        if (report::verbose())
            SC_REPORT_INFO_VERB(report::kUpstream,
                                (std::string(name()) + ".upstream[" + std::to_string(g.port) + "]: DMI [" +
                                 hex(g.start) + ", " + hex(g.end) + "] withdrawn")
                                    .c_str(),
                                sc_core::SC_HIGH);
        upstream_bw(g.port)->invalidate_direct_mem_ptr(g.start, g.end);
    }
}

// The downstream target withdrew [start, end] of its memory: the walker's
// regions and the grants over it go.
void SmmuBase::downstream_invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    port_.invalidate_dmi(start, end);
    withdraw_dmi([&](const DmiGrant& g) { return g.pa_start <= end && start <= g.pa_end; });
}

// ---- Registers.

bool SmmuBase::mmio_access(tlm::tlm_generic_payload& gp) {
    const unsigned len = gp.get_data_length();
    const uint64_t addr = gp.get_address();
    if (gp.get_byte_enable_ptr() || (len != 4 && len != 8) || addr >= arch::reg::kMmioSize) {
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        SC_REPORT_WARNING(report::kMmio, (std::string(name()) + ".mmio: " + std::to_string(len) +
                                          "-byte access at " + hex(addr) +
                                          (gp.get_byte_enable_ptr() ? " with byte enables" : "") +
                                          ": registers take 4 or 8 bytes inside two 64 KiB pages")
                                             .c_str());
        return false;
    }
    uint8_t* data = gp.get_data_ptr();
    MmioStatus st;
    if (gp.is_write()) {
        uint64_t v = 0;
        for (unsigned i = 0; i < len; ++i) v |= uint64_t{data[i]} << (8 * i);
        WriteEffect effect;
        st = core_.mmio_write(static_cast<uint32_t>(addr), len, v, effect, now_cycles());
        if (effect.cmdq_kick) cmdq_kick_.notify(sc_core::SC_ZERO_TIME);
        // The translation regime may change: DMI pointers go.
        namespace reg = arch::reg;
        if (addr == reg::CR0 || addr == reg::GBPA || (addr >= reg::STRTAB_BASE && addr < reg::STRTAB_BASE_CFG + 4))
            withdraw_dmi([](const DmiGrant&) { return true; });
    } else {
        uint64_t v = 0;
        st = core_.mmio_read(static_cast<uint32_t>(addr), len, v);
        for (unsigned i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(v >> (8 * i));
    }
    gp.set_response_status(st == MmioStatus::Ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_GENERIC_ERROR_RESPONSE);
    return st == MmioStatus::Ok;
}

void SmmuBase::mmio_b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    delay += mmio_cycles_ * period_;
    mmio_access(gp);
}

tlm::tlm_sync_enum SmmuBase::mmio_nb_transport_fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& phase,
                                                  sc_time& delay) {
    // A register access completes at once (IEEE 1666-2011 14.2.2: TLM_COMPLETED
    // at BEGIN_REQ), its cost annotated like b_transport's.
    if (phase != tlm::BEGIN_REQ) return tlm::TLM_COMPLETED;
    mmio_b_transport(gp, delay);
    phase = tlm::BEGIN_RESP;
    return tlm::TLM_COMPLETED;
}

unsigned SmmuBase::mmio_transport_dbg(tlm::tlm_generic_payload& gp) {
    // Debug reads only: a debugger must not move queues or toggle errors.
    if (!gp.is_read()) return 0;
    return mmio_access(gp) ? gp.get_data_length() : 0;
}

bool SmmuBase::mmio_get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) {
    // Registers have side effects: no DMI anywhere in them.
    refuse_dmi(dmi, 0, arch::reg::kMmioSize - 1);
    return false;
}

void SmmuBase::cmdq_thread() {
    for (;;) {
        wait(cmdq_kick_);
        while (core_.cmdq_pending()) {
            // CMD_SYNC completes only when every CMD_ATC_INV before it has
            // been answered (IHI 0070 4.7.3): it is not consumed before.
            if (atc_outstanding_ && core_.cmdq_next_is(arch::Opcode::SYNC)) {
                const Cycle from = now_cycles();
                while (atc_outstanding_) wait(atc_answered_);
                core_.sync_waited_for_atc(now_cycles() - from);
            }
            Cycle done = 0;
            const CommandQueue::Step s = core_.cmdq_step(now_cycles(), &done, true);
            // CMD_ATC_INV is IGNORED while SMMUEN=0 (IHI 0070 4.5.1).
            if (s.kind == CommandQueue::Step::Kind::Executed && s.cmd.opcode() == static_cast<uint8_t>(arch::Opcode::ATC_INV) &&
                core_.regs().smmu_enabled())
                send_atc_inv(s.cmd);
            if (s.kind == CommandQueue::Step::Kind::Executed && !dmi_grants_.empty()) {
                const TlbInvalidation scope(s.cmd);
                if (scope.reaches_stream()) withdraw_dmi([&](const DmiGrant& g) { return scope.removes(g.tags, true); });
            }
            if (s.kind == CommandQueue::Step::Kind::Error && report::verbose())
                SC_REPORT_INFO_VERB(report::kCmdq,
                                    (std::string(name()) + ": command error " +
                                     std::to_string(static_cast<unsigned>(s.error)) + " at CMDQ_CONS")
                                        .c_str(),
                                    sc_core::SC_HIGH);
            wait(time_of(done) - sc_core::sc_time_stamp());
            core_.cmdq_complete(done);
            if (core_.take_sev()) sev_.notify(sc_core::SC_ZERO_TIME);
        }
    }
}

}  // namespace smmu
