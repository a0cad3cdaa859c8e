#include "nn/peft/multi_tenant.h"

#include "core/error.h"
#include "core/ops.h"

namespace iapt::nn {

namespace {

// rows of x [B, ...] in the order of `rows` -> [rows.size(), ...]
Tensor take_rows(const Tensor& x, const std::vector<int64_t>& rows) {
  Shape s = x.shape();
  const int64_t b = s[0];
  Tensor flat = x.contiguous().reshape({b, x.numel() / std::max<int64_t>(b, 1)});
  s[0] = static_cast<int64_t>(rows.size());
  return ops::embedding(flat, from_ints(rows, {s[0]}).to(x.device())).reshape(s);
}

// out[rows[i]] = part[i] for every i
void put_rows(const Tensor& out, const Tensor& part, const std::vector<int64_t>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) out.narrow(0, rows[i], 1).copy_(part.narrow(0, static_cast<int64_t>(i), 1));
}

}  // namespace

std::map<int64_t, std::vector<int64_t>> rows_by_tenant(const std::vector<int64_t>& tenant_of_row, int64_t tenants) {
  IAPT_CHECK(!tenant_of_row.empty(), "multi-tenant: an empty batch");
  std::map<int64_t, std::vector<int64_t>> out;
  for (int64_t r = 0; r < static_cast<int64_t>(tenant_of_row.size()); ++r) {
    IAPT_CHECK(tenant_of_row[r] >= 0 && tenant_of_row[r] < tenants, "multi-tenant: row {} names tenant {} of {}", r,
               tenant_of_row[r], tenants);
    out[tenant_of_row[r]].push_back(r);
  }
  return out;
}

MultiTenantIapt::MultiTenantIapt(std::vector<std::shared_ptr<Iapt>> tenants) : tenants_(std::move(tenants)) {
  IAPT_CHECK(!tenants_.empty(), "multi-tenant IAPT: no tenants");
  for (const auto& t : tenants_)
    IAPT_CHECK(t->options.soft_tokens == tenants_.front()->options.soft_tokens &&
                   t->text_position_offset() == tenants_.front()->text_position_offset(),
               "multi-tenant IAPT: tenants differ in soft tokens ({} and {}) or position shift",
               t->options.soft_tokens, tenants_.front()->options.soft_tokens);
}

KVPrefix MultiTenantIapt::layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch,
                                       const RMSNorm& input_norm, const LlamaAttention& attn) {
  const int64_t b = h.size(0);
  IAPT_CHECK(static_cast<int64_t>(batch.row_tenants.size()) == b,
             "multi-tenant IAPT: the forward inputs name {} row tenants (BatchInputs::row_tenants, or "
             "GenerationOptions::row_tenants) for a batch of {} rows",
             batch.row_tenants.size(), b);
  const Tensor& instruction_mask = require_instruction_mask(batch, h, "multi-tenant IAPT");
  NoGradGuard no_grad;
  Tensor k, v;  // [B, Hkv, k, D], each tenant's rows filled by its generators
  for (const auto& [tenant, rows] : rows_by_tenant(batch.row_tenants, num_tenants())) {
    Iapt& method = *tenants_[tenant];
    BatchInputs tenant_batch;
    tenant_batch.instruction_mask = take_rows(instruction_mask, rows);
    KVPrefix p = method.layer_prefix(layer, Variable(take_rows(h.data(), rows)), tenant_batch, input_norm, attn);
    if (!p.defined()) {  // this tenant has no generator at this layer: all must agree
      IAPT_CHECK(!k.defined(), "multi-tenant IAPT: tenants put generators on different layers (layer {})", layer);
      continue;
    }
    if (!k.defined()) {
      Shape s = p.k.shape();
      s[0] = b;
      k = empty(s, p.k.dtype(), p.k.data().device());
      v = empty(s, p.v.dtype(), p.v.data().device());
    }
    put_rows(k, p.k.data(), rows);
    put_rows(v, p.v.data(), rows);
  }
  if (!k.defined()) return {};
  return {Variable(k), Variable(v)};
}

namespace {

class MultiTenantLoraAdapter : public LinearAdapter {
 public:
  MultiTenantLoraAdapter(Tensor a_stack, Tensor b_stack, double scale, LoraBatching batching,
                         std::shared_ptr<const MultiTenantLora::Rows> rows)
      : a_(std::move(a_stack)), b_(std::move(b_stack)), scale_(scale), batching_(batching), rows_(std::move(rows)) {}

