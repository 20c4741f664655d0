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

std::optional<unsigned> s2sl0_start_level(Granule g, unsigned s2sl0, bool stt) {
    if (g == Granule::K4) {
        if (s2sl0 == 3) return stt ? std::optional<unsigned>(3) : std::nullopt;
        return 2 - s2sl0;
    }
    if (s2sl0 == 3) return std::nullopt;
    return 3 - s2sl0;
}

std::optional<unsigned> s2sl0_encoding(Granule g, unsigned level, bool stt) {
    for (unsigned e = 0; e < 4; ++e)
        if (s2sl0_start_level(g, e, stt) == level) return e;
    return std::nullopt;
}

std::optional<unsigned> pa_encoding(unsigned bits) {
    for (unsigned e = 0; e < 7; ++e)
        if (pa_bits(e) == bits) return e;
    return std::nullopt;
}

}  // namespace smmu::arch
