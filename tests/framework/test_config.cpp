// Config loading: _base_ inheritance, deep merge, _delete_, overrides, sweeps, schema
// validation and its error messages.
#include <gtest/gtest.h>

#include "framework/config/experiment_schema.h"
#include "framework/config/loader.h"
#include "framework/config/schema.h"
#include "framework/core/error.h"
#include "tests/framework/test_util.h"

namespace frerec::config {
namespace {

using frerec::testing::TempDir;
using frerec::testing::write_text;

Schema train_schema() {
  Schema s;
  s.add_int("epochs", 10, "training epochs", 1);
  s.add_float("lr", 1e-3, "learning rate", 0.0);
  s.add_string("optimizer", "adamw", "optimiser", {"adamw", "sgd"});
  s.add_int_list("milestones", {30, 60}, "step epochs");
  s.add_bool("amp", false, "mixed precision");
  return s;
}

std::string error_of(const std::function<void()>& fn) { return testing::error_of<ConfigError>(fn); }

TEST(ConfigLoader, BaseInheritanceDeepMergeLaterWins) {
  TempDir dir;
  write_text(dir / "base/train.yaml", "train:\n  epochs: 5\n  lr: 0.1\nmodel:\n  name: a\n  depth: 3\n");
  write_text(dir / "base/more.yaml", "train:\n  lr: 0.2\n");
  write_text(dir / "exp.yaml", "_base_: [base/train.yaml, base/more.yaml]\ntrain:\n  epochs: 7\nmodel:\n  depth: 4\n");
  const LoadedConfig c = load_config(dir / "exp.yaml", {});
  EXPECT_EQ(c.root["train"]["epochs"].as<int>(), 7);
  EXPECT_DOUBLE_EQ(c.root["train"]["lr"].as<double>(), 0.2);
  EXPECT_EQ(c.root["model"]["name"].as<std::string>(), "a");
  EXPECT_EQ(c.root["model"]["depth"].as<int>(), 4);
  EXPECT_FALSE(c.root["_base_"]);
  EXPECT_EQ(c.files.size(), 3u);
  // Provenance names the file and line that set each key.
  EXPECT_NE(c.provenance.where("train.epochs").find("exp.yaml:3"), std::string::npos) << c.provenance.where("train.epochs");
  EXPECT_NE(c.provenance.where("train.lr").find("more.yaml:2"), std::string::npos);
}

TEST(ConfigLoader, DeleteReplacesInsteadOfMerging) {
  TempDir dir;
  write_text(dir / "base.yaml", "model:\n  name: a\n  depth: 3\n");
  write_text(dir / "exp.yaml", "_base_: base.yaml\nmodel:\n  _delete_: true\n  name: b\n");
  const LoadedConfig c = load_config(dir / "exp.yaml", {});
  EXPECT_EQ(c.root["model"]["name"].as<std::string>(), "b");
  EXPECT_FALSE(c.root["model"]["depth"]);
  EXPECT_FALSE(c.root["model"]["_delete_"]);
}

TEST(ConfigLoader, BaseCycleAndMissingFileAreErrors) {
  TempDir dir;
  write_text(dir / "a.yaml", "_base_: b.yaml\n");
  write_text(dir / "b.yaml", "_base_: a.yaml\n");
  EXPECT_NE(error_of([&] { load_config(dir / "a.yaml", {}); }).find("cycle"), std::string::npos);
  write_text(dir / "c.yaml", "_base_: missing.yaml\n");
  EXPECT_NE(error_of([&] { load_config(dir / "c.yaml", {}); }).find("missing.yaml' does not exist"), std::string::npos);
  // Found by fuzz_config: a mapping among the _base_ entries escaped as yaml-cpp's
  // BadConversion instead of a config error.
  write_text(dir / "d.yaml", "_base_: [b.yaml, negative: 200]\n");
  EXPECT_NE(error_of([&] { load_config(dir / "d.yaml", {}); }).find("_base_ must be a path or a list of paths"),
            std::string::npos);
}

TEST(ConfigLoader, OverridesSetNestedKeysAndListEntries) {
  TempDir dir;
  write_text(dir / "exp.yaml", "aug:\n  ops:\n    - {name: flip, p: 0.5}\n    - {name: crop, p: 1.0}\ntrain:\n  epochs: 3\n");
  const LoadedConfig c = load_config(dir / "exp.yaml", {"aug.ops.1.p=0.25", "train.epochs=9", "new.key=hello"});
  EXPECT_DOUBLE_EQ(c.root["aug"]["ops"][1]["p"].as<double>(), 0.25);
  EXPECT_EQ(c.root["train"]["epochs"].as<int>(), 9);
  EXPECT_EQ(c.root["new"]["key"].as<std::string>(), "hello");
  EXPECT_EQ(c.provenance.where("train.epochs"), "command line");
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"aug.ops.5.p=1"}); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"novalue"}); }).find("key=value"), std::string::npos);
}

