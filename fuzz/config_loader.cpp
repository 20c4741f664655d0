// load_config over arbitrary bytes written to a temporary file. Lines
// "#set key=value" (YAML comments) are also passed as --set overrides.
// InputError is the expected outcome for bad input; any other exception, or a
// crash, is a bug.
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "fuzz/common.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"

using namespace smmu::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    // One file per process, removed when the process exits.
    static const struct TempFile {
        std::string path = "/tmp/smmusim-fuzz-config-" + std::to_string(getpid()) + ".yaml";
        ~TempFile() { std::remove(path.c_str()); }
    } temp;
    const std::string& path = temp.path;
    const std::string text = smmu::fuzz::as_string(data, size);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
    }
    std::vector<std::string> sets;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line) && sets.size() < 8;)
        if (line.rfind("#set ", 0) == 0) sets.push_back(line.substr(5));
    try {
        const Config c = load_config({path}, sets);
        FUZZ_CHECK(!c.smmus.empty(), "a valid config without SMMUs");
    } catch (const InputError&) {
    } catch (const std::exception& e) {
        smmu::fuzz::fail(std::string("load_config threw something other than InputError: ") + e.what());
    }
    return 0;
}
