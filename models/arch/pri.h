// PRI queue records (IHI 0070 8.1): 16 bytes, two dwords, one per PCIe Page
// Request message the SMMU receives. Field positions as Linux's
// arm-smmu-v3.h reads them (PRIQ_0_*, PRIQ_1_*); the names are the
// architecture's.
#pragma once
#include <vector>

#include "models/arch/bitfield.h"

namespace smmu::arch {

namespace pri {
inline constexpr FieldDef SID{"SID", 0, 31, 0};
inline constexpr FieldDef SSID{"SSID", 0, 51, 32};
inline constexpr FieldDef PRIV{"PRIV", 0, 58, 58};    // Privileged Mode Requested
inline constexpr FieldDef EXEC{"EXEC", 0, 59, 59};    // Execute Requested
inline constexpr FieldDef READ{"READ", 0, 60, 60};
inline constexpr FieldDef WRITE{"WRITE", 0, 61, 61};
inline constexpr FieldDef L{"L", 0, 62, 62};          // last request of its Page Request Group
inline constexpr FieldDef SSV{"SSV", 0, 63, 63};      // PASID TLP prefix present
inline constexpr FieldDef PRGIndex{"PRGIndex", 1, 8, 0};
inline constexpr FieldDef Addr{"Addr", 1, 63, 12, true};
}  // namespace pri

// CMD_PRI_RESP.Resp (IHI 0070 4.5.2): 0b00 ResponseFailure, 0b01
// InvalidRequest, 0b10 Success (the PCIe PRG Response Codes 0b1111, 0b0001,
// 0b0000); the PRI series' CMDQ_PRI_1_RESP_FAILURE/INVALID/SUCCESS. Mainline's
// PRI_RESP_DENY is 0: ResponseFailure.
enum class PriResp : uint8_t { Failure = 0, Invalid = 1, Success = 2 };
// CMD_RESUME's action (IHI 0070 4.7.1), as Linux's CMDQ_RESUME_0_RESP_TERM/
// RETRY/ABORT encode it in Action [13:12]: Ac (bit 12) retries, whatever Ab
// (bit 13) says; else Ab=1 aborts, Ab=0 terminates (RAZ/WI with
// IDR0.TERM_MODEL 0).
enum class ResumeAction : uint8_t { Term = 0, Retry = 1, Abort = 2 };
inline ResumeAction resume_action(uint64_t action_field) {
    return (action_field & 1) ? ResumeAction::Retry : (action_field & 2) ? ResumeAction::Abort : ResumeAction::Term;
}

struct PriRecord : Words<2> {
    // Every field, in record order, for the decoder.
    static const std::vector<FieldDef>& fields() {
        static const std::vector<FieldDef> f{pri::SID,  pri::SSV,   pri::SSID, pri::PRIV,     pri::EXEC,
                                             pri::READ, pri::WRITE, pri::L,    pri::PRGIndex, pri::Addr};
        return f;
    }
};

}  // namespace smmu::arch