TEST(ConfigLoader, SweepsFromGridBlockAndCommandLine) {
  TempDir dir;
  write_text(dir / "exp.yaml", "seed: 0\ngrid:\n  method.name: [raw, gda]\n  seed: [0, 1]\n");
  LoadedConfig c = load_config(dir / "exp.yaml", {});
  ASSERT_EQ(c.sweeps.size(), 2u);
  EXPECT_EQ(c.sweeps[0].key, "method.name");
  EXPECT_EQ(c.sweeps[0].values.size(), 2u);
  EXPECT_FALSE(c.root["grid"]);
  // The command line replaces the grid's seed sweep; a plain value removes a sweep.
  c = load_config(dir / "exp.yaml", {"seed=[3,4,5]", "method.name=raw"});
  ASSERT_EQ(c.sweeps.size(), 1u);
  EXPECT_EQ(c.sweeps[0].key, "seed");
  EXPECT_EQ(c.sweeps[0].values.size(), 3u);
  EXPECT_EQ(c.root["method"]["name"].as<std::string>(), "raw");
  // A list-valued key takes a flat list as its value, not as a sweep.
  c = load_config(dir / "exp.yaml", {"model.blocks=[2,4,6,8]"}, [](const std::string& k) { return k == "model.blocks"; });
  EXPECT_EQ(c.root["model"]["blocks"].size(), 4u);
  EXPECT_EQ(c.sweeps.size(), 2u);
  // grid.<key>=... on the command line sweeps <key> like the file's grid block (it used
  // to leave a key 'grid' that the validator blamed on the file's line).
  c = load_config(dir / "exp.yaml", {"grid.seed=[7,8]", "grid.train.lr=0.1"});
  ASSERT_EQ(c.sweeps.size(), 3u);
  EXPECT_EQ(c.sweeps[1].key, "seed");
  EXPECT_EQ(c.sweeps[1].values.size(), 2u);
  EXPECT_EQ(c.sweeps[2].key, "train.lr");
  EXPECT_EQ(c.sweeps[2].where, "command line");
  EXPECT_FALSE(c.root["grid"]);
  // Hydra's forms: a,b,c and range(start, stop[, step]); quoted text stays one value.
  c = load_config(dir / "exp.yaml", {"seed=range(0,5)", "method.name=raw,gda", "train.lr=range(10, 0, -4)",
                                     "experiment.description='a, b'"});
  ASSERT_EQ(c.sweeps.size(), 3u);  // a command-line sweep replaces the file's and goes last
  EXPECT_EQ(c.sweeps[0].key, "seed");
  ASSERT_EQ(c.sweeps[0].values.size(), 5u);
  EXPECT_EQ(c.sweeps[0].values[4].as<int>(), 4);
  EXPECT_EQ(c.sweeps[1].key, "method.name");
  EXPECT_EQ(c.sweeps[1].values[1].as<std::string>(), "gda");
  EXPECT_EQ(c.sweeps[2].key, "train.lr");
  ASSERT_EQ(c.sweeps[2].values.size(), 3u);  // 10, 6, 2
  EXPECT_EQ(c.sweeps[2].values[2].as<int>(), 2);
  EXPECT_EQ(c.root["experiment"]["description"].as<std::string>(), "a, b");
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"seed=range(3,3)"}); }).find("the range is empty"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"seed=1,,2"}); }).find("empty value"), std::string::npos);
  // Found by fuzz_config: a bound too long for an integer threw std::out_of_range; it is now
  // a config error, and so are 1e6 values.
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"seed=range(0,32222222222222222222222)"}); })
                .find("integers of at most 12 digits"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config(dir / "exp.yaml", {"seed=range(0,1000000)"}); }).find("more than 100000"),
            std::string::npos);
}

// A key given twice in one mapping is an error naming both lines (yaml-cpp
// would silently keep the first).
TEST(ConfigLoader, DuplicateKeysNameBothLines) {
  TempDir dir;
  write_text(dir / "dup.yaml", "data:\n  name: demo_mri\n  image_size: 32\ntrain:\n  epochs: 1\n  epochs: 2\n");
  std::string message = error_of([&] { load_config(dir / "dup.yaml", {}); });
  EXPECT_NE(message.find("dup.yaml:6: key 'train.epochs' is given twice (lines 5 and 6)"), std::string::npos) << message;
  write_text(dir / "dup2.yaml", "data: {name: demo_mri}\nmodel: {name: resnet18}\ndata: {name: demo_cxr}\n");
  message = error_of([&] { load_config(dir / "dup2.yaml", {}); });
  EXPECT_NE(message.find("key 'data' is given twice (lines 1 and 3)"), std::string::npos) << message;
  // Found by fuzz_config: a mapping as a key escaped as yaml-cpp's BadConversion.
  write_text(dir / "key.yaml", "model: {name: resnet18}\ndata: {name: demo_mri, {}}\n");
  message = error_of([&] { load_config(dir / "key.yaml", {}); });
  EXPECT_NE(message.find("key.yaml:2: a key in 'data' is a mapping; keys are plain names"), std::string::npos) << message;
  // Found by fuzz_config: an alias inside its own anchor is a cycle that overflowed the stack.
  write_text(dir / "cycle.yaml", "data: &a {name: demo_mri, more: *a}\n");
  message = error_of([&] { load_config(dir / "cycle.yaml", {}); });
  EXPECT_NE(message.find("nesting deeper than 64 levels"), std::string::npos) << message;
  write_text(dir / "fine.yaml", "model: {name: resnet18}\n");
  message = error_of([&] { load_config(dir / "fine.yaml", {"model=&b [*b]"}); });
  EXPECT_NE(message.find("override 'model=&b [*b]': nesting deeper"), std::string::npos) << message;
}

