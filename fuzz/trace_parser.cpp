// TraceReader over arbitrary bytes: every record parses or the reader throws
// InputError; anything else thrown, or a crash, is a bug. Records are resolved
// against a small config (names and StreamIDs) the same way replay does.
#include <sstream>

#include "fuzz/common.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/trace.h"

using namespace smmu::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    std::istringstream in(smmu::fuzz::as_string(data, size));
    Config config;
    config.devices.resize(2);
    config.devices[0].name = "dev0";
    config.devices[0].sid = 0x10;
    config.devices[1].name = "gpu";
    config.devices[1].sid = 0x20;
    try {
        TraceReader reader(in, "fuzz.trace");
        TraceRecord rec;
        for (int n = 0; n < 100000 && reader.next(rec); ++n) {
            FUZZ_CHECK(rec.line >= 1, "record without a line number");
            if (!rec.change) {
                try {
                    (void)resolve_device(config, rec, "fuzz.trace");
                } catch (const InputError&) {
                }
            }
        }
    } catch (const InputError&) {
    }
    return 0;
}
