#include "testbenches/replay/replay.h"

#include <cstdio>
#include <vector>

#include "testbenches/cli/decode.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/model_params.h"
#include "testbenches/platform/stats_json.h"
#include "tlm/smmu_extension.h"

namespace smmu::sim {

using sc_core::sc_time;

namespace {

sc_time ns_time(uint64_t ns) { return sc_time(static_cast<double>(ns), sc_core::SC_NS); }
double to_ns(const sc_time& t) { return static_cast<double>(t.value()) / 1000.0; }

std::string event_label(uint8_t id) {
    const arch::EventInfo* info = arch::event_info(id);
    return info ? std::string(info->name) : "event " + hex(id);
}

std::string mmio_label(uint64_t offset) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%05llx", static_cast<unsigned long long>(offset));
    const std::string name = register_label(static_cast<uint32_t>(offset));
    return name.empty() ? std::string(buf) : std::string(buf) + " " + name;
}

// "== 0x1" or "& 0xff == 0x1".
std::string condition(const ScriptLine& l) {
    const uint64_t all = l.width == 4 ? 0xffffffffu : ~uint64_t{0};
    return (l.mask == all ? std::string() : "& " + hex(l.mask) + " ") + "== " + hex(l.expect);
}

}  // namespace

ReplayBench::ReplayBench(sc_core::sc_module_name name, const Config& cfg, const Script& script, std::ostream& log,
                         bool quiet, bool walks)
    : sc_module(name),
      mmio("mmio"),
      mem("mem"),
      dma("dma"),
      cfg_(cfg),
      script_(script),
      log_(log),
      quiet_(quiet),
      memory_("memory", cfg.memory.pa_bits, ns_time(cfg.memory.read_latency_ns), ns_time(cfg.memory.write_latency_ns)),
      smmu_("smmu", core_params(cfg), cfg.smmu.mmio_cycles),
      port_(mem),
      walks_(walks),
      fresh_(memory_.store(), smmu_.core().caps()),
      variables_(script.variables.size(), 0),
      set_(script.variables.size(), false) {
    smmu_.downstream.bind(memory_.socket);
    mem.bind(memory_.socket);
    mmio.bind(smmu_.mmio);
    dma.bind(smmu_.upstream);
    port_.set_delay(&local_);
    port_.use_dmi(ns_time(cfg.host.mem_access_ns));
    SC_THREAD(thread);
}

void ReplayBench::run() {
    sc_core::sc_start();
    if (error_) std::rethrow_exception(error_);
}

void ReplayBench::thread() {
    try {
        if (!quiet_) log_ << "     time_ns  line  op       address                   result\n";
        for (const ScriptLine& l : script_.lines) {
            if (l.at_ns) {
                const sc_time at = ns_time(*l.at_ns);
                if (at > sc_core::sc_time_stamp()) wait(at - sc_core::sc_time_stamp());
            }
            start_ = sc_core::sc_time_stamp();
            local_ = sc_core::SC_ZERO_TIME;
            if (l.deferred.empty()) {
                execute(l);
            } else if (ScriptLine resolved; resolve(l, resolved)) {
                execute(resolved);
            }
            wait(local_);
            local_ = sc_core::SC_ZERO_TIME;
            ++counts_.lines;
        }
    } catch (...) {
        error_ = std::current_exception();
    }
    sc_core::sc_stop();
}

bool ReplayBench::resolve(const ScriptLine& l, ScriptLine& out) {
    out = l;
    for (const DeferredValue& d : l.deferred) {
        uint64_t v = 0;
        for (const ScriptTerm& t : d.terms) {
            if (t.variable && !set_[t.index]) {
                report(l, "", "", "variable " + script_.variables[t.index] + " was never read (its line did not run)");
                return false;
            }
            const uint64_t term = t.variable ? variables_[t.index] : t.value;
            v = t.op == '|' ? v | term : v + term;
        }
        const bool narrow = l.width == 4 && d.field != DeferredValue::Field::Addr;
        if (narrow && v > 0xffffffffu) {
            report(l, "", "", "value " + hex(v) + " does not fit in 32 bits");
            return false;
        }
        switch (d.field) {
            case DeferredValue::Field::Addr:
                if (v % l.width) {
                    report(l, "", "", "address " + hex(v) + " is not " + std::to_string(l.width) + "-byte aligned");
                    return false;
                }
                out.addr = v;
                break;
            case DeferredValue::Field::Value: out.values[d.index] = v; break;
            case DeferredValue::Field::Expect: out.expect = v & out.mask; break;
        }
    }
    return true;
}

