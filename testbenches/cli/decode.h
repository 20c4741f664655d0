// `smmu-sim decode ste|cd|cmd|event|pri WORD64...`: raw dwords -> one JSON object
// keyed by the architecture's field names.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/arch/event.h"

namespace smmu::sim {

// `kind` is ste, cd, cmd, event or pri (a PRI queue record); `words` are hex strings, word 0 first, with
// or without 0x. Fewer words than the structure has: the rest are zero.
// Throws InputError on an unknown kind, bad hex or too many words.
nlohmann::ordered_json decode(const std::string& kind, const std::vector<std::string>& words);

// The same JSON for a record already in hand.
nlohmann::ordered_json describe(const arch::EventRecord& e);

}  // namespace smmu::sim
