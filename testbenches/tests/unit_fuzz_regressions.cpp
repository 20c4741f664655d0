// Every crash, hang or leak the libFuzzer targets (fuzz/, docs/fuzzing.md)
// found, reproduced from its input so the ordinary suite keeps it fixed.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"

using namespace smmu::sim;

namespace {

// The input as a config file of its own (removed again at the end of the scope).
struct TempConfig {
    std::string path;
    explicit TempConfig(const std::string& text)
        : path((std::filesystem::temp_directory_path() /
                ("smmusim-fuzz-regression-" + std::to_string(getpid()) + ".yaml")).string()) {
        std::ofstream(path) << text;
    }
    ~TempConfig() { std::remove(path.c_str()); }
};

}  // namespace

// fuzz/config_loader: a YAML alias inside the node it names is an infinite
// tree; converting it recursed until the stack overflowed (ASan stack-overflow
// in config_loader.cpp convert()). Now an InputError naming file and line.
TEST_CASE("Config: a recursive YAML alias is an input error, not a stack overflow", "[fuzz][config]") {
    const TempConfig f("a: &x [*x]\n");
    CHECK_THROWS_WITH(load_config({f.path}, {}), Catch::Contains(f.path + ":1: YAML nested deeper than"));
    // The same through --set.
    CHECK_THROWS_AS(load_config({}, {"smmu=&x [*x]"}), InputError);
}

// fuzz/config_loader: aliases of aliases ("billion laughs") expanded to 10^10
// nodes: a hang and unbounded memory. Now refused after kMaxYamlNodes.
TEST_CASE("Config: exponential YAML aliases are an input error, not a hang", "[fuzz][config]") {
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; ++i) {
        text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
        text += "]\n";
    }
    const TempConfig f(text);
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(load_config({f.path}, {}), Catch::Contains("nodes (a recursive or exponential alias?)"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}
