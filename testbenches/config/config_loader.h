// Reads the platform config: YAML files merged in order, then --set overrides.
// The format is the schema in config.h; every error is an InputError naming
// the file and line (or the --set argument) and the field.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testbenches/config/change.h"
#include "testbenches/config/config.h"

namespace smmu::sim {

// `files` are applied in order: a later file's maps merge key by key into the
// earlier ones, its scalars and lists replace theirs whole. Each of `sets` is
// "key.path=value" (value in YAML flow syntax; a numeric path component indexes
// a list) and overrides the merged files the same way. The result is validated
// as a whole before it is returned. `merged_json`, when given, receives the
// document it was built from as JSON, every scalar the string it was written
// as (`run --stats` records it under run.config), from the same read.
Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& sets,
                   nlohmann::ordered_json* merged_json = nullptr);

// The document load_config builds from (files merged, then `sets`),
// unvalidated, as YAML (`sweep --emit` writes it as a job's one
// self-contained config).
std::string merged_config_yaml(const std::vector<std::string>& files, const std::vector<std::string>& sets);

// A trace's map/unmap record against the config, with the checks and messages a
// config mapping gets ("file:line: field: problem", InputError): a known target,
// addresses aligned to its granule, inside the VA/IPA space, a PA inside the PA
// space and outside the host's table region, no wrap past 2^64. Overlaps with
// what earlier records mapped are found by the host when it applies the record.
// guest_inv records pass (the host checks them against its vIOMMUs).
void check_change(const Config& config, const ChangeRecord& change);

}  // namespace smmu::sim
