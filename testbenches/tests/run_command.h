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
#include <nlohmann/json.hpp>

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

// Under AddressSanitizer (the CI's second build), the first exception thrown
// on a SystemC thread's own stack makes ASan print a three-line warning that
// it cannot tell that stack's bounds (google/sanitizers#189; SystemC switches
// stacks without telling it). It is not the command's output: drop it.
inline std::string without_asan_stack_warning(std::string err) {
    const std::size_t at = err.find("WARNING: ASan is ignoring requested __asan_handle_no_return");
    if (at == std::string::npos) return err;
    const std::size_t begin = err.rfind('\n', at) == std::string::npos ? 0 : err.rfind('\n', at) + 1;
    const std::string last = "sanitizers/issues/189\n";
    const std::size_t end = err.find(last, at);
    if (end == std::string::npos) return err;
    return err.erase(begin, end + last.size() - begin);
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
    r.err = without_asan_stack_warning(slurp(err_file));
    std::remove(err_file.c_str());
    return r;
}

// `smmu-sim run ARGS --stats CMAKE_BINARY_DIR/NAME.json --quiet`, which must
// exit 0; its stats.
inline nlohmann::json run_stats(const std::string& args, const std::string& name) {
    const std::string stats = std::string(CMAKE_BINARY_DIR) + "/" + name + ".json";
    const Run r = smmu_sim("run " + args + " --stats '" + stats + "' --quiet");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(stats));
}

}  // namespace smmu_sim_test
