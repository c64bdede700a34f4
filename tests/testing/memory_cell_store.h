// An in-memory CellStore for unit tests of what handlers and guards keep in a cell.
#pragma once

#include <map>
#include <string>

#include "handlers/handler.h"

namespace fleetkeeper::handlers::testing {

class MemoryCellStore final : public CellStore {
 public:
  const google::protobuf::Any* Get(const std::string& key) const override {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  void Put(const std::string& key, const google::protobuf::Message& value) override {
    values_[key].PackFrom(value);
  }
  void Erase(const std::string& key) override { values_.erase(key); }
  size_t size() const { return values_.size(); }

 private:
  std::map<std::string, google::protobuf::Any> values_;
};

}  // namespace fleetkeeper::handlers::testing
