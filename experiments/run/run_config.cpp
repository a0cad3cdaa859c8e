#include "experiments/run/run_config.h"

#include <filesystem>
#include <sstream>

#include "experiments/config/yaml_reader.h"

namespace iapt::run {

namespace fs = std::filesystem;
using config::YamlMap;

void set_path(YAML::Node root, const std::string& path, const YAML::Node& value, const std::string& what) {
  std::vector<std::string> keys;
  std::stringstream ss(path);
  for (std::string k; std::getline(ss, k, '.');) keys.push_back(k);
  YAML::Node node = root;
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    IAPT_CHECK(!node[keys[i]] || node[keys[i]].IsMap() || node[keys[i]].IsNull(), "{}: '{}' is not a mapping", what,
               keys[i]);
    node.reset(node[keys[i]]);  // rebind (operator= would overwrite the node's content)
  }
  node[keys.back()] = value;
}

namespace {

void apply_override(YAML::Node root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  IAPT_CHECK(eq != std::string::npos && eq > 0, "--set {}: expected key.path=value", assignment);
  // the value as YAML reads it: a number, a boolean, a list, a mapping or a string
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("--set {}: the value is not valid YAML: {}", assignment, e.msg));
  }
  set_path(root, assignment.substr(0, eq), value, "--set " + assignment);
}

}  // namespace

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = config::load_yaml_file(path);
  for (const auto& o : overrides) apply_override(root, o);
  return read_run_config(root, path);
}

RunConfig read_run_config(YAML::Node root, const std::string& path) {
  IAPT_CHECK(!root["sweep"], "{}: this file has a sweep section: run it with `iapt sweep`", path);
  YamlMap m(root, path, "");
  RunConfig c;
  c.file = path;
  c.name = m.get<std::string>("name", fs::path(path).stem().string());
  c.seed = m.get<uint64_t>("seed", 1);
  c.output_dir = config::expand_env(m.get<std::string>("output_dir", "runs"), path + ": output_dir");
  c.device = m.choice("device", "cpu", {"cpu", "cuda"});

  c.backbone = config::read_backbone(m.map("backbone"), path);
  c.method = config::read_method(m.map("method"), c.backbone.config.num_hidden_layers);
  c.method_yaml = YAML::Clone(root["method"]);
  c.tokenizer = c.backbone.tokenizer;
  IAPT_CHECK(!c.backbone.path.empty(), "{}: backbone.path: training needs a model directory, not a shape", path);
  if (c.tokenizer.empty()) c.tokenizer = (fs::path(c.backbone.path) / "tokenizer.model").string();

  YamlMap t = m.map("task");
  c.task.name = t.require<std::string>("name");
  c.task.data_dir = config::config_path(t.require<std::string>("data_dir"), path, "task.data_dir");
  c.task.max_train = t.get<int64_t>("max_train", 0);
  c.task.max_dev = t.get<int64_t>("max_dev", 0);
  c.task.max_test = t.get<int64_t>("max_test", 0);
  c.task.max_length = t.get<int64_t>("max_length", 256);
  c.task.carve_train = t.get<double>("carve_train", 0.0);
  c.task.carve_dev = t.get<double>("carve_dev", 0.0);
  c.task.split_seed = t.get<uint64_t>("split_seed", c.task.split_seed);
  t.finish();

  YamlMap tr = m.map("training");
  TrainingOptions& o = c.training;
  o.optimizer = tr.choice("optimizer", o.optimizer, {"adamw", "adam", "sgd"});
  o.lr = tr.get<double>("lr", o.lr);
  o.coefficient_lr = tr.get<double>("coefficient_lr", o.lr);
  o.weight_decay = tr.get<double>("weight_decay", o.weight_decay);
  o.schedule = tr.choice("schedule", o.schedule, {"constant", "linear", "cosine"});
  o.warmup_ratio = tr.get<double>("warmup_ratio", o.warmup_ratio);
  o.steps = tr.get<int64_t>("steps", o.steps);
  o.batch_size = tr.get<int64_t>("batch_size", o.batch_size);
  o.grad_accumulation = tr.get<int64_t>("grad_accumulation", o.grad_accumulation);
  o.max_grad_norm = tr.get<double>("max_grad_norm", o.max_grad_norm);
  o.eval_every = tr.get<int64_t>("eval_every", o.eval_every);
  o.checkpoint_every = tr.get<int64_t>("checkpoint_every", o.checkpoint_every);
  o.patience = tr.get<int64_t>("patience", o.patience);
  o.log_every = tr.get<int64_t>("log_every", o.log_every);
  o.diagnostics_every = tr.get<int64_t>("diagnostics_every", o.diagnostics_every);
  o.on_nonfinite = tr.choice("on_nonfinite", o.on_nonfinite, {"stop", "skip"});
  tr.finish();
  IAPT_CHECK(o.steps > 0 && o.batch_size > 0 && o.grad_accumulation > 0 && o.eval_every > 0 && o.checkpoint_every > 0 &&
                 o.log_every > 0 && o.diagnostics_every > 0,
             "{}: training.steps, batch_size, grad_accumulation, eval_every, checkpoint_every, log_every and "
             "diagnostics_every must be positive",
             path);
  IAPT_CHECK(o.warmup_ratio >= 0 && o.warmup_ratio < 1, "{}: training.warmup_ratio {} is outside [0, 1)", path,
             o.warmup_ratio);

  YamlMap ev = m.map("evaluation");
  c.evaluation.mode = ev.choice("mode", "rank", {"rank", "generate"});
  c.evaluation.beams = ev.get<int64_t>("beams", 1);
  c.evaluation.batch_size = ev.get<int64_t>("batch_size", 32);
  ev.finish();
  IAPT_CHECK(c.evaluation.batch_size > 0 && c.evaluation.beams > 0, "{}: evaluation.batch_size and beams must be positive",
             path);
  m.finish();
  return c;
}

