// The input behind each record the worker produced since its last commit or abort, so that a
// failed record's delivery report can name it. Reports come only for failures
// (delivery.report.only.error), so a record carries a tag from here as its opaque instead of an
// allocation that its report would free. Thread-safe: the poll thread and the ingest lane produce
// (Add), and librdkafka serves delivery reports (Find) on whichever thread polls the producer.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fleetkeeper::app {

class DeliveryIndex {
 public:
  using Source = std::tuple<std::string, int32_t, int64_t>;  // input topic, partition, offset

  // The tag of the record about to be produced for `source`: its index + 1 (0 is no record) in
  // the low half, the epoch in the high half, so a tag that outlives Clear() is told apart.
  void* Add(Source source) {
    std::lock_guard<std::mutex> lock(mu_);
    sources_.emplace_back(std::move(source));
    return reinterpret_cast<void*>((static_cast<uintptr_t>(epoch_) << 32) |
                                   static_cast<uintptr_t>(sources_.size()));
  }
  // The record of `tag` was not produced after all.
  void Drop(const void* tag) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* slot = SlotLocked(tag)) slot->reset();
  }

  // The source of a tag since the last Clear(); nothing for an older tag, a dropped one or none.
  std::optional<Source> Find(const void* tag) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto* slot = const_cast<DeliveryIndex*>(this)->SlotLocked(tag);
    return slot ? *slot : std::nullopt;
  }

  // After a commit or an abort: every record so far has its outcome and its report was served.
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    sources_.clear();
    ++epoch_;
  }

 private:
  std::optional<Source>* SlotLocked(const void* tag) {
    const auto bits = reinterpret_cast<uintptr_t>(tag);
    const size_t index = bits & 0xffffffffu;
    if (static_cast<uint32_t>(bits >> 32) != epoch_ || index < 1 || index > sources_.size()) {
      return nullptr;
    }
    return &sources_[index - 1];
  }

  mutable std::mutex mu_;
  std::vector<std::optional<Source>> sources_;
  uint32_t epoch_ = 0;
};

}  // namespace fleetkeeper::app
