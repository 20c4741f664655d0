#include "models/memory/sparse_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace smmu {

bool MemoryPort::read64(uint64_t pa, uint64_t& v) { return read_words(pa, &v, 1); }

bool MemoryPort::write64(uint64_t pa, uint64_t v) { return write_words(pa, &v, 1); }

// Structures are little-endian in memory whatever the host's byte order: a
// little-endian host reads and writes them a word at a time, as they are.
namespace {
uint64_t little_endian(uint64_t v) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}
}  // namespace

bool MemoryPort::read_words(uint64_t pa, uint64_t* w, unsigned n) {
    uint64_t b[8];  // `w` is left as it was when the access aborts
    if (n > 8 || !read(pa, b, 8 * n)) return false;
    for (unsigned k = 0; k < n; ++k) w[k] = little_endian(b[k]);
    return true;
}

bool MemoryPort::write_words(uint64_t pa, const uint64_t* w, unsigned n) {
    uint64_t b[8];
    if (n > 8) return false;
    for (unsigned k = 0; k < n; ++k) b[k] = little_endian(w[k]);
    return write(pa, b, 8 * n);
}

SparseMemory::SparseMemory(unsigned pa_bits) : pa_bits_(std::min(pa_bits, 64u)) {}

SparseMemory::~SparseMemory() {
    for (void* c : chunks_) munmap(c, kChunkBytes);
}

SparseMemory::Page* SparseMemory::fresh_page() {
    if (chunk_used_ == kChunkBytes) {
        // Twice the size, trimmed to a 2 MiB-aligned chunk: a huge page needs the alignment.
        void* m = mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        const auto at = reinterpret_cast<uintptr_t>(m);
        const uintptr_t aligned = (at + kChunkBytes - 1) & ~uintptr_t{kChunkBytes - 1};
        if (aligned > at) munmap(m, aligned - at);
        if (aligned + kChunkBytes < at + 2 * kChunkBytes)
            munmap(reinterpret_cast<void*>(aligned + kChunkBytes), at + 2 * kChunkBytes - aligned - kChunkBytes);
        void* c = reinterpret_cast<void*>(aligned);
        // A hint only: without huge pages the chunk is faulted in 4 KiB at a time.
        madvise(c, kChunkBytes, MADV_HUGEPAGE);
        chunks_.push_back(c);
        chunk_used_ = 0;
    }
    auto* p = reinterpret_cast<Page*>(static_cast<uint8_t*>(chunks_.back()) + chunk_used_);
    chunk_used_ += kPageBytes;
    return p;  // anonymous memory reads as zero
}

bool SparseMemory::in_range(uint64_t pa, uint64_t len) const {
    if (pa_bits_ >= 64) return pa + len >= pa;
    const uint64_t limit = uint64_t{1} << pa_bits_;
    return pa < limit && len <= limit - pa;
}

const SparseMemory::Page* SparseMemory::find(uint64_t page_number) const {
    Recent& r = recent_[page_number % kRecent];
    if (r.number == page_number) return r.page;
    auto it = pages_.find(page_number);
    // An absent page is remembered too: page() is the only way one appears,
    // and it updates what is remembered.
    r.number = page_number;
    r.page = it == pages_.end() ? nullptr : it->second;
    return r.page;
}

uint8_t* SparseMemory::page(uint64_t pa) {
    if (!in_range(pa, 1)) return nullptr;
    const uint64_t number = pa >> kPageShift;
    Recent& r = recent_[number % kRecent];
    if (r.number == number && r.page) return r.page->data();
    auto& slot = pages_[number];
    if (!slot) slot = fresh_page();
    r.number = number;
    r.page = slot;
    return slot->data();
}

uint8_t* SparseMemory::existing_page(uint64_t pa) {
    if (!in_range(pa, 1)) return nullptr;
    const Page* p = find(pa >> kPageShift);
    // find() is const for peek(); the page is this memory's to hand out.
    return p ? const_cast<Page*>(p)->data() : nullptr;
}

bool SparseMemory::peek(uint64_t pa, void* dst, std::size_t len) const {
    if (!in_range(pa, len)) return false;
    auto* out = static_cast<uint8_t*>(dst);
    while (len > 0) {
        const uint64_t off = pa & (kPageBytes - 1);
        const std::size_t chunk = std::min<uint64_t>(len, kPageBytes - off);
        if (const Page* p = find(pa >> kPageShift))
            std::memcpy(out, p->data() + off, chunk);
        else
            std::memset(out, 0, chunk);
        out += chunk;
        pa += chunk;
        len -= chunk;
    }
    return true;
}

bool SparseMemory::read(uint64_t pa, void* dst, unsigned len) { return peek(pa, dst, len); }

bool SparseMemory::write(uint64_t pa, const void* src, unsigned len) {
    if (!in_range(pa, len)) return false;
    auto* in = static_cast<const uint8_t*>(src);
    while (len > 0) {
        const uint64_t off = pa & (kPageBytes - 1);
        const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(len, kPageBytes - off));
        // Zeros into a page never written: it reads as zero already, so a
        // DMA writing zeros all over memory allocates nothing.
        const bool zeros = in[0] == 0 && std::memcmp(in, in + 1, chunk - 1) == 0;
        if (!zeros || find(pa >> kPageShift)) std::memcpy(page(pa) + off, in, chunk);
        in += chunk;
        pa += chunk;
        len -= chunk;
    }
    return true;
}

}  // namespace smmu
