// The page-table walker: stage 1, stage 2 and nested walks over VMSAv8-64
// tables in memory (Arm ARM D8.2-D8.4; IHI 0070 3.4 for the SMMU's use).
// Plain C++: it reads descriptors through a MemoryPort and logs each read.
#pragma once
#include <cstdint>

#include "models/arch/pte.h"
#include "models/memory/memory_port.h"
#include "models/smmu/timing/resources.h"
#include "models/smmu/translation/types.h"
#include "models/smmu/walker/walk_cache.h"

namespace smmu {

// Everything one stage's walk needs, decoded from a CD (stage 1) or an STE
// (stage 2) and already validated by them.
struct StageParams {
    unsigned stage = 1;  // 1 or 2
    arch::Granule granule = arch::Granule::K4;
    unsigned ias = 48;        // input address size in bits (64 - TxSZ)
    unsigned start_level = 0;
    unsigned concat = 1;      // stage 2 start-level tables concatenated (1..16)
    unsigned oas = 48;        // output (and table) address size in bits
    uint64_t ttb = 0;         // stage 1 in nested mode: an IPA
    bool affd = false;        // access flag faults disabled (CD.AFFD / STE.S2AFFD)
    bool tbi = false;         // stage 1 top-byte ignore (CD.TBI0, or TBI1 for the upper range)
    // Stage 1's upper VA range (TTB1, VA[55] = 1): the input bits above `ias`
    // are ones, not zeros (Arm ARM D8.2.3).
    bool upper = false;
};

// Start level of a stage 1 walk for an input size: as many levels as it takes
// to resolve ias - page_shift bits (Arm ARM D8.2.6).
unsigned stage1_start_level(arch::Granule g, unsigned ias);

// A stage's leaf: the output address for the input and what the path granted.
struct StageLeaf {
    uint64_t oa = 0;          // output address of the input (block base + offset)
    uint64_t size = 0;        // bytes the leaf maps
    unsigned level = 0;
    arch::Descriptor desc;    // the leaf descriptor (empty on an IPA-cache hit)
    Permissions s2_perms;     // walk_s2: the stage 2 rights, walked or cached
    // Stage 1 hierarchical controls accumulated from table descriptors.
    bool table_read_only = false;    // APTable[1]
    bool table_no_unpriv = false;    // APTable[0]
    bool table_uxn = false;          // XNTable
    bool table_pxn = false;          // PXNTable
};

// Outcome of a walk: a leaf or the fault that ended it.
struct StageResult {
    bool ok = false;
    StageLeaf leaf;
    Fault fault{arch::EventId::F_TRANSLATION};
};

// Access rights of a leaf for one request (Arm ARM D8.4).
Permissions stage1_permissions(const StageLeaf& leaf, bool privileged);
Permissions stage2_permissions(const StageLeaf& leaf);
bool permits(const Permissions& p, bool write, bool instruction);

// What a walk may use besides memory: the caches (none when null), the
// timeline their lookups advance (memory time is the MemoryPort's business),
// and the tags of the translation being walked.
struct WalkEnv {
    WalkCaches* caches = nullptr;
    Cycle* now = nullptr;
    uint16_t vmid = 0;
    uint16_t asid = 0;
};

class Walker {
public:
    Walker(MemoryPort& mem, AccessLog& log, WalkEnv env = {}) : mem_(mem), log_(log), env_(env) {}

    // Stage 2 alone: IPA -> PA. `cls` says what the IPA is for (CD fetch, S1
    // table fetch or the input), which a stage 2 fault reports as CLASS.
    // `need` is checked against S2AP (table and CD fetches need read).
    StageResult walk_s2(const StageParams& s2, uint64_t ipa, arch::FaultClass cls, bool write, bool instruction);

    // Stage 1 alone (s2 == nullptr) or nested: every S1 table address goes
    // through stage 2 first (CLASS=TTD), as IHI 0070 3.4.2 requires.
    StageResult walk_s1(const StageParams& s1, uint64_t va, const StageParams* s2);

private:
    // The walk common to both stages. `s2` non-null: table addresses are IPAs.
    StageResult walk(const StageParams& p, uint64_t in, const StageParams* s2);
    void advance(unsigned cycles) {
        if (env_.now) *env_.now += cycles;
    }
    // A cached entry filled by a walk still in flight is usable when it lands:
    // this is how concurrent misses to the same tables merge.
    void wait_until(Cycle ready) {
        if (env_.now && *env_.now < ready) *env_.now = ready;
    }

    MemoryPort& mem_;
    AccessLog& log_;
    WalkEnv env_;
};

}  // namespace smmu
