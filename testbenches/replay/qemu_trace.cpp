#include "testbenches/replay/qemu_trace.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "models/arch/ste.h"
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
    // The script, with each rebuilt structure where the driver wrote it.
    std::string text() const {
        std::string out;
        for (std::size_t i = 0; i <= lines_.size(); ++i) {
            if (auto it = inserts_.find(i); it != inserts_.end())
                for (const std::string& l : it->second) out += l + "\n";
            if (i < lines_.size()) out += lines_[i] + "\n";
        }
        return out;
    }

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
    void emit(const std::string& line) { lines_.push_back(line); }
    void warn(const std::string& w) {
        out_.warnings.push_back(w);
        emit("# WARNING: " + w);
    }
    void load_image(const MemoryImage& image);
    void mmio_write(const std::vector<Event>& ev, std::size_t i);
    void mmio_read(const Event& e);
    void descriptor(const Event& e, uint64_t addr, uint64_t value);
    void translation(const std::vector<Event>& ev, std::size_t i);
    std::string recorded_event(const std::vector<Event>& ev, std::size_t i, uint64_t sid) const;
    std::vector<Command> commands_after(const std::vector<Event>& ev, std::size_t i);
    bool covered(uint64_t pa) const {
        for (const auto& [base, size] : images_)
            if (pa >= base && pa - base < size) return true;
        return false;
    }

    std::string name_;
    QemuConversion& out_;
    std::vector<std::string> lines_;
    std::map<std::size_t, std::vector<std::string>> inserts_;  // lines to put before lines_[i]
    std::vector<std::pair<uint64_t, uint64_t>> images_;  // (pa, bytes)
    uint64_t cmdq_base_ = 0;                              // SMMU_CMDQ_BASE as the driver wrote it
    uint32_t prod_ = 0;                                   // CMDQ_PROD as the driver last wrote it
    std::map<uint64_t, uint64_t> memory_;                 // descriptors stored so far
    std::vector<std::pair<uint64_t, uint64_t>> pending_;  // descriptors read since the last DMA
    std::map<uint64_t, int> structures_;                  // STE/CD addresses QEMU read, first line

    // A command QEMU consumed, as its trace events rebuild it.
    struct Traced {
        Command c;
        int line = 0;
        uint64_t pages = 0;  // TLBI_NH_VA/VAA: pages of QEMU's chunks, merged
    };
    void command_event(std::vector<Traced>& cmds, const Event& e);
    void store_commands(const Event& prod_write, std::vector<Traced> cmds, uint32_t new_prod);
    void infer(const std::string& kind, const std::string& fields) {
        auto& [n, what] = inferred_[kind];
        ++n;
        what = fields;
    }
    std::vector<Traced> traced_;      // consumed since the last CMDQ_PROD write (QEMU 7.2 traces them first)
    uint64_t last_cfgi_sid_ = 0;      // PREFETCH_CONFIG follows the CFGI_STE of the STE it names
    uint32_t idr0_ = 0;               // as QEMU answered the driver (MSI polling of SYNCs needs MSI+COHACC)
    std::map<std::string, std::pair<unsigned, std::string>> inferred_;  // command kind -> (count, fields)

    // The configuration QEMU decoded since its last smmuv3_find_ste (a config
    // cache miss): the STE, CD and L1 descriptor are rebuilt from it at the
    // translation that used it, when no memory image holds them.
    struct Decoded {
        bool active = false;
        uint64_t sid = 0;
        uint64_t l1ptr = 0, l2ptr = 0, span = 0;
        bool two_level = false;
        uint64_t ste = 0, cd = 0;
        bool has_ste = false, has_cd = false;
        unsigned oas = 48;
        bool tt0 = false;
        uint64_t tsz = 0, ttb = 0, granule = 12;
        std::optional<uint64_t> asid;
    } decoded_;
    void rebuild_structures(const std::vector<Event>& ev, std::size_t i, uint64_t sid);
    std::set<uint64_t> rebuilt_at_;  // STE/CD addresses rebuilt at least once
    void store(std::size_t at, uint64_t addr, const std::vector<uint64_t>& words, const std::string& what);
    // Where the driver wrote a structure QEMU fetched: before the commands
    // that published the last CFGI_STE (or CFGI_ALL) for its SID since the
    // last fetch; else right before the DMA.
    std::map<uint64_t, std::size_t> cfgi_at_;   // SID -> line of the batch with its CFGI_STE
    std::optional<std::size_t> cfgi_all_at_;    // line of the batch with the last CFGI_ALL
    unsigned rebuilt_ = 0;
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

