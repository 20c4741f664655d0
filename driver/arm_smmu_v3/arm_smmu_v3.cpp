#include "driver/arm_smmu_v3/arm_smmu_v3.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "driver/arm_smmu_v3/domain.h"
#include "models/arch/registers.h"
#include "models/smmu/registers/register_file.h"

namespace smmu::driver {

using namespace arch;

namespace {
// CR1 as arm_smmu_device_reset writes it: tables and queues inner-shareable,
// write-back read/write-allocate (CR1_TABLE_SH/OC/IC, CR1_QUEUE_SH/OC/IC).
constexpr uint32_t kCr1 = (3u << 10) | (1u << 8) | (1u << 6) | (3u << 4) | (1u << 2) | 1u;
// CR2: CR2_PTM | CR2_RECINVSID (no E2H: the host kernel runs at EL1).
constexpr uint32_t kCr2 = (1u << 1) | (1u << 2);
constexpr uint64_t kQbaseRa = uint64_t{1} << 62;  // Q_BASE_RWA / STRTAB_BASE_RA
// IDR1.ATTR_TYPES_OVR (bit 27): STE.SHCFG can override shareability.
constexpr unsigned kIdr1AttrTypesOvr = 27;
// CMDQ_SYNC_0_MSH_ISH and CMDQ_SYNC_0_MSIATTR_OIWB.
constexpr uint64_t kMshIsh = 3, kMsiAttrOiwb = 0xf;

uint64_t field(const FieldDef& f, uint64_t reg) { return f.get(&reg); }
}  // namespace

// ---------------------------------------------------------------- Ida

unsigned Ida::alloc() {
    for (unsigned v = min_; v <= max_; ++v)
        if (used_.insert(v).second) return ++allocated_, v;
    throw KernelError(-ENOSPC, what_ + ": all " + std::to_string(used_.size()) + " in use (" + std::to_string(min_) +
                                   ".." + std::to_string(max_) + "), -ENOSPC");
}

void Ida::reserve(unsigned id) {
    if (id < min_ || id > max_)
        throw KernelError(-EINVAL, what_ + ": " + std::to_string(id) + " is outside " + std::to_string(min_) + ".." +
                                       std::to_string(max_));
    if (!used_.insert(id).second) throw KernelError(-EEXIST, what_ + ": " + std::to_string(id) + " is already in use");
    ++allocated_;
}

// ---------------------------------------------------------------- probe, reset

ArmSmmuDevice::ArmSmmuDevice(HostBus& bus, TableArena& arena, ArmSmmuParams params)
    : bus_(bus), arena_(arena), params_(std::move(params)), vmids_(params_.name + " VMIDs", 1, 255) {}

const Features& ArmSmmuDevice::hw_probe() {
    const uint64_t idr0 = read32(reg::IDR0), idr1 = read32(reg::IDR1), idr3 = read32(reg::IDR3),
                   idr5 = read32(reg::IDR5);
    Features& f = features_;
    f.s1p = field(idr0::S1P, idr0);
    f.s2p = field(idr0::S2P, idr0);
    f.hyp = field(idr0::HYP, idr0);
    f.ats = field(idr0::ATS, idr0);
    f.pri = field(idr0::PRI, idr0);
    // IDR0_STALL_MODEL_FORCE implies ARM_SMMU_FEAT_STALLS (the fallthrough in arm_smmu_device_hw_probe).
    const uint64_t stall_model = field(idr0::STALL_MODEL, idr0);
    f.stalls = stall_model == 0 || stall_model == 2;
    f.stall_force = stall_model == 2;
    f.max_stalls = static_cast<unsigned>(field(idr5::STALL_MAX, idr5));  // smmu->evtq.max_stalls
    f.msi = field(idr0::MSI, idr0);
    f.sev = field(idr0::SEV, idr0);
    f.coherent = field(idr0::COHACC, idr0);
    f.two_level_strtab = field(idr0::ST_LEVEL, idr0) == 1;
    f.two_level_cdtab = field(idr0::CD2L, idr0);
    f.vmid_bits = field(idr0::VMID16, idr0) ? 16 : 8;
    f.asid_bits = field(idr0::ASID16, idr0) ? 16 : 8;
    // "if (coherent && !disable_msipolling) smmu->options |= ARM_SMMU_OPT_MSIPOLL"
    f.msipoll = f.msi && f.coherent;
    f.sid_bits = static_cast<unsigned>(field(idr1::SIDSIZE, idr1));
    f.ssid_bits = static_cast<unsigned>(field(idr1::SSIDSIZE, idr1));
    f.cmdq_max_log2 = static_cast<unsigned>(field(idr1::CMDQS, idr1));
    f.evtq_max_log2 = static_cast<unsigned>(field(idr1::EVENTQS, idr1));
    f.priq_max_log2 = static_cast<unsigned>(field(idr1::PRIQS, idr1));
    f.attr_types_ovr = (idr1 >> kIdr1AttrTypesOvr) & 1;
    f.range_inv = field(idr3::RIL, idr3);
    f.stt = field(idr3::STT, idr3);
    static const unsigned kOas[] = {32, 36, 40, 42, 44, 48, 52};
    const uint64_t oas = field(idr5::OAS, idr5);
    f.oas = oas < 7 ? kOas[oas] : 48;
    f.pgsize_bitmap = 0;
    if (field(idr5::GRAN4K, idr5)) f.pgsize_bitmap |= (1ull << 12) | (1ull << 21) | (1ull << 30);
    if (field(idr5::GRAN16K, idr5)) f.pgsize_bitmap |= (1ull << 14) | (1ull << 25);
    if (field(idr5::GRAN64K, idr5)) f.pgsize_bitmap |= (1ull << 16) | (1ull << 29);
    vmids_ = Ida(name() + ": " + std::to_string(f.vmid_bits) + "-bit VMIDs", 1, (1u << f.vmid_bits) - 1);
    return f;
}

void ArmSmmuDevice::write_reg_sync(uint32_t reg, uint32_t ack, uint32_t value, const char* what) {
    write32(reg, value);
    for (unsigned i = 0; i < kMaxPolls; ++i) {
        if (read32(ack) == value) return;
        bus_.idle();
    }
    throw HostError("host: " + name() + " did not acknowledge " + what + " after " + std::to_string(kMaxPolls) +
                    " polls");
}

void ArmSmmuDevice::init_initial_stes(uint64_t addr, uint64_t count) {
    // disable_bypass (the default): every STE aborts until a domain is attached.
    const Ste abort = make_abort_ste();
    for (uint64_t i = 0; i < count; ++i) bus_.memory().write_words(addr + i * Ste::kBytes, abort.w.data(), Ste::kDwords);
}

void ArmSmmuDevice::device_reset() {
    const Features& f = features_;
    sid_bits_ = f.sid_bits;
    cmdq_log2_ = std::min(params_.cmdq_log2, f.cmdq_max_log2);
    evtq_log2_ = std::min(params_.evtq_log2, f.evtq_max_log2);

    // arm_smmu_init_structures: queues and the stream table in memory.
    const uint64_t cmdq_bytes = (uint64_t{1} << cmdq_log2_) * Command::kBytes;
    const uint64_t evtq_bytes = (uint64_t{1} << evtq_log2_) * EventRecord::kBytes;
    uint64_t strtab_cfg = 0;
    strtab_base_cfg::LOG2SIZE.set(&strtab_cfg, sid_bits_);
    if (params_.strtab_2lvl) {
        // arm_smmu_init_strtab_2lvl: L1 descriptors start invalid; L2 tables come per master.
        const unsigned split = params_.strtab_split;
        const uint64_t l1_bytes = (uint64_t{1} << (sid_bits_ > split ? sid_bits_ - split : 0)) * 8;
        strtab_ = arena_.alloc(l1_bytes, std::max<uint64_t>(l1_bytes, 64));
        strtab_base_cfg::SPLIT.set(&strtab_cfg, split);
        strtab_base_cfg::FMT.set(&strtab_cfg, 1);
    } else {
        const uint64_t n = uint64_t{1} << sid_bits_;
        strtab_ = arena_.alloc(n * Ste::kBytes, n * Ste::kBytes);
        init_initial_stes(strtab_, n);
    }
    cmdq_base_ = arena_.alloc(cmdq_bytes, std::max<uint64_t>(cmdq_bytes, 32));
    evtq_base_ = arena_.alloc(evtq_bytes, std::max<uint64_t>(evtq_bytes, 32));

    write_reg_sync(reg::CR0, reg::CR0ACK, 0, "CR0");  // arm_smmu_device_disable
    write32(reg::CR1, kCr1);
    write32(reg::CR2, kCr2);
    write64(reg::STRTAB_BASE, strtab_ | kQbaseRa);  // arm_smmu_write_strtab
    write32(reg::STRTAB_BASE_CFG, static_cast<uint32_t>(strtab_cfg));

    // Each queue as arm_smmu_device_reset brings it up: its base (with
    // Q_BASE_RWA and LOG2SIZE), PROD and CONS at 0, then its enable in CR0.
    uint32_t enables = 0;
    const auto enable_queue = [&](uint32_t base_reg, uint32_t prod_reg, uint32_t cons_reg, uint64_t base,
                                  unsigned log2, const FieldDef& en) {
        write64(base_reg, base | log2 | kQbaseRa);
        write32(prod_reg, 0);
        write32(cons_reg, 0);
        enables |= static_cast<uint32_t>(en.mask());
        write_reg_sync(reg::CR0, reg::CR0ACK, enables, "CR0");
    };
    cmdq_prod_ = cmdq_cons_ = 0;
    enable_queue(reg::CMDQ_BASE, reg::CMDQ_PROD, reg::CMDQ_CONS, cmdq_base_, cmdq_log2_, cr0::CMDQEN);

    issue_cmd_with_sync(Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}}));  // CMDQ_OP_CFGI_ALL
    if (f.hyp) issue_cmd_with_sync(Command::make(Opcode::TLBI_EL2_ALL));
    issue_cmd_with_sync(Command::make(Opcode::TLBI_NSNH_ALL));

    evtq_llq_ = Llq{};
    enable_queue(reg::EVENTQ_BASE, reg::EVENTQ_PROD, reg::EVENTQ_CONS, evtq_base_, evtq_log2_, cr0::EVTQEN);

    if (f.pri) {
        // The PRI queue (arm_smmu_init_queue for priq, then its registers and PRIQEN).
        priq_log2_ = std::min(params_.priq_log2, f.priq_max_log2);
        const uint64_t priq_bytes = (uint64_t{1} << priq_log2_) * PriRecord::kBytes;
        priq_base_ = arena_.alloc(priq_bytes, std::max<uint64_t>(priq_bytes, 32));
        priq_llq_ = Llq{};
        enable_queue(reg::PRIQ_BASE, reg::PRIQ_PROD, reg::PRIQ_CONS, priq_base_, priq_log2_, cr0::PRIQEN);
    }

    if (f.ats) {
        enables |= static_cast<uint32_t>(cr0::ATSCHK.mask());
        write_reg_sync(reg::CR0, reg::CR0ACK, enables, "CR0");
    }

    // arm_smmu_setup_irqs: interrupts off, then GERROR and EVTQ (and PRIQ) on
    // (wired interrupts: no arm_smmu_setup_msis register writes).
    write_reg_sync(reg::IRQ_CTRL, reg::IRQ_CTRLACK, 0, "IRQ_CTRL");
    write_reg_sync(reg::IRQ_CTRL, reg::IRQ_CTRLACK,
                   static_cast<uint32_t>(irq_ctrl::GERROR_IRQEN.mask() | irq_ctrl::EVTQ_IRQEN.mask() |
                                         (f.pri ? irq_ctrl::PRIQ_IRQEN.mask() : 0)),
                   "IRQ_CTRL");

    enables |= static_cast<uint32_t>(cr0::SMMUEN.mask());
    write_reg_sync(reg::CR0, reg::CR0ACK, enables, "CR0");
}

