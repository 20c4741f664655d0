// How the plain-C++ cores reach memory. The SMMU's table walker, configuration
// fetch and queues read and write through a MemoryPort; a SystemC shell
// implements it over its downstream TLM socket, unit tests over SparseMemory.
#pragma once
#include <cstdint>

namespace smmu {

class MemoryPort {
public:
    virtual ~MemoryPort() = default;
    // False when the access aborts (the bus returned an error): the SMMU turns
    // that into F_WALK_EABT, F_STE_FETCH, F_CD_FETCH or a GERROR as the
    // architecture says for the structure being accessed.
    virtual bool read(uint64_t pa, void* dst, unsigned len) = 0;
    virtual bool write(uint64_t pa, const void* src, unsigned len) = 0;
    // What the last access cost in picoseconds, as the target reported it
    // (TLM's annotated delay). Untimed ports cost nothing.
    virtual uint64_t last_latency_ps() const { return 0; }

    // Little-endian 64-bit accessors: every SMMU structure is an array of them.
    bool read64(uint64_t pa, uint64_t& v);
    bool write64(uint64_t pa, uint64_t v);
    // `n` consecutive little-endian dwords in one access (an STE, CD, command...).
    bool read_words(uint64_t pa, uint64_t* w, unsigned n);
    bool write_words(uint64_t pa, const uint64_t* w, unsigned n);
};

}  // namespace smmu
