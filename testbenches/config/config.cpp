#include "testbenches/config/config.h"

namespace smmu::sim {

const char* attach_mode_name(AttachMode m) {
    switch (m) {
        case AttachMode::Abort: return "abort";
        case AttachMode::Bypass: return "bypass";
        case AttachMode::S1: return "s1";
        case AttachMode::S2: return "s2";
        case AttachMode::Nested: return "nested";
        case AttachMode::Proxy: return "proxy";
    }
    return "?";
}

const VmConfig* Config::find_vm(const std::string& name) const {
    for (const VmConfig& vm : vms)
        if (vm.name == name) return &vm;
    return nullptr;
}

const DeviceConfig* Config::find_device(const std::string& name) const {
    for (const DeviceConfig& d : devices)
        if (d.name == name) return &d;
    return nullptr;
}

const ViommuConfig* Config::find_viommu(const std::string& name) const {
    for (const ViommuConfig& v : viommus)
        if (v.name == name) return &v;
    return nullptr;
}

int Config::smmu_index(const std::string& name) const {
    for (std::size_t i = 0; i < smmus.size(); ++i)
        if (smmus[i] == name) return static_cast<int>(i);
    return -1;
}

bool Config::serves_faults() const {
    for (const DeviceConfig& d : devices)
        if (d.pri.enabled || d.stall) return true;
    // STALL_FORCE: arm_smmu_probe_device makes every master stall_enabled.
    for (const IdrSetting& s : smmu.idr)
        if (s.field == "STALL_MODEL" && s.value == 2) return true;
    return false;
}

const std::vector<std::string>& cache_names() {
    static const std::vector<std::string> names{"iotlb",      "config",     "walk_s1_l0", "walk_s1_l1", "walk_s1_l2",
                                                "walk_s1_l3", "walk_s2_l0", "walk_s2_l1", "walk_s2_l2", "walk_s2_l3",
                                                "ipa",        "utlb"};
    return names;
}

}  // namespace smmu::sim
