#include "testbenches/config/config.h"

namespace smmu::sim {

const char* attach_mode_name(AttachMode m) {
    switch (m) {
        case AttachMode::Abort: return "abort";
        case AttachMode::Bypass: return "bypass";
        case AttachMode::S1: return "s1";
        case AttachMode::S2: return "s2";
        case AttachMode::Nested: return "nested";
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

}  // namespace smmu::sim
