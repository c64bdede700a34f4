// The event ids one partition has seen, each with when it was first seen: the runtime's memory of
// "this event already has its outcome" (DESIGN.md, exactly one outcome per event).
//
// It holds every id of the retention window — a week of traffic, millions of ids — and is looked
// up once per work item, so it is built for that: a flat open-addressing table of 24-byte slots
// keyed by a 128-bit digest of the id, one cache miss per lookup and no allocation per id. A
// node-based map of strings cost three misses and two allocations per id, the largest single
// item of the work stage's CPU (bench/README.md, "Pipeline vs kcat").
//
// Two ids share a digest with probability about n^2 / 2^129 (n = 10^8 ids: 10^-23), and the
// digest is seeded per process, so no input can be crafted offline to collide with another.
// The ids themselves live in fleet.state (SeenEvents records); this table is rebuilt from them on
// restore, so the seed need not survive the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace fleetkeeper::handlers {

class SeenIds {
 public:
  // `seed` picks the digest; 0 draws one at random (tests pass a fixed one, so that a failing
  // run repeats).
  explicit SeenIds(uint64_t seed = 0);

  // Adds `id`, first seen at `at_ms`. False, changing nothing, when it is already there.
  bool Insert(std::string_view id, int64_t at_ms);
  // Adds `id` or, when it is there, keeps the later of the two times (a restore reads records
  // in any order).
  void Remember(std::string_view id, int64_t at_ms);
  bool Contains(std::string_view id) const;
  // First-seen time of `id`, or -1 when it is not there.
  int64_t SeenAt(std::string_view id) const;
  bool Erase(std::string_view id);
  // Drops every id whose first-seen time `expired` says is past; returns how many went.
  size_t EraseIf(const std::function<bool(int64_t at_ms)>& expired);

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

 private:
  struct Digest {
    uint64_t lo = 0;
    uint64_t hi = 0;
    bool operator==(const Digest&) const = default;
  };
  struct Slot {
    Digest key;
    int64_t at_ms = kEmpty;
  };
  static constexpr int64_t kEmpty = INT64_MIN;

  Digest DigestOf(std::string_view id) const;
  // Index of the slot holding `d`, or of the empty slot that ends its probe sequence.
  size_t Probe(const Digest& d) const;
  // The slot of `id`, or the empty one it would take (its key set, its time still kEmpty);
  // grows the table first when one more id would make it fuller than 7/8.
  Slot& SlotFor(std::string_view id);
  void Grow();
  void EraseAt(size_t index);

  uint64_t seed_;
  std::vector<Slot> slots_;  // power-of-two size, at most 7/8 full; linear probing
  size_t size_ = 0;
};

}  // namespace fleetkeeper::handlers
