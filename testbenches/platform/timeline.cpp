#include "testbenches/platform/timeline.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "models/arch/event.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace {
std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// Trace-event times are microseconds: picoseconds printed exactly.
std::string micros(uint64_t ps) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIu64 ".%06" PRIu64, ps / 1000000, ps % 1000000);
    return buf;
}

std::string json_hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"0x%" PRIx64 "\"", v);
    return buf;
}

uint64_t ps_of_ns(double ns) { return static_cast<uint64_t>(std::llround(ns * 1000.0)); }

std::string opcode_name(const arch::Command& c) {
    if (const arch::OpcodeInfo* info = c.info()) return std::string(info->name);
    char buf[24];
    std::snprintf(buf, sizeof buf, "opcode 0x%02x", c.opcode());
    return buf;
}

const char* outcome_name(EventQueue::Outcome o) {
    switch (o) {
        case EventQueue::Outcome::Written: return "written";
        case EventQueue::Outcome::Disabled: return "dropped: EVTQEN=0";
        case EventQueue::Outcome::Overflow: return "dropped: overflow";
        case EventQueue::Outcome::WriteAbort: return "write abort";
    }
    return "";
}
}  // namespace

void TimelineOptions::set_window(const std::string& text) {
    const std::size_t colon = text.find(':');
    const auto start = colon == std::string::npos ? std::nullopt : parse_uint(text.substr(0, colon));
    const auto end = colon == std::string::npos ? std::nullopt : parse_uint(text.substr(colon + 1));
    if (!start || !end || *start >= *end || *end > std::numeric_limits<uint64_t>::max() / 1000)
        throw InputError("--timeline-window: '" + text + "' is not START:END in ns with START < END");
    window_start_ps = *start * 1000;
    window_end_ps = *end * 1000;
}

void TimelineOptions::set_sample(const std::string& text) {
    const auto n = parse_uint(text);
    if (!n || *n == 0) throw InputError("--timeline-sample: '" + text + "' is not a whole number >= 1");
    sample = *n;
}

void TimelineOptions::set_max_events(const std::string& text) {
    const auto n = parse_uint(text);
    if (!n || *n == 0) throw InputError("--timeline-max-events: '" + text + "' is not a whole number >= 1");
    max_events = *n;
}

// ---- One SMMU instance's tracks: the command queue, its events, and one
// track per master (upstream port) with more lanes while its translations
// overlap (several outstanding): complete events on one track must nest.
class Timeline::SmmuTrack : public SmmuRecorder {
public:
    SmmuTrack(Timeline& t, const std::string& name, uint64_t period_ps, const std::vector<std::string>& masters)
        : t_(t), period_ps_(period_ps), masters_(masters) {
        pid_ = t.process(name);
        cmdq_tid_ = t.thread(pid_, "cmdq", 0);
        events_tid_ = t.thread(pid_, "events", 1);
    }

    void translation(unsigned port, const TranslationRequest& req, const TranslationResult& r, Cycle arrival,
                     const TimedTranslation* tt, Cycle done) override {
        if (count_++ % t_.opt_.sample) return;
        const uint64_t start = ps(arrival), end = ps(done);
        if (!t_.in_window(start, end)) return;
        const unsigned tid = lane(port, start, end);
        std::string args = "{\"sid\":" + std::to_string(req.sid);
        if (req.ssv) args += ",\"ssid\":" + std::to_string(req.ssid);
        args += ",\"iova\":" + json_hex(req.iova);
        if (r.ok()) args += ",\"pa\":" + json_hex(r.pa);
        args += std::string(",\"write\":") + (req.write ? "true" : "false") + "}";
        t_.complete(pid_, tid, name(r, tt), "translation", start, end, args);
        if (!tt) return;
        const auto phase = [&](const char* what, Cycle from, Cycle to) {
            if (to > from) t_.complete(pid_, tid, what, "phase", ps(from), ps(to));
        };
        phase("slot wait", arrival, tt->accepted);
        if (!tt->utlb_hit && !tt->config_hit) phase("config fetch", tt->config_start, tt->config_done);
        if (tt->walked) {
            phase("walk slot wait", tt->walk_queued, tt->walk_start);
            phase("walk", tt->walk_start, tt->walk_done);
        }
        phase("event record", tt->done, done);
    }

    void event(const TranslationRequest& req, const Fault& fault, EventQueue::Outcome o, Cycle at) override {
        t_.instant(pid_, events_tid_, std::string(arch::event_name(fault.id)), "event", ps(at),
                   "{\"sid\":" + std::to_string(req.sid) + ",\"iova\":" + json_hex(req.iova) + ",\"record\":\"" +
                       outcome_name(o) + "\"}");
    }

