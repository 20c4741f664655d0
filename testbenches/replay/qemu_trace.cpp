#include "testbenches/replay/qemu_trace.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"
#include "testbenches/replay/script.h"

namespace smmu::sim {

using arch::Command;
using arch::Opcode;
namespace cmd = arch::cmd;

namespace {

constexpr uint64_t kMaxImageBytes = 64ull << 20;

// One line of the trace that names an smmu event: the event and the text
// after it (the fields, as QEMU's format strings print them).
struct Event {
    int line = 0;
    std::string name;
    std::string fields;
};

// "12345@1700000000.123456:smmuv3_write_mmio addr: 0x20 ..." (log backend,
// with or without the pid@time prefix): the event, or nullopt.
std::optional<Event> parse_event(const std::string& text, int line) {
    std::size_t at = 0;
    while (true) {
        at = text.find("smmu", at);
        if (at == std::string::npos) return std::nullopt;
        // The name starts the line or follows the prefix's ':' or a space.
        if (at == 0 || text[at - 1] == ':' || text[at - 1] == ' ') break;
        ++at;
    }
    std::size_t end = at;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    Event e{line, text.substr(at, end - at), end < text.size() ? text.substr(end) : ""};
    if (e.name.rfind("smmu_", 0) != 0 && e.name.rfind("smmuv3_", 0) != 0) return std::nullopt;
    return e;
}

class Converter {
public:
    Converter(std::string name, QemuConversion& out) : name_(std::move(name)), out_(out) {}

    void run(const std::vector<Event>& events, const std::vector<MemoryImage>& images);
    std::string text() const { return script_.str(); }

private:
    // The number after `key` in the event's fields (decimal or 0x-hex; spaces,
    // '=' and ':' between); an InputError naming the field when absent.
    uint64_t field(const Event& e, const std::string& key) const {
        const std::optional<uint64_t> v = maybe_field(e, key);
        if (!v) throw InputError(name_ + ":" + std::to_string(e.line) + ": " + e.name + ": no number after '" + key + "'");
        return *v;
    }
    static std::optional<uint64_t> maybe_field(const Event& e, const std::string& key) {
        std::size_t p = e.fields.find(key);
        if (p == std::string::npos) return std::nullopt;
        p += key.size();
        while (p < e.fields.size() && (e.fields[p] == ' ' || e.fields[p] == '=' || e.fields[p] == ':')) ++p;
        std::size_t q = p;
        while (q < e.fields.size() && (std::isxdigit(static_cast<unsigned char>(e.fields[q])) || e.fields[q] == 'x')) ++q;
        return parse_uint(std::string_view(e.fields).substr(p, q - p));
    }
    // The first word of the fields ("<--- CMD_SYNC" -> "CMD_SYNC" after `after`).
    static std::string word(const Event& e, const std::string& after = "") {
        std::size_t p = after.empty() ? 0 : e.fields.find(after);
        if (p == std::string::npos) return "";
        p += after.size();
        while (p < e.fields.size() && e.fields[p] == ' ') ++p;
        std::size_t q = p;
        while (q < e.fields.size() && e.fields[q] != ' ' && e.fields[q] != ',') ++q;
        return e.fields.substr(p, q - p);
    }

    [[noreturn]] void fail(const Event& e, const std::string& field, const std::string& problem) const {
        throw InputError(name_ + ":" + std::to_string(e.line) + ": " + e.name + ": " + field + ": " + problem);
    }
    // An MMIO event's offset, value and size, as a script line can carry them.
    std::tuple<uint64_t, uint64_t, uint64_t> mmio_access(const Event& e) const {
        const uint64_t off = field(e, "addr"), val = field(e, "val"), size = field(e, "size");
        if (size != 4 && size != 8) fail(e, "size", std::to_string(size) + " is not 4 or 8");
        if (off >= arch::reg::kMmioSize) fail(e, "addr", hex(off) + " is beyond the SMMU's registers");
        if (off % size) fail(e, "addr", hex(off) + " is not " + std::to_string(size) + "-byte aligned");
        if (size == 4 && val > 0xffffffffu) fail(e, "val", hex(val) + " does not fit a 32-bit access");
        return {off, val, size};
    }
    void emit(const std::string& line) { script_ << line << "\n"; }
    void warn(const std::string& w) {
        out_.warnings.push_back(w);
        emit("# WARNING: " + w);
    }
    void load_image(const MemoryImage& image);
    void mmio_write(const std::vector<Event>& ev, std::size_t i);
    void mmio_read(const Event& e);
    void descriptor(const Event& e, uint64_t addr, uint64_t value);
    void translation(const std::vector<Event>& ev, std::size_t i);
    std::vector<Command> commands_after(const std::vector<Event>& ev, std::size_t i);
    bool covered(uint64_t pa) const {
        for (const auto& [base, size] : images_)
            if (pa >= base && pa - base < size) return true;
        return false;
    }

