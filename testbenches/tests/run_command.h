// Running the smmu-sim command as a process of its own (the SystemC kernel
// cannot restart within one), for the system tests. Needs SMMUSIM_BIN,
// SMMUSIM_SOURCE_DIR and CMAKE_BINARY_DIR defined by CMake.
#pragma once
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace smmu_sim_test {

struct Run {
    int exit_code = -1;
    std::string out, err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Runs `smmu-sim ARGS` from the source directory (example paths are relative).
// stderr goes to a file in the build directory, named by process and call:
// ctest runs test cases in parallel processes.
inline Run smmu_sim(const std::string& args) {
    static int n = 0;
    const std::string err_file = std::string(CMAKE_BINARY_DIR) + "/system_test_stderr_" + std::to_string(getpid()) +
                                 "_" + std::to_string(++n) + ".txt";
    const std::string cmd = "cd '" + std::string(SMMUSIM_SOURCE_DIR) + "' && '" + std::string(SMMUSIM_BIN) + "' " +
                            args + " 2>'" + err_file + "'";
    Run r;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, k);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = slurp(err_file);
    std::remove(err_file.c_str());
    return r;
}

}  // namespace smmu_sim_test
