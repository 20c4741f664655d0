#include "driver/errors.h"

#include <cerrno>
#include <cstdio>

namespace smmu::driver {

const char* errno_name(int err) {
    switch (-err) {
        case EINVAL: return "-EINVAL";
        case EIO: return "-EIO";
        case ENOSPC: return "-ENOSPC";
        case EEXIST: return "-EEXIST";
        case ENOMEM: return "-ENOMEM";
        case EBUSY: return "-EBUSY";
        case ENOENT: return "-ENOENT";
        case EOPNOTSUPP: return "-EOPNOTSUPP";
        case ETIMEDOUT: return "-ETIMEDOUT";
        default: return "-E?";
    }
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace smmu::driver
