// QEMU smmuv3 trace -> driver-session script (`smmu-sim qemu2replay`).
//
// QEMU's SMMUv3 model (hw/arm/smmuv3.c, smmu-common.c) traces, with the log
// backend (`-trace 'smmu*'`), every MMIO access of the driver, the commands it
// consumed (opcode names and some fields), every translation-table descriptor
// its walks read, and every translation's outcome. That is a guest driver's
// session, and this turns it into a script for `smmu-sim replay` that plays
// the same session against this model:
//   - smmuv3_write_mmio           -> write32|write64
//   - smmuv3_read_mmio            -> read == QEMU's value; poll until it for
//                                    registers that lag (CMDQ_CONS, CR0ACK,
//                                    IRQ_CTRLACK, GERROR, EVENTQ_PROD); no
//                                    check for ID registers (other features)
//   - smmuv3_cmdq_* before a CMDQ_PROD write (QEMU consumes the commands
//                                    inside the write and traces it after
//                                    them) -> the commands, rebuilt and
//                                    stored in the queue before that write,
//                                    with Linux's words for untraced fields
//                                    (QemuConversion::inferred says which)
//   - smmuv3_find_ste .. _decode_cd_tt and the translation's outcome
//                                 -> the STE, L1 descriptor and CD rebuilt,
//                                    stored where the driver wrote them
//                                    (before the last CFGI_STE of the SID)
//   - smmu_get_pte, smmu_ptw_*    -> memw64 of each descriptor before the DMA
//                                    whose walk read it (when it changed)
//   - smmuv3_translate_*          -> dma with the expected PA and permission,
//                                    or the fault (from smmuv3_record_event)
//                                    or abort
// Memory images (QEMU's `pmemsave`) may supply the STEs and CDs instead.
// traces/README.md, "From a QEMU trace", lists every rule.
#pragma once
#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace smmu::sim {

// Raw bytes to load at `pa` before the session (a `pmemsave` of the stream
// table or CD tables).
struct MemoryImage {
    std::string path;
    uint64_t pa = 0;
};
// "FILE@PA"; a bad one is an InputError naming `what`.
MemoryImage parse_memory_image(const std::string& spec, const std::string& what);

struct QemuConversion {
    std::string script;
    unsigned events = 0;          // QEMU trace events used
    unsigned ignored = 0;         // lines that are not smmu events, or events with nothing to replay
    unsigned mmio_writes = 0, mmio_reads = 0, polls = 0;
    unsigned commands = 0;
    unsigned descriptors = 0;     // memw64 lines for descriptors QEMU's walks read
    unsigned image_words = 0;     // non-zero words stored from memory images
    unsigned dmas = 0;
    unsigned rebuilt = 0;         // memw64 lines of STEs, CDs, L1 descriptors rebuilt from QEMU's decode
    std::vector<std::string> inferred;  // per command kind: "SYNC CS=SEV ... (N)", fields QEMU does not trace
    std::vector<std::string> warnings;
    std::map<uint32_t, uint32_t> id_registers;  // ID register offset -> the value QEMU answered
};

// The `smmu.idr` YAML of the ID registers the trace shows (qemu2replay
// --config-out): a config for `replay` that advertises what QEMU did.
std::string qemu_config_yaml(const QemuConversion& c, const std::string& trace_name);

// Converts a QEMU log-backend trace. `name` is used in messages; a known
// event with a field missing is an InputError "name:line: field: problem".
QemuConversion convert_qemu_trace(std::istream& in, const std::string& name, const std::vector<MemoryImage>& images);

}  // namespace smmu::sim