    std::string name_;
    QemuConversion& out_;
    std::ostringstream script_;
    std::vector<std::pair<uint64_t, uint64_t>> images_;  // (pa, bytes)
    uint64_t cmdq_base_ = 0;                              // SMMU_CMDQ_BASE as the driver wrote it
    uint32_t prod_ = 0;                                   // CMDQ_PROD as the driver last wrote it
    std::map<uint64_t, uint64_t> memory_;                 // descriptors stored so far
    std::vector<std::pair<uint64_t, uint64_t>> pending_;  // descriptors read since the last DMA
    std::map<uint64_t, int> structures_;                  // STE/CD addresses QEMU read, first line
};

void Converter::load_image(const MemoryImage& image) {
    if (image.pa % 8) throw InputError("--memory: '" + image.path + "': address " + hex(image.pa) + " is not 8-byte aligned");
    std::ifstream f(image.path, std::ios::binary);
    std::error_code ec;
    if (!f || std::filesystem::is_directory(image.path, ec)) throw InputError("--memory: cannot read '" + image.path + "'");
    if (std::filesystem::file_size(image.path, ec) > kMaxImageBytes)
        throw InputError("--memory: '" + image.path + "' is larger than 64 MiB (store only the tables)");
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    bytes.resize((bytes.size() + 7) / 8 * 8, 0);
    images_.push_back({image.pa, bytes.size()});
    emit("# memory image " + image.path + " at " + hex(image.pa) + " (" + std::to_string(bytes.size()) + " bytes)");
    // Runs of non-zero words, up to 8 a line (memory reads zero anyway).
    std::size_t i = 0;
    const std::size_t n = bytes.size() / 8;
    auto word_at = [&](std::size_t k) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; --b) w = (w << 8) | static_cast<uint8_t>(bytes[k * 8 + b]);
        return w;
    };
    while (i < n) {
        if (word_at(i) == 0) {
            ++i;
            continue;
        }
        std::string line = "memw64 " + hex(image.pa + i * 8);
        for (unsigned k = 0; k < 8 && i < n && word_at(i) != 0; ++k, ++i) {
            line += " " + hex(word_at(i));
            ++out_.image_words;
        }
        emit(line);
    }
}