// ---------------------------------------------------------------- command queue

uint64_t ArmSmmuDevice::cmdq_slot(uint32_t prod) const {
    return cmdq_base_ + uint64_t{QueuePointer::index(prod, cmdq_log2_)} * Command::kBytes;
}

Command ArmSmmuDevice::sync_cmd(uint32_t prod) const {
    // arm_smmu_cmdq_build_sync_cmd: with MSI polling the SYNC writes 0 into
    // its own first word; else it only signals completion (SEV).
    if (!features_.msipoll) return Command::make(Opcode::SYNC, {{cmd::CS, static_cast<uint64_t>(SyncCs::Sev)}});
    return Command::make(Opcode::SYNC, {{cmd::CS, static_cast<uint64_t>(SyncCs::Irq)},
                                        {cmd::MSH, kMshIsh},
                                        {cmd::MSIAttr, kMsiAttrOiwb},
                                        {cmd::MSIAddr, cmdq_slot(prod)}});
}

void ArmSmmuDevice::check_gerror(const char* while_what) {
    const uint32_t gerror = read32(reg::GERROR), gerrorn = read32(reg::GERRORN);
    if (!((gerror ^ gerrorn) & gerror::CMDQ_ERR.mask())) return;
    const uint32_t cons = read32(reg::CMDQ_CONS);
    throw HostError("host: " + name() + ": command queue stopped with CMDQ_CONS.ERR=" +
                    std::to_string(field(cmdq_cons::ERR, cons)) + " at index " +
                    std::to_string(QueuePointer::index(cons, cmdq_log2_)) + " (" + while_what + ")");
}