std::string RunConfig::run_dir() const { return (fs::path(output_dir) / name / fmt::format("seed-{}", seed)).string(); }

std::string RunConfig::to_yaml() const {
  YAML::Node n;
  n["name"] = name;
  n["seed"] = seed;
  n["output_dir"] = output_dir;
  n["device"] = device;
  n["backbone"]["path"] = backbone.path;
  n["backbone"]["tokenizer"] = tokenizer;
  n["method"] = method_yaml;  // as given: every method's options survive, whatever they are
  YAML::Node t = n["task"];
  t["name"] = task.name;
  t["data_dir"] = task.data_dir;
  t["max_train"] = task.max_train;
  t["max_dev"] = task.max_dev;
  t["max_test"] = task.max_test;
  t["max_length"] = task.max_length;
  t["carve_train"] = task.carve_train;
  t["carve_dev"] = task.carve_dev;
  t["split_seed"] = task.split_seed;
  YAML::Node tr = n["training"];
  const TrainingOptions& o = training;
  tr["optimizer"] = o.optimizer;
  tr["lr"] = o.lr;
  tr["coefficient_lr"] = o.coefficient_lr;
  tr["weight_decay"] = o.weight_decay;
  tr["schedule"] = o.schedule;
  tr["warmup_ratio"] = o.warmup_ratio;
  tr["steps"] = o.steps;
  tr["batch_size"] = o.batch_size;
  tr["grad_accumulation"] = o.grad_accumulation;
  tr["max_grad_norm"] = o.max_grad_norm;
  tr["eval_every"] = o.eval_every;
  tr["checkpoint_every"] = o.checkpoint_every;
  tr["patience"] = o.patience;
  tr["log_every"] = o.log_every;
  tr["diagnostics_every"] = o.diagnostics_every;
  // written only when set: the configs of runs made before the key existed still compare equal
  if (o.on_nonfinite != "stop") tr["on_nonfinite"] = o.on_nonfinite;
  n["evaluation"]["mode"] = evaluation.mode;
  n["evaluation"]["beams"] = evaluation.beams;
  n["evaluation"]["batch_size"] = evaluation.batch_size;
  YAML::Emitter e;
  e << n;
  return std::string(e.c_str()) + "\n";
}

}  // namespace iapt::run
