// A whole SmmuCore driven by a byte-coded program: MMIO writes and reads of
// random offsets, sizes and values; memory writes (STEs, CDs, descriptors,
// raw words) in a small window holding the stream table and the queues;
// commands appended to the command queue; queue steps; translations.
//
// Invariants: no crash, no hang (every loop is bounded); the SMMU moves its
// queue pointers only within the queue's index + wrap bits; and the
// missing-invalidation checker (testbenches/platform/invalidation_checker.h)
// finds nothing stale once everything was invalidated. Stale cache entries
// are allowed until software invalidates (IHI 0070 3.21, 4.7.3), so the
// comparison is asserted only while memory and registers are unchanged since
// a CFGI_ALL and a TLBI_NSNH_ALL ran back to back (no translation or PREFETCH
// between them) and a CMD_SYNC completed them, no PREFETCH has run since, no
// command is pending, and the streams translated since the last
// TLBI_NSNH_ALL (checked or not) agree on
// everything their VMID tags (two streams sharing a VMID with different
// tables or translation parameters is itself a software error the checker is
// there to report, not a model bug: IHI 0070 5.2, S2VMID).
#include <array>
#include <map>
#include <set>
#include <vector>

#include "fuzz/common.h"
#include "models/arch/registers.h"
#include "models/smmu/smmu_core.h"
#include "testbenches/platform/invalidation_checker.h"

using namespace smmu;
using namespace smmu::arch;

namespace {

// Counts the writes that may change what a cache holds: a cached entry can
// only depend on a page a translation has read (PREFETCH fills are excluded
// by the target), so a write to a page no translation read (the queues,
// fresh memory) changes nothing cached.
class CountingMemory : public MemoryPort {
public:
    explicit CountingMemory(SparseMemory& m) : m_(m) {}
    bool read(uint64_t pa, void* dst, unsigned len) override {
        if (tracking) {
            for (uint64_t p = pa >> 12; len && p <= (pa + len - 1) >> 12; ++p) read_pages_.insert(p);
            if (len >= 8) recent_reads[next_recent_++ % recent_reads.size()] = {pa, len};
        }
        return m_.read(pa, dst, len);
    }
    bool write(uint64_t pa, const void* src, unsigned len) override {
        if (len == 8) FUZZ_TRACE("  mem[0x%llx] = 0x%016llx\n", (unsigned long long)pa,
                                 (unsigned long long)*static_cast<const uint64_t*>(src));
        else FUZZ_TRACE("  mem[0x%llx] <- %u bytes\n", (unsigned long long)pa, len);
        for (uint64_t p = pa >> 12; len && p <= (pa + len - 1) >> 12; ++p)
            if (read_pages_.count(p)) {
                ++writes;
                break;
            }
        return m_.write(pa, src, len);
    }
    uint64_t writes = 0;
    bool tracking = false;  // reads now are a translation's
    // The last reads of translations (address, length): changing what they
    // read is what makes a cached entry stale.
    std::array<std::pair<uint64_t, unsigned>, 32> recent_reads{};

private:
    SparseMemory& m_;
    std::size_t next_recent_ = 0;
    std::set<uint64_t> read_pages_;
};

// Registers whose writes change how a translation goes: CR0-CR2, GBPA,
// STRTAB_BASE(_CFG). Queue pointers, IRQ and GERRORN writes do not.
bool affects_translation(uint32_t off, unsigned size) {
    const auto overlaps = [&](uint32_t lo, uint32_t hi) { return off < hi && off + size > lo; };
    return overlaps(reg::CR0, reg::CR2 + 4) || overlaps(reg::GBPA, reg::GBPA + 4) ||
           overlaps(reg::STRTAB_BASE, reg::STRTAB_BASE_CFG + 4);
}

constexpr uint32_t kRegs[] = {reg::CR0, reg::CR1, reg::CR2, reg::GBPA, reg::IRQ_CTRL, reg::GERRORN,
                              reg::GERROR_IRQ_CFG0, reg::STRTAB_BASE, reg::STRTAB_BASE + 4, reg::STRTAB_BASE_CFG,
                              reg::CMDQ_BASE, reg::CMDQ_PROD, reg::CMDQ_CONS, reg::EVENTQ_BASE,
                              reg::EVENTQ_PROD, reg::EVENTQ_CONS, reg::EVENTQ_PROD_ALIAS, reg::EVENTQ_CONS_ALIAS,
                              reg::EVENTQ_IRQ_CFG0, reg::IDR0, reg::IDR1, reg::STATUSR, reg::CR0ACK};

struct Rig {
    SparseMemory backing;
    CountingMemory mem;
    SmmuCore core;
    sim::InvalidationChecker checker;
    uint64_t mmio_writes = 0;
    Cycle now = 0;
    // Generations (memory + MMIO writes) at the last CFGI_ALL, TLBI_NSNH_ALL,
    // the last time both had just run with nothing filling a cache between
    // them (every cache empty at once), and the SYNC that completed that; ~0:
    // never. Both orders of the pair leave a window: a translation between
    // CFGI_ALL and TLBI_NSNH_ALL can cache a nested CD fetched through stale
    // stage 2 entries, one between TLBI_NSNH_ALL and CFGI_ALL can fill the TLB
    // from a stale STE. Software avoids that by changing one level at a time
    // (IHI 0070 3.21.1, 3.21.3); the fuzzer changes anything, so it asserts only after
    // an instant when nothing cached predates the memory it checks against.
    uint64_t cfg_gen = ~0ull, tlb_gen = ~0ull, empty_gen = ~0ull, clean_gen = ~0ull;
    // Translations and prefetches so far (what fills caches), at the last
    // CFGI_ALL and TLBI_NSNH_ALL.
    uint64_t fills = 0, cfg_fills = 0, tlb_fills = 0;
    bool prefetched = false;
    // What each VMID's translations ran under since the last TLBI_NSNH_ALL
    // (everything in the context but the ASID); `aliased`: two contexts
    // shared a VMID.
    std::map<uint16_t, std::vector<uint64_t>> vmid_contexts, vmid_stage2;
    bool aliased = false;
    Translator probe;  // uncached, to see each request's context
    StreamTable probe_table;
    bool assert_now = false;