  Variable forward(const Linear& base, const Variable& x) const override {
    NoGradGuard no_grad;
    Tensor y = base.base_forward(x).data();  // [B, L, out]
    const Tensor xt = x.data();
    const int64_t b = xt.size(0), tenants = a_.size(0), r = a_.size(1), in = a_.size(2), out = b_.size(1);
    const auto& [a_all, b_all] = factors_in(xt.dtype());
    IAPT_CHECK(rows_->tenant_of_row.defined() && rows_->tenant_of_row.size(0) == b,
               "multi-tenant LoRA: set_row_tenants for this batch of {} rows first", b);
    if (batching_ == LoraBatching::Gather) {
      // every row's own A [r, in] and B [out, r], gathered once per batch (prefill and every
      // decoding step reuse them), then one batched product per factor
      if (gathered_batch_ != rows_->batch) {
        gathered_a_ = ops::embedding(a_all.reshape({tenants, r * in}), rows_->tenant_of_row).reshape({b, r, in});
        gathered_b_ = ops::embedding(b_all.reshape({tenants, out * r}), rows_->tenant_of_row).reshape({b, out, r});
        gathered_batch_ = rows_->batch;
      }
      Tensor low = ops::matmul(xt, gathered_a_, false, true);  // [B, L, r]
      return Variable(ops::add(y, ops::mul_scalar(ops::matmul(low, gathered_b_, false, true), scale_)));  // [B, L, out]
    }
    Tensor result = y.contiguous().clone();
    for (const auto& [tenant, rows] : rows_->rows_of_tenant) {  // one tenant's rows at a time
      Tensor xg = take_rows(xt, rows);                                                // [n, L, in]
      Tensor low = ops::matmul(xg, a_all.narrow(0, tenant, 1).squeeze(0), false, true);  // [n, L, r]
      Tensor d = ops::mul_scalar(ops::matmul(low, b_all.narrow(0, tenant, 1).squeeze(0), false, true), scale_);
      put_rows(result, ops::add(take_rows(result, rows), d), rows);
    }
    return Variable(result);
  }

 private:
  // The stacked factors in the activations' dtype: 16-bit activations (compute: bf16) read them
  // rounded, as autocast does; rounded once, not at every decoding step.
  const std::pair<Tensor, Tensor>& factors_in(DType d) const {
    if (!cast_.first.defined() || cast_.first.dtype() != d) cast_ = {a_.to(d), b_.to(d)};
    return cast_;
  }

  Tensor a_, b_;  // [tenants, r, in], [tenants, out, r]
  mutable std::pair<Tensor, Tensor> cast_;  // a_ and b_ in the last activations' dtype
  mutable Tensor gathered_a_, gathered_b_;  // [B, r, in], [B, out, r] of batch gathered_batch_
  mutable int64_t gathered_batch_ = -1;
  double scale_;
  LoraBatching batching_;
  std::shared_ptr<const MultiTenantLora::Rows> rows_;
};

}  // namespace

MultiTenantLora::MultiTenantLora(const Module& model, const std::vector<std::map<std::string, Tensor>>& tenants,
                                 double scale, LoraBatching batching)
    : tenants_(static_cast<int64_t>(tenants.size())), rows_(std::make_shared<Rows>()) {
  IAPT_CHECK(!tenants.empty(), "multi-tenant LoRA: no tenants");
  const std::string a_suffix = ".lora_A.weight";
  for (auto& [path, module] : model.named_modules()) {
    auto linear = std::dynamic_pointer_cast<Linear>(module);
    if (!linear || !tenants.front().count(path + a_suffix)) continue;
    IAPT_CHECK(!linear->adapter, "multi-tenant LoRA: {} already carries an adapter", path);
    std::vector<Tensor> as, bs;
    for (size_t t = 0; t < tenants.size(); ++t) {
      auto a = tenants[t].find(path + a_suffix), b = tenants[t].find(path + ".lora_B.weight");
      IAPT_CHECK(a != tenants[t].end() && b != tenants[t].end(), "multi-tenant LoRA: tenant {} has no adapter on {}", t,
                 path);
      IAPT_CHECK(a->second.shape() == tenants.front().at(path + a_suffix).shape() &&
                     b->second.dim() == 2 && b->second.size(0) == linear->out_features &&
                     a->second.size(1) == linear->in_features,
                 "multi-tenant LoRA: tenant {} on {}: A {} and B {} for a projection {} -> {} of rank {}", t, path,
                 shape_str(a->second.shape()), shape_str(b->second.shape()), linear->in_features, linear->out_features,
                 tenants.front().at(path + a_suffix).size(0));
      const Device device = linear->weight.data().device();
      const DType dtype = activation_dtype(linear->weight.dtype());  // f32 under a frozen 16-bit weight
      as.push_back(a->second.to(device).to(dtype).unsqueeze(0));
      bs.push_back(b->second.to(device).to(dtype).unsqueeze(0));
    }
    device_ = linear->weight.data().device();
    linear->adapter = std::make_shared<MultiTenantLoraAdapter>(ops::concat(as, 0), ops::concat(bs, 0), scale, batching,
                                                              rows_);
    attached_.push_back(linear);
  }
  IAPT_CHECK(!attached_.empty(), "multi-tenant LoRA: no projection of the model has a tenant's adapter");
  for (size_t t = 0; t < tenants.size(); ++t) {
    int64_t matched = 0;
    for (auto& [name, tensor] : tenants[t]) matched += name.ends_with(a_suffix);
    IAPT_CHECK(matched == projections(), "multi-tenant LoRA: tenant {} adapts {} projections, tenant 0 {}", t, matched,
               projections());
  }
}

MultiTenantLora::~MultiTenantLora() {
  for (auto& l : attached_) l->adapter.reset();
}

void MultiTenantLora::set_row_tenants(const std::vector<int64_t>& tenant_of_row) {
  rows_->rows_of_tenant = rows_by_tenant(tenant_of_row, tenants_);
  rows_->tenant_of_row = from_ints(tenant_of_row, {static_cast<int64_t>(tenant_of_row.size())}).to(device_);
  ++rows_->batch;
}

}  // namespace iapt::nn
