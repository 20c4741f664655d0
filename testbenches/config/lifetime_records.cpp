#include "testbenches/config/lifetime_records.h"


#include "testbenches/config/input_error.h"
#include "testbenches/config/numbers.h"

namespace smmu::sim {

namespace {
using Op = LifetimeOp::Op;

struct Syntax {
    // A literal (data() ends in NUL); a view so that comparing every DMA
    // record's device name with each costs no strlen.
    std::string_view word;
    Op op;
    std::vector<const char*> required, optional;
    const char* usage;
};

const std::vector<Syntax>& syntax() {
    static const std::vector<Syntax> s = {
        {"hwpt_alloc", Op::HwptAlloc, {"vm"}, {"smmu"}, "<t> hwpt_alloc <name> vm=<vm> [smmu=<smmu>]"},
        {"viommu_alloc", Op::ViommuAlloc, {"hwpt"}, {"smmu"}, "<t> viommu_alloc <name> hwpt=<s2> [smmu=<smmu>]"},
        {"vdevice_alloc", Op::VdeviceAlloc, {"viommu", "device", "vsid"}, {},
         "<t> vdevice_alloc <name> viommu=<viommu> device=<device> vsid=<n>"},
        {"nested_alloc", Op::NestedAlloc, {"viommu", "vste"}, {"device"},
         "<t> nested_alloc <name> viommu=<viommu> vste=<abort|bypass|s1> [device=<device>]"},
        {"veventq_alloc", Op::VeventqAlloc, {"viommu", "depth"}, {}, "<t> veventq_alloc <name> viommu=<viommu> depth=<n>"},
        {"destroy", Op::Destroy, {}, {}, "<t> destroy <name>"},
        {"attach", Op::Attach, {}, {}, "<t> attach <device> <abort|bypass|hwpt>"},
        {"detach", Op::Detach, {}, {}, "<t> detach <device>"},
        {"vm_start", Op::VmStart, {}, {}, "<t> vm_start <vm>"},
        {"vm_stop", Op::VmStop, {}, {}, "<t> vm_stop <vm>"},
    };
    return s;
}

const Syntax* find(std::string_view word) {
    // Every DMA record's device name is asked about: most are ruled out by
    // their length alone.
    static const uint64_t lengths = [] {
        uint64_t m = 0;
        for (const Syntax& s : syntax()) m |= s.word.size() < 64 ? uint64_t{1} << s.word.size() : 0;
        return m;
    }();
    if (word.size() < 64 && !(lengths >> word.size() & 1)) return nullptr;
    for (const Syntax& s : syntax())
        if (word == s.word) return &s;
    return nullptr;
}

[[noreturn]] void fail(const std::string& at, const std::string& field, const std::string& problem) {
    throw InputError(at + ": " + field + ": " + problem);
}
}  // namespace

bool is_lifetime_keyword(std::string_view word) { return find(word) != nullptr; }

const char* lifetime_op_name(Op op) {
    for (const Syntax& s : syntax())
        if (s.op == op) return s.word.data();
    return "?";
}

ChangeRecord parse_lifetime(const std::vector<std::string>& tok, const std::string& at) {
    const Syntax& s = *find(tok.at(1));
    ChangeRecord c;
    c.kind = ChangeRecord::Kind::Lifetime;
    c.where = at;
    LifetimeOp& l = c.lifetime;
    l.op = s.op;
    const char* first = s.op == Op::Attach || s.op == Op::Detach ? "device"
                        : s.op == Op::VmStart || s.op == Op::VmStop ? "vm"
                                                                    : "name";
    if (tok.size() < 3) fail(at, first, std::string("missing (expected ") + s.usage + ")");
    l.name = tok[2];
    if (l.name.find('=') != std::string::npos)
        fail(at, first, "expected a name, got '" + l.name + "' (" + s.usage + ")");
    std::size_t i = 3;
    if (s.op == Op::Attach) {
        if (tok.size() < 4) fail(at, "hwpt", std::string("missing (expected ") + s.usage + ")");
        l.target = tok[i++];
    }
    for (; i < tok.size(); ++i) {
        const std::size_t eq = tok[i].find('=');
        const std::string key = eq == std::string::npos ? tok[i] : tok[i].substr(0, eq);
        bool known = false;
        for (const char* k : s.required) known = known || key == k;
        for (const char* k : s.optional) known = known || key == k;
        if (eq == std::string::npos || !known)
            fail(at, "token " + std::to_string(i + 1), "unexpected '" + tok[i] + "' (" + s.usage + ")");
        if (l.args.count(key)) fail(at, key, "given twice");
        const std::string value = tok[i].substr(eq + 1);
        if (value.empty()) fail(at, key, "empty");
        l.args[key] = value;
    }
    for (const char* k : s.required)
        if (!l.args.count(k)) fail(at, k, std::string("missing (expected ") + s.usage + ")");
    if (auto v = l.args.find("vsid"); v != l.args.end()) {
        const std::optional<uint64_t> n = parse_uint(v->second);
        if (!n || *n > UINT32_MAX) fail(at, "vsid", "expected a 32-bit StreamID, got '" + v->second + "'");
    }
    if (auto v = l.args.find("depth"); v != l.args.end()) {
        const std::optional<uint64_t> n = parse_uint(v->second);
        if (!n || *n == 0 || *n > INT32_MAX) fail(at, "depth", "expected 1..2^31-1 events, got '" + v->second + "'");
    }
    if (auto v = l.args.find("vste"); v != l.args.end()) {
        if (v->second != "abort" && v->second != "bypass" && v->second != "s1")
            fail(at, "vste", "expected abort, bypass or s1, got '" + v->second + "'");
        if (v->second == "s1" && !l.args.count("device"))
            fail(at, "device", "missing: vste=s1 takes the guest's CD table of a device's contexts");
    }
    return c;
}

void check_lifetime(const Config& c, const ChangeRecord& ch) {
    const LifetimeOp& l = ch.lifetime;
    auto device = [&](const std::string& name, const char* field) {
        const DeviceConfig* d = c.find_device(name);
        if (!d) fail(ch.where, field, "unknown device '" + name + "'");
        return d;
    };
    auto vm = [&](const std::string& name, const char* field) {
        if (!c.find_vm(name)) fail(ch.where, field, "unknown vm '" + name + "'");
    };
    if (auto s = l.args.find("smmu"); s != l.args.end() && c.smmu_index(s->second) < 0)
        fail(ch.where, "smmu", "unknown SMMU instance '" + s->second + "'");
    if (auto v = l.args.find("vm"); v != l.args.end()) vm(v->second, "vm");
    if (auto d = l.args.find("device"); d != l.args.end()) {
        const DeviceConfig* dev = device(d->second, "device");
        if (l.args.count("vste") && l.args.at("vste") == "s1" && dev->contexts.empty())
            fail(ch.where, "device", "device " + dev->name + " has no contexts (the guest's stage 1 of vste=s1)");
    }
    switch (l.op) {
        case Op::Attach:
        case Op::Detach: {
            const DeviceConfig* d = device(l.name, "device");
            if (d->attach == AttachMode::S1)
                fail(ch.where, "device", "device " + d->name +
                                             " is a host DMA device (attach: s1): its domain is the kernel's, not "
                                             "an iommufd object");
            break;
        }
        case Op::VmStart:
        case Op::VmStop: vm(l.name, "vm"); break;
        default: break;
    }
}

}  // namespace smmu::sim