    Rig(const SmmuCoreParams& p)
        : backing(p.caps.oas),
          mem(backing),
          core(mem, p),
          checker("fuzz", core, mem, [this](const TranslationRequest&) { return !assert_now; }, [this] { return double(now); }),
          probe(mem, core.caps()),
          probe_table(mem, core.caps()) {}

    static void put(std::vector<uint64_t>& v, const StageParams& p) {
        v.insert(v.end(), {p.stage, static_cast<uint64_t>(p.granule), p.ias, p.start_level, p.concat, p.oas, p.ttb,
                           p.affd, p.tbi, p.upper});
    }
    // Records what `sig` a VMID was used with; false when it was used with
    // another one since the last TLBI_NSNH_ALL.
    static bool record(std::map<uint16_t, std::vector<uint64_t>>& seen, uint16_t vmid,
                       const std::vector<uint64_t>& sig) {
        auto [it, fresh] = seen.emplace(vmid, sig);
        return fresh || it->second == sig;
    }
    // Records the request's contexts under its VMID: the stream's stage 2
    // from its STE alone (a nested CD fetch walks it, and fills the stage 2
    // caches, even when the CD then faults) and the whole context when it
    // resolves. False when another context already used that VMID.
    bool vmid_consistent(const TranslationRequest& req) {
        AccessLog log;
        const Expected<arch::Ste> ste = probe_table.fetch_ste(core.regs().stream_table(), req.sid, log);
        if (!ste.ok()) return true;
        const Expected<StreamConfig> sc = probe_table.decode_ste(ste.value());
        if (!sc.ok()) return true;
        bool consistent = true;
        if (static_cast<unsigned>(sc.value().config) & 2) {  // stage 2 in effect (IHI 0070 5.2, Config)
            std::vector<uint64_t> s2;
            put(s2, sc.value().s2);
            consistent = record(vmid_stage2, sc.value().vmid, s2);
        }
        const Expected<TranslationContext> c = probe.resolve(core.regs().stream_table(), req, log);
        if (!c.ok()) return consistent;
        const TranslationContext& x = c.value();
        if (!x.s1 && !x.s2) return consistent;  // bypass: nothing tagged
        std::vector<uint64_t> sig{static_cast<uint64_t>(x.config), x.s1, x.s2, x.epd0, x.epd1};
        put(sig, x.s1p);
        put(sig, x.s1p_upper);
        put(sig, x.s2p);
        return record(vmid_contexts, x.vmid, sig) && consistent;
    }

    uint64_t gen() const { return mem.writes + mmio_writes; }

    void write(uint32_t off, unsigned size, uint64_t v) {
        if (affects_translation(off, size)) ++mmio_writes;
        FUZZ_TRACE("mmio write 0x%x/%u = 0x%llx\n", off, size, (unsigned long long)v);
        WriteEffect e;
        (void)core.mmio_write(off, size, v, e);
    }
    uint64_t read(uint32_t off, unsigned size = 4) const {
        uint64_t v = 0;
        (void)core.mmio_read(off, size, v);
        return v;
    }

