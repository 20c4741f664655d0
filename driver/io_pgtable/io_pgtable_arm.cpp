#include "driver/io_pgtable/io_pgtable_arm.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <vector>

#include "driver/errors.h"

#include "models/smmu/walker/walker.h"

namespace smmu::driver {

using arch::Descriptor;
namespace pte = arch::pte;

uint64_t TableArena::alloc(uint64_t bytes, uint64_t align) {
    if (auto f = free_.find(bytes); f != free_.end()) {
        for (auto it = f->second.begin(); it != f->second.end(); ++it)
            if ((*it - base_) % align == 0) {
                const uint64_t addr = *it;
                f->second.erase(it);
                freed_bytes_ -= bytes;
                return addr;
            }
    }
    const uint64_t start = (next_ + align - 1) & ~(align - 1);
    if (start + bytes > size_)
        throw KernelError(-ENOMEM, name_ + ": table region of " + std::to_string(size_) + " bytes is full (needs " +
                         std::to_string(start + bytes) + "); raise its size");
    next_ = start + bytes;
    return base_ + start;
}

void TableArena::free(uint64_t addr, uint64_t bytes) {
    free_[bytes].insert(addr);
    freed_bytes_ += bytes;
}

PageTable::PageTable(MemoryPort& mem, TableArena& arena, unsigned stage, arch::Granule g, unsigned ias,
                     const PageTableOptions& opts)
    : mem_(mem), arena_(arena), stage_(stage), granule_(g), ias_(ias), ttbr1_(stage == 1 && opts.ttbr1) {
    start_level_ = stage1_start_level(g, ias);
    const unsigned stride = arch::level_stride(g);
    if (stage == 2 && opts.s2_start_level) {
        if (!arch::s2_start_level_consistent(g, ias, *opts.s2_start_level))
            throw KernelError(-EINVAL, "stage 2 start level " + std::to_string(*opts.s2_start_level) +
                                           " cannot resolve a " + std::to_string(ias) + "-bit IPA with 1 to 16 tables");
        start_level_ = *opts.s2_start_level;
    } else if (stage == 2 && start_level_ == 0) {
        // arm_64_lpae_alloc_pgtable_s2: a level-0 start table of at most 16
        // entries (ARM_LPAE_S2_MAX_CONCAT_PAGES) becomes that many concatenated
        // level-1 tables. Only from level 0: a small IPA starting lower keeps its
        // level (a 25-bit 4K stage 2 starts at level 2, S2SL0 0, not at level 3).
        const unsigned next_bits = ias - arch::level_shift(g, 1);
        if (next_bits > stride && next_bits - stride <= 4) ++start_level_;
    }
    const unsigned bits = ias - arch::level_shift(g, start_level_);
    concat_ = bits > stride ? 1u << (bits - stride) : 1u;
    // The start table(s) are aligned to their size, at least 64 bytes.
    root_bytes_ = std::max<uint64_t>(uint64_t{8} << bits, 64);
    root_ = arena_.alloc(root_bytes_, root_bytes_);
}

void PageTable::free_tables() {
    // __arm_lpae_free_pgtable: depth first, each table after the tables its
    // entries point to; the root (concatenated tables included) last. The
    // pages are zeroed for their next user (alloc's __GFP_ZERO).
    constexpr unsigned kWords = 8;  // a MemoryPort access moves at most 8 dwords
    const uint64_t zeros[kWords] = {};
    std::function<void(uint64_t, unsigned, uint64_t)> free_table = [&](uint64_t table, unsigned level, uint64_t bytes) {
        for (uint64_t at = table; at < table + bytes; at += kWords * 8) {
            uint64_t desc[kWords];
            if (level < 3 && mem_.read_words(arena_.to_pa(at), desc, kWords))
                for (uint64_t raw : desc)
                    if (const Descriptor d(raw); d.valid() && d.is_table(level))
                        free_table(d.table_address(granule_), level + 1, arch::granule_bytes(granule_));
            mem_.write_words(arena_.to_pa(at), zeros, kWords);
        }
        arena_.free(table, bytes);
    };
    free_table(root_, start_level_, root_bytes_);
    for (CachedTable& c : cached_) c = {};
}

uint64_t PageTable::read_desc(uint64_t addr) {
    uint64_t v = 0;
    mem_.read64(arena_.to_pa(addr), v);
    return v;
}

void PageTable::write_desc(uint64_t addr, uint64_t value) { mem_.write64(arena_.to_pa(addr), value); }

uint64_t PageTable::table_for(uint64_t in, unsigned level) {
    uint64_t table = root_;
    unsigned from = start_level_;
    for (unsigned k = level; k > start_level_; --k) {
        const CachedTable& c = cached_[k];
        if (c.valid && c.key == in >> arch::level_shift(granule_, k - 1)) {
            table = c.table;
            from = k;
            break;
        }
    }
    for (unsigned l = from; l < level; ++l) {
        const unsigned shift = arch::level_shift(granule_, l);
        const unsigned bits = l == start_level_ ? ias_ - shift : arch::level_stride(granule_);
        const uint64_t slot = table + ((in >> shift) & ((uint64_t{1} << bits) - 1)) * 8;
        const Descriptor d(read_desc(slot));
        if (d.valid() && d.is_table(l)) {
            table = d.table_address(granule_);
        } else {
            if (d.valid()) throw KernelError(-EEXIST, "mapping at " + hex(in) + " overlaps a block mapped earlier");
            const uint64_t page = arch::granule_bytes(granule_);
            const uint64_t next = arena_.alloc(page, page);
            write_desc(slot, Descriptor::make_table(granule_, next).raw());
            table = next;
        }
        cached_[l + 1] = {true, in >> shift, table};
    }
    return table;
}

Descriptor PageTable::leaf_descriptor(unsigned level, uint64_t out, const PageAttrs& a) const {
    Descriptor d = Descriptor::make_leaf(granule_, level, out);
    d.set(pte::SH, 3);  // inner shareable
    if (stage_ == 1) {
        // io-pgtable-arm: non-global, EL0-accessible, read-only without write.
        d.set(pte::nG, 1);
        d.set(pte::AP, a.write ? 0b01 : 0b11);
        d.set(pte::UXN, !a.exec);
        d.set(pte::PXN, !a.exec);
    } else {
        d.set(pte::MemAttr, 0xf);  // normal, write-back
        d.set(pte::S2AP, (a.read ? 1 : 0) | (a.write ? 2 : 0));
        d.set(pte::XN, a.exec ? 0 : 2);
    }
    return d;
}

uint64_t PageTable::slot_of(uint64_t table, uint64_t in, unsigned level) const {
    const unsigned shift = arch::level_shift(granule_, level);
    const unsigned bits = level == start_level_ ? ias_ - shift : arch::level_stride(granule_);
    return table + ((in >> shift) & ((uint64_t{1} << bits) - 1)) * 8;
}

void PageTable::split(uint64_t slot, const Descriptor& block, unsigned level) {
    const uint64_t page = arch::granule_bytes(granule_);
    const uint64_t next = arena_.alloc(page, page);
    const uint64_t child_size = uint64_t{1} << arch::level_shift(granule_, level + 1);
    const uint64_t attrs = block.raw() & ~Descriptor::output_mask(granule_, level) & ~uint64_t{3};
    const uint64_t base = block.output_address(granule_, level);
    const uint64_t type = level + 1 == 3 ? 3 : 1;  // page or block
    for (uint64_t i = 0; i < page / 8; ++i) write_desc(next + i * 8, attrs | (base + i * child_size) | type);
    write_desc(slot, Descriptor::make_table(granule_, next).raw());
}

uint64_t PageTable::unmap(uint64_t in, uint64_t size, const LeafFn& leaf) {
    const uint64_t end = in + size;
    uint64_t removed = 0;
    while (in < end) {
        uint64_t table = root_;
        for (unsigned level = start_level_;;) {
            const uint64_t slot = slot_of(table, in, level);
            const Descriptor d(read_desc(slot));
            const uint64_t span = uint64_t{1} << arch::level_shift(granule_, level);
            if (!d.valid()) {
                // A hole: nothing to remove up to the span's end (counted, not
                // compared: the upper VA range's last span ends at 2^64).
                const uint64_t skip = span - (in & (span - 1));
                in = skip >= end - in ? end : in + skip;
                break;
            }
            if (d.is_table(level)) {
                table = d.table_address(granule_);
                ++level;
                continue;
            }
            if (in % span == 0 && end - in >= span) {
                write_desc(slot, 0);
                if (leaf) leaf(in, span);
                removed += span;
                in += span;
                break;
            }
            split(slot, d, level);  // then look at the same slot again: now a table
        }
    }
    return removed;
}

void PageTable::map(uint64_t in, uint64_t out, uint64_t size, const PageAttrs& attrs, uint64_t leaf) {
    const uint64_t end = in + size;
    while (in < end) {
        unsigned level = 3;
        for (unsigned l = start_level_; l < 3; ++l) {
            const uint64_t block = uint64_t{1} << arch::level_shift(granule_, l);
            const bool fits = arch::block_allowed(granule_, l) && (in % block) == 0 && (out % block) == 0 &&
                              end - in >= block && (leaf == 0 || leaf == block);
            if (fits) {
                level = l;
                break;
            }
        }
        const uint64_t step = uint64_t{1} << arch::level_shift(granule_, level);
        const uint64_t table = table_for(in, level);
        const unsigned shift = arch::level_shift(granule_, level);
        const unsigned bits = level == start_level_ ? ias_ - shift : arch::level_stride(granule_);
        const uint64_t slot = table + ((in >> shift) & ((uint64_t{1} << bits) - 1)) * 8;
        // io-pgtable refuses to map over a live entry (-EEXIST): unmap first.
        if (Descriptor(read_desc(slot)).valid())
            throw KernelError(-EEXIST, "mapping at " + hex(in) + " overlaps one already mapped (unmap it first)");
        write_desc(slot, leaf_descriptor(level, out, attrs).raw());
        in += step;
        out += step;
    }
}

}  // namespace smmu::driver
