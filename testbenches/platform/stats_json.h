// The parts of the --stats JSON that describe one SMMU (README, "Reading the
// stats"), shared by `run` (Platform::stats) and `replay` so both write the
// same keys the same way.
#pragma once
#include <cstdint>

#include <nlohmann/json.hpp>

#include "models/smmu/smmu_core.h"
#include "testbenches/traffic/latency_histogram.h"

namespace smmu::sim {

// pmu.*: `cycles` is the PMCG cycle counter over the window the caller measures.
nlohmann::ordered_json pmu_json(const SmmuCore& core, uint64_t cycles);
// caches.<name>.*, each cache present.
nlohmann::ordered_json caches_json(const SmmuCore& core);
// walks.{count, reads_histogram, merged_misses}.
nlohmann::ordered_json walks_json(const SmmuCore& core);
// latency_ns.{mean, p50, p99, max, histogram} of a histogram in ps.
nlohmann::ordered_json latency_json(const LatencyHistogram& latency);
// events: records written, by name.
nlohmann::ordered_json events_json(const SmmuStats& s);
// events_dropped.{eventq_disabled, overflow}.
nlohmann::ordered_json events_dropped_json(const SmmuStats& s);
// ats.{translation_requests, completions, translated, atc_inv, sync_wait_for_atc}
// (README, "ATS"); null when the SMMU saw no ATS traffic and sent no ATC_INV.
nlohmann::ordered_json ats_json(const SmmuCore& core);
// cmdq.{by_opcode, errors, invalidated_entries, sync_latency_ns}.
nlohmann::ordered_json cmdq_json(const SmmuCore& core);

// PRI and stalls of one instance: `pri` (page requests, PRI queue drops,
// PRI_RESPs and their latency from the group's first request) and `stalls`
// (held, refused, RESUMEd, STALL_TERMed, and the time held).
nlohmann::ordered_json pri_stall_json(const SmmuCore& core);

}  // namespace smmu::sim
