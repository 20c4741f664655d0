// convert_qemu_trace (smmu-sim qemu2replay) over arbitrary bytes: a script or
// an InputError, nothing else thrown, no crash. What it writes must be a
// script parse_script accepts, with the DMA lines it counted: the converter
// never hands `replay` a line it cannot run.
#include <exception>
#include <sstream>

#include "fuzz/common.h"
#include "testbenches/config/input_error.h"
#include "testbenches/replay/qemu_trace.h"
#include "testbenches/replay/script.h"

using namespace smmu::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    std::istringstream in(smmu::fuzz::as_string(data, size));
    QemuConversion c;
    try {
        c = convert_qemu_trace(in, "fuzz.log", {});
    } catch (const InputError&) {
        return 0;
    } catch (const std::exception& e) {
        smmu::fuzz::fail(std::string("convert_qemu_trace threw something other than InputError: ") + e.what());
    }
    std::istringstream script(c.script);
    try {
        const Script s = parse_script(script, "converted.script");
        unsigned dmas = 0;
        for (const ScriptLine& l : s.lines) dmas += l.op == ScriptOp::Dma;
        FUZZ_CHECK(dmas == c.dmas, "DMA lines written and counted differ");
    } catch (const InputError& e) {
        smmu::fuzz::fail(std::string("the converted script does not parse: ") + e.what() + "\n" + c.script);
    }
    return 0;
}