int ArmSmmuDevice::issue_cmdlist(const std::vector<Command>& cmds, bool sync) {
    const unsigned n = static_cast<unsigned>(cmds.size()) + (sync ? 1 : 0);
    if (n == 0) return 0;
    const unsigned size = 1u << cmdq_log2_;
    if (n > size) throw HostError("host: " + name() + ": " + std::to_string(n) + " commands exceed the queue");
    const double start_ns = cmdlist_listener_ ? bus_.now_ns() : 0;
    bus_.cpu(params_.costs.cmdlist_ns + params_.costs.cmd_ns * n);
    // queue_has_space() on the cached CONS; else arm_smmu_cmdq_poll_until_not_full reads the register.
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    auto space = [&] {  // queue_has_space()
        const uint32_t p = QueuePointer::index(cmdq_prod_, cmdq_log2_), c = QueuePointer::index(cmdq_cons_, cmdq_log2_);
        return QueuePointer::wrap(cmdq_prod_, cmdq_log2_) == QueuePointer::wrap(cmdq_cons_, cmdq_log2_) ? size - (p - c)
                                                                                                      : c - p;
    };
    for (unsigned i = 0; space() < n; ++i) {
        if (i == kMaxPolls) throw HostError("host: " + name() + ": command queue stayed full");
        if (i) bus_.idle();
        cmdq_cons_ = read32(reg::CMDQ_CONS) & mask;
        if (i % kGerrorPollInterval == kGerrorPollInterval - 1) check_gerror("waiting for space");
    }
    uint32_t prod = cmdq_prod_;
    for (const Command& c : cmds) {
        bus_.memory().write_words(cmdq_slot(prod), c.w.data(), Command::kDwords);
        ++counters_.by_opcode[c.opcode()];
        if (log_) log_->push_back(c);
        prod = QueuePointer::next(prod, cmdq_log2_);
    }
    uint32_t sync_prod = prod;
    if (sync) {
        const Command s = sync_cmd(prod);
        bus_.memory().write_words(cmdq_slot(prod), s.w.data(), Command::kDwords);
        ++counters_.by_opcode[s.opcode()];
        ++counters_.syncs;
        if (log_) log_->push_back(s);
        prod = QueuePointer::next(prod, cmdq_log2_);
    }
    counters_.commands += n;
    ++counters_.cmdlists;
    cmdq_prod_ = prod;
    write32(reg::CMDQ_PROD, cmdq_prod_);  // one PROD write publishes the whole list
    const int ret = sync ? wait_for_sync(sync_prod, cmdq_slot(sync_prod)) : 0;
    if (cmdlist_listener_) cmdlist_listener_(cmds, sync, start_ns, bus_.now_ns());
    return ret;
}

