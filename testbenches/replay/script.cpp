#include "testbenches/replay/script.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "models/smmu/registers/register_file.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace {

constexpr uint64_t kMaxSsid = (uint64_t{1} << 20) - 1;
constexpr uint64_t kBurst = 4096;  // one DMA line is one AXI burst: it may not cross 4 KiB

// Name -> offset of every register the model implements, from the register
// file's own table: page 1 first, so EVENTQ_PROD/CONS name their page-1 home
// (the page-0 aliases stay reachable by number), and the low half of a 64-bit
// register first.
const std::map<std::string, uint32_t>& register_map() {
    static const std::map<std::string, uint32_t> m = [] {
        std::map<std::string, uint32_t> out;
        for (uint32_t page : {arch::reg::kPageSize, 0u})
            for (uint32_t off = page; off < page + 0x100; off += 4) {
                const std::string_view n = RegisterFile::name(off);
                if (n != "RESERVED") out.emplace(std::string(n), off);
            }
        return out;
    }();
    return m;
}

bool is_name(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    return true;
}

const char* const kOps[] = {"write32", "write64", "read32", "read64", "memw32", "memw64", "memr32",
                            "memr64",  "poll32",  "poll64", "wait",   "dma",    "let"};

class Parser {
public:
    explicit Parser(std::string file) : file_(std::move(file)) {}

    void line(int number, std::string text) {
        line_ = number;
        if (const std::size_t hash = text.find('#'); hash != std::string::npos) text.erase(hash);
        std::istringstream words(text);
        tok_.clear();
        for (std::string w; words >> w;) tok_.push_back(w);
        if (tok_.empty()) return;
        pos_ = 0;

        ScriptLine l;
        l.line = number;
        for (std::size_t i = 0; i < tok_.size(); ++i) l.text += (i ? " " : "") + tok_[i];
        if (tok_[0][0] == '@') {
            const std::string t = tok_[0].substr(1);
            if (t.empty()) fail("time", "expected @<time_ns>, got '@'");
            const std::optional<uint64_t> v = parse_uint(t);
            if (!v) fail("time", "expected an unsigned integer of ns after '@', got '" + t + "'");
            if (*v > kMaxTimeNs) fail("time", t + " exceeds 10^15 ns");
            l.at_ns = *v;
            ++pos_;
            if (pos_ == tok_.size()) fail("op", "missing after '" + tok_[0] + "'");
        }
        const std::string op = tok_[pos_++];
        op_ = op;
        if (op == "let") {
            if (l.at_ns) fail("time", "a let takes no time: '@' does not apply");
            let();
            return;
        }
        // Sized operations name their width last: write32, memr64, poll32...
        const bool sized = op.size() > 2 && (op.compare(op.size() - 2, 2, "32") == 0 || op.compare(op.size() - 2, 2, "64") == 0);
        const std::string verb = sized ? op.substr(0, op.size() - 2) : std::string();
        const unsigned width = sized && op.compare(op.size() - 2, 2, "32") == 0 ? 4 : 8;
        if (verb == "write") {
            l.op = ScriptOp::MmioWrite;
            l.width = width;
            l.addr = offset(l.width);
            l.values.push_back(value_of(l, DeferredValue::Field::Value, 0, "value", "<value>", l.width));
        } else if (verb == "read") {
            l.op = ScriptOp::MmioRead;
            l.width = width;
            l.addr = offset(l.width);
            expectation(l);
        } else if (verb == "memw") {
            l.op = ScriptOp::MemWrite;
            l.width = width;
            l.addr = address(l, l.width);
            l.values.push_back(value_of(l, DeferredValue::Field::Value, 0, "value", "<value>", l.width));
            while (pos_ < tok_.size()) {
                l.values.push_back(
                    value_of(l, DeferredValue::Field::Value, l.values.size(), "value", "<value>", l.width));
                if (l.values.size() * l.width - l.width > UINT64_MAX - l.addr)
                    fail("value", "the words run past 2^64");
            }
        } else if (verb == "memr") {
            l.op = ScriptOp::MemRead;
            l.width = width;
            l.addr = address(l, l.width);
            expectation(l);
        } else if (verb == "poll") {
            l.op = ScriptOp::Poll;
            l.width = width;
            l.addr = offset(l.width);
            l.mask = value("mask", "<mask>", l.width);
            l.expect = value("value", "<value>", l.width);
            l.has_expect = true;
            if (l.expect & ~l.mask) fail("value", hex(l.expect) + " has bits outside the mask " + hex(l.mask));
            l.timeout_ns = kDefaultPollTimeoutNs;
            if (pos_ < tok_.size()) {
                const std::string& t = tok_[pos_];
                if (t.rfind("timeout=", 0) != 0) extra();
                ++pos_;
                l.timeout_ns = number_of("timeout", t.substr(8));
                if (l.timeout_ns == 0) fail("timeout", "must not be 0");
                if (l.timeout_ns > kMaxTimeNs) fail("timeout", t.substr(8) + " exceeds 10^15 ns");
            }
        } else if (op == "wait") {
            l.op = ScriptOp::Wait;
            l.wait_ns = value("ns", "<ns>", 8);
            if (l.wait_ns > kMaxTimeNs) fail("ns", tok_[pos_ - 1] + " exceeds 10^15 ns");
        } else if (op == "dma") {
            l.op = ScriptOp::Dma;
            dma(l);
        } else {
            std::string known;
            for (const char* k : kOps) known += std::string(known.empty() ? "" : " ") + k;
            fail("op", "unknown operation '" + op + "' (expected one of: " + known + ")");
        }
        if (pos_ < tok_.size()) extra();
        // Each time is bounded, so is their sum: the script's latest end (its
        // last '@', then every wait and poll timeout) must stay within kMaxTimeNs.
        if (l.at_ns) end_ns_ = std::max(end_ns_, *l.at_ns);
        if (l.op == ScriptOp::Wait || l.op == ScriptOp::Poll) {
            end_ns_ += l.op == ScriptOp::Wait ? l.wait_ns : l.timeout_ns;
            if (end_ns_ > kMaxTimeNs)
                fail(l.op == ScriptOp::Wait ? "ns" : "timeout",
                     "waits and poll timeouts add up to " + std::to_string(end_ns_) + " ns, beyond 10^15 ns");
        }
        lines_.push_back(std::move(l));
    }

