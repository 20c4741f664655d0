// Errors of the host software model, as the kernel would see them.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace smmu::driver {

// The hardware did not answer as the driver expects: an SMMU that never
// acknowledged CR0, a command queue that stopped (CMDQ_CONS.ERR), a CMD_SYNC
// that never completed. Not the user's fault: the run stops with an error.
struct HostError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A request the kernel refuses, with the errno it returns (-EINVAL, -EIO,
// -ENOSPC, -EEXIST, -ENOMEM...) and the kernel's reason.
struct KernelError : std::runtime_error {
    KernelError(int err, const std::string& what) : std::runtime_error(what), err(err) {}
    int err;
};

// "-EINVAL" for messages.
const char* errno_name(int err);

// "0x1f000" for messages.
std::string hex(uint64_t v);

}  // namespace smmu::driver
