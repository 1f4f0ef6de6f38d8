#pragma once
/// ModelDirectory over the in-process worker::ModelManager (all-in-one mode): no network hop.
#include "gateway/model_directory.h"
#include "worker/model_manager.h"

namespace smmf::gateway {

class LocalDirectory : public ModelDirectory {
 public:
  explicit LocalDirectory(worker::ModelManager& models) : models_(models) {}
  std::vector<protocol::ModelCard> models() const override;
  Result<Pick> pick(std::string_view model, const PickHints& hints = {}) override;
  Status ready() const override;

 private:
  worker::ModelManager& models_;
};

}  // namespace smmf::gateway