int ArmSmmuDevice::wait_for_sync(uint32_t sync_prod, uint64_t sync_slot) {
    const double start = bus_.now_ns();
    const uint32_t mask = QueuePointer::mask(cmdq_log2_);
    double udelay_ns = 1000;  // queue_poll: udelay(1), doubled each time
    unsigned spin = 0;
    uint32_t seen = 0;
    const bool wfe = features_.sev && bus_.has_sev();  // queue_poll_init: qp->wfe
    bool ticked = false;  // the last WFE ended at an event-stream tick
    for (unsigned i = 0;; ++i) {
        if (features_.msipoll) {
            // __arm_smmu_cmdq_poll_until_msi: the SYNC's MSI writes 0 over its first word.
            uint64_t w = 0;
            bus_.memory().read64(sync_slot, w);
            seen = static_cast<uint32_t>(w);
            if (seen == 0) {
                cmdq_cons_ = QueuePointer::next(sync_prod, cmdq_log2_);
                counters_.sync_wait_ns += bus_.now_ns() - start;
                return 0;
            }
        } else {
            // __arm_smmu_cmdq_poll_until_consumed: CONS past the SYNC (queue_consumed()).
            const uint32_t cons = read32(reg::CMDQ_CONS) & mask;
            cmdq_cons_ = cons;
            const uint32_t ci = QueuePointer::index(cons, cmdq_log2_), pi = QueuePointer::index(sync_prod, cmdq_log2_);
            const bool same_wrap = QueuePointer::wrap(cons, cmdq_log2_) == QueuePointer::wrap(sync_prod, cmdq_log2_);
            if (same_wrap ? ci > pi : ci <= pi) {
                counters_.sync_wait_ns += bus_.now_ns() - start;
                return 0;
            }
        }
        // Where the GERROR interrupt (which also ends a WFE) would have run
        // arm_smmu_gerror_handler: a stopped queue never completes the SYNC.
        if (ticked || i % kGerrorPollInterval == kGerrorPollInterval - 1) check_gerror("waiting for CMD_SYNC");
        if (bus_.now_ns() - start >= params_.sync_timeout_ns) break;
        if (features_.msipoll) {
            // smp_cond_load_relaxed(cmd, !VAL || (ret = queue_poll(&qp))) with
            // qp.wfe = false: queue_poll spins ARM_SMMU_POLL_SPIN_COUNT turns,
            // then udelay()s, doubling; on arm64 each turn then waits in WFE
            // with the exclusive monitor on the word (__cmpwait_relaxed), so
            // the CPU wakes when the MSI writes it (or at the event stream).
            if (++spin >= kPollSpinCount) {
                bus_.cpu(udelay_ns);
                udelay_ns *= 2;
                spin = 0;
            }
            ticked = !bus_.wait_for_change(sync_slot, seen);
            continue;
        }
        // __arm_smmu_cmdq_poll_until_consumed's queue_poll: with IDR0.SEV
        // (qp->wfe; here also the SEV wired to the CPU) WFE until the SYNC's
        // SEV (CS=SEV) or the event stream, a tick standing where the GERROR
        // interrupt would also have ended it; else cpu_relax() for
        // ARM_SMMU_POLL_SPIN_COUNT polls, then udelay(), doubling.
        if (wfe) {
            ticked = !bus_.wait_for_event();
            continue;
        }
        if (++spin >= kPollSpinCount) {
            bus_.cpu(udelay_ns);
            udelay_ns *= 2;
            spin = 0;
        }
        bus_.idle();
    }
    check_gerror("waiting for CMD_SYNC");
    // arm_smmu_cmdq_issue_cmdlist: dev_err_ratelimited("CMD_SYNC timeout at
    // 0x%08x [hwprod 0x%08x, hwcons 0x%08x]") and -ETIMEDOUT, which the
    // invalidation paths ignore and arm_vsmmu_cache_invalidate returns. The
    // SYNC stays unconsumed (MSI path: llq->cons = llq->prod).
    if (counters_.sync_timeouts++ == 0) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "CMD_SYNC timeout at 0x%08x [hwprod 0x%08x, hwcons 0x%08x]", sync_prod,
                      read32(reg::CMDQ_PROD), read32(reg::CMDQ_CONS));
        counters_.first_sync_timeout = msg;
    }
    if (features_.msipoll) cmdq_cons_ = sync_prod;
    counters_.sync_wait_ns += bus_.now_ns() - start;
    return -ETIMEDOUT;
}

