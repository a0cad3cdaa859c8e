#pragma once
// The JSON files a run and a sweep write (summary.json, selection.json, sweep.json), read back.
#include <filesystem>
#include <nlohmann/json.hpp>

namespace iapt::run {

// The parsed file; a missing, unreadable or malformed file stops with an error that names it.
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace iapt::run
