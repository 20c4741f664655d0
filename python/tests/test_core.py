"""Tests of smmusim.core, the pybind11 module over the C++ core (python/core_module.cpp), imported
from the build (PYTHONPATH=build/python), against the same build's smmu-sim ($SMMUSIM_BIN) and the
encodings unit_arch.cpp checks. Run from the source directory by ctest (python_core)."""
import os
import re
import subprocess
import tempfile
import unittest

import smmusim

core = smmusim.core


def smmu_sim(*args):
    return subprocess.run([os.environ["SMMUSIM_BIN"]] + list(args), capture_output=True, text=True)


def translate_steps(text):
    """`smmu-sim translate`'s step lines as (what, level, input, descriptor at, value)."""
    steps = []
    for line in text.splitlines():
        m = re.match(r"\s+\d+\s+(\S+)\s+(\S+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$", line)
        if m:
            steps.append((m.group(1), None if m.group(2) == "-" else int(m.group(2)),
                          int(m.group(3), 16), int(m.group(4), 16), int(m.group(5), 16)))
    return steps


class CoreTest(unittest.TestCase):
    def test_the_module_is_the_builds(self):
        self.assertIsNotNone(core, "smmusim._core not importable from PYTHONPATH")

    def test_decode_ste(self):
        # unit_arch.cpp "decode ste".
        f = core.decode("ste", [0xF80FEDCBA987656F, 0x00001000980800F6, 0x066DB9580000BEEF, 0xFFF0876543210FFF])
        self.assertEqual(list(f)[:3], ["V", "Config", "S1Fmt"])
        self.assertEqual((f["V"], f["Config"], f["S1Fmt"], f["S1CDMax"]), (1, 7, 2, 31))
        self.assertEqual(f["S1ContextPtr"], 0x000FEDCBA9876540)  # a byte address
        self.assertEqual((f["S2VMID"], f["S2T0SZ"], f["S2SL0"], f["S2TG"]), (0xBEEF, 24, 1, 2))
        self.assertEqual(f["S2TTB"], 0x0000876543210FF0)
        self.assertEqual(smmusim.decode("ste", "0xF80FEDCBA987656F", "0x00001000980800F6", "0x066DB9580000BEEF",
                                        "0xFFF0876543210FFF"), f)

    def test_decode_is_smmu_sims(self):
        import json
        for kind, words in [("cmd", ["0xDEADBEEF0FC01046", "0x0000123456789ABC"]),
                            ("event", ["0x0000123400056810", "0x0000028A00000000", "0xFFFF800012345678",
                                       "0x0000000987654000"]),
                            ("cd", ["1234EA4DC0903599", "123456780"]),
                            ("s2pte", ["0x400001002007ff"])]:
            p = smmu_sim("decode", kind, *words)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(core.decode(kind, [int(w, 16) for w in words]), json.loads(p.stdout))

    def test_encode_inverts_decode(self):
        # CMD_SYNC, CS=IRQ, MSH=3, MSIAttr=0xF, MSIData, MSIAddr (unit_arch.cpp "decode cmd").
        sync = [0xDEADBEEF0FC01046, 0x0000123456789ABC]
        fields = core.decode("cmd", sync)
        self.assertEqual((fields["name"], fields["CS"], fields["MSIData"]), ("SYNC", 1, 0xDEADBEEF))
        self.assertEqual(core.encode("cmd", fields), sync)
        self.assertEqual(core.encode("cmd", {"name": "CFGI_STE", "SID": 16, "Leaf": 1}), [0x0000001000000003, 0x1])
        self.assertEqual(core.encode("event", {"name": "F_TRANSLATION", "SID": 5, "RnW": 1, "InputAddr": 0x90000000}),
                         [0x0000000500000010, 0x0000000800000000, 0x90000000, 0])
        # The nested-cold STE as the host wrote it (smmu-sim translate's step 1): V, Config=S1+S2.
        ste = core.encode("ste", {"V": 1, "Config": 7, "S2VMID": 1})
        self.assertEqual(ste[0], 0xF)
        self.assertEqual(len(ste), 8)
        leaf = core.decode("s2pte", [0x400001002007FF])
        self.assertEqual((leaf["Valid"], leaf["Table"], leaf["S2AP"], leaf["AF"], leaf["OA"]), (1, 1, 3, 1, 0x100200000))
        self.assertEqual(core.encode("s2pte", leaf), [0x400001002007FF])

    def test_encode_names_what_is_wrong(self):
        with self.assertRaisesRegex(core.InputError, "encode ste: unknown field 'VMID'"):
            core.encode("ste", {"VMID": 1})
        with self.assertRaisesRegex(core.InputError, r"encode ste: S2VMID 0x10000 does not fit bits \[15:0\] of word 2"):
            core.encode("ste", {"S2VMID": 0x10000})
        with self.assertRaisesRegex(core.InputError, "encode cmd: name \"NOPE\" is not one the model knows"):
            core.encode("cmd", {"name": "NOPE"})
        with self.assertRaisesRegex(ValueError, "encode cd: ASID \"-1\" is not a non-negative integer"):
            core.encode("cd", {"ASID": -1})
        with self.assertRaisesRegex(ValueError, "decode: unknown structure 'pte'"):
            core.decode("pte", [1])

    def test_translate_is_smmu_sim_translate(self):
        for config, device, iova, outcome in [("configs/examples/nested-cold.yaml", "dev0", 0x10000040, "translated"),
                                              ("configs/examples/four-modes.yaml", "nic", 0x7000000, "faulted")]:
            t = core.translate([config], device, iova)
            p = smmu_sim("translate", "--config", config, "--device", device, "--iova", hex(iova))
            self.assertEqual(p.returncode, 0 if outcome == "translated" else 1, p.stderr)
            self.assertEqual(t["outcome"], outcome)
            self.assertEqual([(r["what"], r["level"], r["input"], r["address"], r["value"]) for r in t["reads"]],
                             translate_steps(p.stdout))
            self.assertIn("  reads: %d table walk, %d configuration\n" % (t["walk_reads"], t["config_reads"]), p.stdout)
        t = core.translate(["configs/examples/nested-cold.yaml"], "dev0", 0x10000040)
        self.assertEqual((t["pa"], t["ipa"], t["size"]), (0x100200040, 0x80200040, 0x1000))
        self.assertEqual((t["read"], t["write"], t["exec"]), (True, True, False))
        self.assertEqual((t["walk_reads"], t["config_reads"], len(t["reads"])), (28, 2, 30))

    def test_validate_config_gives_the_loaders_message(self):
        self.assertEqual(core.validate_config(["configs/examples/nested-cold.yaml"]), [])
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "bad.yaml")
            with open("configs/examples/nested-cold.yaml") as f:
                text = f.read()
            with open(bad, "w") as f:
                f.write(text.replace("read_latency_ns: 100", "read_latency_ns: fast"))
            errors = core.validate_config(["configs/examples/nested-cold.yaml", bad])
            self.assertEqual(len(errors), 1)
            self.assertRegex(errors[0], r"^%s:\d+: memory\.read_latency_ns" % re.escape(bad))
            p = smmu_sim("run", "--config", "configs/examples/nested-cold.yaml", "--config", bad)
            self.assertEqual(p.returncode, 2)
            self.assertIn(errors[0], p.stderr)
        errors = core.validate_config(["configs/examples/nested-cold.yaml"], ["smmu.bogus=1"])
        self.assertEqual(len(errors), 1)
        self.assertIn("unknown key 'smmu.bogus'", errors[0])


if __name__ == "__main__":
    unittest.main()