void CmdqBatch::add(const Command& c) {
    if (cmds_.size() == ArmSmmuDevice::kCmdqBatchEntries) {
        smmu_->issue_cmdlist(cmds_, false);
        cmds_.clear();
    }
    cmds_.push_back(c);
}

void CmdqBatch::submit() {
    smmu_->issue_cmdlist(cmds_, true);
    cmds_.clear();
}

// ---------------------------------------------------------------- stream table, STE/CD writer

uint64_t ArmSmmuDevice::ste_address(uint32_t sid) const {
    if (!params_.strtab_2lvl) return strtab_ + uint64_t{sid} * Ste::kBytes;
    const unsigned split = params_.strtab_split;
    auto it = l2_tables_.find(sid >> split);
    return it == l2_tables_.end() ? 0 : it->second + (sid & ((1u << split) - 1)) * Ste::kBytes;
}

void ArmSmmuDevice::insert_master(ArmSmmuMaster& m) {
    // arm_smmu_insert_master (linux-6.18.y): every StreamID or none; a StreamID the master
    // lists twice counts once ("Bridged PCI devices may end up with
    // duplicated IDs").
    for (uint32_t sid : m.sids) {
        const auto [it, added] = streams_.emplace(sid, &m);
        if (!added && it->second != &m) {
            for (auto j = streams_.begin(); j != streams_.end();) j = j->second == &m ? streams_.erase(j) : std::next(j);
            char msg[96];
            std::snprintf(msg, sizeof msg, "Aliasing StreamID 0x%x unsupported, expect DMA to be broken (-ENODEV)", sid);
            throw KernelError(-ENODEV, std::string("arm_smmu_insert_master: ") + msg);
        }
    }
}

ArmSmmuMaster* ArmSmmuDevice::find_master(uint32_t sid) const {
    const auto it = streams_.find(sid);
    return it == streams_.end() ? nullptr : it->second;
}

uint64_t ArmSmmuDevice::ste_slot(uint32_t sid) {
    if (params_.strtab_2lvl) {
        const unsigned split = params_.strtab_split;
        const uint32_t l1 = sid >> split;
        if (!l2_tables_.count(l1)) {
            // arm_smmu_init_l2_strtab: a full L2 table of abort STEs, Span = SPLIT + 1.
            const uint64_t n = uint64_t{1} << split;
            const uint64_t l2 = arena_.alloc(n * Ste::kBytes, n * Ste::kBytes);
            init_initial_stes(l2, n);
            L1StreamDescriptor d;
            d.set(l1std::L2Ptr, l2);
            d.set(l1std::Span, split + 1);
            bus_.memory().write64(strtab_ + uint64_t{l1} * 8, d.w[0]);
            l2_tables_[l1] = l2;
        }
    }
    return ste_address(sid);
}

Ste ArmSmmuDevice::read_ste(uint32_t sid) {
    Ste s;
    if (const uint64_t a = ste_address(sid)) bus_.memory().read_words(a, s.w.data(), Ste::kDwords);
    return s;
}

