// Coalesces EC2 describe-by-id reads issued concurrently in one cell into one call.
//
// Workflows of a cell (and the replacements inside a rollout) keep asking EC2 the same kind of
// question about different resources: "what state is instance X in", "is volume Y attached". Each
// question alone costs a call against the cell's API rate limit. Ec2ReadCoalescer answers them in
// group-commit fashion: a caller that finds no call of its kind in flight sends one at once (no
// added latency when it is alone); callers that arrive while a call is in flight queue up, and the
// next call carries all of their ids. So N concurrent waiters cost one call, not N.
//
// Errors are split back to each caller: a "not found" answer (one unknown id fails the whole
// request in EC2) is retried per caller, so only the caller that asked for the unknown id sees it;
// any other error reaches every caller of that call. An id the answer does not mention (EC2
// forgets terminated instances after a while) is simply absent from the caller's map.
//
// Thread-safe: meant to be shared by every executor thread working for one cell.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "awsclient/ec2.h"
#include "common/error.h"

namespace fleetkeeper::aws {

// One kind of describe-by-id read, coalesced. `Item` is what the answer lists per id.
template <typename Item>
class IdReadCoalescer {
 public:
  // Reads the items of `ids` (already de-duplicated, at most max_ids_per_call of them).
  using Fetch = std::function<Result<std::vector<Item>>(const std::vector<std::string>& ids)>;
  using IdOf = std::function<const std::string&(const Item&)>;

  IdReadCoalescer(Fetch fetch, IdOf id_of, size_t max_ids_per_call)
      : fetch_(std::move(fetch)), id_of_(std::move(id_of)), max_ids_(max_ids_per_call) {}

  // The items of `ids` that the answer lists, by id. Blocks while an earlier call of this kind is
  // in flight, then either rides along in the next call or sends it.
  Result<std::map<std::string, Item>> Get(const std::vector<std::string>& ids);

  // Calls sent to AWS and requests answered so far (requests / calls = the coalescing factor).
  uint64_t calls() const;
  uint64_t requests() const;

 private:
  struct Request {
    std::vector<std::string> ids;
    bool done = false;
    Result<std::map<std::string, Item>> result = std::map<std::string, Item>{};
  };

  // Answers every request of `batch`; called without the lock.
  void Answer(const std::vector<std::shared_ptr<Request>>& batch);
  // One call per max_ids_ ids; every item the answers list, by id.
  Result<std::map<std::string, Item>> FetchAll(const std::vector<std::string>& ids);

  Fetch fetch_;
  IdOf id_of_;
  size_t max_ids_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Request>> queue_;
  bool in_flight_ = false;
  uint64_t calls_ = 0;
  uint64_t requests_ = 0;
};

// Whether an EC2 error says that one of the ids asked for does not exist.
bool IsIdNotFound(const Error& e);

// The reads the AMI rollout's replacements poll, for one cell's EC2 client.
class Ec2ReadCoalescer {
 public:
  explicit Ec2ReadCoalescer(Ec2& ec2);

  // DescribeInstances by instance id.
  Result<std::map<std::string, Instance>> Instances(const std::vector<std::string>& ids) {
    return instances_.Get(ids);
  }
  // DescribeVolumes by volume id.
  Result<std::map<std::string, Volume>> Volumes(const std::vector<std::string>& ids) {
    return volumes_.Get(ids);
  }
  // DescribeInstanceStatus by instance id, IncludeAllInstances (stopped and pending ones too).
  Result<std::map<std::string, InstanceStatus>> Statuses(const std::vector<std::string>& ids) {
    return statuses_.Get(ids);
  }

  // Calls sent and callers answered, every kind together.
  uint64_t calls() const { return instances_.calls() + volumes_.calls() + statuses_.calls(); }
  uint64_t requests() const {
    return instances_.requests() + volumes_.requests() + statuses_.requests();
  }

 private:
  IdReadCoalescer<Instance> instances_;
  IdReadCoalescer<Volume> volumes_;
  IdReadCoalescer<InstanceStatus> statuses_;
};

}  // namespace fleetkeeper::aws