    void command(const CommandQueue::Step& s, Cycle start, Cycle done) override {
        if (s.kind == CommandQueue::Step::Kind::Error) {
            t_.instant(pid_, cmdq_tid_, "command error", "command", ps(start),
                       "{\"opcode\":\"" + opcode_name(s.cmd) +
                           "\",\"cerror\":" + std::to_string(static_cast<unsigned>(s.error)) + "}");
            return;
        }
        // The fields the command sets (all its fields are zero otherwise).
        std::string args = "{";
        if (const arch::OpcodeInfo* info = s.cmd.info())
            for (const arch::FieldDef& f : info->fields)
                if (const uint64_t v = s.cmd.get(f))
                    args += (args.size() > 1 ? ",\"" : "\"") + std::string(f.name) + "\":" + json_hex(v);
        args += "}";
        t_.complete(pid_, cmdq_tid_, opcode_name(s.cmd), "command", ps(start), ps(done), args);
    }

private:
    uint64_t ps(Cycle c) const { return c * period_ps_; }

    static std::string name(const TranslationResult& r, const TimedTranslation* tt) {
        using O = TranslationResult::Outcome;
        switch (r.outcome) {
            case O::Faulted: return "fault " + std::string(arch::event_name(r.fault.id));
            case O::Aborted: return tt ? "abort" : "abort (SMMUEN=0)";
            case O::Bypassed: return tt ? "bypass" : "bypass (SMMUEN=0)";
            case O::Translated: break;
        }
        if (tt->utlb_hit) return "utlb hit";
        if (tt->tlb_hit) return "tlb hit";
        return tt->walked ? "walk" : "translated";
    }

    // The first lane of the port's master free at `start` (lanes are
    // created as needed and named "master", "master #2"...).
    unsigned lane(unsigned port, uint64_t start, uint64_t end) {
        if (lanes_.size() <= port) lanes_.resize(port + 1);
        auto& lanes = lanes_[port];
        for (Lane& l : lanes)
            if (l.end_ps <= start) {
                l.end_ps = end;
                return l.tid;
            }
        std::string name = port < masters_.size() ? masters_[port] : "upstream[" + std::to_string(port) + "]";
        if (!lanes.empty()) name += " #" + std::to_string(lanes.size() + 1);
        lanes.push_back({t_.thread(pid_, name, 2 + port * 1000 + static_cast<unsigned>(lanes.size())), end});
        return lanes.back().tid;
    }

    struct Lane {
        unsigned tid;
        uint64_t end_ps;
    };
    Timeline& t_;
    uint64_t period_ps_;
    std::vector<std::string> masters_;
    unsigned pid_ = 0, cmdq_tid_ = 0, events_tid_ = 0;
    uint64_t count_ = 0;
    std::vector<std::vector<Lane>> lanes_;
};

Timeline::Timeline(std::ostream& out, const TimelineOptions& opt) : out_(out), opt_(opt) {
    out_ << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    host_pid_ = process("host");
    host_tid_ = thread(host_pid_, "cpu", 0);
}

Timeline::~Timeline() { finish(); }

void Timeline::write_raw(const std::string& line) {
    if (!first_) out_ << ",\n";
    first_ = false;
    out_ << line;
}

unsigned Timeline::process(const std::string& name) {
    const unsigned pid = next_pid_++;
    next_tid_.resize(next_pid_, 1);
    write_raw("{\"ph\":\"M\",\"pid\":" + std::to_string(pid) + ",\"name\":\"process_name\",\"args\":{\"name\":" +
              quoted(name) + "}}");
    write_raw("{\"ph\":\"M\",\"pid\":" + std::to_string(pid) +
              ",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":" + std::to_string(pid) + "}}");
    return pid;
}

unsigned Timeline::thread(unsigned pid, const std::string& name, unsigned sort) {
    const unsigned tid = next_tid_.at(pid)++;
    const std::string ids = "\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid);
    write_raw("{\"ph\":\"M\"," + ids + ",\"name\":\"thread_name\",\"args\":{\"name\":" + quoted(name) + "}}");
    write_raw("{\"ph\":\"M\"," + ids + ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" +
              std::to_string(sort) + "}}");
    return tid;
}

bool Timeline::in_window(uint64_t start_ps, uint64_t end_ps) const {
    return end_ps >= opt_.window_start_ps && start_ps <= opt_.window_end_ps;
}

