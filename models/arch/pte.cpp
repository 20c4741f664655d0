#include "models/arch/pte.h"

#include "models/arch/registers.h"

namespace smmu::arch {

std::string_view granule_name(Granule g) {
    switch (g) {
        case Granule::K4: return "4K";
        case Granule::K16: return "16K";
        case Granule::K64: return "64K";
    }
    return "?";
}

std::optional<unsigned> pa_encoding(unsigned bits) {
    for (unsigned e = 0; e < 7; ++e)
        if (pa_bits(e) == bits) return e;
    return std::nullopt;
}

}  // namespace smmu::arch
