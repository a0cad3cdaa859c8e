#include "experiments/run/run_config.h"

#include <filesystem>
#include <sstream>

#include "experiments/config/methods.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/tasks/task.h"
#include "models/generation.h"
#include "models/tokenizer.h"

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

void apply_override(YAML::Node root, const std::string& assignment, config::Overrides& overrides) {
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
  overrides.add(value, "--set " + assignment);
}

}  // namespace

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = config::load_yaml_file(path);
  auto given = std::make_shared<config::Overrides>();
  for (const auto& o : overrides) apply_override(root, o, *given);
  RunConfig c = read_run_config(root, path, given);
  c.overrides = overrides;
  return c;
}

RunConfig read_run_config(YAML::Node root, const std::string& path, std::shared_ptr<const config::Overrides> overrides) {
  IAPT_CHECK(!root["sweep"], "{}: this file has a sweep section: run it with `iapt sweep`", path);
  YamlMap m(root, path, "", std::move(overrides));
  RunConfig c;
  c.file = path;
  c.name = m.get<std::string>("name", fs::path(path).stem().string());
  c.seed = m.get<uint64_t>("seed", 1);
  c.output_dir = config::expand_env(m.get<std::string>("output_dir", "runs"), path + ": output_dir");
  c.device = m.choice("device", "cpu", {"cpu", "cuda"});

  c.backbone = config::read_backbone(m.map("backbone"), path);
  config::YamlMap method = m.map("method");
  c.method_resolved = YAML::Node(YAML::NodeType::Map);
  method.record_into(c.method_resolved);
  c.method = config::read_method(method, c.backbone.config);
  IAPT_CHECK(!is_16bit(c.backbone.weights) || !config::method_entry(c.method.name).trains_backbone,
             "{}: backbone.dtype: {} weights stay frozen, and method '{}' trains the backbone: use dtype: f32", path,
             dtype_name(c.backbone.weights), c.method.name);
  c.method_yaml = YAML::Clone(root["method"]);
  c.tokenizer = c.backbone.tokenizer;
  IAPT_CHECK(!c.backbone.path.empty(), "{}: backbone.path: training needs a model directory, not a shape", path);
  if (c.tokenizer.empty()) c.tokenizer = models::Tokenizer::default_file(c.backbone.path);

  YamlMap t = m.map("task");
  if (t.has("definition")) {  // a task of the researcher's own, defined beside the experiment
    // absolute: the run's saved config names it from wherever it is read
    c.task.definition = fs::absolute(config::config_path(t.require<std::string>("definition"), path, "task.definition"))
                            .lexically_normal()
                            .string();
    IAPT_CHECK(fs::is_regular_file(c.task.definition), "{}: task.definition: {} is not a file", t.where("definition"),
               c.task.definition);
    const tasks::TaskSpec spec = tasks::load_task(c.task.definition, "");  // checked now: errors name its file
    c.task.name = t.get<std::string>("name", spec.name);
    IAPT_CHECK(c.task.name == spec.name, "{}: task.name '{}' is not the name '{}' that task.definition {} gives",
               t.where("name"), c.task.name, spec.name, c.task.definition);
  } else {
    c.task.name = t.require<std::string>("name");
  }
  c.task.data_dir = config::config_path(t.require<std::string>("data_dir"), path, "task.data_dir");
  c.task.max_train = t.get_in<int64_t>("max_train", 0, 0);  // 0: all of them
  c.task.max_dev = t.get_in<int64_t>("max_dev", 0, 0);
  c.task.max_test = t.get_in<int64_t>("max_test", 0, 0);
  // BOS and at least one token of the instruction, within the positions the method leaves the text
  const int64_t positions = c.backbone.config.max_position_embeddings, offset = config::text_position_offset(c.method);
  c.task.max_length = t.get_in<int64_t>("max_length", std::min<int64_t>(256, positions - offset), 2, positions);
  IAPT_CHECK(offset + c.task.max_length <= positions, "{}: {}: {} tokens of text after the method's {} soft tokens "
             "need {} positions, more than the model's {} (max_position_embeddings): at most {}",
             t.where("max_length"), t.key_path("max_length"), c.task.max_length, offset, offset + c.task.max_length,
             positions, positions - offset);
  c.task.carve_train = t.get_in<double>("carve_train", 0.0, 0.0, 1.0);
  c.task.carve_dev = t.get_in<double>("carve_dev", 0.0, 0.0, 1.0);
  IAPT_CHECK(c.task.carve_train + c.task.carve_dev < 1, "{}: task.carve_train + carve_dev is {}: at least 1, which "
             "leaves nothing for test", t.where("carve_dev"), c.task.carve_train + c.task.carve_dev);
  c.task.split_seed = t.get<uint64_t>("split_seed", c.task.split_seed);
  t.finish();

  YamlMap tr = m.map("training");
  TrainingOptions& o = c.training;
  o.optimizer = tr.choice("optimizer", o.optimizer, {"adamw", "adam", "sgd"});
  o.lr = tr.get_in<double>("lr", o.lr, 0.0);  // 0: nothing moves (the start, evaluated as a run)
  o.coefficient_lr = tr.get_in<double>("coefficient_lr", o.lr, 0.0);  // 0: the coefficients stay as they start
  o.weight_decay = tr.get_in<double>("weight_decay", o.weight_decay, 0.0);
  o.schedule = tr.choice("schedule", o.schedule, {"constant", "linear", "cosine"});
  o.warmup_ratio = tr.get_in<double>("warmup_ratio", o.warmup_ratio, 0.0, 0.999);
  using config::kMaxCount, config::kMaxSize;
  o.steps = tr.get_in<int64_t>("steps", o.steps, 1, kMaxCount);
  o.batch_size = tr.get_in<int64_t>("batch_size", o.batch_size, 1, kMaxSize);
  o.grad_accumulation = tr.get_in<int64_t>("grad_accumulation", o.grad_accumulation, 1, kMaxSize);
  o.max_grad_norm = tr.get_in<double>("max_grad_norm", o.max_grad_norm, 0.0);  // 0: no clipping
  o.eval_every = tr.get_in<int64_t>("eval_every", o.eval_every, 1, kMaxCount);
  o.checkpoint_every = tr.get_in<int64_t>("checkpoint_every", o.checkpoint_every, 1, kMaxCount);
  o.patience = tr.get_in<int64_t>("patience", o.patience, 0, kMaxCount);  // 0: no early stopping
  o.log_every = tr.get_in<int64_t>("log_every", o.log_every, 1, kMaxCount);
  o.diagnostics_every = tr.get_in<int64_t>("diagnostics_every", o.diagnostics_every, 1, kMaxCount);
  o.on_nonfinite = tr.choice("on_nonfinite", o.on_nonfinite, {"stop", "skip"});
  tr.finish();

  YamlMap ev = m.map("evaluation");
  c.evaluation.mode = ev.choice("mode", "rank", {"rank", "generate"});
  c.evaluation.beams = ev.get_in<int64_t>("beams", 1, 1, models::kMaxBeams);
  c.evaluation.batch_size = ev.get_in<int64_t>("batch_size", 32, 1, kMaxSize);
  ev.finish();
  m.finish();
  return c;
}

std::string RunConfig::run_dir() const { return (fs::path(output_dir) / name / fmt::format("seed-{}", seed)).string(); }

std::string RunConfig::to_yaml(bool resolved_method) const {
  YAML::Node n;
  n["name"] = name;
  n["seed"] = seed;
  n["output_dir"] = output_dir;
  n["device"] = device;
  n["backbone"]["path"] = backbone.path;
  n["backbone"]["tokenizer"] = tokenizer;
  // written only when it is not the default, so that f32 runs keep the resolved config they always had
  if (backbone.weights != DType::F32) n["backbone"]["dtype"] = dtype_name(backbone.weights);
  if (backbone.activations_16bit) n["backbone"]["compute"] = dtype_name(backbone.weights);
  n["method"] = resolved_method ? method_resolved : method_yaml;  // as given: every option survives, whatever it is
  YAML::Node t = n["task"];
  t["name"] = task.name;
  if (!task.definition.empty()) t["definition"] = task.definition;
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
