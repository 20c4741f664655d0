#include "testbenches/config/model_params.h"

namespace smmu::sim {

SmmuCoreParams core_params(const Config& cfg) {
    SmmuCoreParams p;
    p.caps.oas = cfg.smmu.oas;
    p.caps.sid_bits = cfg.smmu.sid_bits;
    p.caps.ssid_bits = cfg.smmu.ssid_bits;
    p.caps.vmid16 = cfg.smmu.vmid16;
    p.cmdq_max_log2 = 19;
    p.eventq_max_log2 = 19;
    return p;
}

}  // namespace smmu::sim
