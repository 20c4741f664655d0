"""Tests of the smmusim package against the build's smmu-sim ($SMMUSIM_BIN), run from the source
directory by ctest (python_smmusim). Each simulation is an smmu-sim process of its own."""
import os
import tempfile
import unittest

import smmusim


def rows(t):
    """A table as a list of dicts, whether pandas made it a DataFrame or not."""
    return t.to_dict("records") if hasattr(t, "to_dict") else t


class SmmuSimTest(unittest.TestCase):
    def test_run_returns_the_stats_and_what_made_them(self):
        s = smmusim.run(["configs/examples/nested-cold.yaml", "configs/examples/nested-warm.yaml"],
                        trace="traces/examples/same-page-twice.trace", sets=["memory.read_latency_ns=50"])
        # The warm IOTLB: the second DMA to the page hits (as system_sweep_tests' first case).
        self.assertEqual(s["pmu"]["transaction"], 2)
        self.assertEqual(s["pmu"]["tlb_miss"], 1)
        self.assertEqual(s["run"]["overrides"], ["memory.read_latency_ns=50"])
        self.assertEqual(s["run"]["config"]["memory"]["read_latency_ns"], "50")
        h = rows(smmusim.latency_histogram(s))
        self.assertEqual(sum(r["transactions"] for r in h), 2)
        self.assertEqual(max(r["latency_ns"] for r in h), s["latency_ns"]["max"])

    def test_bad_input_raises_with_the_exit_code_and_message(self):
        with self.assertRaises(smmusim.SmmuSimError) as e:
            smmusim.run("configs/examples/nested-cold.yaml", sets=["smmu.bogus=1"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("unknown key 'smmu.bogus'", e.exception.message)

    def test_stale_translations_raise_unless_allowed(self):
        args = dict(trace="testbenches/tests/data/system/stale.trace",
                    sets=["host.check_invalidations=true", "host.bug_skip_s2_tlbi=true"])
        with self.assertRaises(smmusim.SmmuSimError) as e:
            smmusim.run("configs/seed/shared-s2-direct.yaml", **args)
        self.assertEqual(e.exception.code, 4)
        s = smmusim.run("configs/seed/shared-s2-direct.yaml", allow_stale=True, **args)
        self.assertEqual(s["checker"]["mismatches"], 1)

    def test_decode_and_translate(self):
        # CMD_SYNC (opcode 0x46) with CS=SEV (bits 13:12 = 2).
        cmd = smmusim.decode("cmd", 0x2046)
        self.assertEqual(cmd["name"], "SYNC")
        self.assertEqual(cmd["CS"], 2)
        ok, steps = smmusim.translate("configs/examples/nested-cold.yaml", "dev0", 0x10000000)
        self.assertTrue(ok)
        self.assertIn("result: translated PA 0x100200000 (IPA 0x80200000", steps)

    def test_sweep_and_emit_collect_give_the_same_table(self):
        kw = dict(configs=["configs/examples/nested-cold.yaml", "configs/examples/nested-warm.yaml"],
                  trace="traces/examples/same-page-twice.trace",
                  vary={"smmu.caches.iotlb.entries": [0, 16]}, metrics=["pmu.tlb_miss", "caches.iotlb.hit_rate"])
        local = rows(smmusim.sweep(jobs=1, **kw))
        self.assertEqual(local, [{"smmu.caches.iotlb.entries": 0, "pmu.tlb_miss": 2, "caches.iotlb.hit_rate": None},
                                 {"smmu.caches.iotlb.entries": 16, "pmu.tlb_miss": 1, "caches.iotlb.hit_rate": 50}])
        with tempfile.TemporaryDirectory() as tmp:
            jobs = os.path.join(tmp, "jobs")
            smmusim.sweep(emit=jobs, **kw)
            with open(os.path.join(jobs, "jobs.txt")) as f:
                for line in f:  # what GNU parallel or a Slurm task would run
                    self.assertEqual(os.system(line), 0)
            self.assertEqual(rows(smmusim.collect(jobs)), local)


if __name__ == "__main__":
    unittest.main()