// The commands QEMU consumed right after a CMDQ_PROD write: each starts with
// smmuv3_cmdq_opcode; the events after it until the next opcode carry what
// QEMU traces of its fields.
std::vector<Command> Converter::commands_after(const std::vector<Event>& ev, std::size_t i) {
    std::vector<Command> cmds;
    for (std::size_t j = i + 1; j < ev.size(); ++j) {
        const Event& e = ev[j];
        if (e.name == "smmuv3_write_mmio" || e.name == "smmuv3_read_mmio" || e.name.rfind("smmuv3_translate", 0) == 0 ||
            e.name == "smmuv3_get_ste" || e.name == "smmu_get_pte")
            break;
        if (e.name == "smmuv3_cmdq_opcode") {
            // QEMU names them SMMU_CMD_<name>; its CFGI_ALL is CFGI_STE_RANGE
            // with Range 31 (IHI 0070 4.3.3).
            std::string op = word(e, "<---");
            for (const std::string prefix : {"SMMU_CMD_", "CMD_"})
                if (op.rfind(prefix, 0) == 0) op = op.substr(prefix.size());
            const bool all = op == "CFGI_ALL";
            if (all) op = "CFGI_STE_RANGE";
            const arch::OpcodeInfo* info = nullptr;
            for (const arch::OpcodeInfo& o : arch::all_opcodes())
                if (o.name == op) info = &o;
            if (!info) {
                warn(name_ + ":" + std::to_string(e.line) + ": command '" + op + "' unknown here: stored as a SYNC");
                cmds.push_back(Command::make(Opcode::SYNC));
                continue;
            }
            Command c = Command::make(info->opcode);
            if (all) c.set(cmd::Range, 31);
            cmds.push_back(c);
            continue;
        }
        if (cmds.empty()) continue;
        Command& c = cmds.back();
        if (e.name == "smmuv3_cmdq_cfgi_ste" || e.name == "smmuv3_cmdq_cfgi_cd") {
            c.set(cmd::SID, field(e, "streamid"));
        } else if (e.name == "smmuv3_cmdq_cfgi_ste_range") {
            const uint64_t start = field(e, "start"), end = field(e, "end");
            const uint64_t span = end >= start ? end - start + 1 : 1;
            unsigned range = 0;
            while (range < 31 && (uint64_t{2} << range) < span) ++range;
            c.set(cmd::SID, start);
            c.set(cmd::Range, range);
        } else if (e.name == "smmuv3_cmdq_tlbi_nh_asid") {
            c.set(cmd::ASID, field(e, "asid"));
        } else if (e.name == "smmuv3_cmdq_tlbi_nh_va" || e.name == "smmuv3_s1_range_inval" ||
                   e.name == "smmuv3_cmdq_tlbi_nh_vaa") {
            c.set(cmd::VMID, field(e, "vmid"));
            if (auto asid = maybe_field(e, "asid")) c.set(cmd::ASID, *asid);
            c.set(cmd::VA, field(e, "addr"));
            if (auto leaf = maybe_field(e, "leaf")) c.set(cmd::Leaf, *leaf);
            if (auto tg = maybe_field(e, "tg")) c.set(cmd::TG, *tg);
            if (auto ttl = maybe_field(e, "ttl")) c.set(cmd::TTL, *ttl);
            // num_pages = (NUM + 1) << SCALE (IHI 0070 4.4.1).
            if (auto pages = maybe_field(e, "num_pages"); pages && *pages > 1) {
                const unsigned scale = static_cast<unsigned>(__builtin_ctzll(*pages));
                c.set(cmd::SCALE, scale);
                c.set(cmd::NUM, (*pages >> scale) - 1);
            }
        } else if (e.name == "smmuv3_cmdq_tlbi_s12_vmid") {
            c.set(cmd::VMID, field(e, "vmid"));
        }
    }
    return cmds;
}

void Converter::mmio_write(const std::vector<Event>& ev, std::size_t i) {
    const Event& e = ev[i];
    const auto [off, val, size] = mmio_access(e);
    // The command queue's base, as the driver wrote it (64-bit or two halves).
    if (off == arch::reg::CMDQ_BASE) cmdq_base_ = size == 8 ? val : (cmdq_base_ & ~0xffffffffull) | val;
    if (off == arch::reg::CMDQ_BASE + 4) cmdq_base_ = (cmdq_base_ & 0xffffffffull) | (val << 32);
    if (off == arch::reg::CMDQ_PROD) {
        const std::vector<Command> cmds = commands_after(ev, i);
        const unsigned log2 = static_cast<unsigned>(cmdq_base_ & 0x1f);
        const uint64_t base = cmdq_base_ & 0x000ffffffffffff0ull & ~((uint64_t{16} << log2) - 1);
        const uint32_t mask = (uint32_t{2} << log2) - 1;  // index and wrap
        const uint32_t published = (static_cast<uint32_t>(val) - prod_) & mask;
        if (published != cmds.size())
            warn(name_ + ":" + std::to_string(e.line) + ": CMDQ_PROD publishes " + std::to_string(published) +
                 " command(s), QEMU traced " + std::to_string(cmds.size()));
        uint32_t slot = prod_;
        for (const Command& c : cmds) {
            const uint64_t at = base + uint64_t{slot & (mask >> 1)} * Command::kBytes;
            emit("memw64 " + hex(at) + " " + hex(c.w[0]) + " " + hex(c.w[1]) + "  # " +
                 std::string(c.info() ? c.info()->name : "?"));
            slot = (slot + 1) & mask;
            ++out_.commands;
        }
        prod_ = static_cast<uint32_t>(val) & 0xfffff;
    }
    const std::string label = register_label(static_cast<uint32_t>(off));
    emit(std::string(size == 8 ? "write64 " : "write32 ") + hex(off) + " " + hex(val) +
         (label.empty() ? "" : "  # " + label));
    ++out_.mmio_writes;
}