template <class Entry>
void ArmSmmuDevice::write_entry(uint64_t pa, const Entry& target, void (*get_used)(const Entry&, Entry&),
                                void (*get_update_safe)(const Entry&, const Entry&, Entry&),
                                const std::function<void()>& sync) {
    constexpr unsigned kN = Entry::kDwords;
    Entry cur;
    bus_.memory().read_words(pa, cur.w.data(), kN);
    // entry_set: write qwords [start, start+len) that differ; sync if any did.
    auto entry_set = [&](const Entry& from, unsigned start, unsigned len) {
        bool changed = false;
        for (unsigned i = start; i < start + len; ++i) {
            if (cur.w[i] != from.w[i]) {
                cur.w[i] = from.w[i];
                bus_.memory().write64(pa + 8 * i, cur.w[i]);
                changed = true;
            }
        }
        if (changed) sync();
        return changed;
    };
    // arm_smmu_entry_qword_diff
    Entry cur_used, target_used, unused_update, safe;
    get_used(cur, cur_used);
    get_used(target, target_used);
    if (get_update_safe) get_update_safe(cur, target, safe);
    unsigned used_qword_diff = 0;
    for (unsigned i = 0; i < kN; ++i) {
        // Bits both use that may change in place do not force a break.
        safe.w[i] &= target_used.w[i] & cur_used.w[i];
        cur_used.w[i] &= ~safe.w[i];
        unused_update.w[i] = (cur.w[i] & cur_used.w[i]) | (target.w[i] & ~cur_used.w[i]);
        if ((unused_update.w[i] & target_used.w[i]) != target.w[i]) used_qword_diff |= 1u << i;
    }
    if (__builtin_popcount(used_qword_diff) == 1) {
        // Hitless: bits the current entry ignores, then the one critical
        // qword, then the rest (now-unused bits cleared).
        const unsigned critical = static_cast<unsigned>(__builtin_ctz(used_qword_diff));
        unused_update.w[critical] = cur.w[critical];
        entry_set(unused_update, 0, kN);
        entry_set(target, critical, 1);
        entry_set(target, 0, kN);
    } else if (used_qword_diff) {
        // Breaking: V=0 first, then every qword but 0, then qword 0.
        unused_update.w[0] = 0;
        entry_set(unused_update, 0, 1);
        entry_set(target, 1, kN - 1);
        entry_set(target, 0, 1);
    } else {
        entry_set(target, 0, kN);
    }
}

void ArmSmmuDevice::write_ste(uint32_t sid, const Ste& target) {
    const uint64_t slot = ste_slot(sid);
    // arm_smmu_ste_writer_sync_entry: CFGI_STE (leaf) + SYNC.
    write_entry<Ste>(slot, target, get_ste_used, get_ste_update_safe, [&] {
        issue_cmd_with_sync(Command::make(Opcode::CFGI_STE, {{cmd::SID, sid}, {cmd::Leaf, 1}}));
    });
    if (!params_.skip_prefetch) {
        issue_cmd(Command::make(Opcode::PREFETCH_CONFIG, {{cmd::SID, sid}}));
        ++counters_.prefetches;
    }
}

void ArmSmmuDevice::write_cd(const std::vector<uint32_t>& sids, uint32_t ssid, uint64_t cd_pa,
                             const ContextDescriptor& target) {
    write_entry<ContextDescriptor>(cd_pa, target, get_cd_used, nullptr, [&] {
        // arm_smmu_sync_cd(master, ssid, true)
        CmdqBatch batch(*this);
        for (uint32_t sid : sids)
            batch.add(Command::make(Opcode::CFGI_CD, {{cmd::SID, sid}, {cmd::SSID, ssid}, {cmd::Leaf, 1}}));
        batch.submit();
    });
}

// ---------------------------------------------------------------- event queue

template <class Record>
std::size_t ArmSmmuDevice::consume_queue(uint32_t prod_reg, uint32_t cons_reg, uint64_t base, unsigned log2, Llq& q,
                                         const std::function<void(const Record&)>& handle) {
    const uint32_t ovf = static_cast<uint32_t>(eventq_prod::OVFLG.mask());  // OVFLG / OVACKFLG, bit 31 of both
    const uint32_t mask = QueuePointer::mask(log2);
    std::size_t n = 0;
    // arm_smmu_evtq_thread / arm_smmu_priq_thread:
    // do { while (!queue_remove_raw(q, evt)) handle; queue_sync_prod_in(q); } while (!queue_empty(llq));
    do {
        while (!QueuePointer::empty(q.prod, q.cons, log2)) {
            Record r;
            const uint64_t slot = base + uint64_t{QueuePointer::index(q.cons, log2)} * Record::kBytes;
            bus_.memory().read_words(slot, r.w.data(), Record::kDwords);
            q.cons = (q.cons & ovf) | QueuePointer::next(q.cons & mask, log2);  // queue_inc_cons
            write32(cons_reg, q.cons);                                            // queue_sync_cons_out
            ++n;
            handle(r);
        }
        // An overflow (OVFLG moved) lost records: the kernel says so and goes on.
        q.prod = read32(prod_reg) & (ovf | mask);
    } while (!QueuePointer::empty(q.prod, q.cons, log2));
    // queue_sync_cons_ovf: "we're up to speed", OVACKFLG copied from OVFLG.
    if ((q.prod & ovf) != (q.cons & ovf)) {
        q.cons = (q.prod & ovf) | (q.cons & mask);
        write32(cons_reg, q.cons);
    }
    return n;
}

