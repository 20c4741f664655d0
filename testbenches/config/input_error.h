// The one error type for bad user input (config, trace, script, command line):
// its message names the file, the line and the field, and the command exits 2.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "driver/errors.h"

namespace smmu::sim {

struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "file:line: message" (line 0 = no line).
std::string where(const std::string& file, int line);

// "0x1f000" for messages.
using driver::hex;

}  // namespace smmu::sim
