// How host software lays out VMSAv8-64 translation tables in memory, like
// Linux's io-pgtable-arm (drivers/iommu/io-pgtable-arm.c): tables carved from
// an arena, descriptors written through a MemoryPort (the CPU's path to
// memory), largest blocks that fit.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "models/arch/pte.h"
#include "models/memory/memory_port.h"

namespace smmu::driver {

// A region tables are carved from. `base` is the address tables have in
// descriptors and TTBs (a PA, or an IPA for a guest's tables); `pa` is where
// the region sits in physical memory.
class TableArena {
public:
    TableArena(std::string name, uint64_t base, uint64_t pa, uint64_t size)
        : name_(std::move(name)), base_(base), pa_(pa), size_(size) {}

    // Zeroed memory is what a fresh allocation holds (the kernel's
    // __GFP_ZERO): sparse memory reads 0, and a block given back with free()
    // must be zero again. A freed block of the same size is reused first,
    // lowest address first; else the region grows. Throws
    // KernelError(-ENOMEM) naming the region when it is full.
    uint64_t alloc(uint64_t bytes, uint64_t align);
    void free(uint64_t addr, uint64_t bytes);
    uint64_t to_pa(uint64_t addr) const { return pa_ + (addr - base_); }
    // Bytes handed out and not given back.
    uint64_t used() const { return next_ - freed_bytes_; }

private:
    std::string name_;
    uint64_t base_, pa_, size_;
    uint64_t next_ = 0;
    std::map<uint64_t, std::set<uint64_t>> free_;  // by size: freed blocks
    uint64_t freed_bytes_ = 0;
};

struct PageAttrs {
    bool read = true, write = true, exec = false;
};

// Choices beyond io-pgtable-arm's defaults, for exploring the architecture.
struct PageTableOptions {
    // Stage 2: start at this level, concatenating up to 16 tables (STE.S2SL0),
    // instead of the level io-pgtable-arm picks. The caller checks it is
    // consistent with the IPA size (arch::s2_start_level_consistent).
    std::optional<unsigned> s2_start_level;
    // Stage 1: the table of the upper VA range (CD.TTB1): inputs are VAs with
    // every bit above `ias` set, as io-pgtable-arm's IO_PGTABLE_QUIRK_ARM_TTBR1
    // builds for arm-smmu (v2). arm_smmu_make_s1_cd (v3) writes TTB0 only.
    bool ttbr1 = false;
};

class PageTable {
public:
    // Stage 1 starts where the input size needs; stage 2 concatenates up to 16
    // level-1 tables instead of a small level-0 one (as io-pgtable-arm does).
    PageTable(MemoryPort& mem, TableArena& arena, unsigned stage, arch::Granule g, unsigned ias,
              const PageTableOptions& opts = {});

    uint64_t root() const { return root_; }
    unsigned stage() const { return stage_; }
    arch::Granule granule() const { return granule_; }
    unsigned ias() const { return ias_; }
    unsigned start_level() const { return start_level_; }
    unsigned concat() const { return concat_; }
    bool ttbr1() const { return ttbr1_; }

    // Maps [in, in+size) -> [out, out+size). `leaf` = 0 picks the largest
    // block the alignment allows; else every leaf is that size. A live entry
    // in the way is KernelError(-EEXIST), as io-pgtable-arm refuses it.
    void map(uint64_t in, uint64_t out, uint64_t size, const PageAttrs& attrs, uint64_t leaf = 0);

    // Removes [in, in+size): leaves inside it are cleared, a block only partly
    // inside is first split into a table of the next level, holes are
    // skipped. Each leaf removed is reported to `leaf` (its input address and
    // size), in address order: what io-pgtable-arm's __arm_lpae_unmap hands
    // to io_pgtable_tlb_add_page for the caller's iotlb gather. Returns the
    // bytes that were mapped.
    using LeafFn = std::function<void(uint64_t in, uint64_t size)>;
    uint64_t unmap(uint64_t in, uint64_t size, const LeafFn& leaf = {});

    // arm_lpae_free_pgtable (free_io_pgtable_ops, after the caller's TLB
    // flush): every table page goes back to the arena, zeroed. The table is
    // empty afterwards and must not be used.
    void free_tables();

    // Leaf descriptor for this stage (VMSAv8-64 stage 1 or stage 2 attributes).
    arch::Descriptor leaf_descriptor(unsigned level, uint64_t out, const PageAttrs& attrs) const;

private:
    // The table at `level` that covers `in`, created on the way down.
    uint64_t table_for(uint64_t in, unsigned level);
    uint64_t slot_of(uint64_t table, uint64_t in, unsigned level) const;
    // Replaces the block at `slot` by a table of next-level leaves with the same
    // attributes and output.
    void split(uint64_t slot, const arch::Descriptor& block, unsigned level);
    uint64_t read_desc(uint64_t addr);
    void write_desc(uint64_t addr, uint64_t value);

    MemoryPort& mem_;
    TableArena& arena_;
    unsigned stage_;
    arch::Granule granule_;
    unsigned ias_;
    bool ttbr1_;
    unsigned start_level_ = 0;
    unsigned concat_ = 1;
    uint64_t root_ = 0;
    uint64_t root_bytes_ = 0;  // the start table(s), at least 64 bytes
    // The last table found at each level below the start, with the input
    // range it covers (`in` >> the parent level's shift): map() of a big range
    // writes leaf after leaf into one table without walking from the root.
    // Tables are only freed with the whole table (free_tables), so an entry
    // never goes stale.
    struct CachedTable {
        bool valid = false;
        uint64_t key = 0, table = 0;
    };
    CachedTable cached_[4];
};

}  // namespace smmu::driver
