// System tests of scripts/plot.py (README, "Plots"): PNGs from a real run's
// stats and from a sweep's CSV, each smmu-sim run a process of its own.
// Skipped (with a warning) where Debian's python3-matplotlib is missing.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "run_command.h"

namespace {

using smmu_sim_test::Run;
using smmu_sim_test::slurp;
using smmu_sim_test::smmu_sim;

const std::string kBin = std::string(CMAKE_BINARY_DIR);

// The Python with Debian's python3-matplotlib: `python3`, or the system's
// own where another (a pyenv, a venv) comes first on PATH; "" for none.
const std::string& python() {
    static const std::string found = [] {
        for (const char* p : {"python3", "/usr/bin/python3"})
            if (std::system((std::string(p) + " -c 'import matplotlib' >/dev/null 2>&1").c_str()) == 0) return p;
        return "";
    }();
    return found;
}
bool has_matplotlib() {
    if (python().empty()) return false;
    setenv("SMMUSIM_PYTHON", python().c_str(), 1);  // for `smmu-sim plot`
    return true;
}

// `python3 scripts/plot.py ARGS` from the source directory, its stdout and exit code.
Run plot(const std::string& args) {
    // Named by process: ctest runs the test cases in parallel processes.
    const std::string tag = std::to_string(getpid());
    const std::string out = kBin + "/plot_stdout_" + tag + ".txt", err = kBin + "/plot_stderr_" + tag + ".txt";
    const std::string cmd = "cd '" + std::string(SMMUSIM_SOURCE_DIR) + "' && " + python() + " scripts/plot.py " + args +
                            " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

uint32_t be32(const std::string& s, std::size_t at) {
    uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
    return v;
}

// A PNG: the signature, then the IHDR chunk with a nonzero width and height.
void check_png(const std::string& path) {
    INFO(path);
    REQUIRE(std::filesystem::exists(path));
    const std::string png = slurp(path);
    REQUIRE(png.size() > 33);
    CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(png.compare(12, 4, "IHDR") == 0);
    CHECK(be32(png, 16) > 100);  // width
    CHECK(be32(png, 20) > 100);  // height
}

}  // namespace

TEST_CASE("plot.py stats: latency, cache and invalidation PNGs from a run", "[system][plot]") {
    if (!has_matplotlib()) {
        WARN("python3-matplotlib is not installed (scripts/deps.sh installs it): skipped");
        return;
    }
    const std::string stats = kBin + "/plot_run.json", dir = kBin + "/plot_run";
    std::filesystem::remove_all(dir);
    const Run r = smmu_sim("run --config configs/seed/shared-s2-proxy.yaml --trace traces/seed/mixed-dma.trace --quiet"
                           " --stats '" + stats + "'");
    REQUIRE(r.exit_code == 0);
    const Run p = plot("stats '" + stats + "' --out '" + dir + "'");
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(p.out == "wrote " + dir + "/latency.png\nwrote " + dir + "/caches.png\nwrote " + dir + "/invalidation.png\n");
    for (const char* png : {"latency.png", "caches.png", "invalidation.png"}) check_png(dir + "/" + png);
    // The same stats, the same bytes (no date or version in the file).
    const std::string first = slurp(dir + "/latency.png");
    REQUIRE(plot("stats '" + stats + "' --out '" + dir + "'").exit_code == 0);
    CHECK(slurp(dir + "/latency.png") == first);

    const Run bad = plot("stats configs/examples/nested-cold.yaml");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.rfind("plot.py: configs/examples/nested-cold.yaml: not JSON", 0) == 0);
}

TEST_CASE("plot.py sweep: metrics against a varied key from a sweep CSV", "[system][plot]") {
    if (!has_matplotlib()) {
        WARN("python3-matplotlib is not installed (scripts/deps.sh installs it): skipped");
        return;
    }
    const std::string csv = kBin + "/plot_sweep.csv", png = kBin + "/plot_sweep/sweep.png";
    std::filesystem::remove_all(kBin + "/plot_sweep");
    const Run r = smmu_sim(
        "sweep --config configs/examples/nested-cold.yaml --config configs/examples/nested-warm.yaml"
        " --trace traces/examples/same-page-twice.trace --vary smmu.caches.iotlb.entries=0,16"
        " --vary memory.read_latency_ns=50,100 --csv '" + csv + "'");
    REQUIRE(r.exit_code == 0);
    const std::string axes = " --x memory.read_latency_ns --y latency_ns.mean --y caches.iotlb.hit_rate";
    const Run p = plot("sweep '" + csv + "'" + axes + " --by smmu.caches.iotlb.entries --out '" + png + "'");
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(p.out == "wrote " + png + "\n");
    check_png(png);
    // `smmu-sim plot` runs the same script ($SMMUSIM_PYTHON: the Python that has matplotlib).
    std::filesystem::remove(png);
    const Run wired = smmu_sim("plot sweep '" + csv + "'" + axes + " --by smmu.caches.iotlb.entries --out '" + png + "'");
    CHECK(wired.exit_code == 0);
    CHECK(wired.out == "wrote " + png + "\n");
    check_png(png);
    // Without --by the other varied key would zigzag one line: an error naming the fix.
    Run bad = plot("sweep '" + csv + "'" + axes + " --out '" + png + "'");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err == "plot.py: " + csv + ":4: a second row with memory.read_latency_ns=50: another key varies; "
                     "name it with --by\n");
    bad = plot("sweep '" + csv + "' --x memory.read_latency_ns --y latency_ns.p98 --out '" + png + "'");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.rfind("plot.py: --y latency_ns.p98: no such column in " + csv, 0) == 0);
}

TEST_CASE("plot.py vmids: VMIDs in use over time from run --vmid-csv", "[system][plot]") {
    if (!has_matplotlib()) {
        WARN("python3-matplotlib is not installed (scripts/deps.sh installs it): skipped");
        return;
    }
    const std::string csv = kBin + "/plot_vmids.csv", png = kBin + "/plot_vmids/vmids.png";
    std::filesystem::remove_all(kBin + "/plot_vmids");
    const Run r = smmu_sim("run --config configs/examples/four-modes.yaml --trace "
                           "testbenches/tests/data/system/lifetime.trace --quiet --vmid-csv '" + csv + "'");
    REQUIRE(r.exit_code == 0);
    const Run p = plot("vmids '" + csv + "' --out '" + png + "'");
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    CHECK(p.out == "wrote " + png + "\n");
    check_png(png);
    // A sweep table is not a VMID table.
    const Run bad = plot("vmids configs/examples/four-modes.yaml --out '" + png + "'");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("not a VMID table") != std::string::npos);
}