// One command event: smmuv3_cmdq_opcode starts a command; the events after it
// until the next opcode carry what QEMU traces of its fields.
void Converter::command_event(std::vector<Traced>& cmds, const Event& e) {
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
            cmds.push_back({Command::make(Opcode::SYNC), e.line});
            return;
        }
        Traced t{Command::make(info->opcode), e.line};
        if (all) t.c.set(cmd::Range, 31);
        cmds.push_back(t);
        return;
    }
    if (cmds.empty()) return;
    Command& c = cmds.back().c;
    if (e.name == "smmuv3_cmdq_cfgi_ste" || e.name == "smmuv3_cmdq_cfgi_cd") {
        // "streamid= 0x8" (cfgi_ste; cfgi_cd before QEMU 7.2), "sid=0x8" (cfgi_cd since).
        const std::optional<uint64_t> sid = maybe_field(e, "streamid");
        c.set(cmd::SID, sid ? *sid : field(e, "sid"));
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
               e.name == "smmuv3_range_inval" || e.name == "smmuv3_cmdq_tlbi_nh_vaa") {
        // QEMU splits a range into power-of-two chunks (smmuv3_s1_range_inval),
        // one event each: the first gives the address, all give pages.
        Traced& t = cmds.back();
        const uint64_t pages = maybe_field(e, "num_pages").value_or(1);
        if (t.pages == 0) {
            c.set(cmd::VMID, field(e, "vmid"));
            // asid=-1 is QEMU's "any" (TLBI_NH_VAA): no ASID field.
            if (auto asid = maybe_field(e, "asid"); asid && c.opcode() != static_cast<uint8_t>(Opcode::TLBI_NH_VAA)) c.set(cmd::ASID, *asid);
            c.set(cmd::VA, field(e, "addr"));
            if (auto leaf = maybe_field(e, "leaf")) c.set(cmd::Leaf, *leaf);
            if (auto tg = maybe_field(e, "tg")) c.set(cmd::TG, *tg);
            if (auto ttl = maybe_field(e, "ttl")) c.set(cmd::TTL, *ttl);
        }
        t.pages += pages;
    } else if (e.name == "smmuv3_cmdq_tlbi_s12_vmid") {
        c.set(cmd::VMID, field(e, "vmid"));
    }
}

