#include "handlers/engine/seen_ids.h"

#include <random>
#include <utility>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace fleetkeeper::handlers {
namespace {

constexpr size_t kInitialSlots = 1024;

uint64_t RandomSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

SeenIds::SeenIds(uint64_t seed) : seed_(seed != 0 ? seed : RandomSeed()) {}

SeenIds::Digest SeenIds::DigestOf(std::string_view id) const {
  const XXH128_hash_t h = XXH3_128bits_withSeed(id.data(), id.size(), seed_);
  return Digest{h.low64, h.high64};
}

size_t SeenIds::Probe(const Digest& d) const {
  const size_t mask = slots_.size() - 1;
  size_t i = d.lo & mask;
  while (slots_[i].at_ms != kEmpty && !(slots_[i].key == d)) i = (i + 1) & mask;
  return i;
}

void SeenIds::Grow() {
  std::vector<Slot> old =
      std::exchange(slots_, std::vector<Slot>(slots_.empty() ? kInitialSlots : slots_.size() * 2));
  for (const Slot& s : old) {
    if (s.at_ms != kEmpty) slots_[Probe(s.key)] = s;
  }
}

SeenIds::Slot& SeenIds::SlotFor(std::string_view id) {
  if ((size_ + 1) * 8 > slots_.size() * 7) Grow();
  const Digest d = DigestOf(id);
  Slot& s = slots_[Probe(d)];
  if (s.at_ms == kEmpty) s.key = d;  // an empty slot keeps kEmpty until the caller fills it
  return s;
}

bool SeenIds::Insert(std::string_view id, int64_t at_ms) {
  Slot& s = SlotFor(id);
  if (s.at_ms != kEmpty) return false;
  s.at_ms = at_ms;
  ++size_;
  return true;
}

void SeenIds::Remember(std::string_view id, int64_t at_ms) {
  Slot& s = SlotFor(id);
  if (s.at_ms == kEmpty) {
    s.at_ms = at_ms;
    ++size_;
  } else if (at_ms > s.at_ms) {
    s.at_ms = at_ms;
  }
}

int64_t SeenIds::SeenAt(std::string_view id) const {
  if (size_ == 0) return -1;
  const Slot& s = slots_[Probe(DigestOf(id))];
  return s.at_ms == kEmpty ? -1 : s.at_ms;
}

bool SeenIds::Contains(std::string_view id) const { return SeenAt(id) != -1; }

bool SeenIds::Erase(std::string_view id) {
  if (size_ == 0) return false;
  const size_t i = Probe(DigestOf(id));
  if (slots_[i].at_ms == kEmpty) return false;
  EraseAt(i);
  return true;
}

// Backward-shift deletion: every later slot of the run that could sit at `hole` moves there, so
// probe sequences stay unbroken without tombstones.
void SeenIds::EraseAt(size_t hole) {
  const size_t mask = slots_.size() - 1;
  slots_[hole].at_ms = kEmpty;
  --size_;
  for (size_t j = (hole + 1) & mask; slots_[j].at_ms != kEmpty; j = (j + 1) & mask) {
    const size_t home = slots_[j].key.lo & mask;
    // Moves when its home is not in the cyclic range (hole, j].
    const bool home_after_hole = ((j - home) & mask) < ((j - hole) & mask);
    if (home_after_hole) continue;
    slots_[hole] = slots_[j];
    slots_[j].at_ms = kEmpty;
    hole = j;
  }
}

size_t SeenIds::EraseIf(const std::function<bool(int64_t at_ms)>& expired) {
  // Rebuilt rather than erased in place: an erase shifts later slots back, which a forward scan
  // would then skip or visit twice. Expiry runs once a minute; a rebuild is the same one pass.
  // It also shrinks, so a burst of traffic does not hold its memory for good.
  size_t kept = 0;
  for (const Slot& s : slots_) kept += s.at_ms != kEmpty && !expired(s.at_ms);
  size_t slots = slots_.size();
  while (slots > kInitialSlots && kept * 4 < slots) slots /= 2;
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(slots));
  for (const Slot& s : old) {
    if (s.at_ms != kEmpty && !expired(s.at_ms)) slots_[Probe(s.key)] = s;
  }
  const size_t erased = size_ - kept;
  size_ = kept;
  return erased;
}

}  // namespace fleetkeeper::handlers
