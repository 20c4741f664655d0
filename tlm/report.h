// Message types of the models' sc_report messages, one per area, so that a
// platform filters them the SystemC way, e.g.
//   sc_core::sc_report_handler::set_actions(smmu::report::kUpstream, sc_core::SC_WARNING,
//                                           sc_core::SC_DO_NOTHING);
//   sc_core::sc_report_handler::set_verbosity_level(sc_core::SC_HIGH);  // faults, command errors
// Severities: SC_WARNING for a platform integration problem (a transaction
// without SmmuExtension on a port without a default StreamID, a register
// access of a size or offset the SMMU has not); SC_INFO at SC_HIGH verbosity
// (hidden by default) for what the architecture reports to software anyway:
// translation faults, command errors, bus aborts, DMI invalidations.
#pragma once
#include <systemc>

namespace smmu::report {

inline constexpr const char kUpstream[] = "smmusim/smmu/upstream";    // DMA, debug, DMI from masters
inline constexpr const char kDownstream[] = "smmusim/smmu/downstream";  // table walks, queues, translated DMA
inline constexpr const char kMmio[] = "smmusim/smmu/mmio";            // register accesses
inline constexpr const char kCmdq[] = "smmusim/smmu/cmdq";            // command execution and errors
inline constexpr const char kMemory[] = "smmusim/memory";             // the memory target

// Whether SC_HIGH messages are shown: checked before one is composed, so a
// quiet run spends nothing on them.
inline bool verbose() { return sc_core::sc_report_handler::get_verbosity_level() >= sc_core::SC_HIGH; }

}  // namespace smmu::report
