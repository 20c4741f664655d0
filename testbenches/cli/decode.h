// `smmu-sim decode ste|cd|cmd|event|pri|s1pte|s2pte WORD64...`: raw dwords -> one
// JSON object keyed by the architecture's field names; encode() is its inverse
// (the Python module's smmusim.encode).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/arch/event.h"

namespace smmu::sim {

// `kind` is ste, cd, cmd, event, pri (a PRI queue record), s1pte or s2pte (a
// stage 1 or stage 2 translation table descriptor); `words` are hex strings, word 0 first, with or without 0x.
// Fewer words than the structure has: the rest are zero.
// Throws InputError on an unknown kind, bad hex or too many words.
nlohmann::ordered_json decode(const std::string& kind, const std::vector<std::string>& words);
nlohmann::ordered_json decode_words(const std::string& kind, const std::vector<uint64_t>& words);

// The words (all of the structure's) whose decode() gives `fields`' values; fields not
// named are zero. A command is chosen by "opcode" or "name", an event by "EventID" or
// "name". Throws InputError naming an unknown field or a value that does not fit.
std::vector<uint64_t> encode(const std::string& kind, const nlohmann::ordered_json& fields);

// The same JSON for a record already in hand.
nlohmann::ordered_json describe(const arch::EventRecord& e);

}  // namespace smmu::sim