bool Timeline::admit(uint64_t start_ps, uint64_t end_ps) {
    if (finished_ || !in_window(start_ps, end_ps)) return false;
    if (written_ < opt_.max_events) return true;
    if (!capped_) {
        capped_ = true;
        capped_at_ps_ = start_ps;
        // The note itself is past the cap: a viewer shows where the file stops.
        write_event('i', host_pid_, host_tid_, "timeline cap reached: later events dropped", "timeline", start_ps,
                    nullptr, "{\"max_events\":" + std::to_string(opt_.max_events) + "}");
    }
    ++dropped_;
    return false;
}

void Timeline::write_event(char ph, unsigned pid, unsigned tid, const std::string& name, const char* cat,
                           uint64_t ts_ps, const uint64_t* dur_ps, const std::string& args) {
    std::string line = "{\"ph\":\"";
    line += ph;
    line += "\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid) + ",\"ts\":" + micros(ts_ps);
    if (dur_ps) line += ",\"dur\":" + micros(*dur_ps);
    if (ph == 'i') line += ",\"s\":\"t\"";
    line += ",\"cat\":\"" + std::string(cat) + "\",\"name\":" + quoted(name);
    if (!args.empty()) line += ",\"args\":" + args;
    line += "}";
    write_raw(line);
}

void Timeline::complete(unsigned pid, unsigned tid, const std::string& name, const char* cat, uint64_t start_ps,
                        uint64_t end_ps, const std::string& args) {
    if (!admit(start_ps, end_ps)) return;
    ++written_;
    const uint64_t dur = end_ps - start_ps;
    write_event('X', pid, tid, name, cat, start_ps, &dur, args);
}

void Timeline::instant(unsigned pid, unsigned tid, const std::string& name, const char* cat, uint64_t at_ps,
                       const std::string& args) {
    if (!admit(at_ps, at_ps)) return;
    ++written_;
    write_event('i', pid, tid, name, cat, at_ps, nullptr, args);
}

SmmuRecorder& Timeline::smmu(const std::string& name, uint64_t period_ps, const std::vector<std::string>& masters) {
    smmus_.push_back(std::make_unique<SmmuTrack>(*this, name, period_ps, masters));
    return *smmus_.back();
}

void Timeline::host_op(const std::string& name, const std::string& where, uint64_t start_ps, uint64_t end_ps) {
    if (end_ps == start_ps) return;  // nothing done (a final flush with empty queues)
    complete(host_pid_, host_tid_, name, "host", start_ps, end_ps,
             where.empty() ? "" : "{\"where\":" + quoted(where) + "}");
}

void Timeline::cmdlist(const std::string& smmu, const std::vector<arch::Command>& cmds, bool sync, double start_ns,
                       double end_ns) {
    // Named by its opcodes, runs of one counted: "TLBI_S2_IPA x3 + SYNC".
    std::string name;
    bool invalidates = false;
    for (std::size_t i = 0; i < cmds.size();) {
        std::size_t j = i;
        while (j < cmds.size() && cmds[j].opcode() == cmds[i].opcode()) ++j;
        name += (name.empty() ? "" : ", ") + opcode_name(cmds[i]) + (j - i > 1 ? " x" + std::to_string(j - i) : "");
        invalidates = invalidates || is_invalidation(static_cast<arch::Opcode>(cmds[i].opcode()));
        i = j;
    }
    if (sync) name += name.empty() ? "SYNC" : " + SYNC";
    complete(host_pid_, host_tid_, name, invalidates ? "invalidation" : "cmdlist", ps_of_ns(start_ns), ps_of_ns(end_ns),
             "{\"smmu\":" + quoted(smmu) + ",\"commands\":" + std::to_string(cmds.size() + (sync ? 1 : 0)) + "}");
}

uint64_t Timeline::finish() {
    if (finished_) return written_;
    finished_ = true;
    out_ << "\n],\"otherData\":{\"events\":" << written_ << ",\"max_events\":" << opt_.max_events
         << ",\"truncated\":" << (capped_ ? "true" : "false") << ",\"dropped_events\":" << dropped_;
    if (capped_) out_ << ",\"truncated_at_us\":" << micros(capped_at_ps_);
    if (opt_.windowed())
        out_ << ",\"window_ns\":[" << opt_.window_start_ps / 1000 << "," << opt_.window_end_ps / 1000 << "]";
    out_ << ",\"sample\":" << opt_.sample << "}}\n";
    out_.flush();
    return written_;
}

}  // namespace smmu::sim
