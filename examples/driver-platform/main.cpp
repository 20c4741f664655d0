// An SMMUv3 programmed by the Linux driver model (smmusim::driver), no config
// file. The CPU thread runs the driver over TLM sockets (smmu::TlmHostBus):
// the reset sequence, then four DMA masters attached as the kernel would:
// bypass (an identity domain), S1 (a DMA domain), S2 (a VM's device) and
// nested (a VM's guest with its own stage 1 under a vIOMMU), all with
// io-pgtable-arm tables. Each master reads through the SMMU; then each
// translation is unmapped with its invalidation and the read faults, the
// fault read back from the event queue by the driver.
#include <cstdio>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "driver/iommufd/iommufd.h"
#include "models/memory/memory.h"
#include "models/smmu/smmu.h"
#include "tlm/tlm_host_bus.h"

using namespace sc_core;
using namespace smmu::driver;
namespace arch = smmu::arch;

// A DMA master written to the TLM-2.0 base protocol: it knows nothing of the
// SMMU (its upstream port has a default StreamID).
struct Dma : sc_module {
    tlm_utils::simple_initiator_socket<Dma> socket;
    explicit Dma(sc_module_name n) : sc_module(n), socket("socket") {}

    // An 8-byte read, from the calling SystemC thread: true when it succeeded.
    bool read(uint64_t addr, uint64_t& data) {
        tlm::tlm_generic_payload gp;
        gp.set_command(tlm::TLM_READ_COMMAND);
        gp.set_address(addr);
        gp.set_data_ptr(reinterpret_cast<unsigned char*>(&data));
        gp.set_data_length(8);
        gp.set_streaming_width(8);
        sc_time delay = SC_ZERO_TIME;
        socket->b_transport(gp, delay);
        wait(delay);
        return gp.is_response_ok();
    }
};

constexpr uint32_t kBypassSid = 1, kS1Sid = 2, kS2Sid = 3, kNestedSid = 4;
constexpr uint64_t kTables = 0x1000'0000;  // the kernel's memory for queues, stream table, page tables
constexpr uint64_t kRam = 0x8000'0000;     // DMA buffers
constexpr uint64_t kGuestRam = 0x4000'0000, kGuestRamSize = 0x20'0000;  // a VM's RAM: IPA 1 GiB -> kRam + 16 MiB

struct Cpu : sc_module {
    tlm_utils::simple_initiator_socket<Cpu> mmio, mem;  // to the SMMU's registers, to memory
    smmu::TlmCpu cpu{mem};
    smmu::TlmHostBus bus{cpu, mmio};
    Dma &bypass, &s1_dev, &s2_dev, &nested_dev;
    int errors = 0;

    SC_HAS_PROCESS(Cpu);
    Cpu(sc_module_name n, Dma& a, Dma& b, Dma& c, Dma& d)
        : sc_module(n), mmio("mmio"), mem("mem"), bypass(a), s1_dev(b), s2_dev(c), nested_dev(d) {
        SC_THREAD(run);
    }

    void expect(Dma& dma, uint64_t addr, uint64_t want) {
        uint64_t got = 0;
        const bool ok = dma.read(addr, got);
        if (ok)
            std::printf("%-7s read 0x%-8llx: 0x%llx\n", dma.basename(), static_cast<unsigned long long>(addr),
                        static_cast<unsigned long long>(got));
        else
            std::printf("%-7s read 0x%-8llx: fault\n", dma.basename(), static_cast<unsigned long long>(addr));
        if (ok != (want != 0) || (ok && got != want)) ++errors;
    }