// The commands a CMDQ_PROD write published, stored in the queue's slots before
// that write, with the words Linux's arm_smmu_cmdq_build_cmd() writes for the
// fields QEMU does not trace (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c,
// v6.1), counted per command kind for the summary.
void Converter::store_commands(const Event& e, std::vector<Traced> cmds, uint32_t new_prod) {
    const unsigned log2 = static_cast<unsigned>(cmdq_base_ & 0x1f);
    const uint64_t base = cmdq_base_ & 0x000ffffffffffff0ull & ~((uint64_t{16} << log2) - 1);
    const uint32_t mask = (uint32_t{2} << log2) - 1;  // index and wrap
    const uint32_t published = (new_prod - prod_) & mask;
    if (published != cmds.size())
        warn(name_ + ":" + std::to_string(e.line) + ": CMDQ_PROD publishes " + std::to_string(published) +
             " command(s), QEMU traced " + std::to_string(cmds.size()));
    // arm_smmu_device_hw_probe: ARM_SMMU_OPT_MSIPOLL with IDR0.MSI and COHACC.
    const uint64_t idr0 = idr0_;
    const bool msi_poll = arch::idr0::MSI.get(&idr0) && arch::idr0::COHACC.get(&idr0);
    uint32_t slot = prod_;
    const std::size_t batch = lines_.size();
    for (Traced& t : cmds) {
        Command& c = t.c;
        const uint64_t at = base + uint64_t{slot & (mask >> 1)} * Command::kBytes;
        switch (static_cast<Opcode>(c.opcode())) {
            case Opcode::CFGI_STE_RANGE:
                if (c.get(cmd::Range) == 31) {
                    cfgi_all_at_ = batch;
                    cfgi_at_.clear();
                } else {
                    for (uint64_t k = 0; k < (uint64_t{2} << c.get(cmd::Range)) && k < 4096; ++k)
                        cfgi_at_[c.get(cmd::SID) + k] = batch;
                }
                break;
            case Opcode::CFGI_STE:
                last_cfgi_sid_ = c.get(cmd::SID);
                cfgi_at_[last_cfgi_sid_] = batch;
                c.set(cmd::Leaf, 1);  // arm_smmu_sync_ste_for_sid: .cfgi.leaf = true
                infer("CFGI_STE", "Leaf=1");
                break;
            case Opcode::CFGI_CD:
                c.set(cmd::Leaf, 1);  // arm_smmu_sync_cd: leaf = true; SSID 0 (no PASIDs)
                infer("CFGI_CD", "SSID=0 Leaf=1");
                break;
            case Opcode::PREFETCH_CONFIG:
                // arm_smmu_write_strtab_ent prefetches the STE it just wrote.
                c.set(cmd::SID, last_cfgi_sid_);
                infer("PREFETCH_CONFIG", "SID (the last CFGI_STE's)");
                break;
            case Opcode::TLBI_NH_VA:
            case Opcode::TLBI_NH_VAA:
                if (c.get(cmd::TG) != 0 && t.pages > 0) {
                    // num_pages = (NUM + 1) << SCALE (IHI 0070 4.4.1), as
                    // __arm_smmu_tlb_inv_range encodes a range.
                    const unsigned scale = static_cast<unsigned>(__builtin_ctzll(t.pages));
                    const uint64_t num = (t.pages >> scale) - 1;
                    if (num > 31 || scale > 31)
                        warn(name_ + ":" + std::to_string(t.line) + ": " + std::to_string(t.pages) +
                             " pages do not fit one range command: stored as " + std::to_string((num & 31) + 1) + "<<" +
                             std::to_string(scale & 31));
                    c.set(cmd::SCALE, scale & 31);
                    c.set(cmd::NUM, num & 31);
                }
                break;
            case Opcode::SYNC:
                c.set(cmd::MSH, 3);      // ARM_SMMU_SH_ISH
                c.set(cmd::MSIAttr, 0xf);  // ARM_SMMU_MEMATTR_OIWB
                if (msi_poll) {
                    // MSI polling: the SYNC writes MSIData 0 over its own slot.
                    c.set(cmd::CS, 1);
                    c.set(cmd::MSIAddr, at);
                    infer("SYNC", "CS=IRQ MSH=ISH MSIAttr=OIWB MSIAddr=its own slot (MSI polling)");
                } else {
                    c.set(cmd::CS, 2);
                    infer("SYNC", "CS=SEV MSH=ISH MSIAttr=OIWB");
                }
                break;
            default: break;
        }
        emit("memw64 " + hex(at) + " " + hex(c.w[0]) + " " + hex(c.w[1]) + "  # " +
             std::string(c.info() ? c.info()->name : "?"));
        slot = (slot + 1) & mask;
        ++out_.commands;
    }
}

