#include "models/smmu/cache/cache.h"

namespace smmu {

std::optional<Replacement> replacement_from_name(const std::string& name) {
    if (name == "lru") return Replacement::Lru;
    if (name == "plru") return Replacement::Plru;
    if (name == "random") return Replacement::Random;
    if (name == "round-robin") return Replacement::RoundRobin;
    return std::nullopt;
}

const char* replacement_name(Replacement r) {
    switch (r) {
        case Replacement::Lru: return "lru";
        case Replacement::Plru: return "plru";
        case Replacement::Random: return "random";
        case Replacement::RoundRobin: return "round-robin";
    }
    return "?";
}

}  // namespace smmu
