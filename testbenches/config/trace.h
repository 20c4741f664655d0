// Trace format v1: one transaction per line,
//   <time_ns> <device> <R|W> <iova> <size> [ssid=<n>]
// whitespace-separated, numbers decimal or 0x-hex, '#' to end of line is a
// comment, blank lines are skipped, times never decrease. <device> is a config
// device name or a StreamID number; resolve_device() maps it to a device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "testbenches/config/change.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

struct TraceRecord {
    uint64_t time_ns = 0;
    std::string device;  // as written: a name or a StreamID
    bool write = false;
    uint64_t iova = 0;
    uint32_t size = 0;
    bool ssv = false;    // an ssid= was given
    uint32_t ssid = 0;
    int line = 0;        // 1-based line in the trace file
    // A control record (map, unmap, guest_inv) instead of a DMA; `time_ns`
    // and `line` still apply, the DMA fields do not.
    std::optional<ChangeRecord> change;
};

// Reads records one line at a time, so traces of any length stream through.
// Errors are InputError "file:line: field: problem".
class TraceReader {
public:
    // `in` must outlive the reader; `filename` is only used in messages.
    TraceReader(std::istream& in, std::string filename);
    // Throws InputError("missing file 'path'") when `path` does not exist.
    static TraceReader open(const std::string& path);

    // The next record, or false at the end of the trace.
    bool next(TraceRecord& rec);

    const std::string& filename() const { return file_; }

private:
    TraceReader(std::unique_ptr<std::ifstream> owned, std::string filename);
    void check_time(const TraceRecord& r, const std::string& at);

    std::unique_ptr<std::ifstream> owned_;  // set by open()
    std::istream* in_;
    std::string file_;
    int line_ = 0;
    bool any_ = false;  // a record was read: prev_time_ is meaningful
    uint64_t prev_time_ = 0;
    int prev_line_ = 0;
};

// Index into config.devices of the device the record names: a device name,
// else a StreamID number. Throws InputError "file:line: device: unknown device 'x'".
// A control record's words after the time (throws InputError at `at`).
ChangeRecord parse_change(const std::vector<std::string>& tok, const std::string& at);

std::size_t resolve_device(const Config& config, const TraceRecord& rec, const std::string& file);

}  // namespace smmu::sim