std::size_t ArmSmmuDevice::consume_events(const std::function<void(const EventRecord&)>& handle) {
    return consume_queue<EventRecord>(reg::EVENTQ_PROD, reg::EVENTQ_CONS, evtq_base_, evtq_log2_, evtq_llq_, handle);
}

std::vector<EventRecord> ArmSmmuDevice::drain_events() {
    std::vector<EventRecord> out;
    consume_events([&](const EventRecord& e) { out.push_back(e); });
    return out;
}

std::size_t ArmSmmuDevice::consume_page_requests(const std::function<void(const PriRecord&)>& handle) {
    if (!features_.pri) return 0;
    return consume_queue<PriRecord>(reg::PRIQ_PROD, reg::PRIQ_CONS, priq_base_, priq_log2_, priq_llq_, handle);
}

std::vector<PriRecord> ArmSmmuDevice::drain_page_requests() {
    std::vector<PriRecord> out;
    consume_page_requests([&](const PriRecord& r) { out.push_back(r); });
    return out;
}

// ---------------------------------------------------------------- STE / CD contents

void get_ste_used(const Ste& ent, Ste& used) {
    used = Ste{};
    used.w[0] = ste::V.mask();
    if (!ent.valid()) return;
    used.w[0] |= ste::Config.mask();
    const uint64_t cfg = ent.get(ste::Config);
    auto all = [&](const FieldDef& f) { used.w[f.word] |= f.mask(); };
    if (cfg & 1) {  // S1 translates; PPAR: the PRI series' bit of the S1 STE
        for (const FieldDef& f : {ste::S1Fmt, ste::S1ContextPtr, ste::S1CDMax, ste::S1DSS, ste::S1CIR, ste::S1COR,
                                  ste::S1CSH, ste::S1STALLD, ste::STRW, ste::EATS, ste::MEV, ste::S2VMID, ste::PPAR})
            all(f);
        if (ent.get(ste::S1DSS) == static_cast<uint64_t>(S1Dss::Bypass)) all(ste::SHCFG);
    }
    if (cfg & 2) {  // S2 translates
        for (const FieldDef& f : {ste::EATS, ste::SHCFG, ste::MEV, ste::S2VMID, ste::S2T0SZ, ste::S2SL0, ste::S2IR0,
                                  ste::S2OR0, ste::S2SH0, ste::S2TG, ste::S2PS, ste::S2AA64, ste::S2ENDI, ste::S2PTW,
                                  ste::S2S, ste::S2R, ste::S2TTB})
            all(f);
        used.w[1] |= uint64_t{1} << 25;  // STRTAB_STE_1_S2FWB
        used.w[2] |= uint64_t{0x7ffff} << 32;  // STRTAB_STE_2_VTCR: bits 50:32
    }
    if (cfg == static_cast<uint64_t>(SteConfig::Bypass)) all(ste::SHCFG);
}

void get_ste_update_safe(const Ste& cur, const Ste& target, Ste& safe) {
    safe = Ste{};
    // EATS between 0 and TRANS may change in place when neither entry uses
    // S1CHK (EATS bit 1) or stalls (S2S).
    const bool s1chk = (cur.get(ste::EATS) | target.get(ste::EATS)) & 2;
    if (!s1chk && !cur.get(ste::S2S) && !target.get(ste::S2S)) safe.w[1] |= uint64_t{1} << 28;
    safe.set(ste::MEV, 1);  // merged events only change how faults are reported
}

void get_cd_used(const ContextDescriptor& ent, ContextDescriptor& used) {
    used = ContextDescriptor{};
    used.w[0] = cd::V.mask();
    if (!ent.get(cd::V)) return;
    for (uint64_t& w : used.w) w = ~uint64_t{0};
    // EPD0 means T0SZ/TG0/IR0/OR0/SH0/TTB0 are IGNORED.
    if (ent.get(cd::EPD0)) {
        for (const FieldDef& f : {cd::T0SZ, cd::TG0, cd::IR0, cd::OR0, cd::SH0, cd::TTB0}) used.w[f.word] &= ~f.mask();
    }
}

Ste make_abort_ste() {
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, static_cast<uint64_t>(SteConfig::Abort));
    return s;
}

Ste make_bypass_ste(const Features& f) {
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, static_cast<uint64_t>(SteConfig::Bypass));
    if (f.attr_types_ovr) s.set(ste::SHCFG, 1);  // STRTAB_STE_1_SHCFG_INCOMING
    return s;
}

