// Config interpolation: ${oc.env:VAR}, ${oc.env:VAR,default}, ${a.b.c}, \${; resolved in
// the plan before validation; every bad input one ConfigError naming file, line and key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "framework/config/interpolation.h"
#include "framework/config/loader.h"
#include "framework/core/error.h"
#include "framework/runner/plan.h"
#include "tests/framework/test_util.h"
#include "tests/framework/toy_components.h"

namespace frerec::config {
namespace {

using frerec::testing::TempDir;
using frerec::testing::write_text;

// A fixed environment, so tests do not depend on the machine's.
EnvironmentLookup environment(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

struct Resolved {
  YAML::Node root;
  std::string error;  // "" when it resolved
};

// Loads `text` as dir/exp.yaml with `overrides`, then resolves it.
Resolved resolve(const std::string& text, const std::map<std::string, std::string>& env = {},
                 const std::vector<std::string>& overrides = {}) {
  TempDir dir;
  write_text(dir / "exp.yaml", text);
  LoadedConfig loaded = load_config(dir / "exp.yaml", overrides);
  Resolved out;
  out.root = loaded.root;
  try {
    resolve_interpolations(out.root, loaded.provenance, environment(env));
  } catch (const ConfigError& e) {
    out.error = e.what();
  }
  return out;
}

TEST(Interpolation, EnvironmentVariablesWithAndWithoutDefault) {
  const auto r = resolve("data:\n  root: ${oc.env:DATA_ROOT}\n  cache: ${oc.env:CACHE_ROOT,/tmp/cache}\n"
                         "  empty: ${oc.env:NOPE,\"\"}\n  quoted: ${oc.env:NOPE, 'a b' }\n  none: ${oc.env:NOPE,null}\n",
                         {{"DATA_ROOT", "/data/brain tumor"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.root["data"]["root"].as<std::string>(), "/data/brain tumor");
  EXPECT_EQ(r.root["data"]["cache"].as<std::string>(), "/tmp/cache");
  EXPECT_EQ(r.root["data"]["empty"].as<std::string>(), "");
  EXPECT_EQ(r.root["data"]["quoted"].as<std::string>(), "a b");
  EXPECT_TRUE(r.root["data"]["none"].IsNull());
  // A set variable wins over the default, even when it is empty.
  const auto set = resolve("a: ${oc.env:CACHE_ROOT,/tmp/cache}\n", {{"CACHE_ROOT", ""}});
  EXPECT_EQ(set.root["a"].as<std::string>(), "");
}

TEST(Interpolation, KeyReferencesKeepTypesAndSpliceIntoText) {
  const auto r = resolve(
      "train: {epochs: 7, lr: 0.5}\nwarm: ${train.epochs}\ncopy: ${train}\nlist: [3, 4]\nsecond: ${list.1}\n"
      "label: \"run-${train.epochs}-${oc.env:USER_NAME}\"\nchain: ${warm}\nliteral: \\${not.a.key}\n",
      {{"USER_NAME", "ada"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.root["warm"].as<int>(), 7);
  EXPECT_TRUE(r.root["copy"].IsMap());
  EXPECT_DOUBLE_EQ(r.root["copy"]["lr"].as<double>(), 0.5);
  EXPECT_EQ(r.root["second"].as<int>(), 4);
  EXPECT_EQ(r.root["label"].as<std::string>(), "run-7-ada");
  EXPECT_EQ(r.root["chain"].as<int>(), 7);
  EXPECT_EQ(r.root["literal"].as<std::string>(), "${not.a.key}");
  // A copied subtree is not resolved twice (its escaped text stays literal).
  const auto copied = resolve("a:\n  x: \\${lit}\nb: ${a}\n");
  ASSERT_EQ(copied.error, "");
  EXPECT_EQ(copied.root["b"]["x"].as<std::string>(), "${lit}");
  EXPECT_EQ(copied.root["a"]["x"].as<std::string>(), "${lit}");
  // Nested: the default of a variable may be another key.
  const auto nested = resolve("base: /srv\nroot: ${oc.env:NOPE,${base}/data}\n");
  ASSERT_EQ(nested.error, "");
  EXPECT_EQ(nested.root["root"].as<std::string>(), "/srv/data");
}

TEST(Interpolation, MissingVariableIsOneLineNamingFileLineAndKey) {
  const auto r = resolve("seed: 1\ndata:\n  root: ${oc.env:BRAIN_TUMOR_ROOT}\n");
  EXPECT_NE(r.error.find("exp.yaml:3"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("data.root"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("environment variable BRAIN_TUMOR_ROOT is not set"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
}

TEST(Interpolation, UnknownKeyNamesTheClosestKey) {
  const auto r = resolve("train:\n  epochs: 3\nwarm: ${train.epoch}\n");
  EXPECT_NE(r.error.find("exp.yaml:3"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("unknown key 'train.epoch'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("did you mean 'train.epochs'?"), std::string::npos) << r.error;
  EXPECT_NE(resolve("a: ${list.5}\nlist: [1]\n").error.find("unknown key 'list.5'"), std::string::npos);
}

TEST(Interpolation, CyclesAreErrors) {
  const auto direct = resolve("a: ${b}\nb: ${a}\n");
  EXPECT_NE(direct.error.find("interpolation cycle a -> b -> a"), std::string::npos) << direct.error;
  EXPECT_NE(direct.error.find("exp.yaml:1"), std::string::npos) << direct.error;
  EXPECT_NE(resolve("a: ${a}\n").error.find("cycle a -> a"), std::string::npos);
  // A value that refers to the mapping holding it.
  EXPECT_NE(resolve("a:\n  b: ${a}\n").error.find("cycle"), std::string::npos);
  EXPECT_NE(resolve("a: x${a}\n").error.find("cycle"), std::string::npos);
}

TEST(Interpolation, MalformedInterpolationsAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a: ${oc.env:X\n", "without a closing '}'"},
      {"a: \"${\"\n", "without a closing '}'"},
      {"a: ${}\n", "empty interpolation"},
      {"a: ${ }\n", "empty interpolation"},
      {"a: ${oc.env:}\n", "is not an environment variable name"},
      {"a: ${oc.env:1X}\n", "is not an environment variable name"},
      {"a: ${oc.envv:X}\n", "unknown resolver 'oc.envv'"},
      {"a: ${oc.decode:X}\n", "unknown resolver 'oc.decode'"},
      {"a: ${a..b}\n", "is not a key path"},
      {"a: ${a b}\n", "is not a key path"},
      {"a: ${.a}\n", "is not a key path"},
      {"m: {x: 1}\na: \"v=${m}\"\n", "is a mapping and cannot be part of the text"},
  };
  // Defaults nested 1000 deep: refused at 32 levels, not a stack overflow.
  std::string deep = "x";
  for (int i = 0; i < 1000; ++i) deep = "${oc.env:NOPE," + deep + "}";
  const auto nested = resolve("a: \"" + deep + "\"\n");
  EXPECT_NE(nested.error.find("nested deeper than 32 levels"), std::string::npos) << nested.error.substr(0, 300);
  std::string ok = "x";
  for (int i = 0; i < 20; ++i) ok = "${oc.env:NOPE," + ok + "}";
  EXPECT_EQ(resolve("a: \"" + ok + "\"\n").root["a"].as<std::string>(), "x");
  for (const auto& [text, expected] : cases) {
    const auto r = resolve(text);
    EXPECT_NE(r.error.find(expected), std::string::npos) << text << " -> " << r.error;
    EXPECT_NE(r.error.find("exp.yaml:"), std::string::npos) << text << " -> " << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  }
}

TEST(Interpolation, CommandLineOverridesInterpolateAndSayWhereTheyCameFrom) {
  const auto r = resolve("data: {root: x}\nname: y\n", {{"ROOT", "/r"}},
                         {"data.root=${oc.env:ROOT}", "name=${oc.env:NOPE,fallback}"});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.root["data"]["root"].as<std::string>(), "/r");
  // The comma inside ${...} is no Hydra sweep.
  EXPECT_EQ(r.root["name"].as<std::string>(), "fallback");
  const auto missing = resolve("data: {root: x}\n", {}, {"data.root=${oc.env:NOPE}"});
  EXPECT_NE(missing.error.find("command line: data.root: environment variable NOPE"), std::string::npos)
      << missing.error;
  // A sweep whose values interpolate.
  TempDir dir;
  write_text(dir / "exp.yaml", "a: 1\n");
  const LoadedConfig sweep = load_config(dir / "exp.yaml", {"b=${oc.env:X,1},${a}"});
  ASSERT_EQ(sweep.sweeps.size(), 1u);
  ASSERT_EQ(sweep.sweeps[0].values.size(), 2u);
  EXPECT_EQ(sweep.sweeps[0].values[0].as<std::string>(), "${oc.env:X,1}");
}

TEST(Interpolation, TopLevelCommasSkipInterpolations) {
  EXPECT_EQ(top_level_commas("a,${oc.env:X,${b,c}},d"), (std::vector<std::size_t>{1, 20}));
  EXPECT_TRUE(top_level_commas("${oc.env:X,1}").empty());
  EXPECT_EQ(top_level_commas("}a,b"), (std::vector<std::size_t>{2}));  // a stray '}' opens nothing
}

TEST(Interpolation, ProcessEnvironment) {
  ::setenv("FREREC_TEST_INTERPOLATION", "value", 1);
  EXPECT_EQ(process_environment("FREREC_TEST_INTERPOLATION").value_or(""), "value");
  ::unsetenv("FREREC_TEST_INTERPOLATION");
  EXPECT_FALSE(process_environment("FREREC_TEST_INTERPOLATION").has_value());
}

// In a plan: resolved after the grid, before validation; the cell's config holds the value.
TEST(Interpolation, PlanResolvesPerCellBeforeValidation) {
  testing::register_toy_components();
  TempDir dir;
  ::setenv("FREREC_TEST_SLEEP", "4", 1);
  write_text(dir / "exp.yaml",
             "experiment: {kind: toy, description: \"seed ${seed}\"}\ntoy:\n  sleep_ms: ${oc.env:FREREC_TEST_SLEEP}\n"
             "grid:\n  seed: [0, 1]\n");
  const ExperimentPlan plan = make_plan(dir / "exp.yaml", {});
  ::unsetenv("FREREC_TEST_SLEEP");
  ASSERT_EQ(plan.cells.size(), 2u);
  EXPECT_EQ(plan.cells[0].config["toy"]["sleep_ms"].as<int>(), 4);
  EXPECT_EQ(plan.cells[1].config["experiment"]["description"].as<std::string>(), "seed 1");
  // Validation sees the resolved value: a variable that is not an integer is a type error.
  ::setenv("FREREC_TEST_SLEEP", "soon", 1);
  const std::string error = testing::error_of<ConfigError>([&] { make_plan(dir / "exp.yaml", {}); });
  ::unsetenv("FREREC_TEST_SLEEP");
  EXPECT_NE(error.find("'toy.sleep_ms' must be a int, got 'soon'"), std::string::npos) << error;
}

}  // namespace
}  // namespace frerec::config
