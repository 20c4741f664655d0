#include "models/smmu/smmu.h"

#include <cstring>

namespace smmu {

using sc_core::sc_time;

Smmu::Smmu(sc_core::sc_module_name name, const SmmuCoreParams& params, unsigned mmio_cycles)
    : sc_module(name),
      upstream("upstream"),
      downstream("downstream"),
      mmio("mmio"),
      mmio_cycles_(mmio_cycles),
      // Integer picoseconds: a clock whose period is not a whole number of ps
      // (1.5 GHz) rounds here, once, not at every use.
      period_(sc_time::from_value(params.uarch.period_ps() * sc_time(1, sc_core::SC_PS).value())),
      inv_period_(1.0 / static_cast<double>(period_.value())),
      port_(downstream),
      core_(port_, params) {
    upstream.register_b_transport(this, &Smmu::upstream_b_transport);
    mmio.register_b_transport(this, &Smmu::mmio_b_transport);
    mmio.register_transport_dbg(this, &Smmu::mmio_transport_dbg);
    SC_THREAD(cmdq_thread);
}

Cycle Smmu::now_cycles(sc_time offset) const {
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

void Smmu::upstream_b_transport(int port, tlm::tlm_generic_payload& gp, sc_time& delay) {
    SmmuExtension* ext = gp.get_extension<SmmuExtension>();
    // Robustness (docs/robustness.md): a zero-length transaction is no AXI
    // burst; it is refused before translation (no event, no statistics) with
    // a generic error rather than passed on to memory as a successful no-op.
    if (gp.get_data_length() == 0) {
        if (ext) ext->event_id = SmmuExtension::kAbortNoEvent;
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    TranslationRequest req;
    if (ext) {
        req.sid = ext->sid;
        req.ssid = ext->ssid;
        req.ssv = ext->ssv;
        req.privileged = ext->privileged;
        req.instruction = ext->instruction;
    }
    const uint64_t iova = gp.get_address();
    req.iova = iova;
    req.write = gp.is_write();

    AccessLog log;
    Cycle done = 0;
    const TranslationResult r = core_.translate(req, log, static_cast<unsigned>(port), now_cycles(delay), &done);
    delay = time_of(done) - sc_core::sc_time_stamp();
    if (!r.ok()) {
        if (ext) ext->event_id = r.records_event() ? static_cast<uint8_t>(r.fault.id) : SmmuExtension::kAbortNoEvent;
        // The master sees a slave error: the SMMU terminated the transaction.
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    // A transaction must stay inside one translation (AXI bursts never cross
    // 4 KiB, and a leaf is at least that): anything longer is a burst error.
    const uint64_t page_end = (r.pa | (r.size - 1)) + 1;
    if (gp.get_data_length() > page_end - r.pa) {
        gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (ext) {
        ext->event_id = 0;
        ext->pa = r.pa;
    }
    gp.set_address(r.pa);
    downstream->b_transport(gp, delay);
    gp.set_address(iova);
}

bool Smmu::mmio_access(tlm::tlm_generic_payload& gp) {
    const unsigned len = gp.get_data_length();
    const uint64_t addr = gp.get_address();
    if (gp.get_byte_enable_ptr() || (len != 4 && len != 8) || addr >= arch::reg::kMmioSize) {
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return false;
    }
    uint8_t* data = gp.get_data_ptr();
    MmioStatus st;
    if (gp.is_write()) {
        uint64_t v = 0;
        for (unsigned i = 0; i < len; ++i) v |= uint64_t{data[i]} << (8 * i);
        WriteEffect effect;
        st = core_.mmio_write(static_cast<uint32_t>(addr), len, v, effect);
        if (effect.cmdq_kick) cmdq_kick_.notify(sc_core::SC_ZERO_TIME);
    } else {
        uint64_t v = 0;
        st = core_.mmio_read(static_cast<uint32_t>(addr), len, v);
        for (unsigned i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(v >> (8 * i));
    }
    gp.set_response_status(st == MmioStatus::Ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_GENERIC_ERROR_RESPONSE);
    return st == MmioStatus::Ok;
}

void Smmu::mmio_b_transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
    delay += mmio_cycles_ * period_;
    mmio_access(gp);
}

unsigned Smmu::mmio_transport_dbg(tlm::tlm_generic_payload& gp) {
    // Debug reads only: a debugger must not move queues or toggle errors.
    if (!gp.is_read()) return 0;
    return mmio_access(gp) ? gp.get_data_length() : 0;
}

void Smmu::cmdq_thread() {
    for (;;) {
        wait(cmdq_kick_);
        while (core_.cmdq_pending()) {
            Cycle done = 0;
            core_.cmdq_step(now_cycles(), &done, true);
            wait(time_of(done) - sc_core::sc_time_stamp());
            core_.cmdq_complete();
        }
    }
}

}  // namespace smmu
