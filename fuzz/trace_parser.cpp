// TraceReader over arbitrary bytes: every record parses or the reader throws
// InputError; anything else thrown, or a crash, is a bug. DMA records are
// resolved against a small config (names and StreamIDs) the same way replay
// does, and control records (map, unmap, guest_inv) checked against it with
// check_change, as `run` does before the host applies them.
#include <sstream>

#include "fuzz/common.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"
#include "testbenches/config/trace.h"

using namespace smmu::sim;

namespace {
// Two VMs (4K and 64K granules, one starting its walk at a chosen level), a
// nested device, an S1 device with three contexts (4K, 16K, and a 39-bit
// upper VA range: ttb1) and an S2 device: every kind of target a record can name.
Config make_config() {
    Config c;
    c.smmu.oas = 44;
    c.memory.pa_bits = 44;
    VmConfig vm0;
    vm0.name = "vm0";
    vm0.s2.ias = 40;
    VmConfig vm1;
    vm1.name = "vm1";
    vm1.s2.granule = smmu::arch::Granule::K64;
    vm1.s2.ias = 36;
    vm1.s2.start_level = 3;
    c.vms = {vm0, vm1};
    DeviceConfig nic;
    nic.name = "dev0";
    nic.sid = 0x10;
    nic.attach = AttachMode::Nested;
    nic.vm = "vm0";
    nic.contexts.resize(1);
    nic.contexts[0].va_bits = 39;
    DeviceConfig gpu;
    gpu.name = "gpu";
    gpu.sid = 0x20;
    gpu.attach = AttachMode::S1;
    gpu.contexts.resize(3);
    gpu.contexts[1].ssid = 1;
    gpu.contexts[1].granule = smmu::arch::Granule::K16;
    gpu.contexts[2].ssid = 2;
    gpu.contexts[2].va_bits = 39;
    gpu.contexts[2].ttb1 = true;
    DeviceConfig s2dev;
    s2dev.name = "s2dev";
    s2dev.sid = 0x30;
    s2dev.attach = AttachMode::S2;
    s2dev.vm = "vm1";
    c.devices = {nic, gpu, s2dev};
    return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const Config config = make_config();
    static const DeviceTable devices(config);
    std::istringstream in(smmu::fuzz::as_string(data, size));
    try {
        TraceReader reader(in, "fuzz.trace");
        TraceRecord rec;
        for (int n = 0; n < 100000 && reader.next(rec); ++n) {
            FUZZ_CHECK(rec.line >= 1, "record without a line number");
            FUZZ_CHECK(rec.time_ns <= kMaxTimeNs, "a time beyond kMaxTimeNs was accepted");
            try {
                if (rec.change)
                    check_change(config, *rec.change);
                else
                    (void)devices.resolve(rec, "fuzz.trace");
            } catch (const InputError& e) {
                FUZZ_CHECK(std::string(e.what()).rfind("fuzz.trace", 0) == 0, "a record error names no file");
            }
        }
    } catch (const InputError&) {
    }
    return 0;
}
