// Every format decoder over random words: `smmu-sim decode` for STE, CD,
// command and event (JSON must serialise), the opcode/event tables, command
// legality, and FieldDef get/set round trips on every field of every structure.
#include <exception>

#include "fuzz/common.h"
#include "models/arch/event.h"
#include "models/arch/registers.h"
#include "models/smmu/cmdq/command_queue.h"
#include "testbenches/cli/decode.h"
#include "testbenches/config/input_error.h"

using namespace smmu;
using namespace smmu::arch;

namespace {

// set(get()) leaves the words unchanged; set(v) then get() gives v truncated to
// the field, and touches no other bit.
void round_trip(const FieldDef& f, fuzz::Input& in) {
    uint64_t w[8];
    for (uint64_t& x : w) x = in.u64();
    FUZZ_CHECK(f.word < 8 && f.msb < 64 && f.lsb <= f.msb, std::string(f.name));
    uint64_t copy[8];
    std::copy(w, w + 8, copy);
    f.set(copy, f.get(w));
    FUZZ_CHECK(std::equal(w, w + 8, copy), std::string(f.name) + ": set(get()) changed the words");
    const uint64_t v = in.number();
    f.set(copy, v);
    const uint64_t expect = f.address ? v & f.mask() : (v << f.lsb & f.mask()) >> f.lsb;
    FUZZ_CHECK(f.get(copy) == expect, std::string(f.name) + ": get(set(v)) != v truncated");
    FUZZ_CHECK(f.fits(f.get(copy)), std::string(f.name) + ": a stored value does not fit");
    for (unsigned i = 0; i < 8; ++i) {
        const uint64_t outside = i == f.word ? ~f.mask() : ~uint64_t{0};
        FUZZ_CHECK((copy[i] & outside) == (w[i] & outside), std::string(f.name) + ": set() touched other bits");
    }
}

std::string hex_word(uint64_t v) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    fuzz::Input in(data, size);
    static const char* kKinds[] = {"ste", "cd", "cmd", "event"};
    while (!in.done()) {
        const uint8_t what = in.u8();
        if (what < 0xc0) {
            std::vector<std::string> words;
            const unsigned n = in.below(10);
            for (unsigned i = 0; i < n; ++i) words.push_back(hex_word(in.u64()));
            try {
                const auto j = sim::decode(kKinds[what & 3], words);
                (void)j.dump();
            } catch (const sim::InputError&) {
                // Too many words for the structure: the one expected error.
                const unsigned max = (what & 3) < 2 ? 8 : (what & 3) == 2 ? 2 : 4;
                FUZZ_CHECK(n > max, "decode refused a well-formed input");
            }
        } else if (what < 0xe0) {
            Command c;
            c.w = {in.u64(), in.u64()};
            if (const OpcodeInfo* info = c.info()) {
                FUZZ_CHECK(static_cast<uint8_t>(info->opcode) == c.opcode(), "opcode table");
                for (const FieldDef& f : info->fields) round_trip(f, in);
            }
            SmmuCaps caps = fuzz::random_caps(in);
            (void)command_is_legal(c, caps);
            EventRecord e;
            for (uint64_t& x : e.w) x = in.u64();
            if (const EventInfo* info = event_info(e.id())) {
                (void)event_name(info->id);
                for (const FieldDef& f : info->fields) round_trip(f, in);
            }
        } else {
            switch (in.below(6)) {
                case 0: for (const FieldDef& f : ste::kAll) round_trip(f, in); break;
                case 1: for (const FieldDef& f : cd::kAll) round_trip(f, in); break;
                case 2: for (const FieldDef& f : l1std::kAll) round_trip(f, in); break;
                case 3: for (const FieldDef& f : l1cd::kAll) round_trip(f, in); break;
                case 4: {
                    static constexpr FieldDef kRegs[] = {idr0::S1P, idr1::SIDSIZE, idr5::OAS, cr0::SMMUEN,
                                                         gbpa::ABORT, strtab_base::ADDR, strtab_base_cfg::SPLIT,
                                                         queue_base::ADDR, queue_base::LOG2SIZE, cmdq_cons::ERR,
                                                         eventq_prod::OVFLG};
                    for (const FieldDef& f : kRegs) round_trip(f, in);
                    break;
                }
                default: {
                    const unsigned enc = in.u8();
                    const unsigned bits = pa_bits(enc);
                    if (enc < 7) FUZZ_CHECK(pa_encoding(bits) == enc, "pa_bits/pa_encoding");
                    break;
                }
            }
        }
    }
    return 0;
}
