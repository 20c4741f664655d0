// parse_script over arbitrary bytes: a Script or an InputError; anything else
// thrown, or a crash, is a bug. Every parsed line is checked for the shape
// replay relies on (widths, values), and register_label/register_offset agree.
#include <exception>
#include <sstream>

#include "fuzz/common.h"
#include "testbenches/config/input_error.h"
#include "testbenches/replay/script.h"

using namespace smmu::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    std::istringstream in(smmu::fuzz::as_string(data, size));
    try {
        const Script s = parse_script(in, "fuzz.script");
        for (const ScriptLine& l : s.lines) {
            FUZZ_CHECK(l.line >= 1, l.text);
            if (l.op == ScriptOp::MmioWrite || l.op == ScriptOp::MmioRead || l.op == ScriptOp::Poll ||
                l.op == ScriptOp::MemWrite || l.op == ScriptOp::MemRead)
                FUZZ_CHECK(l.width == 4 || l.width == 8, l.text);
            if (l.op == ScriptOp::MmioWrite) FUZZ_CHECK(l.values.size() == 1, l.text);
            if (l.op == ScriptOp::MemWrite) FUZZ_CHECK(!l.values.empty(), l.text);
            if (l.op == ScriptOp::MmioWrite || l.op == ScriptOp::MmioRead || l.op == ScriptOp::Poll) {
                const std::string label = register_label(static_cast<uint32_t>(l.addr));
                if (!label.empty() && label.find('+') == std::string::npos) {
                    const auto back = register_offset(label);
                    FUZZ_CHECK(back.has_value(), label);
                }
            }
        }
    } catch (const InputError&) {
    } catch (const std::exception& e) {
        smmu::fuzz::fail(std::string("parse_script threw something other than InputError: ") + e.what());
    }
    return 0;
}