void Converter::mmio_read(const Event& e) {
    const auto [off, val, size] = mmio_access(e);
    const std::string w = size == 8 ? "64 " : "32 ";
    const std::string label = register_label(static_cast<uint32_t>(off));
    const std::string note = label.empty() ? "" : "  # " + label;
    namespace reg = arch::reg;
    if (off <= reg::IDR5 || off == reg::IIDR || off == reg::AIDR) {
        // Features: QEMU's SMMU is not this one, so the value is not checked.
        emit("read" + w + hex(off) + note + " (QEMU read " + hex(val) + ")");
    } else if (off == reg::CMDQ_CONS || off == reg::CR0ACK || off == reg::IRQ_CTRLACK || off == reg::GERROR ||
               off == reg::EVENTQ_PROD || off == reg::EVENTQ_PROD_ALIAS) {
        // QEMU updates these at once; this model when the work is done: wait
        // for the value QEMU showed (CMDQ_CONS: index, wrap and ERR).
        const uint64_t mask = off == reg::CMDQ_CONS ? 0x7f0fffffull : (size == 8 ? ~uint64_t{0} : 0xffffffffull);
        emit("poll" + w + hex(off) + " " + hex(mask) + " " + hex(val & mask) + note);
        ++out_.polls;
    } else {
        emit("read" + w + hex(off) + " == " + hex(val) + note);
    }
    ++out_.mmio_reads;
}

void Converter::descriptor(const Event& e, uint64_t addr, uint64_t value) {
    if (addr % 8) fail(e, "pte address", hex(addr) + " is not 8-byte aligned");
    auto it = memory_.find(addr);
    if (it != memory_.end() && it->second == value) return;
    memory_[addr] = value;
    pending_.push_back({addr, value});
}

void Converter::translation(const std::vector<Event>& ev, std::size_t i) {
    const Event& e = ev[i];
    for (const auto& [addr, value] : pending_) {
        emit("memw64 " + hex(addr) + " " + hex(value) + "  # descriptor QEMU's walk read");
        ++out_.descriptors;
    }
    pending_.clear();
    const uint64_t sid = field(e, "sid");
    if (sid > 0xffffffffu) fail(e, "sid", hex(sid) + " does not fit in 32 bits");
    const bool success = e.name == "smmuv3_translate_success";
    const uint64_t iova = success ? field(e, "iova") : field(e, "iova:");
    // QEMU's IOMMU_WO is 2: a write; anything else reads.
    const bool write = success ? field(e, "perm") == 2 : field(e, "is_write") != 0;
    const uint64_t size = std::min<uint64_t>(4, 0x1000 - (iova & 0xfff));
    std::string line = "dma " + hex(sid) + (write ? " W " : " R ") + hex(iova) + " " + std::to_string(size);
    if (success) {
        line += " expect pa=" + hex(field(e, "translated"));
    } else if (e.name == "smmuv3_translate_bypass" || e.name == "smmuv3_translate_disable") {
        line += " expect pa=" + hex(iova);
    } else {
        // An abort: the event QEMU recorded for this SID next to it, if any.
        std::string event;
        auto look = [&](std::size_t j) {
            const Event& r = ev[j];
            if (r.name == "smmuv3_record_event" && maybe_field(r, "sid") == sid) {
                event = word(r);
                if (event.rfind("SMMU_EVT_", 0) == 0) event = event.substr(9);
                return true;
            }
            return r.name.rfind("smmuv3_translate", 0) == 0 || r.name == "smmuv3_write_mmio";
        };
        for (std::size_t j = i; j-- > 0;)
            if (look(j)) break;
        if (event.empty())
            for (std::size_t j = i + 1; j < ev.size(); ++j)
                if (look(j)) break;
        bool known = false;
        for (const arch::EventInfo& k : arch::all_events()) known |= k.name == event;
        if (event.empty()) line += " expect abort";
        else if (known) line += " expect fault=" + event;
        else warn(name_ + ":" + std::to_string(e.line) + ": event '" + event + "' unknown here: the DMA is not checked");
    }
    emit(line);
    ++out_.dmas;
}

