// Driver-session scripts (`smmu-sim replay`): the script itself drives one
// SMMU, line by line, through its MMIO registers, memory and upstream DMA.
// The format is documented in traces/README.md ("Driver-session scripts"):
//
//   [@<time_ns>] write32|write64 <offset> <value>
//   [@<time_ns>] read32|read64 <offset> [== <expected> [mask=<m>]] [-> <NAME>]
//   [@<time_ns>] memw32|memw64 <pa> <value> [<value>...]
//   [@<time_ns>] memr32|memr64 <pa> [== <expected> [mask=<m>]] [-> <NAME>]
//   [@<time_ns>] poll32|poll64 <offset> <mask> <value> [timeout=<ns>]
//   [@<time_ns>] wait <ns>
//   [@<time_ns>] dma <sid> [ssid=<n>] <R|W> <iova> <size> [data=<v>]
//                    [expect ok | expect pa=<pa> | expect fault=<EVENT> | expect abort] [perm=<r|w|x...>]
//   let <NAME> = <value>
//
// This part is plain C++: it turns text into ScriptLines, and every syntax
// error into an InputError "file:line: field: problem".
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace smmu::sim {

enum class ScriptOp { MmioWrite, MmioRead, MemWrite, MemRead, Poll, Wait, Dma };

// What a DMA line expects of its outcome.
enum class DmaExpect {
    None,   // print the outcome, expect nothing
    Ok,     // translated (or bypassed) and completed
    Pa,     // translated to exactly `ScriptLine::expect_pa`
    Fault,  // terminated with an event record `ScriptLine::event_id`
    Abort,  // terminated without an event record (STE.Config abort, GBPA.ABORT...)
};

// A value that names a variable a read stored (`-> NAME`): evaluated when
// its line runs. Terms joined with '+' or '|', left to right.
struct ScriptTerm {
    char op = '+';
    bool variable = false;
    uint64_t value = 0;        // a number (or a let's value)
    unsigned index = 0;        // the variable, when `variable`
};
struct DeferredValue {
    enum class Field : uint8_t { Addr, Value, Expect };
    Field field = Field::Value;
    std::size_t index = 0;     // Value: which of `values`
    std::vector<ScriptTerm> terms;
};

struct ScriptLine {
    int line = 0;                     // 1-based line in the script
    std::string text;                 // the statement as written (comment removed, trimmed)
    std::optional<uint64_t> at_ns;    // @t: do not start before t ns from the start
    ScriptOp op = ScriptOp::Wait;
    unsigned width = 4;               // bytes per access (MMIO, memory): 4 or 8

    // MMIO offset (from the SMMU base), PA, or the DMA's IOVA.
    uint64_t addr = 0;
    // MmioWrite: one value; MemWrite: one per consecutive word.
    std::vector<uint64_t> values;

    // MmioRead / MemRead (when `has_expect`) and Poll: (value & mask) == expect.
    bool has_expect = false;
    uint64_t expect = 0;
    uint64_t mask = ~uint64_t{0};
    uint64_t timeout_ns = 0;          // Poll

    uint64_t wait_ns = 0;             // Wait

    // Dma.
    uint32_t sid = 0;
    bool ssv = false;
    uint32_t ssid = 0;
    bool write = false;
    uint32_t size = 0;
    std::optional<uint64_t> data;     // W: bytes of this value (little-endian), repeated
    DmaExpect dma_expect = DmaExpect::None;
    uint64_t expect_pa = 0;
    uint8_t event_id = 0;
    std::optional<std::string> expect_perm;  // "rw", "r"...: the translation's permissions (x ignored unless named)

    std::vector<DeferredValue> deferred;     // values naming variables, set when the line runs
    std::optional<unsigned> store;           // MmioRead/MemRead: the variable the value goes to
};

struct Script {
    std::string file;
    std::vector<ScriptLine> lines;    // statements only (no comments, blanks or lets)
    std::vector<std::string> variables;  // `-> NAME` targets, by index
};

// Default poll timeout: 100 us of simulated time (a driver's SYNC, CR0ACK or
// CMDQ_CONS wait on this model takes a few us; a poll that can never succeed
// fails as soon as it is clear, see replay.cpp).
inline constexpr uint64_t kDefaultPollTimeoutNs = 100'000;

// Parses a whole script; `filename` is only used in messages.
Script parse_script(std::istream& in, const std::string& filename);
// Throws InputError("missing file 'path'") when `path` does not exist.
Script load_script(const std::string& path);

// Register offset by name ("CR0", "EVENTQ_PROD" -> its page-1 home 0x100a8), or nullopt.
std::optional<uint32_t> register_offset(const std::string& name);
// "CR0", "STRTAB_BASE+4" (the upper half) or "" for reserved offsets.
std::string register_label(uint32_t offset);

}  // namespace smmu::sim
