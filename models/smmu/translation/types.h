// Vocabulary shared by the translation cores: the request a DMA makes, the
// fault it may end in, and the memory accesses a translation performs.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "models/arch/event.h"
#include "models/arch/pte.h"

namespace smmu {

// One upstream transaction as the SMMU sees it (IHI 0070 3.2).
struct TranslationRequest {
    uint32_t sid = 0;
    uint32_t ssid = 0;
    bool ssv = false;          // SubstreamID valid
    uint64_t iova = 0;
    bool write = false;
    bool privileged = false;   // PnU: PCIe masters are unprivileged
    bool instruction = false;  // InD
};

// A fault before it becomes an event record: the record's SID/SSID/RnW/...
// come from the request, these fields from where the fault happened.
struct Fault {
    arch::EventId id;
    bool s2 = false;
    arch::FaultClass cls = arch::FaultClass::IN;
    uint64_t ipa = 0;         // translation faults at stage 2
    uint64_t fetch_addr = 0;  // F_WALK_EABT, F_STE_FETCH, F_CD_FETCH
    // The stream's configuration lets this fault stall the transaction
    // (CD.S / STE.S2S for a stallable fault: models/smmu/stall).
    bool stall = false;
};

// A value or the fault that prevented it.
template <class T>
class Expected {
public:
    Expected(T v) : v_(std::move(v)) {}
    Expected(Fault f) : v_(f) {}
    bool ok() const { return v_.index() == 0; }
    const T& value() const { return std::get<0>(v_); }
    T& value() { return std::get<0>(v_); }
    const Fault& fault() const { return std::get<1>(v_); }

private:
    std::variant<T, Fault> v_;
};

arch::EventRecord make_event(const TranslationRequest& req, const Fault& f);

// What each memory read of a translation was for. PMCG counts the first four
// as config_struct_access and the last two as trans_table_walk_access.
enum class AccessKind : uint8_t { L1Std, Ste, L1Cd, Cd, S1Table, S2Table };
std::string_view access_kind_name(AccessKind k);
constexpr bool is_config_access(AccessKind k) { return k <= AccessKind::Cd; }

struct MemAccess {
    AccessKind kind;
    uint8_t level;     // table level for walks, 0 otherwise
    uint64_t input;    // the address this step translates (VA/IPA), SID for config
    uint64_t pa;       // where the read went
    uint64_t value;    // first dword read
    bool ok;           // false: the read aborted
};

// Counts every read; keeps the list only when asked (the `translate` command,
// tests): the hot path should not allocate.
struct AccessLog {
    std::vector<MemAccess>* trace = nullptr;
    unsigned walk_reads = 0;
    unsigned config_reads = 0;

    void add(const MemAccess& a) {
        (is_config_access(a.kind) ? config_reads : walk_reads)++;
        if (trace) trace->push_back(a);
    }
};

// Access rights a translation grants, combined over stages.
struct Permissions {
    bool read = false;
    bool write = false;
    bool exec = false;
};

}  // namespace smmu