Ste make_cdtable_ste(const Features& f, const CdTableRef& cd, bool ats_enabled, S1Dss s1dss, bool stall_enabled,
                     bool prg_resp_needs_ssid) {
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, static_cast<uint64_t>(SteConfig::S1Trans));
    s.set(ste::S1Fmt, static_cast<uint64_t>(cd.fmt));
    s.set(ste::S1ContextPtr, cd.cdtab);
    s.set(ste::S1CDMax, cd.s1cdmax);
    s.set(ste::S1DSS, static_cast<uint64_t>(s1dss));
    s.set(ste::S1CIR, 1);  // STRTAB_STE_1_S1C_CACHE_WBRA
    s.set(ste::S1COR, 1);
    s.set(ste::S1CSH, 3);  // ARM_SMMU_SH_ISH
    // S1STALLD only with FEAT_STALLS on a master without stalls.
    if (prg_resp_needs_ssid) s.set(ste::PPAR, 1);
    if (f.stalls && !stall_enabled) s.set(ste::S1STALLD, 1);
    if (ats_enabled) s.set(ste::EATS, 1);  // STRTAB_STE_1_EATS_TRANS
    if (f.attr_types_ovr && s1dss == S1Dss::Bypass) s.set(ste::SHCFG, 1);
    s.set(ste::STRW, 0);  // STRTAB_STE_1_STRW_NSEL1; S2VMID 0 (reserved for S2-bypass STEs)
    return s;
}

Ste make_s2_domain_ste(const Features& f, const PageTable& t, uint16_t vmid, bool ats_enabled, bool stall_enabled) {
    Ste s;
    s.set(ste::V, 1);
    s.set(ste::Config, static_cast<uint64_t>(SteConfig::S2Trans));
    if (ats_enabled) s.set(ste::EATS, 1);
    if (f.attr_types_ovr) s.set(ste::SHCFG, 1);
    // The VTCR io-pgtable-arm computed (arm_64_lpae_alloc_pgtable_s2).
    s.set(ste::S2VMID, vmid);
    s.set(ste::S2T0SZ, 64 - t.ias());
    // SL0 from the start level: 4K counts from level 2 down, 16K/64K from level 3.
    const std::optional<unsigned> sl0 = s2sl0_encoding(t.granule(), t.start_level(), f.stt);
    if (!sl0)
        throw KernelError(-EINVAL, "no S2SL0 encoding starts a " + std::string(granule_name(t.granule())) +
                                       " stage 2 at level " + std::to_string(t.start_level()) +
                                       (f.stt ? "" : " (level 3 needs IDR3.STT)"));
    s.set(ste::S2SL0, *sl0);
    s.set(ste::S2IR0, 1);  // ARM_LPAE_TCR_RGN_WBWA
    s.set(ste::S2OR0, 1);
    s.set(ste::S2SH0, 3);  // ARM_LPAE_TCR_SH_IS
    s.set(ste::S2TG, static_cast<uint64_t>(t.granule()));
    s.set(ste::S2PS, pa_encoding(f.oas).value_or(5));
    s.set(ste::S2AA64, 1);
    s.set(ste::S2PTW, 1);
    s.set(ste::S2R, 1);
    if (stall_enabled) s.set(ste::S2S, 1);  // STRTAB_STE_2_S2S
    s.set(ste::S2TTB, t.root());
    return s;
}

ContextDescriptor make_s1_cd(const Features& f, const PageTable& t, uint16_t asid, bool stall_enabled) {
    ContextDescriptor d;
    if (t.ttbr1()) {
        // Not Linux's arm_smmu_make_s1_cd (it writes TTB0 only): the upper VA
        // range, as arm-smmu (v2)'s arm_smmu_init_context_bank programs an
        // IO_PGTABLE_QUIRK_ARM_TTBR1 table: TTB1 with T1SZ/TG1, no TTB0 walks.
        d.set(cd::T1SZ, 64 - t.ias());
        d.set(cd::TG1, cd::tg1_encoding(t.granule()));
        d.set(cd::IR1, 1);
        d.set(cd::OR1, 1);
        d.set(cd::SH1, 3);
        d.set(cd::EPD0, 1);
        d.set(cd::TTB1, t.root());
    } else {
        d.set(cd::T0SZ, 64 - t.ias());
        d.set(cd::TG0, static_cast<uint64_t>(t.granule()));
        d.set(cd::IR0, 1);  // ARM_LPAE_TCR_RGN_WBWA
        d.set(cd::OR0, 1);
        d.set(cd::SH0, 3);  // ARM_LPAE_TCR_SH_IS
        d.set(cd::EPD1, 1);
        d.set(cd::TTB0, t.root());
    }
    d.set(cd::V, 1);
    d.set(cd::IPS, pa_encoding(f.oas).value_or(5));
    d.set(cd::AA64, 1);
    if (stall_enabled) d.set(cd::S, 1);  // CTXDESC_CD_0_S
    d.set(cd::R, 1);
    d.set(cd::A, 1);
    d.set(cd::ASET, 1);
    d.set(cd::ASID, asid);
    // io-pgtable-arm's MAIR: NC, WBRWA, DEVICE_nGnRE, INC_OWBRWA at indices 0..3.
    d.set(cd::MAIR, 0xf404ff44);
    return d;
}

}  // namespace smmu::driver