    // Appends commands at CMDQ_PROD and moves it, as a driver does.
    void push(std::initializer_list<Command> cmds) {
        const QueueConfig q = core.regs().cmdq();
        uint32_t prod = core.regs().cmdq_prod();
        for (const Command& c : cmds) {
            FUZZ_TRACE("push %s 0x%016llx 0x%016llx\n", c.info() ? std::string(c.info()->name).c_str() : "?",
                       (unsigned long long)c.w[0], (unsigned long long)c.w[1]);
            mem.write_words(q.base + uint64_t{QueuePointer::index(prod, q.log2size)} * Command::kBytes, c.w.data(),
                            Command::kDwords);
            prod = QueuePointer::next(prod, q.log2size);
        }
        write(reg::CMDQ_PROD, 4, prod);
    }

    // Changes a word a translation read lately: its output address moved by a
    // few pages, a bit flipped, or a new descriptor.
    void change_recent_read(fuzz::Input& in) {
        const auto [pa, len] = mem.recent_reads[in.below(mem.recent_reads.size())];
        if (len < 8) return;
        const uint64_t at = pa + in.below(len / 8) * 8;
        uint64_t v = 0;
        backing.read(at, &v, 8);
        switch (in.below(3)) {
            case 0: v ^= uint64_t{1 + in.below(7)} << (12 + in.below(9)); break;
            case 1: v ^= uint64_t{1} << in.below(64); break;
            default: v = fuzz::random_descriptor(in); break;
        }
        mem.write64(at, v);
    }

    // CFGI_ALL, TLBI_NSNH_ALL, CMD_SYNC: what makes every cache agree with memory.
    void invalidate_all() {
        push({Command::make(Opcode::CFGI_STE_RANGE, {{cmd::Range, 31}}), Command::make(Opcode::TLBI_NSNH_ALL),
              Command::make(Opcode::SYNC)});
    }

    void step(bool defer) {
        const uint64_t g = gen();
        Cycle done = 0;
        const CommandQueue::Step s = core.cmdq_step(now, &done, defer);
        FUZZ_CHECK(s.kind == CommandQueue::Step::Kind::Idle || done >= now, "a command completing before it began");
        now = std::max(now, done);
        if (defer) core.cmdq_complete(done);
        const QueueConfig q = core.regs().cmdq();
        if (s.kind == CommandQueue::Step::Kind::Executed) {
            FUZZ_TRACE("executed %s%s\n", s.cmd.info() ? std::string(s.cmd.info()->name).c_str() : "?",
                       defer ? " (deferred)" : "");
            FUZZ_CHECK((core.regs().cmdq_cons() & 0xfffff & ~QueuePointer::mask(q.log2size)) == 0,
                       "CMDQ_CONS beyond the queue");
            const auto op = static_cast<Opcode>(s.cmd.opcode());
            const bool cfgi_all = op == Opcode::CFGI_STE_RANGE && s.cmd.get(cmd::Range) == 31;
            if (cfgi_all) {
                cfg_gen = g;
                cfg_fills = fills;
            }
            if (op == Opcode::TLBI_NSNH_ALL) {
                // The VMID-tagged caches are empty now: what aliases is what
                // fills them from here on.
                tlb_gen = g;
                tlb_fills = fills;
                vmid_contexts.clear();
                vmid_stage2.clear();
                aliased = false;
            }
            if ((cfgi_all || op == Opcode::TLBI_NSNH_ALL) && cfg_gen == g && tlb_gen == g && cfg_fills == tlb_fills) {
                empty_gen = g;
                prefetched = false;
            }
            if (op == Opcode::PREFETCH_CONFIG || op == Opcode::PREFETCH_ADDR) {
                prefetched = true;
                ++fills;
            }
            if (op == Opcode::SYNC && empty_gen == g && gen() == g) {
                clean_gen = g;
                fuzz::count("full invalidation completed");
            }
        }
    }

    uint64_t events_written() const {
        uint64_t n = 0;
        for (uint64_t e : core.stats().events) n += e;
        return n;
    }

