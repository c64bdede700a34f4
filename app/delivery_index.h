// The input behind each record the worker produced since its last commit or abort, so that a
// failed record's delivery report can name it. Reports come only for failures
// (delivery.report.only.error), so a record carries a tag from here as its opaque instead of an
// allocation that its report would free. Poll thread only: librdkafka serves delivery reports in
// rd_kafka_poll, flush and commit_transaction, which only the poll thread calls.
#pragma once

#include <cstdint>
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
    sources_.push_back(std::move(source));
    return reinterpret_cast<void*>((static_cast<uintptr_t>(epoch_) << 32) |
                                   static_cast<uintptr_t>(sources_.size()));
  }
  // The record of the last Add() was not produced after all.
  void DropLast() { sources_.pop_back(); }

  // The source of a tag since the last Clear(); nullptr for an older tag or none.
  const Source* Find(const void* tag) const {
    const auto bits = reinterpret_cast<uintptr_t>(tag);
    const size_t index = bits & 0xffffffffu;
    if (static_cast<uint32_t>(bits >> 32) != epoch_ || index < 1 || index > sources_.size()) {
      return nullptr;
    }
    return &sources_[index - 1];
  }

  // After a commit or an abort: every record so far has its outcome and its report was served.
  void Clear() {
    sources_.clear();
    ++epoch_;
  }

 private:
  std::vector<Source> sources_;
  uint32_t epoch_ = 0;
};

}  // namespace fleetkeeper::app