    void run() {
        TableArena arena("tables", kTables, kTables, 64 << 20);
        ArmSmmuDevice smmu(bus, arena, ArmSmmuParams{});
        smmu.hw_probe();
        smmu.device_reset();  // arm_smmu_device_reset
        std::printf("reset: %llu register accesses, %.0f ns\n", static_cast<unsigned long long>(bus.mmio_accesses()),
                    bus.now_ns());
        Iommufd iommufd(VmidProfile::PerS2Domain, IommufdCosts{}, bus);
        const auto master = [&](uint32_t sid) {  // struct arm_smmu_master: a device and its StreamID
            ArmSmmuMaster m;
            m.smmu = &smmu;
            m.sids = {sid};
            return m;
        };
        smmu::MemoryPort& memory = bus.memory();  // the CPU's loads and stores
        for (uint64_t i = 0; i < 4; ++i) memory.write64(kRam + i * 0x1000, 0xda7a0000 + i);

        // Bypass: the identity domain.
        ArmSmmuMaster m_bypass = master(kBypassSid);
        attach_ste(m_bypass, {make_bypass_ste(smmu.features())});
        // S1: a DMA domain, IOVA 0x1000 -> buffer 1.
        ArmSmmuMaster m_s1 = master(kS1Sid);
        HwptPaging dma_domain(iommufd, smmu, DomainStage::S1, arch::Granule::K4, 48, false);
        dma_domain.map(0x1000, kRam + 0x1000, 0x1000, PageAttrs{});
        attach_dev_paging(m_s1, dma_domain, arena);
        // S2: a VM's stage 2 (a nesting parent: the vIOMMU below uses it), its
        // RAM at IPA kGuestRam; the VM's device reads buffer 2 there.
        ArmSmmuMaster m_s2 = master(kS2Sid);
        HwptPaging vm(iommufd, smmu, DomainStage::S2, arch::Granule::K4, 40, /*nest_parent=*/true);
        vm.map(kGuestRam, kRam + (16 << 20), kGuestRamSize, PageAttrs{});
        vm.map(kGuestRam + kGuestRamSize, kRam + 0x2000, 0x1000, PageAttrs{});
        attach_dev_paging(m_s2, vm, arena);
        // Nested: the VMM gives the VM a vIOMMU; the guest kernel builds its CD
        // table and stage 1 (VA 0x5000 -> IPA of buffer 3) in its own RAM
        // and installs a vSTE for its vSID 0.
        ArmSmmuMaster m_nested = master(kNestedSid);
        Viommu vsmmu(iommufd, smmu, vm);
        vsmmu.add_vdevice(0, m_nested);
        vm.map(kGuestRam + kGuestRamSize + 0x1000, kRam + 0x3000, 0x1000, PageAttrs{});
        TableArena guest_ram("guest", kGuestRam, kRam + (16 << 20), kGuestRamSize);
        PageTable guest_s1(memory, guest_ram, 1, arch::Granule::K4, 48);
        guest_s1.map(0x5000, kGuestRam + kGuestRamSize + 0x1000, 0x1000, PageAttrs{});
        const uint64_t cdtab = guest_ram.alloc(arch::ContextDescriptor::kBytes, 64);
        const arch::ContextDescriptor cd = make_s1_cd(smmu.features(), guest_s1, /*asid=*/7);
        memory.write_words(guest_ram.to_pa(cdtab), cd.w.data(), arch::ContextDescriptor::kDwords);
        arch::Ste vste;
        vste.set(arch::ste::V, 1);
        vste.set(arch::ste::Config, static_cast<uint64_t>(arch::SteConfig::S1Trans));
        vste.set(arch::ste::S1ContextPtr, cdtab);
        HwptNested nested(vsmmu, vste);
        attach_dev_nested(m_nested, nested);

        expect(bypass, kRam, 0xda7a0000);
        expect(s1_dev, 0x1000, 0xda7a0001);
        expect(s2_dev, kGuestRam + kGuestRamSize, 0xda7a0002);
        expect(nested_dev, 0x5000, 0xda7a0003);

        // Unmap, with the invalidation the kernel issues: iommu_unmap ->
        // arm_smmu_iotlb_sync (S1: TLBI_NH_VA; S2: TLBI_S2_IPA, then
        // TLBI_NH_ALL for a nesting parent), and the guest's own TLBI_NH_VA
        // through IOMMU_HWPT_INVALIDATE (arm_vsmmu_cache_invalidate).
        dma_domain.unmap(0x1000, 0x1000);
        vm.unmap(kGuestRam + kGuestRamSize, 0x1000);
        guest_s1.unmap(0x5000, 0x1000);
        vsmmu.cache_invalidate({arch::Command::make(arch::Opcode::TLBI_NH_VA,
                                                    {{arch::cmd::ASID, 7}, {arch::cmd::VA, 0x5000}, {arch::cmd::Leaf, 1}})});
        expect(s1_dev, 0x1000, 0);
        expect(s2_dev, kGuestRam + kGuestRamSize, 0);
        expect(nested_dev, 0x5000, 0);

        for (const arch::EventRecord& e : smmu.drain_events())  // arm_smmu_evtq_thread
            std::printf("event %.*s SID %llu input 0x%llx%s\n", static_cast<int>(arch::event_info(e.id())->name.size()),
                        arch::event_info(e.id())->name.data(),
                        static_cast<unsigned long long>(e.get(arch::evt::SID)),
                        static_cast<unsigned long long>(e.get(arch::evt::InputAddr)),
                        e.get(arch::evt::S2) ? " (stage 2)" : "");
        const CmdqCounters& c = smmu.counters();
        const auto n = [&](arch::Opcode op) { return static_cast<unsigned long long>(c.by_opcode[static_cast<unsigned>(op)]); };
        std::printf("commands: %llu CFGI_STE, %llu TLBI_NH_VA, %llu TLBI_S2_IPA, %llu TLBI_NH_ALL, %llu CMD_SYNC\n",
                    n(arch::Opcode::CFGI_STE), n(arch::Opcode::TLBI_NH_VA), n(arch::Opcode::TLBI_S2_IPA),
                    n(arch::Opcode::TLBI_NH_ALL), n(arch::Opcode::SYNC));
        std::printf("done at %s: %s\n", sc_time_stamp().to_string().c_str(), errors ? "FAILED" : "ok");
    }
};

int sc_main(int, char*[]) {
    smmu::Memory memory("memory", /*pa_bits=*/40, sc_time(50, SC_NS), sc_time(50, SC_NS));
    smmu::Smmu smmu("smmu", smmu::SmmuCoreParams{});
    Dma bypass("bypass"), s1("s1"), s2("s2"), nested("nested");
    Cpu cpu("cpu", bypass, s1, s2, nested);
    cpu.mmio.bind(smmu.mmio);
    cpu.mem.bind(memory.socket);
    smmu.downstream.bind(memory.socket);
    const uint32_t sids[] = {kBypassSid, kS1Sid, kS2Sid, kNestedSid};
    Dma* masters[] = {&bypass, &s1, &s2, &nested};
    for (unsigned port = 0; port < 4; ++port) {
        masters[port]->socket.bind(smmu.upstream);  // upstream port `port`
        smmu.set_default_stream(port, sids[port]);
    }
    sc_start();
    return cpu.errors == 0 ? 0 : 1;
}
