#include "testbenches/config/input_error.h"

namespace smmu::sim {

std::string where(const std::string& file, int line) {
    return line > 0 ? file + ":" + std::to_string(line) : file;
}

}  // namespace smmu::sim