void Converter::run(const std::vector<Event>& ev, const std::vector<MemoryImage>& images) {
    for (const MemoryImage& m : images) load_image(m);
    for (std::size_t i = 0; i < ev.size(); ++i) {
        const Event& e = ev[i];
        ++out_.events;
        if (e.name == "smmuv3_write_mmio") {
            mmio_write(ev, i);
        } else if (e.name == "smmuv3_read_mmio") {
            mmio_read(e);
        } else if (e.name == "smmu_get_pte") {
            descriptor(e, field(e, "pteaddr"), field(e, " pte="));
        } else if (e.name == "smmu_ptw_page_pte" || e.name == "smmu_ptw_block_pte" ||
                   e.name == "smmu_ptw_invalid_pte") {
            descriptor(e, field(e, "pte@"), field(e, " pte="));
        } else if (e.name == "smmuv3_get_ste" || e.name == "smmuv3_get_cd") {
            structures_.emplace(field(e, "addr"), e.line);
        } else if (e.name.rfind("smmuv3_translate_", 0) == 0) {
            translation(ev, i);
        } else {
            --out_.events;
            ++out_.ignored;
        }
    }
    for (const auto& [addr, line] : structures_)
        if (!covered(addr))
            warn(name_ + ":" + std::to_string(line) + ": QEMU read an STE or CD at " + hex(addr) +
                 " that no --memory image holds (QEMU does not trace their contents)");
}

}  // namespace

MemoryImage parse_memory_image(const std::string& spec, const std::string& what) {
    const std::size_t at = spec.rfind('@');
    if (at == std::string::npos || at == 0)
        throw InputError(what + ": '" + spec + "': expected FILE@PA (a pmemsave of the tables and the address it starts at)");
    const std::optional<uint64_t> pa = parse_uint(spec.substr(at + 1));
    if (!pa) throw InputError(what + ": '" + spec.substr(at + 1) + "' is not an address");
    return {spec.substr(0, at), *pa};
}

QemuConversion convert_qemu_trace(std::istream& in, const std::string& name, const std::vector<MemoryImage>& images) {
    QemuConversion out;
    std::vector<Event> events;
    std::string text;
    int n = 0;
    while (std::getline(in, text)) {
        ++n;
        if (auto e = parse_event(text, n)) events.push_back(std::move(*e));
        else ++out.ignored;
    }
    if (in.bad()) throw InputError(name + ": read error after line " + std::to_string(n));
    Converter c(name, out);
    c.run(events, images);
    if (out.mmio_writes + out.mmio_reads + out.dmas == 0)
        throw InputError(name + ": no smmuv3 MMIO or translation events (run QEMU with -trace 'smmu*')");
    std::ostringstream head;
    head << "# Converted from the QEMU trace " << name << " by smmu-sim qemu2replay (traces/README.md):\n"
         << "# " << out.events << " events: " << out.mmio_writes << " MMIO writes, " << out.mmio_reads
         << " MMIO reads (" << out.polls << " as polls), " << out.commands << " commands, " << out.descriptors
         << " descriptors, " << out.dmas << " DMAs; " << out.image_words << " words from memory images; "
         << out.warnings.size() << " warning(s).\n";
    out.script = head.str() + c.text();
    return out;
}

}  // namespace smmu::sim
