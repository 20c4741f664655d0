// Building a Config in C++ for plain-C++ tests of the host model and SMMU core
// (the YAML loader has tests of its own).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "testbenches/config/config.h"

namespace smmu_test {

using smmu::sim::AttachMode;
using smmu::sim::CacheConfig;
using smmu::sim::DeviceConfig;
using smmu::sim::Mapping;
using CtxConfig = smmu::sim::ContextConfig;  // not smmu::ContextConfig (a decoded CD)

inline Mapping map(uint64_t in, uint64_t out, uint64_t size, uint64_t page = 0) {
    Mapping m;
    m.in = in;
    m.out = out;
    m.size = size;
    m.page = page;
    return m;
}

inline CtxConfig context(uint32_t ssid, uint16_t asid, std::vector<Mapping> maps) {
    CtxConfig c;
    c.ssid = ssid;
    c.asid = asid;
    c.map = std::move(maps);
    return c;
}

inline DeviceConfig device(std::string name, uint32_t sid, AttachMode mode, std::string vm = "",
                           std::vector<CtxConfig> contexts = {}) {
    DeviceConfig d;
    d.name = std::move(name);
    d.sid = sid;
    d.attach = mode;
    d.vm = std::move(vm);
    d.contexts = std::move(contexts);
    return d;
}

inline CacheConfig cache(unsigned entries, unsigned ways = 0) {
    CacheConfig c;
    c.entries = entries;
    c.ways = ways;
    return c;
}

}  // namespace smmu_test