    void translate(const TranslationRequest& req, unsigned port) {
        ++fills;
        const bool clean = clean_gen == gen() && !prefetched && !core.cmdq_pending();
        mem.tracking = true;
        // Every translation counts, checked or not (commands pending,
        // memory changed): whatever it puts in a VMID-tagged cache stays
        // there until the next TLBI_NSNH_ALL.
        if (!vmid_consistent(req)) aliased = true;
        const uint64_t events_before = events_written();
        AccessLog log;
        std::vector<MemAccess> reads;
        if (fuzz::tracing()) log.trace = &reads;
        Cycle done = 0;
        const TranslationResult r = core.translate(req, log, port, now, &done);
        for (const MemAccess& a : reads)
            FUZZ_TRACE("  read %s level %u input 0x%llx at 0x%llx: 0x%016llx%s\n",
                       std::string(access_kind_name(a.kind)).c_str(), a.level, (unsigned long long)a.input,
                       (unsigned long long)a.pa, (unsigned long long)a.value, a.ok ? "" : " (abort)");
        mem.tracking = false;
        FUZZ_CHECK(done >= now, "a translation completing before it arrived");
        FUZZ_CHECK(log.walk_reads + log.config_reads < 1000, "an unbounded walk");
        if (events_written() != events_before)
            FUZZ_CHECK((core.regs().eventq_prod() & 0x7fffffff & ~QueuePointer::mask(core.regs().eventq().log2size)) == 0,
                       "EVENTQ_PROD beyond the queue");
        assert_now = clean && !aliased;
        if (!assert_now)
            fuzz::count(clean_gen == ~0ull ? "not checked: never invalidated"
                        : clean_gen != gen() ? "not checked: changed since"
                        : prefetched         ? "not checked: prefetched"
                        : core.cmdq_pending() ? "not checked: commands pending"
                                              : "not checked: VMID aliasing");
        fuzz::count(assert_now ? (r.ok() ? "checked, translated" : "checked, not translated") : "not checked");
        const StreamTableConfig st = core.regs().stream_table();
        FUZZ_TRACE("translate SID 0x%x SSID %s0x%x IOVA 0x%llx %s port %u: %s 0x%llx event %u%s (SMMUEN %d, "
                   "strtab 0x%llx log2size %u%s, generation %llu, clean at %lld)\n",
                   req.sid, req.ssv ? "" : "(no) ", req.ssid, (unsigned long long)req.iova, req.write ? "W" : "R",
                   port, r.ok() ? "PA" : "not translated", (unsigned long long)r.pa,
                   static_cast<unsigned>(r.fault.id), assert_now ? " [checked]" : "", core.regs().smmu_enabled(),
                   (unsigned long long)st.base, st.log2size, st.two_level ? " 2-level" : "",
                   (unsigned long long)gen(), static_cast<long long>(clean_gen));
        checker.check(req, r);
        if (checker.mismatches()) fuzz::fail("stale translation after a full invalidation: " + checker.lines().back());
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    SmmuCoreParams p;
    p.caps = fuzz::random_caps(in);
    p.cmdq_max_log2 = in.below(20);
    p.eventq_max_log2 = in.below(20);
    p.uarch = fuzz::random_uarch(in);
    Rig rig(p);

    // Usually start from a working setup (fuzz::build_setup's tables, both
    // queues, SMMUEN), so short inputs reach translations.
    if (in.u8() & 3) {
        const StreamTableConfig st = fuzz::build_setup(rig.mem, in);
        rig.write(reg::STRTAB_BASE, 8, st.base);
        rig.write(reg::STRTAB_BASE_CFG, 4, st.log2size);
        rig.write(reg::CMDQ_BASE, 8, fuzz::kCmdqBase | 4);
        rig.write(reg::EVENTQ_BASE, 8, fuzz::kEventqBase | 4);
        rig.write(reg::CR2, 4, 2);
        rig.write(reg::CR0, 4, cr0::SMMUEN.mask() | cr0::EVTQEN.mask() | cr0::CMDQEN.mask());
        rig.invalidate_all();
        for (int i = 0; i < 3; ++i) rig.step(false);
    }
    for (unsigned n = 0; n < 256 && !in.done(); ++n) {
        rig.now += in.below(16);
        switch (in.below(10)) {
            case 0: {
                const uint8_t pick = in.u8();
                const uint32_t off = pick < 0xf0 ? kRegs[pick % std::size(kRegs)] : in.u32() % reg::kMmioSize;
                const unsigned sz = in.below(8) ? (in.flag() ? 4 : 8) : in.below(16);
                const uint64_t v = in.flag() ? fuzz::window_page(in) | in.below(32) : in.number();
                rig.write(off, sz, v);
                break;
            }
            case 1: (void)rig.read(in.u32() % (reg::kMmioSize + 64), in.below(10)); break;
            case 2:
                if (in.flag()) fuzz::fill_memory(rig.mem, in, 1);
                else rig.change_recent_read(in);
                break;
            case 3: rig.push({fuzz::random_command(in)}); break;
            case 4: rig.invalidate_all(); break;
            case 5: {
                const unsigned k = 1 + in.below(8);
                const bool defer = in.flag();
                for (unsigned i = 0; i < k; ++i) rig.step(defer);
                break;
            }
            default: rig.translate(fuzz::random_request(in), in.below(3)); break;
        }
    }
    return 0;
}