TEST(ConfigLoader, YamlSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  write_text(dir / "bad.yaml", "train:\n  epochs: [1, 2\n");
  const std::string message = error_of([&] { load_config(dir / "bad.yaml", {}); });
  EXPECT_NE(message.find("bad.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("YAML syntax error"), std::string::npos) << message;
}

TEST(Schema, FillsDefaultsAndChecksTypes) {
  const Schema s = train_schema();
  const YAML::Node out = s.validate(YAML::Load("epochs: 3\n"), "train", Provenance());
  EXPECT_EQ(out["epochs"].as<int>(), 3);
  EXPECT_DOUBLE_EQ(out["lr"].as<double>(), 1e-3);
  EXPECT_EQ(out["optimizer"].as<std::string>(), "adamw");
  EXPECT_EQ(out["milestones"].size(), 2u);
  Params p(out, "train");
  EXPECT_EQ(p.get<int>("epochs"), 3);
  EXPECT_FALSE(p.get<bool>("amp"));
}

TEST(Schema, UnknownKeyNamesFileLineKeyAndSuggestion) {
  TempDir dir;
  write_text(dir / "exp.yaml", "train:\n  epochs: 3\n  epohcs: 4\n");
  const LoadedConfig c = load_config(dir / "exp.yaml", {});
  Schema top;
  top.add_map("train", train_schema(), "training");
  const std::string message = error_of([&] { top.validate(c.root, "", c.provenance); });
  EXPECT_NE(message.find("exp.yaml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key 'train.epohcs'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.epochs'?"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
}

TEST(Schema, WrongTypeRangeAndChoiceErrors) {
  const Schema s = train_schema();
  Provenance where;
  where.set("train.epochs", "x.yaml:2");
  std::string m = error_of([&] { s.validate(YAML::Load("epochs: many"), "train", where); });
  EXPECT_NE(m.find("x.yaml:2: 'train.epochs' must be a int, got 'many'"), std::string::npos) << m;
  m = error_of([&] { s.validate(YAML::Load("epochs: 0"), "train", Provenance()); });
  EXPECT_NE(m.find("out of range"), std::string::npos) << m;
  m = error_of([&] { s.validate(YAML::Load("optimizer: adamm"), "train", Provenance()); });
  EXPECT_NE(m.find("did you mean 'adamw'?"), std::string::npos) << m;
  m = error_of([&] { s.validate(YAML::Load("milestones: [1, x]"), "train", Provenance()); });
  EXPECT_NE(m.find("list of int"), std::string::npos) << m;
  m = error_of([&] { s.validate(YAML::Load("lr: [1]"), "train", Provenance()); });
  EXPECT_NE(m.find("must be a float"), std::string::npos) << m;
}

TEST(Schema, RequiredAndNestedMaps) {
  Schema inner;
  inner.add_required("root", Type::kString, "dataset folder");
  Schema outer;
  outer.add_map("data", inner, "data");
  const std::string m = error_of([&] { outer.validate(YAML::Load("data: {}"), "", Provenance()); });
  EXPECT_NE(m.find("missing required key 'data.root'"), std::string::npos) << m;
}

TEST(Schema, ClosestKeySuggestsOnlyCloseNames) {
  EXPECT_EQ(closest_key("epohcs", {"epochs", "lr"}), "epochs");
  EXPECT_EQ(closest_key("zzzzzzzz", {"epochs", "lr"}), "");
}

TEST(Loader, CanonicalTextIsOrderIndependent) {
  EXPECT_EQ(canonical_text(YAML::Load("{a: 1, b: {c: 2, d: 3}}")), canonical_text(YAML::Load("{b: {d: 3, c: 2}, a: 1}")));
  EXPECT_NE(canonical_text(YAML::Load("{a: 1}")), canonical_text(YAML::Load("{a: 2}")));
  // Found by fuzz_config: null and non-scalar keys threw yaml-cpp's InvalidNode.
  EXPECT_EQ(canonical_text(YAML::Load("{~: 1, [a, b]: 2, c: 3}")), R"({"[\"a\",\"b\",]":"2","c":"3","null":"1",})");
}

}  // namespace
}  // namespace frerec::config
