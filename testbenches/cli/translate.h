// `smmu-sim translate`: program a plain-C++ SMMU core from the config with the
// host driver model, translate one address cold, print every step.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "testbenches/config/config.h"

namespace smmu::sim {

struct TranslateRequest {
    std::string device;
    uint64_t iova = 0;
    bool ssv = false;
    uint32_t ssid = 0;
    bool write = false;
};

// Prints the walk and the result; returns 0 if translated, 1 on a fault.
int translate_command(const Config& cfg, const TranslateRequest& req, std::ostream& out);

}  // namespace smmu::sim
