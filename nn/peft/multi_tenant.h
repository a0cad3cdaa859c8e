#pragma once
// One frozen backbone serving a batch whose rows belong to different tenants, each with its own
// adapter; every tenant's adapter acts on its rows only. IAPT reads each row's tenant from the
// forward inputs (BatchInputs::row_tenants); LoRA is told before the batch runs
// (MultiTenantLora::set_row_tenants), since its adapters sit inside the projections, where the
// forward inputs do not reach. For inference: nothing here records gradients.
//   IAPT: at prefill each tenant's generators read that tenant's rows and make their key/value
//     prefixes [rows, Hkv, k, D]; the KV cache keeps them, so decoding runs no generator.
//   LoRA, unmerged: each target projection gathers every row's A [r, in] and B [out, r] from the
//     tenants' stacked matrices and applies them as one batched low-rank product (as multi-adapter
//     servers batch them); or, the reference, loops over the tenants, one product per tenant's rows.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/hooks.h"
#include "nn/peft/iapt.h"

namespace iapt::nn {

// Rows grouped by tenant, in row order within a tenant.
std::map<int64_t, std::vector<int64_t>> rows_by_tenant(const std::vector<int64_t>& tenant_of_row, int64_t tenants);

class MultiTenantIapt : public ForwardHooks {
 public:
  // Every tenant with the same number of soft tokens and the same position shift.
  explicit MultiTenantIapt(std::vector<std::shared_ptr<Iapt>> tenants);
  // Each tenant's generators read that tenant's rows of h and of the batch's instruction mask, the
  // tenants named by batch.row_tenants.
  KVPrefix layer_prefix(int64_t layer, const Variable& h, const BatchInputs& batch, const RMSNorm& input_norm,
                        const LlamaAttention& attn) override;
  int64_t text_position_offset() const override { return tenants_.front()->text_position_offset(); }
  int64_t num_tenants() const { return static_cast<int64_t>(tenants_.size()); }

 private:
  std::vector<std::shared_ptr<Iapt>> tenants_;
};

enum class LoraBatching { Gather, Loop };

class MultiTenantLora {
 public:
  // Each tenant's LoRA parameters by canonical name ("<projection path>.lora_A.weight" [r, in],
  // ".lora_B.weight" [out, r]), every tenant with the same projections and rank; attaches one
  // adapter to each of those projections of `model` (which must carry none).
  MultiTenantLora(const Module& model, const std::vector<std::map<std::string, Tensor>>& tenants, double scale,
                  LoraBatching batching);
  ~MultiTenantLora();  // detaches from the model
  MultiTenantLora(const MultiTenantLora&) = delete;
  MultiTenantLora& operator=(const MultiTenantLora&) = delete;
  void set_row_tenants(const std::vector<int64_t>& tenant_of_row);
  int64_t num_tenants() const { return tenants_; }
  int64_t projections() const { return static_cast<int64_t>(attached_.size()); }

  struct Rows {  // shared with the adapters
    Tensor tenant_of_row;  // i64 [B], on the model's device
    std::map<int64_t, std::vector<int64_t>> rows_of_tenant;
    int64_t batch = 0;  // counts set_row_tenants calls: what adapters gathered for is still current
  };

 private:
  int64_t tenants_ = 0;
  Device device_ = Device::CPU;
  std::shared_ptr<Rows> rows_;
  std::vector<std::shared_ptr<Linear>> attached_;
};

}  // namespace iapt::nn