void Converter::mmio_write(const std::vector<Event>& ev, std::size_t i) {
    const Event& e = ev[i];
    const auto [off, val, size] = mmio_access(e);
    // The command queue's base, as the driver wrote it (64-bit or two halves).
    if (off == arch::reg::CMDQ_BASE) cmdq_base_ = size == 8 ? val : (cmdq_base_ & ~0xffffffffull) | val;
    if (off == arch::reg::CMDQ_BASE + 4) cmdq_base_ = (cmdq_base_ & 0xffffffffull) | (val << 32);
    if (off == arch::reg::CMDQ_PROD) {
        // QEMU consumes the commands inside the write (smmuv3_cmdq_consume)
        // and traces the write after them.
        std::vector<Traced> cmds;
        cmds.swap(traced_);
        store_commands(e, std::move(cmds), static_cast<uint32_t>(val));
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
    if (off == reg::IDR0) idr0_ = static_cast<uint32_t>(val);
    if (off <= reg::IDR5 || off == reg::IIDR || off == reg::AIDR) out_.id_registers[static_cast<uint32_t>(off)] = static_cast<uint32_t>(val);
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

// The event QEMU recorded for `sid` next to the translation at ev[i] (7.2
// traces the abort first), without its SMMU_EVT_ prefix; "" if none.
std::string Converter::recorded_event(const std::vector<Event>& ev, std::size_t i, uint64_t sid) const {
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
    return event;
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
    // A success shows the mapping's permission (QEMU's IOMMU_RO 1, WO 2, RW 3),
    // not the access: a read unless only writes are allowed. The others show
    // the access (is_write).
    const uint64_t perm = success ? field(e, "perm") : 0;
    if (success && (perm == 0 || perm > 3)) fail(e, "perm", hex(perm) + " is not 1 (RO), 2 (WO) or 3 (RW)");
    const bool write = success ? perm == 2 : field(e, "is_write") != 0;
    const uint64_t size = std::min<uint64_t>(4, 0x1000 - (iova & 0xfff));
    std::string line = "dma " + hex(sid) + (write ? " W " : " R ") + hex(iova) + " " + std::to_string(size);
    if (success) {
        line += " expect pa=" + hex(field(e, "translated")) + (perm == 1 ? " perm=r" : perm == 2 ? " perm=w" : " perm=rw");
    } else if (e.name == "smmuv3_translate_bypass" || e.name == "smmuv3_translate_disable") {
        line += " expect pa=" + hex(iova);
    } else {
        // An abort: the event QEMU recorded for this SID next to it, if any.
        const std::string event = recorded_event(ev, i, sid);
        bool known = false;
        for (const arch::EventInfo& k : arch::all_events()) known |= k.name == event;
        if (event.empty()) line += " expect abort";
        else if (known) line += " expect fault=" + event;
        else warn(name_ + ":" + std::to_string(e.line) + ": event '" + event + "' unknown here: the DMA is not checked");
    }
    emit(line);
    ++out_.dmas;
}

// Stores `words` at `addr` before the next DMA, when they differ from what the
// script holds there.
void Converter::store(std::size_t at, uint64_t addr, const std::vector<uint64_t>& words, const std::string& what) {
    bool same = true;
    for (std::size_t k = 0; k < words.size(); ++k) {
        auto it = memory_.find(addr + 8 * k);
        same = same && (it != memory_.end() ? it->second : 0) == words[k];
    }
    if (same) return;
    std::string line = "memw64 " + hex(addr);
    for (std::size_t k = 0; k < words.size(); ++k) {
        memory_[addr + 8 * k] = words[k];
        line += " " + hex(words[k]);
    }
    inserts_[at].push_back(line + "  # " + what);
    ++rebuilt_;
}

// The STE (and its L1 descriptor, CD) QEMU decoded for `sid`, rebuilt with the
// fields it traced and what Linux's arm_smmu_write_strtab_ent() and
// arm_smmu_write_ctx_desc() (v6.1) write for the rest, from how the
// translation ended: bypass -> a bypass STE, success -> a stage 1 STE and its
// CD, abort with C_BAD_STE -> an invalid STE, abort without an event -> an
// abort STE. Stored again whenever QEMU re-reads it (after the driver's
// CFGI_STE), so a rewritten STE replays as rewritten.
void Converter::rebuild_structures(const std::vector<Event>& ev, std::size_t i, uint64_t sid) {
    const Event& e = ev[i];
    Decoded d = decoded_;
    decoded_ = Decoded{};
    if (!d.active || d.sid != sid || !d.has_ste || covered(d.ste)) return;
    // Addresses a memw64 line can carry (QEMU's are 64-byte aligned STEs and CDs, 8-byte L1 descriptors).
    for (const uint64_t a : {d.ste, d.has_cd ? d.cd : d.ste, d.two_level ? d.l1ptr : d.ste})
        if (a % 8 != 0 || a > ~uint64_t{0} - 63) {
            warn(name_ + ":" + std::to_string(e.line) + ": SID " + hex(sid) + ": an STE, CD or L1 descriptor at " + hex(a) +
                 " (unaligned or at the top of memory) is not rebuilt");
            return;
        }
    std::size_t at = lines_.size();  // before this DMA
    if (auto it = cfgi_at_.find(sid); it != cfgi_at_.end()) {
        at = it->second;
        cfgi_at_.erase(it);
    } else if (cfgi_all_at_) {
        at = *cfgi_all_at_;
    }
    if (d.two_level && !covered(d.l1ptr)) {
        arch::L1StreamDescriptor l1;
        l1.set(arch::l1std::Span, d.span);
        l1.set(arch::l1std::L2Ptr, d.l2ptr);
        store(at, d.l1ptr, std::vector<uint64_t>{l1.w[0]}, "L1 stream table descriptor (rebuilt from smmuv3_find_ste_2lvl)");
    }
    arch::Ste ste;
    std::string what;
    if (e.name == "smmuv3_translate_bypass") {
        ste.set(arch::ste::V, 1);
        ste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::Bypass));
        ste.set(arch::ste::SHCFG, 1);  // STRTAB_STE_1_SHCFG_INCOMING
        what = "bypass";
    } else if (e.name == "smmuv3_translate_success" && d.has_cd) {
        ste.set(arch::ste::V, 1);
        ste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::S1Trans));
        ste.set(arch::ste::S1ContextPtr, d.cd);  // one CD, linear (QEMU 7.2 has no SubstreamIDs)
        ste.set(arch::ste::S1DSS, static_cast<uint64_t>(arch::S1Dss::Substream0));
        ste.set(arch::ste::S1CIR, 1);  // WBRA
        ste.set(arch::ste::S1COR, 1);
        ste.set(arch::ste::S1CSH, 3);  // ISH
        what = "stage 1";
        if (!covered(d.cd)) {
            arch::ContextDescriptor cd;
            static constexpr unsigned oas_bits[] = {32, 36, 40, 42, 44, 48};
            unsigned ips = 5;
            for (unsigned k = 0; k < 6; ++k)
                if (oas_bits[k] == d.oas) ips = k;
            cd.set(arch::cd::T0SZ, d.tsz);
            cd.set(arch::cd::TG0, d.granule == 16 ? 1 : d.granule == 14 ? 2 : 0);
            cd.set(arch::cd::IR0, 1);  // WBWA
            cd.set(arch::cd::OR0, 1);
            cd.set(arch::cd::SH0, 3);
            cd.set(arch::cd::EPD0, d.tt0 ? 0 : 1);
            cd.set(arch::cd::EPD1, 1);  // QEMU decoded no TT[1]: Linux uses TTB0 only
            cd.set(arch::cd::V, 1);
            cd.set(arch::cd::IPS, ips);
            cd.set(arch::cd::AA64, 1);
            cd.set(arch::cd::R, 1);
            cd.set(arch::cd::A, 1);
            cd.set(arch::cd::ASET, 1);
            cd.set(arch::cd::ASID, d.asid.value_or(0));
            cd.set(arch::cd::TTB0, d.ttb);
            store(at, d.cd, std::vector<uint64_t>(cd.w.begin(), cd.w.end()),
                  "CD of SID " + hex(sid) + " (rebuilt: TTB0 " + hex(d.ttb) + " T0SZ " + std::to_string(d.tsz) +
                      " ASID " + std::to_string(d.asid.value_or(0)) + ")");
        }
    } else if (e.name == "smmuv3_translate_abort") {
        // C_BAD_STE (V=0 or a configuration QEMU refuses) or an abort STE.
        const bool bad = recorded_event(ev, i, sid) == "C_BAD_STE";
        if (!bad) {
            ste.set(arch::ste::V, 1);
            ste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::Abort));
        }
        what = bad ? "invalid" : "abort";
    } else {
        return;
    }
    store(at, d.ste, std::vector<uint64_t>(ste.w.begin(), ste.w.end()), "STE of SID " + hex(sid) + ", " + what + " (rebuilt)");
    rebuilt_at_.insert(d.ste);
    if (what == "stage 1") rebuilt_at_.insert(d.cd);
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
        } else if (e.name == "smmuv3_cmdq_opcode" || e.name.rfind("smmuv3_cmdq_cfgi", 0) == 0 ||
                   e.name.rfind("smmuv3_cmdq_tlbi", 0) == 0 || e.name == "smmuv3_s1_range_inval" ||
                   e.name == "smmuv3_range_inval") {  // smmuv3_range_inval: QEMU 9 (stages 1 and 2)
            command_event(traced_, e);
        } else if (e.name == "smmu_get_pte") {
            descriptor(e, field(e, "pteaddr"), field(e, " pte="));
        } else if (e.name == "smmu_ptw_page_pte" || e.name == "smmu_ptw_block_pte" ||
                   e.name == "smmu_ptw_invalid_pte") {
            descriptor(e, field(e, "pte@"), field(e, " pte="));
        } else if (e.name == "smmuv3_find_ste") {
            decoded_ = Decoded{};
            decoded_.active = true;
            // "sid=0x8" (QEMU 7.2 on), "SID:0x8" (QEMU 5 and 6).
            const std::optional<uint64_t> sid = maybe_field(e, "sid");
            decoded_.sid = sid ? *sid : field(e, "SID");
        } else if (e.name == "smmuv3_find_ste_2lvl") {
            decoded_.two_level = true;
            decoded_.l1ptr = field(e, "l1ptr");
            decoded_.l2ptr = field(e, "l2ptr");
            const uint64_t max = field(e, "max_l2_ste");
            decoded_.span = 0;
            while (decoded_.span < 31 && (uint64_t{1} << decoded_.span) <= max) ++decoded_.span;
        } else if (e.name == "smmuv3_get_ste" || e.name == "smmuv3_get_cd") {
            const uint64_t addr = field(e, "addr");
            structures_.emplace(addr, e.line);
            if (e.name == "smmuv3_get_ste") {
                decoded_.ste = addr;
                decoded_.has_ste = true;
            } else {
                decoded_.cd = addr;
                decoded_.has_cd = true;
            }
        } else if (e.name == "smmuv3_decode_cd") {
            decoded_.oas = static_cast<unsigned>(field(e, "oas"));
        } else if (e.name == "smmuv3_decode_cd_tt") {
            if (field(e, "TT[") == 0) {
                decoded_.tt0 = true;
                decoded_.tsz = field(e, "tsz");
                decoded_.ttb = field(e, "ttb");
                decoded_.granule = field(e, "granule_sz");
            }
        } else if (e.name == "smmu_iotlb_lookup_hit" || e.name == "smmu_iotlb_lookup_miss" ||
                   e.name == "smmu_iotlb_cache_hit" || e.name == "smmu_iotlb_cache_miss") {  // the latter: QEMU 5, 6
            if (decoded_.active && !decoded_.asid) decoded_.asid = field(e, "asid");
        } else if (e.name.rfind("smmuv3_translate_", 0) == 0) {
            const uint64_t sid = field(e, "sid");
            rebuild_structures(ev, i, sid);
            translation(ev, i);
        } else {
            --out_.events;
            ++out_.ignored;
        }
    }
    for (const auto& [addr, line] : structures_)
        if (!covered(addr) && !rebuilt_at_.count(addr))
            warn(name_ + ":" + std::to_string(line) + ": QEMU read an STE or CD at " + hex(addr) +
                 " that no --memory image holds and its trace does not rebuild");
    out_.rebuilt = rebuilt_;
    for (const auto& [kind, v] : inferred_)
        out_.inferred.push_back(kind + " " + v.second + " (" + std::to_string(v.first) + ")");
    if (!traced_.empty())
        warn(name_ + ": " + std::to_string(traced_.size()) + " command(s) QEMU consumed after the last CMDQ_PROD write");
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

