// smmusim._core: smmu-sim's plain-C++ core in Python, without SystemC (README, "Python"):
// decode and encode every structure (`smmu-sim decode`), one cold translation over the
// memory image the host driver model programs from a config (`smmu-sim translate`), and
// the config loader's validation. Bad input raises smmusim.InputError (a ValueError)
// with the message the command prints: file, line and field.
#include <optional>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "testbenches/cli/decode.h"
#include "testbenches/cli/translate.h"
#include "testbenches/config/config_loader.h"
#include "testbenches/config/input_error.h"

namespace py = pybind11;

namespace {

using smmu::sim::InputError;

// decode()'s JSON (unsigned numbers and names) as a dict, in the architecture's order.
py::dict to_dict(const nlohmann::ordered_json& j) {
    py::dict out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it->is_string()) out[py::str(it.key())] = it->get<std::string>();
        else out[py::str(it.key())] = it->get<uint64_t>();
    }
    return out;
}

nlohmann::ordered_json from_dict(const py::dict& fields) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const auto& item : fields) {
        const std::string key = py::str(item.first);
        if (py::isinstance<py::str>(item.second)) {
            out[key] = item.second.cast<std::string>();
        } else if (py::isinstance<py::int_>(item.second) && !py::isinstance<py::bool_>(item.second)) {
            try {
                out[key] = item.second.cast<uint64_t>();
            } catch (const py::cast_error&) {
                out[key] = std::string(py::repr(item.second));  // negative or over 64 bits: encode() names it
            }
        } else {
            throw InputError("encode: " + key + " is " + std::string(py::str(py::type::of(item.second))) +
                             ", not an integer or a name");
        }
    }
    return out;
}

const char* outcome_name(smmu::TranslationResult::Outcome o) {
    switch (o) {
        case smmu::TranslationResult::Outcome::Translated: return "translated";
        case smmu::TranslationResult::Outcome::Bypassed: return "bypassed";
        case smmu::TranslationResult::Outcome::Aborted: return "aborted";
        case smmu::TranslationResult::Outcome::Faulted: break;
    }
    return "faulted";
}

py::dict translate(const std::vector<std::string>& configs, const std::string& device, uint64_t iova,
                   std::optional<uint32_t> ssid, bool write, const std::vector<std::string>& sets) {
    const smmu::sim::Config cfg = smmu::sim::load_config(configs, sets);
    smmu::sim::TranslateRequest tr;
    tr.device = device;
    tr.iova = iova;
    tr.ssv = ssid.has_value();
    tr.ssid = ssid.value_or(0);
    tr.write = write;
    const smmu::sim::TranslateWalk walk = smmu::sim::translate_cold(cfg, tr);
    const smmu::TranslationResult& r = walk.result;

    py::list reads;
    for (const smmu::MemAccess& a : walk.reads) {
        py::dict read;
        read["what"] = std::string(smmu::access_kind_name(a.kind));
        read["level"] = smmu::is_config_access(a.kind) ? py::object(py::none()) : py::int_(a.level);
        read["input"] = a.input;
        read["address"] = a.pa;
        read["value"] = a.value;
        read["ok"] = a.ok;
        reads.append(read);
    }
    py::dict out;
    out["device"] = walk.device->name;
    out["sid"] = walk.device->sid;
    out["outcome"] = outcome_name(r.outcome);
    if (r.ok()) {
        out["pa"] = r.pa;
        out["ipa"] = r.ipa;
        out["size"] = r.size;
        out["read"] = r.perms.read;
        out["write"] = r.perms.write;
        out["exec"] = r.perms.exec;
    }
    if (r.records_event()) out["event"] = to_dict(smmu::sim::describe(smmu::make_event(walk.request, r.fault)));
    out["walk_reads"] = walk.walk_reads;
    out["config_reads"] = walk.config_reads;
    out["reads"] = reads;
    return out;
}

std::vector<std::string> validate_config(const std::vector<std::string>& configs, const std::vector<std::string>& sets) {
    try {
        smmu::sim::load_config(configs, sets);
    } catch (const InputError& e) {
        return {e.what()};
    }
    return {};
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "smmu-sim's plain-C++ core without SystemC: decode/encode, translate, validate_config";
    py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

    m.def("decode", [](const std::string& kind, const std::vector<uint64_t>& words) {
              return to_dict(smmu::sim::decode_words(kind, words));
          },
          py::arg("kind"), py::arg("words"),
          "The fields of a structure (ste, cd, cmd, event, s1pte, s2pte) from its 64-bit words, word 0 "
          "first, missing words zero: smmu-sim decode's dict.");
    m.def("encode", [](const std::string& kind, const py::dict& fields) {
              return smmu::sim::encode(kind, from_dict(fields));
          },
          py::arg("kind"), py::arg("fields"),
          "The 64-bit words of a structure from its fields (decode's dict; fields not named are zero; "
          "a command by opcode or name, an event by EventID or name).");
    m.def("translate", &translate, py::arg("configs"), py::arg("device"), py::arg("iova"),
          py::arg("ssid") = py::none(), py::arg("write") = false, py::arg("sets") = std::vector<std::string>{},
          "One cold translation, as smmu-sim translate: the host driver model programs the config's "
          "platform into memory, then the device's SMMU translates IOVA. Returns outcome, pa, ipa, size, "
          "permissions (or the event), and every read.");
    m.def("validate_config", &validate_config, py::arg("configs"), py::arg("sets") = std::vector<std::string>{},
          "The config files merged in order with the key=value overrides, validated as smmu-sim run does: "
          "[] when valid, else the loader's message (file:line: field: problem; the loader stops at the "
          "first).");
}
