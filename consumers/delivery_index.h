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
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace fleetkeeper::consumers {

class DeliveryIndex {
 public:
  using Source = std::tuple<std::string, int32_t, int64_t>;  // input topic, partition, offset

  // The tag of the record about to be produced for input `topic`/`partition`@`offset`: its index
  // + 1 (0 is no record) in the low half, the epoch in the high half, so a tag that outlives
  // Clear() is told apart. Topic names are kept once, not per record.
  void* Add(std::string_view topic, int32_t partition, int64_t offset) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({TopicIndexLocked(topic), partition, offset, true});
    return reinterpret_cast<void*>((static_cast<uintptr_t>(epoch_) << 32) |
                                   static_cast<uintptr_t>(entries_.size()));
  }
  // The record of `tag` was not produced after all.
  void Drop(const void* tag) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* entry = EntryLocked(tag)) entry->live = false;
  }

  // The source of a tag since the last Clear(); nothing for an older tag, a dropped one or none.
  std::optional<Source> Find(const void* tag) const {
    std::lock_guard<std::mutex> lock(mu_);
    const Entry* entry = const_cast<DeliveryIndex*>(this)->EntryLocked(tag);
    if (entry == nullptr || !entry->live) return std::nullopt;
    return Source{topics_[entry->topic], entry->partition, entry->offset};
  }

  // After a commit or an abort: every record so far has its outcome and its report was served.
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
    ++epoch_;
  }

 private:
  struct Entry {
    uint32_t topic;  // index in topics_
    int32_t partition;
    int64_t offset;
    bool live;
  };

  uint32_t TopicIndexLocked(std::string_view topic) {
    for (size_t i = 0; i < topics_.size(); ++i) {
      if (topics_[i] == topic) return static_cast<uint32_t>(i);
    }
    topics_.emplace_back(topic);
    return static_cast<uint32_t>(topics_.size() - 1);
  }

  Entry* EntryLocked(const void* tag) {
    const auto bits = reinterpret_cast<uintptr_t>(tag);
    const size_t index = bits & 0xffffffffu;
    if (static_cast<uint32_t>(bits >> 32) != epoch_ || index < 1 || index > entries_.size()) {
      return nullptr;
    }
    return &entries_[index - 1];
  }

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::vector<std::string> topics_;  // the input topics seen so far (a handful)
  uint32_t epoch_ = 0;
};

}  // namespace fleetkeeper::consumers
