// Sparse physical memory: 4 KiB pages allocated on first write, so the whole
// 52-bit physical address space costs nothing until used. Never-written bytes
// read as zero without allocating. Pages are carved in turn from 2 MiB
// anonymous mappings (zero-filled by the OS, transparent huge pages asked
// for): a platform with thousands of devices touches tens of thousands of
// pages while it is set up, and one fault per page was most of that time.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "models/memory/memory_port.h"

namespace smmu {

class SparseMemory : public MemoryPort {
public:
    static constexpr unsigned kPageShift = 12;
    static constexpr uint64_t kPageBytes = uint64_t{1} << kPageShift;

    // Accesses at or beyond 2^pa_bits abort, as a bus with nothing mapped there would.
    explicit SparseMemory(unsigned pa_bits = 52);
    ~SparseMemory() override;
    SparseMemory(const SparseMemory&) = delete;
    SparseMemory& operator=(const SparseMemory&) = delete;

    bool read(uint64_t pa, void* dst, unsigned len) override;
    bool write(uint64_t pa, const void* src, unsigned len) override;

    // Side-effect-free read for debuggers and checkers.
    bool peek(uint64_t pa, void* dst, std::size_t len) const;

    // Backing store of the page holding `pa` (allocated when needed), for DMI.
    // nullptr when `pa` is outside the address space.
    uint8_t* page(uint64_t pa);
    // The same if the page exists, else nullptr (nothing allocated).
    uint8_t* existing_page(uint64_t pa);

    bool in_range(uint64_t pa, uint64_t len) const;
    unsigned pa_bits() const { return pa_bits_; }
    std::size_t pages_allocated() const { return pages_.size(); }
    std::size_t bytes_allocated() const { return pages_.size() * kPageBytes; }

private:
    using Page = std::array<uint8_t, kPageBytes>;
    const Page* find(uint64_t page_number) const;
    // A zeroed page from the current chunk (a new chunk when it is used up).
    Page* fresh_page();

    static constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
    unsigned pa_bits_;
    std::unordered_map<uint64_t, Page*> pages_;
    std::vector<void*> chunks_;                      // mappings of kChunkBytes, freed with the memory
    std::size_t chunk_used_ = kChunkBytes;           // bytes handed out of chunks_.back()
    // Pages looked up lately, direct-mapped by page number, null if absent
    // (pages are never freed, so the pointers stay good): DMA and walks come
    // back to a few pages again and again, and a hash lookup costs more.
    static constexpr unsigned kRecent = 64;
    struct Recent {
        uint64_t number = ~uint64_t{0};
        Page* page = nullptr;
    };
    mutable std::array<Recent, kRecent> recent_{};
};

}  // namespace smmu
