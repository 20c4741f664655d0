// Trace format v1: one transaction per line,
//   <time_ns> <device> <R|W> <iova> <size> [ssid=<n>]
// whitespace-separated, numbers decimal or 0x-hex, '#' to end of line is a
// comment, blank lines are skipped, times never decrease. <device> is a config
// device name or a StreamID number; DeviceTable::resolve() maps it to a device.
// TraceReader::open also reads the binary format (fixed 32-byte records, see
// traces/README.md and binary_trace below) and gzip- or zstd-compressed
// files of either, detected by their first bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "testbenches/config/change.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

struct TraceRecord {
    uint64_t time_ns = 0;
    std::string device;  // as written in a text trace: a name or a StreamID
    bool write = false;
    uint64_t iova = 0;
    uint32_t size = 0;
    bool ssv = false;    // an ssid= was given
    uint32_t ssid = 0;
    int line = 0;        // 1-based line in the trace file (record number in a binary trace)
    // Set by a binary trace whose device field is an index into config.devices
    // (-1: `device` holds the name or StreamID).
    int32_t device_index = -1;
    // Set by a binary trace whose device field is a StreamID (-1: not one).
    int64_t device_sid = -1;
    // A control record (map, unmap, guest_inv) instead of a DMA; `time_ns`
    // and `line` still apply, the DMA fields do not.
    std::optional<ChangeRecord> change;
    std::string text;    // a control record's words after the time, as read (for the converter)
};

// The device a record names, as a message shows it: the text trace's word, a
// binary trace's StreamID in decimal, or "#<index>".
std::string device_text(const TraceRecord& rec);

// Reads records one at a time out of a buffer refilled from the file, so
// traces of any length stream through; a DMA record costs no allocation (its
// words are views into the buffer) and the error location is built only for
// an error. Errors are InputError "file:line: field: problem".
class TraceReader {
public:
    // `in` must outlive the reader; `filename` is only used in messages.
    TraceReader(std::istream& in, std::string filename);
    // Throws InputError("missing file 'path'") when `path` does not exist.
    // Text, binary (by its magic) and gzip (1f 8b) or zstd (28 b5 2f fd) of
    // either are accepted.
    static TraceReader open(const std::string& path);
    TraceReader(TraceReader&&) noexcept;
    TraceReader& operator=(TraceReader&&) noexcept;
    ~TraceReader();

    // The next record, or false at the end of the trace.
    bool next(TraceRecord& rec);

    const std::string& filename() const { return file_; }
    bool binary() const { return binary_; }
    bool gzip() const { return compression_ == Compression::Gzip; }
    bool zstd() const { return compression_ == Compression::Zstd; }
    // Bytes of the file consumed so far (compressed bytes for gzip and zstd; read
    // ahead by the buffers) and the file's size; both 0 for a stream.
    uint64_t bytes_read() const;
    uint64_t file_size() const { return file_size_; }

private:
    struct Source;  // the opened file: stream, decompressor, byte counter
    enum class Compression { None, Gzip, Zstd };
    explicit TraceReader(std::unique_ptr<Source> src, std::string filename);
    void check_time(const TraceRecord& r);
    void detect_binary();
    // Makes `n` bytes available at buf_[pos_] unless the file ends first;
    // returns how many are (fewer than n only at the end of the file).
    std::size_t fill(std::size_t n);
    bool next_line(std::string_view& line);
    bool next_text(TraceRecord& rec);
    void read_dma(TraceRecord& rec);
    void read_control(TraceRecord& rec);
    bool next_binary(TraceRecord& rec);
    // "file:line" or "file: record N": where the record being read is.
    std::string location() const;
    [[noreturn]] void fail(const std::string& field, const std::string& problem) const;
    [[noreturn]] void read_failed(const char* what) const;

    std::unique_ptr<Source> src_;  // set by open()
    std::istream* in_;
    std::string file_;
    bool binary_ = false;
    Compression compression_ = Compression::None;
    std::vector<char> buf_;          // bytes read from the file; [pos_, end_) not consumed yet
    std::size_t pos_ = 0, end_ = 0;
    bool eof_ = false;               // the file has no more bytes
    std::vector<std::string_view> tok_;  // the current text line's words (views into buf_)
    uint64_t file_size_ = 0;
    int line_ = 0;
    bool any_ = false;  // a record was read: prev_time_ is meaningful
    uint64_t prev_time_ = 0;
    int prev_line_ = 0;
};

// A control record's words after the time (throws InputError at `at`).
ChangeRecord parse_change(const std::vector<std::string>& tok, const std::string& at);

// The config's devices by name and by StreamID, built once: a record's device
// is found in constant time however many devices there are.
class DeviceTable {
public:
    // `config` must outlive the table (it keys on the config's names).
    explicit DeviceTable(const Config& config);
    // Index into config.devices of the device the record names: a device
    // name, else a StreamID number (the first device with it). Throws
    // InputError "file:line: device: unknown device 'x'".
    std::size_t resolve(const TraceRecord& rec, const std::string& file) const;

private:
    const Config& config_;
    std::unordered_map<std::string_view, std::size_t> by_name_;
    std::unordered_map<uint64_t, std::size_t> by_sid_;
};

// The binary trace format (traces/README.md, "Binary trace format"): a 16-byte
// header, then 32-byte little-endian records.
namespace binary_trace {
inline constexpr unsigned char kMagic[8] = {0x89, 'S', 'M', 'T', 'R', '\r', '\n', 0x1a};
inline constexpr uint16_t kVersion = 1;
inline constexpr uint16_t kRecordSize = 32;
inline constexpr std::size_t kHeaderSize = 16;
// flags (offset 28)
inline constexpr uint32_t kWrite = 1u << 0;
inline constexpr uint32_t kSsv = 1u << 1;
inline constexpr uint32_t kDeviceIndex = 1u << 2;  // `device` is an index into the config's devices
inline constexpr uint32_t kControl = 1u << 3;      // `size` bytes of a control record's text follow
inline constexpr uint32_t kKnownFlags = kWrite | kSsv | kDeviceIndex | kControl;

// The header's 16 bytes.
std::string header();
// One record's bytes. A DMA needs `device` (a StreamID, or an index with
// kDeviceIndex); a control record carries r.text (its words after the time).
std::string encode(const TraceRecord& r, uint32_t device, bool device_is_index);
}  // namespace binary_trace

}  // namespace smmu::sim