    std::vector<ScriptLine> take() { return std::move(lines_); }
    std::vector<std::string> variables() const { return variables_; }

private:
    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw InputError(where(file_, line_) + ": " + field + ": " + problem);
    }
    [[noreturn]] void extra() const { fail(op_, "unexpected '" + tok_[pos_] + "'"); }

    const std::string& next(const std::string& field, const std::string& syntax) {
        if (pos_ >= tok_.size()) fail(field, "missing (expected " + syntax + ")");
        return tok_[pos_++];
    }

    uint64_t number_of(const std::string& field, const std::string& s) const {
        const std::optional<uint64_t> v = parse_uint(s);
        if (!v) fail(field, "expected an unsigned integer, got '" + s + "'");
        return *v;
    }

    // term(('+'|'|')term)*: terms are numbers, let names and, where `registers`,
    // register names. Evaluated left to right.
    // A term naming a variable (`-> NAME` of an earlier read) makes the value
    // one to evaluate when the line runs: its terms are left in `terms_`.
    uint64_t expr(const std::string& field, const std::string& s, bool registers) {
        if (s.empty()) fail(field, "missing");
        terms_.clear();
        bool deferred = false;
        uint64_t acc = 0;
        char op = '+';
        std::size_t start = 0;
        for (std::size_t i = 0; i <= s.size(); ++i) {
            if (i < s.size() && s[i] != '+' && s[i] != '|') continue;
            const std::string term = s.substr(start, i - start);
            if (term.empty()) fail(field, "malformed value '" + s + "'");
            uint64_t v;
            if (std::isdigit(static_cast<unsigned char>(term[0]))) {
                const std::optional<uint64_t> n = parse_uint(term);
                if (!n) fail(field, "expected an unsigned integer, got '" + term + "'");
                v = *n;
            } else if (auto it = lets_.find(term); it != lets_.end()) {
                v = it->second;
            } else if (auto r = register_offset(term); registers && r) {
                v = *r;
            } else if (auto var = vars_.find(term); var != vars_.end()) {
                if (!allow_vars_)
                    fail(field, "'" + term + "' is a variable (set by '->' when a line runs): only written values, "
                                "addresses of memory accesses and expected values may name one");
                terms_.push_back({op, true, 0, var->second});
                deferred = true;
                if (i < s.size()) op = s[i];
                start = i + 1;
                continue;
            } else {
                fail(field, "unknown name '" + term + "'" +
                                (register_offset(term) ? " (register names are for MMIO offsets only)" : ""));
            }
            terms_.push_back({op, false, v, 0});
            if (op == '+') {
                if (v > UINT64_MAX - acc) fail(field, "'" + s + "' overflows 64 bits");
                acc += v;
            } else {
                acc |= v;
            }
            if (i < s.size()) op = s[i];
            start = i + 1;
        }
        if (!deferred) terms_.clear();
        return acc;
    }

    // After expr(): a value naming a variable is evaluated when `l` runs.
    bool defer(ScriptLine& l, DeferredValue::Field f, std::size_t index = 0) {
        if (terms_.empty()) return false;
        l.deferred.push_back({f, index, terms_});
        terms_.clear();
        return true;
    }

    uint64_t value(const std::string& field, const std::string& syntax, unsigned width) {
        const std::string& s = next(field, syntax);
        const uint64_t v = expr(field, s, false);
        if (width == 4 && v > 0xffffffffu && terms_.empty()) fail(field, s + " does not fit in 32 bits");
        return v;
    }
    // A value that may name a variable, for `f` of the current line.
    uint64_t value_of(ScriptLine& l, DeferredValue::Field f, std::size_t index, const std::string& field,
                      const std::string& syntax, unsigned width) {
        allow_vars_ = true;
        const uint64_t v = value(field, syntax, width);
        allow_vars_ = false;
        defer(l, f, index);
        return v;
    }

    uint64_t offset(unsigned width) {
        const std::string& s = next("offset", "<offset>: a number or a register name");
        const uint64_t v = expr("offset", s, true);
        if (v >= arch::reg::kMmioSize) fail("offset", hex(v) + " is beyond the SMMU's " + hex(arch::reg::kMmioSize) + " bytes of registers");
        if (v % width) fail("offset", hex(v) + " is not " + std::to_string(width) + "-byte aligned");
        return v;
    }

    uint64_t address(ScriptLine& l, unsigned width) {
        allow_vars_ = true;
        const uint64_t v = expr("address", next("address", "<pa>"), false);
        allow_vars_ = false;
        if (defer(l, DeferredValue::Field::Addr)) return 0;
        if (v % width) fail("address", hex(v) + " is not " + std::to_string(width) + "-byte aligned");
        return v;
    }

    // [== <expected> [mask=<m>]] [-> NAME]
    void expectation(ScriptLine& l) {
        if (pos_ >= tok_.size()) return;
        if (tok_[pos_] == "->") return store(l);
        if (tok_[pos_] != "==") fail(op_, "unexpected '" + tok_[pos_] + "' (an expectation is '== <value>')");
        ++pos_;
        l.has_expect = true;
        l.expect = value_of(l, DeferredValue::Field::Expect, 0, "expected", "<value> after '=='", l.width);
        const bool deferred = !l.deferred.empty() && l.deferred.back().field == DeferredValue::Field::Expect;
        if (pos_ < tok_.size() && tok_[pos_].rfind("mask=", 0) == 0) {
            const std::string s = tok_[pos_++].substr(5);
            l.mask = expr("mask", s, false);
            if (l.width == 4 && l.mask > 0xffffffffu) fail("mask", s + " does not fit in 32 bits");
            if (!deferred && (l.expect & ~l.mask)) fail("expected", hex(l.expect) + " has bits outside the mask " + hex(l.mask));
        }
        if (l.width == 4 && l.mask > 0xffffffffu) l.mask = 0xffffffffu;
        if (pos_ < tok_.size() && tok_[pos_] == "->") store(l);
    }

    // -> NAME: the value read goes to a variable for later lines.
    void store(ScriptLine& l) {
        ++pos_;
        const std::string name = next("name", "-> <NAME>");
        new_name(name);
        vars_[name] = static_cast<unsigned>(variables_.size());
        l.store = static_cast<unsigned>(variables_.size());
        variables_.push_back(name);
    }

    // dma <sid> [ssid=<n>] <R|W> <iova> <size> [data=<v>] [expect ...]
    void dma(ScriptLine& l) {
        const uint64_t sid = expr("sid", next("sid", "<sid>"), false);
        if (sid > 0xffffffffu) fail("sid", hex(sid) + " does not fit in 32 bits");
        l.sid = static_cast<uint32_t>(sid);
        if (pos_ < tok_.size() && tok_[pos_].rfind("ssid=", 0) == 0) {
            const uint64_t ssid = expr("ssid", tok_[pos_++].substr(5), false);
            if (ssid > kMaxSsid) fail("ssid", hex(ssid) + " exceeds 20 bits");
            l.ssv = true;
            l.ssid = static_cast<uint32_t>(ssid);
        }
        const std::string& dir = next("direction", "R or W");
        if (dir != "R" && dir != "W") fail("direction", "expected R or W, got '" + dir + "'");
        l.write = dir == "W";
        l.addr = expr("iova", next("iova", "<iova>"), false);
        const uint64_t size = expr("size", next("size", "<size>"), false);
        if (size == 0) fail("size", "must not be 0");
        if (size > kBurst || (l.addr % kBurst) + size > kBurst)
            fail("size", std::to_string(size) + " bytes at " + hex(l.addr) +
                             " cross a 4 KiB boundary (a dma line is one burst)");
        l.size = static_cast<uint32_t>(size);
        if (pos_ < tok_.size() && tok_[pos_].rfind("data=", 0) == 0) {
            if (!l.write) fail("data", "only a write (W) carries data");
            l.data = expr("data", tok_[pos_++].substr(5), false);
        }
        if (pos_ >= tok_.size()) return;
        if (tok_[pos_] != "expect") extra();
        ++pos_;
        const std::string& e = next("expect", "ok, pa=<pa>, fault=<EVENT> or abort");
        if (e == "ok") {
            l.dma_expect = DmaExpect::Ok;
        } else if (e == "abort") {
            l.dma_expect = DmaExpect::Abort;
        } else if (e.rfind("pa=", 0) == 0) {
            l.dma_expect = DmaExpect::Pa;
            l.expect_pa = expr("pa", e.substr(3), false);
        } else if (e.rfind("fault=", 0) == 0) {
            l.dma_expect = DmaExpect::Fault;
            const std::string name = e.substr(6);
            for (const arch::EventInfo& info : arch::all_events())
                if (info.name == name) l.event_id = static_cast<uint8_t>(info.id);
            if (!l.event_id) {
                std::string known;
                for (const arch::EventInfo& info : arch::all_events())
                    known += std::string(known.empty() ? "" : " ") + std::string(info.name);
                fail("fault", "unknown event '" + name + "' (expected one of: " + known + ")");
            }
        } else {
            fail("expect", "expected ok, pa=<pa>, fault=<EVENT> or abort, got '" + e + "'");
        }
        // perm=<rwx>: what the translation grants (r, w, x; x is checked only when named).
        if (pos_ < tok_.size() && tok_[pos_].rfind("perm=", 0) == 0) {
            if (l.dma_expect != DmaExpect::Ok && l.dma_expect != DmaExpect::Pa)
                fail("perm", "only a DMA expected to complete (expect ok, expect pa=) has a permission");
            const std::string perm = tok_[pos_++].substr(5);
            bool ok = !perm.empty();
            for (char c : perm) ok = ok && (c == 'r' || c == 'w' || c == 'x') && perm.find(c) == perm.rfind(c);
            if (!ok) fail("perm", "expected letters of r, w, x (once each), got '" + perm + "'");
            l.expect_perm = perm;
        }
    }

    // A let's or a variable's name: a valid one, not a register's, defined once.
    void new_name(const std::string& name) {
        if (!is_name(name)) fail("name", "'" + name + "' is not a name (letters, digits, _; not starting with a digit)");
        if (register_offset(name)) fail("name", "'" + name + "' is a register name");
        if (auto it = let_lines_.find(name); it != let_lines_.end())
            fail("name", "'" + name + "' already defined at line " + std::to_string(it->second));
        let_lines_[name] = line_;
    }

    // let <NAME> = <value>
    void let() {
        const std::string name = next("name", "let <NAME> = <value>");
        new_name(name);
        if (next("=", "let <NAME> = <value>") != "=") fail("=", "expected '=' after the name, got '" + tok_[pos_ - 1] + "'");
        const uint64_t v = value("value", "<value>", 8);
        if (pos_ < tok_.size()) extra();
        lets_[name] = v;
    }

    std::string file_;
    int line_ = 0;
    uint64_t end_ns_ = 0;  // the latest time the lines so far can end at
    std::vector<std::string> tok_;
    std::size_t pos_ = 0;
    std::string op_;
    std::map<std::string, uint64_t> lets_;
    std::map<std::string, int> let_lines_;
    std::map<std::string, unsigned> vars_;  // `-> NAME` variables defined so far
    std::vector<std::string> variables_;
    std::vector<ScriptTerm> terms_;        // the last expr()'s terms, when it named a variable
    bool allow_vars_ = false;              // set while a value may name a variable
    std::vector<ScriptLine> lines_;
};

}  // namespace

std::optional<uint32_t> register_offset(const std::string& name) {
    const auto& m = register_map();
    auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
}

std::string register_label(uint32_t offset) {
    const std::string_view n = RegisterFile::name(offset);
    if (n == "RESERVED") return "";
    if (offset >= 4 && RegisterFile::name(offset - 4) == n) return std::string(n) + "+4";
    return std::string(n);
}

Script parse_script(std::istream& in, const std::string& filename) {
    Parser p(filename);
    std::string text;
    int n = 0;
    while (std::getline(in, text)) p.line(++n, text);
    if (in.bad()) throw InputError(filename + ": read error after line " + std::to_string(n));
    Script s{filename, p.take(), {}};
    s.variables = p.variables();
    return s;
}

Script load_script(const std::string& path) {
    if (!std::filesystem::exists(path)) throw InputError("missing file '" + path + "'");
    std::ifstream in(path);
    if (!in || std::filesystem::is_directory(path)) throw InputError("cannot read file '" + path + "'");
    return parse_script(in, path);
}

}  // namespace smmu::sim
