#pragma once
// While a SkipInit lives on this thread, the layers of nn/linear.h allocate their parameters without
// drawing or filling them. For a model whose every parameter is loaded next (load_llama refuses a
// checkpoint that lacks one): a 7B backbone's random draw takes minutes and writes its 13 GB, all of
// which the checkpoint then replaces. Scopes nest.
namespace iapt::nn {

class SkipInit {
 public:
  SkipInit();
  ~SkipInit();
  SkipInit(const SkipInit&) = delete;
  SkipInit& operator=(const SkipInit&) = delete;
  static bool active();

 private:
  bool previous_;
};

}  // namespace iapt::nn
