#include "testbenches/cli/decode.h"

#include <algorithm>

#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/pri.h"
#include "models/arch/pte.h"
#include "models/arch/ste.h"
#include "testbenches/config/input_error.h"

namespace smmu::sim {

namespace {
uint64_t parse_hex_word(const std::string& s, std::size_t index) {
    std::string digits = s;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits = digits.substr(2);
    const bool ok = !digits.empty() && digits.size() <= 16 &&
                    digits.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!ok)
        throw InputError("decode: word " + std::to_string(index) + " '" + s +
                         "' is not a 64-bit hex number (up to 16 hex digits, optional 0x)");
    return std::stoull(digits, nullptr, 16);
}

std::size_t structure_words(const std::string& what, const std::string& kind) {
    if (kind == "ste" || kind == "cd") return 8;
    if (kind == "cmd" || kind == "pri") return 2;
    if (kind == "event") return 4;
    if (kind == "s1pte" || kind == "s2pte") return 1;
    throw InputError(what + ": unknown structure '" + kind + "' (expected ste, cd, cmd, event, pri, s1pte or s2pte)");
}

// The fields of a structure whose layout does not depend on its contents.
std::vector<arch::FieldDef> fixed_fields(const std::string& kind) {
    if (kind == "ste") return {std::begin(arch::ste::kAll), std::end(arch::ste::kAll)};
    if (kind == "cd") return {std::begin(arch::cd::kAll), std::end(arch::cd::kAll)};
    if (kind == "pri") return arch::PriRecord::fields();
    if (kind == "s1pte") return {std::begin(arch::pte::kStage1), std::end(arch::pte::kStage1)};
    return {std::begin(arch::pte::kStage2), std::end(arch::pte::kStage2)};
}

void put_fields(nlohmann::ordered_json& out, const std::vector<arch::FieldDef>& fields, const uint64_t* w) {
    for (const arch::FieldDef& f : fields) out[std::string(f.name)] = f.get(w);
}

// A command's opcode or an event's EventID from `fields`: the number under `id_key`, or
// the one whose name is under "name" (both given: they must agree).
template <class Info, class Id>
const Info& chosen(const std::string& kind, const std::string& id_key, const std::vector<Info>& all, Id id,
                   const nlohmann::ordered_json& fields) {
    const Info* by_id = nullptr;
    const Info* by_name = nullptr;
    for (const Info& info : all) {
        if (fields.contains(id_key) && fields[id_key].is_number_unsigned() &&
            fields[id_key].template get<uint64_t>() == id(info))
            by_id = &info;
        if (fields.contains("name") && fields["name"].is_string() &&
            fields["name"].template get<std::string>() == info.name)
            by_name = &info;
    }
    if (fields.contains(id_key) && !by_id)
        throw InputError("encode " + kind + ": " + id_key + " " + fields[id_key].dump() + " is not one the model knows");
    if (fields.contains("name") && !by_name)
        throw InputError("encode " + kind + ": name " + fields["name"].dump() + " is not one the model knows");
    if (by_id && by_name && by_id != by_name) throw InputError("encode " + kind + ": " + id_key + " and name disagree");
    if (!by_id && !by_name) throw InputError("encode " + kind + ": give " + id_key + " or name");
    return by_id ? *by_id : *by_name;
}
}  // namespace

nlohmann::ordered_json decode(const std::string& kind, const std::vector<std::string>& words) {
    std::vector<uint64_t> w;
    for (std::size_t i = 0; i < words.size(); ++i) w.push_back(parse_hex_word(words[i], i));
    return decode_words(kind, w);
}

nlohmann::ordered_json decode_words(const std::string& kind, const std::vector<uint64_t>& words) {
    const std::size_t max_words = structure_words("decode", kind);
    if (words.size() > max_words)
        throw InputError("decode: " + kind + " has " + std::to_string(max_words) + " words, " +
                         std::to_string(words.size()) + " given");
    uint64_t w[8] = {};
    std::copy(words.begin(), words.end(), w);

    nlohmann::ordered_json out;
    if (kind == "cmd") {
        const uint8_t op = static_cast<uint8_t>(arch::cmd::opcode.get(w));
        out["opcode"] = op;
        const arch::OpcodeInfo* info = arch::opcode_info(op);
        out["name"] = info ? std::string(info->name) : "ILLEGAL";
        if (info) put_fields(out, info->fields, w);
    } else if (kind == "event") {
        arch::EventRecord e;
        std::copy(w, w + arch::EventRecord::kDwords, e.w.begin());
        out = describe(e);
    } else {
        put_fields(out, fixed_fields(kind), w);
    }
    return out;
}

std::vector<uint64_t> encode(const std::string& kind, const nlohmann::ordered_json& fields) {
    std::vector<uint64_t> w(structure_words("encode", kind), 0);
    if (!fields.is_object()) throw InputError("encode " + kind + ": the fields must be an object");
    std::vector<arch::FieldDef> defs;
    std::string id_key;  // a command's or event's key besides "name" that encode() has used
    if (kind == "cmd") {
        const arch::OpcodeInfo& info = chosen(kind, "opcode", arch::all_opcodes(),
                                              [](const arch::OpcodeInfo& i) { return uint64_t(i.opcode); }, fields);
        arch::cmd::opcode.set(w.data(), uint64_t(info.opcode));
        defs = info.fields;
        id_key = "opcode";
    } else if (kind == "event") {
        const arch::EventInfo& info = chosen(kind, "EventID", arch::all_events(),
                                             [](const arch::EventInfo& i) { return uint64_t(i.id); }, fields);
        arch::evt::EventID.set(w.data(), uint64_t(info.id));
        defs = info.fields;
        id_key = "EventID";
    } else {
        defs = fixed_fields(kind);
    }
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        if (!id_key.empty() && (it.key() == id_key || it.key() == "name")) continue;
        const auto def = std::find_if(defs.begin(), defs.end(), [&](const arch::FieldDef& f) { return f.name == it.key(); });
        if (def == defs.end()) throw InputError("encode " + kind + ": unknown field '" + it.key() + "'");
        if (!it->is_number_unsigned())
            throw InputError("encode " + kind + ": " + it.key() + " " + it->dump() + " is not a non-negative integer");
        const uint64_t v = it->get<uint64_t>();
        if (!def->fits(v))
            throw InputError("encode " + kind + ": " + it.key() + " " + hex(v) + " does not fit bits [" +
                             std::to_string(def->msb) + ":" + std::to_string(def->lsb) + "] of word " +
                             std::to_string(def->word) + (def->address ? " (an address: its low bits are zero)" : ""));
        def->set(w.data(), v);
    }
    return w;
}

nlohmann::ordered_json describe(const arch::EventRecord& e) {
    nlohmann::ordered_json out;
    out["EventID"] = e.id();
    const arch::EventInfo* info = arch::event_info(e.id());
    out["name"] = info ? std::string(info->name) : "UNKNOWN";
    if (info) put_fields(out, info->fields, e.w.data());
    return out;
}

}  // namespace smmu::sim
