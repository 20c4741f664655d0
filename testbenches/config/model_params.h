// Config -> the model's construction parameters, shared by the SystemC
// platform and the plain-C++ tools (translate).
#pragma once
#include "models/smmu/smmu_core.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

SmmuCoreParams core_params(const Config& cfg);

}  // namespace smmu::sim
