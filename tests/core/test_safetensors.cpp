#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/safetensors.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {
fs::path temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "iapt_tests";
  fs::create_directories(dir);
  return dir / name;
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string header_file(const std::string& json, const std::string& data) {
  std::string s(8, '\0');
  uint64_t n = json.size();
  std::memcpy(s.data(), &n, 8);
  return s + json + data;
}
}  // namespace

TEST_CASE("safetensors: write then read returns the same tensors and metadata", "[core][safetensors]") {
  fs::path p = temp_path("roundtrip.safetensors");
  std::map<std::string, Tensor> in{{"a.weight", randn({3, 4})},
                                   {"b", randn({2}, DType::F64)},
                                   {"ids", from_ints({1, -2, 3}, {3})},
                                   {"scalar", scalar_tensor(5.0)},
                                   {"view", arange(6).reshape({2, 3}).transpose(0, 1)}};
  save_safetensors(p.string(), in, {{"format", "pt"}});
  CHECK_FALSE(fs::exists(p.string() + ".tmp"));
  SafetensorsFile out = load_safetensors(p.string());
  CHECK(out.metadata.at("format") == "pt");
  REQUIRE(out.tensors.size() == in.size());
  for (const auto& [name, t] : in) {
    const Tensor& r = out.tensors.at(name);
    CHECK(r.shape() == t.shape());
    CHECK(r.dtype() == t.dtype());
    CHECK(r.to_vector() == t.to_vector());
  }
}

TEST_CASE("safetensors: F16 and BF16 load as stored, I32 widens to I64", "[core][safetensors]") {
  fs::path p = temp_path("halves.safetensors");
  // F16 1.0 = 0x3c00, -2.0 = 0xc000; BF16 1.5 = 0x3fc0; I32 -7
  std::string data = std::string("\x00\x3c\x00\xc0", 4) + std::string("\xc0\x3f", 2) + std::string("\xf9\xff\xff\xff", 4);
  std::string json = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},)"
                     R"("i":{"dtype":"I32","shape":[1],"data_offsets":[6,10]}})";
  write_bytes(p, header_file(json, data));
  auto f = load_safetensors(p.string());
  CHECK(f.tensors.at("h").dtype() == DType::F16);
  CHECK(f.tensors.at("b").dtype() == DType::BF16);
  CHECK(f.tensors.at("h").to_vector() == std::vector<double>{1.0, -2.0});
  CHECK(f.tensors.at("b").to_vector() == std::vector<double>{1.5});
  CHECK(f.tensors.at("i").dtype() == DType::I64);
  CHECK(f.tensors.at("i").to_vector() == std::vector<double>{-7});
  // what the file holds stays known, for messages about it
  CHECK(f.stored_dtypes == std::map<std::string, std::string>{{"h", "F16"}, {"b", "BF16"}, {"i", "I32"}});
}

TEST_CASE("safetensors: bad files give errors naming the file and tensor", "[core][safetensors]") {
  fs::path p = temp_path("bad.safetensors");
  SECTION("missing file") {
    CHECK_THROWS_WITH(load_safetensors((p.parent_path() / "nope.safetensors").string()),
                      Catch::Contains("nope.safetensors: cannot open"));
  }
  SECTION("truncated data") {
    write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("truncated: tensor 'w'"));
  }
  SECTION("offsets disagree with the shape") {
    write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", std::string(16, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("tensor 'w' of shape [3]"));
  }
  SECTION("unsupported dtype") {
    write_bytes(p, header_file(R"({"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("tensor 'w' has dtype C64"));
  }
  SECTION("header fields of the wrong type") {
    write_bytes(p, header_file(R"({"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()),
                      Catch::Contains("bad.safetensors: tensor 'w': expected a dtype string, a shape and data_offsets"));
    write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("tensor 'w': expected a dtype string"));
    write_bytes(p, header_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", std::string(8, '\0')));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("tensor 'w' has bad data_offsets [-4,0]"));
  }
  SECTION("header length past the end") {
    write_bytes(p, std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
    CHECK_THROWS_WITH(load_safetensors(p.string()), Catch::Contains("truncated: header length 255"));
  }
}

TEST_CASE("safetensors: loaded tensors map the file copy-on-write", "[core][safetensors]") {
  fs::path p = temp_path("mapped.safetensors");
  save_safetensors(p.string(), {{"w", arange(8)}});
  {
    SafetensorsFile f = load_safetensors(p.string());
    Tensor w = f.tensors.at("w");
    CHECK(w.to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7});
    w.fill_(-1.0);  // an in-place update, as an optimizer makes
    CHECK(w.to_vector() == std::vector<double>(8, -1.0));
  }
  CHECK(load_safetensors(p.string()).tensors.at("w").to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7});
}
