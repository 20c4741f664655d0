#include "testbenches/cli/decode.h"

#include <algorithm>

#include "models/arch/cd.h"
#include "models/arch/command.h"
#include "models/arch/event.h"
#include "models/arch/pri.h"
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

template <class Fields>
void put_fields(nlohmann::ordered_json& out, const Fields& fields, const uint64_t* w) {
    for (const arch::FieldDef& f : fields) out[std::string(f.name)] = f.get(w);
}
}  // namespace

nlohmann::ordered_json decode(const std::string& kind, const std::vector<std::string>& words) {
    std::size_t max_words = 0;
    if (kind == "ste" || kind == "cd") max_words = 8;
    else if (kind == "cmd" || kind == "pri") max_words = 2;
    else if (kind == "event") max_words = 4;
    else throw InputError("decode: unknown structure '" + kind + "' (expected ste, cd, cmd, event or pri)");
    if (words.size() > max_words)
        throw InputError("decode: " + kind + " has " + std::to_string(max_words) + " words, " +
                         std::to_string(words.size()) + " given");
    uint64_t w[8] = {};
    for (std::size_t i = 0; i < words.size(); ++i) w[i] = parse_hex_word(words[i], i);

    nlohmann::ordered_json out;
    if (kind == "ste") {
        put_fields(out, arch::ste::kAll, w);
    } else if (kind == "cd") {
        put_fields(out, arch::cd::kAll, w);
    } else if (kind == "pri") {
        put_fields(out, arch::PriRecord::fields(), w);
    } else if (kind == "cmd") {
        const uint8_t op = static_cast<uint8_t>(arch::cmd::opcode.get(w));
        out["opcode"] = op;
        const arch::OpcodeInfo* info = arch::opcode_info(op);
        out["name"] = info ? std::string(info->name) : "ILLEGAL";
        if (info) put_fields(out, info->fields, w);
    } else {
        arch::EventRecord e;
        std::copy(w, w + arch::EventRecord::kDwords, e.w.begin());
        out = describe(e);
    }
    return out;
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
