// `smmu-sim translate`: program a plain-C++ SMMU core from the config with the
// host driver model, translate one address cold, print every step.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "models/smmu/translation/translator.h"

#include "testbenches/config/config.h"

namespace smmu::sim {

struct TranslateRequest {
    std::string device;
    uint64_t iova = 0;
    bool ssv = false;
    uint32_t ssid = 0;
    bool write = false;
};

// One cold translation on the platform the config describes, programmed by the host
// driver model: the request the device's SMMU saw, its outcome and every read.
struct TranslateWalk {
    const DeviceConfig* device = nullptr;
    TranslationRequest request;
    TranslationResult result;
    std::vector<MemAccess> reads;
    unsigned walk_reads = 0;
    unsigned config_reads = 0;
};
// Throws InputError for a device the config does not have.
TranslateWalk translate_cold(const Config& cfg, const TranslateRequest& req);

// Prints the walk and the result; returns 0 if translated, 1 on a fault.
int translate_command(const Config& cfg, const TranslateRequest& req, std::ostream& out);

}  // namespace smmu::sim