std::string ReplayBench::cmdq_idle() const {
    const RegisterFile& r = smmu_.core().regs();
    if (!r.cmdq_enabled()) return "the command queue is disabled (CR0.CMDQEN 0)";
    const uint32_t cons = r.cmdq_cons();
    const uint32_t mask = QueuePointer::mask(r.cmdq().log2size);
    if (const uint32_t err = (cons >> 24) & 0x7f) {
        static const char* const names[] = {"CERROR_NONE", "CERROR_ILL", "CERROR_ABT", "CERROR_ATC_INV_SYNC"};
        return "the command queue stopped at index " + std::to_string(cons & (mask >> 1)) + " with CMDQ_CONS.ERR " +
               (err < 4 ? names[err] : hex(err)) + " (GERROR.CMDQ_ERR)";
    }
    if ((cons & mask) == (r.cmdq_prod() & mask)) return "the command queue is empty (CMDQ_CONS == CMDQ_PROD)";
    return "";
}

void ReplayBench::print_walk(const TranslationRequest& req) {
    std::vector<MemAccess> trace;
    AccessLog log;
    log.trace = &trace;
    fresh_.translate(smmu_.core().regs().stream_table(), req, log);
    for (const MemAccess& a : trace) {
        char buf[160];
        const bool walk = !is_config_access(a.kind);
        std::snprintf(buf, sizeof buf, "%24s%-6s level %s  %-18s at %-14s %s\n", "", std::string(access_kind_name(a.kind)).c_str(),
                      walk ? std::to_string(a.level).c_str() : "-", hex(a.input).c_str(), hex(a.pa).c_str(),
                      a.ok ? hex(a.value).c_str() : "abort");
        log_ << buf;
    }
}

