#include "models/smmu/cmdq/command_queue.h"

namespace smmu {

using arch::Opcode;

bool command_is_legal(const arch::Command& c, const SmmuCaps& caps) {
    const arch::OpcodeInfo* info = c.info();
    if (!info) return false;
    // This model is a Non-secure SMMU: no Secure commands, no EL3 TLBIs.
    if (c.get(arch::cmd::SSec)) return false;
    switch (info->opcode) {
        case Opcode::TLBI_EL3_ALL:
        case Opcode::TLBI_EL3_VA: return false;
        // PRI_RESP needs IDR0.PRI; Resp 0b11 is reserved (IHI 0070 4.5.2).
        case Opcode::PRI_RESP: return caps.pri && c.get(arch::cmd::PriResp) != 3;
        // RESUME and STALL_TERM are ILLEGAL on a terminate-only SMMU
        // (IDR0.STALL_MODEL 0b01; IHI 0070 4.7.1, 4.7.2).
        case Opcode::RESUME:
        case Opcode::STALL_TERM: return caps.stall_model != 1;
        case Opcode::TLBI_S12_VMALL:
        case Opcode::TLBI_S2_IPA: return caps.s2p;
        case Opcode::TLBI_NH_ALL:
        case Opcode::TLBI_NH_ASID:
        case Opcode::TLBI_NH_VA:
        case Opcode::TLBI_NH_VAA: return caps.s1p;
        case Opcode::ATC_INV: return caps.ats;
        case Opcode::SYNC: return c.get(arch::cmd::CS) != 3;
        default: return true;
    }
}

bool CommandQueue::pending() const {
    return !in_flight_ && regs_.cmdq_enabled() && !regs_.cmdq_error_active() &&
           !QueuePointer::empty(regs_.cmdq_prod(), regs_.cmdq_cons(), regs_.cmdq().log2size);
}

void CommandQueue::complete() {
    if (!in_flight_) return;
    regs_.set_cmdq_cons(next_cons_);
    in_flight_ = false;
}

bool CommandQueue::peek(arch::Command& c) const {
    if (!pending()) return false;
    const QueueConfig q = regs_.cmdq();
    const uint64_t addr = q.base + uint64_t{QueuePointer::index(regs_.cmdq_cons(), q.log2size)} * arch::Command::kBytes;
    return mem_.read_words(addr, c.w.data(), arch::Command::kDwords);
}

CommandQueue::Step CommandQueue::step(CommandHandler& handler, bool defer_cons) {
    Step s;
    if (!pending()) return s;
    const QueueConfig q = regs_.cmdq();
    const uint32_t cons = regs_.cmdq_cons();
    const uint64_t addr = q.base + uint64_t{QueuePointer::index(cons, q.log2size)} * arch::Command::kBytes;
    if (!mem_.read_words(addr, s.cmd.w.data(), arch::Command::kDwords)) {
        s.kind = Step::Kind::Error;
        s.error = arch::CmdqError::Abt;
    } else if (!command_is_legal(s.cmd, regs_.caps())) {
        s.kind = Step::Kind::Error;
        s.error = arch::CmdqError::Ill;
    }
    if (s.kind == Step::Kind::Error) {
        // CONS stays on the failing command so software can see which it was.
        regs_.raise_cmdq_error(s.error);
        return s;
    }
    handler.execute(s.cmd);
    next_cons_ = QueuePointer::next(cons, q.log2size);
    in_flight_ = true;
    if (!defer_cons) complete();
    s.kind = Step::Kind::Executed;
    return s;
}

}  // namespace smmu
