// Reads the platform config: YAML files merged in order, then --set overrides.
// The format is the schema in config.h; every error is an InputError naming
// the file and line (or the --set argument) and the field.
#pragma once
#include <string>
#include <vector>

#include "testbenches/config/config.h"

namespace smmu::sim {

// `files` are applied in order: a later file's maps merge key by key into the
// earlier ones, its scalars and lists replace theirs whole. Each of `sets` is
// "key.path=value" (value in YAML flow syntax; a numeric path component indexes
// a list) and overrides the merged files the same way. The result is validated
// as a whole before it is returned.
Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& sets);

}  // namespace smmu::sim
