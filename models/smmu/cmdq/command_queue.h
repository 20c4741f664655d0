// The command queue (IHI 0070 4): software writes 16-byte commands at
// CMDQ_BASE and moves CMDQ_PROD; the SMMU reads, checks and executes them in
// order and moves CMDQ_CONS. An illegal command stops the queue with
// CMDQ_CONS.ERR = CERROR_ILL and GERROR.CMDQ_ERR toggled, until software
// acknowledges through GERRORN (IHI 0070 7.1).
#pragma once
#include "models/arch/command.h"
#include "models/memory/memory_port.h"
#include "models/smmu/registers/register_file.h"

namespace smmu {

// Whatever the commands act on (caches, SYNC completion) implements this.
class CommandHandler {
public:
    virtual ~CommandHandler() = default;
    virtual void execute(const arch::Command& c) = 0;
};

// Whether this SMMU accepts the command (IHI 0070 4.1.3, CERROR_ILL causes):
// undefined opcodes, SSec=1 on the Non-secure queue, commands for features the
// ID registers say are absent, reserved SYNC.CS.
bool command_is_legal(const arch::Command& c, const SmmuCaps& caps);

class CommandQueue {
public:
    struct Step {
        enum class Kind : uint8_t { Idle, Executed, Error } kind = Kind::Idle;
        arch::Command cmd;
        arch::CmdqError error = arch::CmdqError::None;
    };

    CommandQueue(MemoryPort& mem, RegisterFile& regs) : mem_(mem), regs_(regs) {}

    // Consumes at most one command. CMDQ_CONS moves past it at once, or, with
    // `defer_cons`, only at complete(): a timed SMMU moves CONS when the
    // command has completed, so software polling CONS sees a SYNC finish at
    // its modelled time (IHI 0070 4.7.3: CONS passing a SYNC means it is done).
    Step step(CommandHandler& handler, bool defer_cons = false);
    void complete();
    bool pending() const;
    // The command step() would take next, read but not consumed; false: none.
    bool peek(arch::Command& c) const;

private:
    MemoryPort& mem_;
    RegisterFile& regs_;
    bool in_flight_ = false;  // a command executed, CONS not yet moved
    uint32_t next_cons_ = 0;
};

}  // namespace smmu