bool ReplayBench::mmio_access(bool write, uint64_t offset, unsigned width, uint64_t& value) {
    // Loads and stores before a register access complete before it.
    wait(local_);
    local_ = sc_core::SC_ZERO_TIME;
    uint8_t data[8] = {};
    for (unsigned i = 0; i < width; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    tlm::tlm_generic_payload gp;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(offset);
    gp.set_data_ptr(data);
    gp.set_data_length(width);
    gp.set_streaming_width(width);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_time delay = ns_time(cfg_.host.mmio_latency_ns);
    mmio->b_transport(gp, delay);
    wait(delay);
    ++(write ? counts_.mmio_writes : counts_.mmio_reads);
    if (!gp.is_response_ok()) return false;
    if (!write) {
        value = 0;
        for (unsigned i = 0; i < width; ++i) value |= uint64_t{data[i]} << (8 * i);
    }
    return true;
}

void ReplayBench::report(const ScriptLine& l, const std::string& what, const std::string& result,
                         const std::string& mismatch) {
    if (!mismatch.empty()) ++counts_.mismatches;
    if (quiet_ && mismatch.empty()) return;
    const std::string op = l.text.substr(l.at_ns ? l.text.find(' ') + 1 : 0);
    char head[64];
    std::snprintf(head, sizeof head, "%12.1f  %4d  %-8s ", to_ns(start_), l.line, op.substr(0, op.find(' ')).c_str());
    std::string line = head;
    char col[64];
    std::snprintf(col, sizeof col, "%-25s ", what.c_str());
    line += col;
    line += result;
    if (!mismatch.empty()) line += "  MISMATCH " + mismatch;
    log_ << line << "\n";
}

void ReplayBench::execute(const ScriptLine& l) {
    switch (l.op) {
        case ScriptOp::MmioWrite: {
            uint64_t v = l.values[0];
            const bool ok = mmio_access(true, l.addr, l.width, v);
            report(l, mmio_label(l.addr), hex(l.values[0]), ok ? "" : "expected OK got bus error");
            return;
        }
        case ScriptOp::MmioRead:
        case ScriptOp::MemRead: {
            uint64_t v = 0;
            bool ok;
            if (l.op == ScriptOp::MmioRead) {
                ok = mmio_access(false, l.addr, l.width, v);
            } else {
                ok = port_.read(l.addr, &v, l.width);
                ++counts_.mem_reads;
            }
            const std::string what = l.op == ScriptOp::MmioRead ? mmio_label(l.addr) : hex(l.addr);
            if (l.has_expect) ++counts_.expectations;
            if (ok && l.store) {
                variables_[*l.store] = v;
                set_[*l.store] = true;
            }
            if (!ok) {
                report(l, what, "bus error", "expected OK got bus error");
            } else if (!l.has_expect) {
                report(l, what, hex(v));
            } else if ((v & l.mask) == l.expect) {
                report(l, what, hex(v) + "  ok");
            } else {
                const bool masked = l.mask != (l.width == 4 ? 0xffffffffu : ~uint64_t{0});
                report(l, what, hex(v),
                       "expected " + hex(l.expect) + (masked ? " under mask " + hex(l.mask) : "") + " got " +
                           hex(v & l.mask));
            }
            return;
        }
        case ScriptOp::MemWrite: {
            std::string values;
            bool ok = true;
            for (std::size_t i = 0; i < l.values.size(); ++i) {
                const uint64_t v = l.values[i];
                ok = port_.write(l.addr + i * l.width, &v, l.width) && ok;
                ++counts_.mem_writes;
                values += (i ? " " : "") + hex(v);
            }
            report(l, hex(l.addr), values, ok ? "" : "expected OK got bus error");
            return;
        }
        case ScriptOp::Poll: {
            ++counts_.expectations;
            const sc_time deadline = start_ + ns_time(l.timeout_ns);
            uint64_t v = 0;
            for (unsigned reads = 1;; ++reads) {
                // Nothing but the command queue moves a register while a poll
                // waits (the script issues no DMA meanwhile): with it idle
                // before the read, the value read is final.
                const std::string idle = cmdq_idle();
                if (!mmio_access(false, l.addr, l.width, v)) {
                    report(l, mmio_label(l.addr), "bus error", "expected OK got bus error");
                    return;
                }
                const std::string result = hex(v) + "  (" + condition(l) + ", " + std::to_string(reads) +
                                           (reads == 1 ? " read)" : " reads)");
                if ((v & l.mask) == l.expect) {
                    report(l, mmio_label(l.addr), result + "  ok");
                    return;
                }
                if (!idle.empty()) {
                    report(l, mmio_label(l.addr), result,
                           "expected " + condition(l) + " got " + hex(v & l.mask) + ", which can no longer change: " + idle);
                    return;
                }
                if (sc_core::sc_time_stamp() >= deadline) {
                    report(l, mmio_label(l.addr), result,
                           "expected " + condition(l) + " within " + std::to_string(l.timeout_ns) + " ns got " +
                               hex(v & l.mask));
                    return;
                }
                wait(ns_time(cfg_.host.mmio_latency_ns));  // the CPU's pause between polls
            }
        }
        case ScriptOp::Wait:
            wait(ns_time(l.wait_ns));
            report(l, "", std::to_string(l.wait_ns) + " ns");
            return;
        case ScriptOp::Dma: {
            std::vector<unsigned char> data(l.size, 0);
            if (l.data)
                for (uint32_t i = 0; i < l.size; ++i) data[i] = static_cast<unsigned char>(*l.data >> (8 * (i % 8)));
            SmmuExtension ext;
            ext.sid = l.sid;
            ext.ssv = l.ssv;
            ext.ssid = l.ssid;
            tlm::tlm_generic_payload gp;
            gp.set_command(l.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
            gp.set_address(l.addr);
            gp.set_data_ptr(data.data());
            gp.set_data_length(l.size);
            gp.set_streaming_width(l.size);
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            gp.set_extension(&ext);
            sc_time delay = sc_core::SC_ZERO_TIME;
            dma->b_transport(gp, delay);
            wait(delay);
            gp.clear_extension(&ext);
            const sc_time latency = sc_core::sc_time_stamp() - start_;
            dma_latency_.add(latency.value());
            ++counts_.dma;

            const bool ok = gp.is_response_ok();
            std::string got;
            if (ok)
                got = "pa=" + hex(ext.pa);
            else if (ext.event_id == SmmuExtension::kAbortNoEvent)
                got = "abort";
            else if (ext.event_id)
                got = "fault=" + event_label(ext.event_id);
            else
                got = ext.pa ? "bus error at pa=" + hex(ext.pa) : std::string("bus error");
            if (ok)
                counts_.dma_bytes += l.size;
            else
                ++counts_.dma_faults;

            std::string want;
            bool pass = true;
            switch (l.dma_expect) {
                case DmaExpect::None: break;
                case DmaExpect::Ok:
                    want = "ok";
                    pass = ok;
                    break;
                case DmaExpect::Pa:
                    want = "pa=" + hex(l.expect_pa);
                    pass = ok && ext.pa == l.expect_pa;
                    break;
                case DmaExpect::Fault:
                    want = "fault=" + event_label(l.event_id);
                    pass = !ok && ext.event_id == l.event_id;
                    break;
                case DmaExpect::Abort:
                    want = "abort";
                    pass = !ok && ext.event_id == SmmuExtension::kAbortNoEvent;
                    break;
            }
            // The same access, for walks of memory (perm=, --walks).
            TranslationRequest req;
            req.sid = l.sid;
            req.ssid = l.ssid;
            req.ssv = l.ssv;
            req.iova = l.addr;
            req.write = l.write;
            // perm=: what a walk of memory grants now (the caches' entry came from one).
            if (pass && ok && l.expect_perm) {
                AccessLog log;
                const TranslationResult r = fresh_.translate(smmu_.core().regs().stream_table(), req, log);
                const bool x = l.expect_perm->find('x') != std::string::npos;
                std::string have = std::string(r.perms.read ? "r" : "") + (r.perms.write ? "w" : "") + (x && r.perms.exec ? "x" : "");
                std::string want_perm;
                for (char c : std::string("rwx"))
                    if (l.expect_perm->find(c) != std::string::npos) want_perm += c;
                // Bypass (STE or SMMUEN=0) grants whatever was asked.
                if (!smmu_.core().regs().smmu_enabled() || r.outcome == TranslationResult::Outcome::Bypassed)
                    have = want_perm;
                got += " perm=" + (have.empty() ? std::string("none") : have);
                want += " perm=" + want_perm;
                pass = have == want_perm;
            }
            if (l.dma_expect != DmaExpect::None) ++counts_.expectations;
            char lat[32];
            std::snprintf(lat, sizeof lat, "  (%.1f ns)", to_ns(latency));
            std::string what = "sid=" + hex(l.sid) + (l.ssv ? " ssid=" + hex(l.ssid) : "") + (l.write ? " W " : " R ") +
                               hex(l.addr) + "+" + std::to_string(l.size);
            report(l, what, got + lat + (pass && l.dma_expect != DmaExpect::None ? "  ok" : ""),
                   pass ? "" : "expected " + want + " got " + got);
            if (walks_ && !quiet_) print_walk(req);
            return;
        }
    }
}

std::vector<arch::EventRecord> ReplayBench::pending_events() const {
    const RegisterFile& regs = smmu_.core().regs();
    const QueueConfig q = regs.eventq();
    std::vector<arch::EventRecord> out;
    const uint32_t mask = QueuePointer::mask(q.log2size);
    const uint32_t prod = regs.eventq_prod() & mask;
    uint32_t cons = regs.eventq_cons() & mask;
    // Bounded by the queue's size: a full queue has prod == cons with the wraps differing.
    for (uint64_t n = 0; cons != prod && n < (uint64_t{1} << q.log2size); ++n) {
        arch::EventRecord e;
        const uint64_t slot = q.base + uint64_t{QueuePointer::index(cons, q.log2size)} * arch::EventRecord::kBytes;
        if (!const_cast<Memory&>(memory_).store().peek(slot, e.w.data(), arch::EventRecord::kBytes)) break;
        out.push_back(e);
        cons = QueuePointer::next(cons, q.log2size);
    }
    return out;
}

nlohmann::ordered_json ReplayBench::stats(double wall_s) const {
    using nlohmann::ordered_json;
    const SmmuCore& core = smmu_.core();
    const SmmuStats& s = core.stats();
    const sc_time now = sc_core::sc_time_stamp();
    ordered_json j;
    // The cycle counter over the whole script: the PMCG runs from time 0.
    j["pmu"] = pmu_json(core, now.value() / smmu_.clock_period().value());
    j["totals"] = {{"records", counts_.dma},
                   {"transactions", counts_.dma},
                   {"faults", counts_.dma_faults},
                   {"bytes", counts_.dma_bytes},
                   {"translated", s.translated},
                   {"bypassed", s.bypassed},
                   {"aborted", s.aborted}};
    j["latency_ns"] = latency_json(dma_latency_);
    j["caches"] = caches_json(core);
    j["walks"] = walks_json(core);
    j["events"] = events_json(s);
    // The records still in the queue at the end (the script did not consume them).
    ordered_json records = ordered_json::array();
    for (const arch::EventRecord& e : pending_events()) {
        ordered_json r = describe(e);
        r["smmu"] = cfg_.smmus.empty() ? std::string("smmu0") : cfg_.smmus.front();
        records.push_back(r);
    }
    j["event_queue"] = records;
    j["events_dropped"] = events_dropped_json(s);
    j["cmdq"] = cmdq_json(core);
    j["sim"] = {{"sim_time_ns", to_ns(now)}, {"wall_s", wall_s}, {"seed", cfg_.seed}};
    j["replay"] = {{"script", script_.file},
                   {"lines", counts_.lines},
                   {"expectations", counts_.expectations},
                   {"mismatches", counts_.mismatches},
                   {"mmio_reads", counts_.mmio_reads},
                   {"mmio_writes", counts_.mmio_writes},
                   {"mem_reads", counts_.mem_reads},
                   {"mem_writes", counts_.mem_writes}};
    return j;
}

void ReplayBench::print_summary(std::ostream& out) const {
    const ReplayCounts& c = counts_;
    char buf[256];
    std::snprintf(buf, sizeof buf, "replay: %llu lines, %llu checks, %llu mismatches in %.1f ns\n",
                  static_cast<unsigned long long>(c.lines), static_cast<unsigned long long>(c.expectations),
                  static_cast<unsigned long long>(c.mismatches), to_ns(sc_core::sc_time_stamp()));
    out << buf;
    std::snprintf(buf, sizeof buf, "  accesses      %llu MMIO reads, %llu MMIO writes, %llu memory reads, %llu memory writes\n",
                  static_cast<unsigned long long>(c.mmio_reads), static_cast<unsigned long long>(c.mmio_writes),
                  static_cast<unsigned long long>(c.mem_reads), static_cast<unsigned long long>(c.mem_writes));
    out << buf;
    std::snprintf(buf, sizeof buf, "  dma           %llu transactions, %llu bytes, %llu terminated\n",
                  static_cast<unsigned long long>(c.dma), static_cast<unsigned long long>(c.dma_bytes),
                  static_cast<unsigned long long>(c.dma_faults));
    out << buf;
    const SmmuCore& core = smmu_.core();
    out << "  pmu          ";
    const nlohmann::ordered_json pmu = pmu_json(core, sc_core::sc_time_stamp().value() / smmu_.clock_period().value());
    for (const auto& [k, v] : pmu.items()) out << " " << k << "=" << v.dump();
    out << "\n  commands     ";
    const nlohmann::ordered_json cmds = cmdq_json(core);
    if (cmds["by_opcode"].empty()) out << " none";
    for (const auto& [k, v] : cmds["by_opcode"].items()) out << " " << k << "=" << v.dump();
    if (cmds["errors"].get<uint64_t>()) out << " (errors=" << cmds["errors"].dump() << ")";
    out << "\n  events       ";
    const nlohmann::ordered_json events = events_json(core.stats());
    if (events.empty()) out << " none";
    for (const auto& [k, v] : events.items()) out << " " << k << "=" << v.dump();
    out << "\n";
    const std::vector<arch::EventRecord> pending = pending_events();
    if (!pending.empty()) {
        out << "  event queue   " << pending.size() << " record(s) not consumed by the script:\n";
        for (const arch::EventRecord& e : pending) out << "    " << describe(e).dump() << "\n";
    }
}

}  // namespace smmu::sim