std::string qemu_config_yaml(const QemuConversion& c, const std::string& trace_name) {
    std::ostringstream y;
    y << "# The SMMU the QEMU trace " << trace_name << " shows (smmu-sim qemu2replay --config-out):\n"
      << "# the ID registers as QEMU answered the driver; registers it did not read keep the model's values.\n"
      << "smmu:\n  idr:\n";
    std::string reg;
    for (const arch::IdField& f : arch::kIdFields) {
        auto it = c.id_registers.find(f.offset);
        if (it == c.id_registers.end()) continue;
        const uint64_t v = it->second;
        const uint64_t field = f.field.get(&v);
        if (f.field.name.empty()) {
            y << (reg.empty() ? "" : "}\n") << "    " << f.reg << ": " << hex(field) << "\n";
            reg.clear();
            continue;
        }
        y << (reg == f.reg ? ", " : (reg.empty() ? "" : "}\n") + std::string("    ") + std::string(f.reg) + ": {")
          << f.field.name << ": " << field;
        reg = std::string(f.reg);
    }
    if (!reg.empty()) y << "}\n";
    return y.str();
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
         << " descriptors, " << out.dmas << " DMAs; " << out.rebuilt << " STE/CD/L1 stores rebuilt from QEMU's decode; "
         << out.image_words << " words from memory images; " << out.warnings.size() << " warning(s).\n";
    if (!out.inferred.empty()) {
        head << "# Command fields QEMU does not trace, as Linux writes them (kind, fields, commands):\n";
        for (const std::string& f : out.inferred) head << "#   " << f << "\n";
    }
    out.script = head.str() + c.text();
    return out;
}

}  // namespace smmu::sim
