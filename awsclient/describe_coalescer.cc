#include "awsclient/describe_coalescer.h"

#include <algorithm>
#include <set>

#include "awsclient/pagination.h"

namespace fleetkeeper::aws {

bool IsIdNotFound(const Error& e) {
  const std::string& c = e.aws_code;
  const std::string suffix = ".NotFound";
  const bool aws_not_found =
      c.size() > suffix.size() && c.compare(c.size() - suffix.size(), suffix.size(), suffix) == 0;
  return aws_not_found || (c.empty() && e.code == ErrorCode::kNotFound);
}

template <typename Item>
Result<std::map<std::string, Item>> IdReadCoalescer<Item>::Get(
    const std::vector<std::string>& ids) {
  auto request = std::make_shared<Request>();
  request->ids = ids;
  std::unique_lock lock(mu_);
  ++requests_;
  queue_.push_back(request);
  while (!request->done) {
    if (in_flight_) {
      cv_.wait(lock);
      continue;
    }
    // No call of this kind is in flight: this caller sends one for everything queued so far.
    in_flight_ = true;
    std::vector<std::shared_ptr<Request>> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    Answer(batch);
    lock.lock();
    in_flight_ = false;
    cv_.notify_all();
  }
  return std::move(request->result);
}

template <typename Item>
Result<std::map<std::string, Item>> IdReadCoalescer<Item>::FetchAll(
    const std::vector<std::string>& ids) {
  std::map<std::string, Item> out;
  for (size_t at = 0; at < ids.size(); at += max_ids_) {
    const std::vector<std::string> chunk(ids.begin() + at,
                                         ids.begin() + std::min(ids.size(), at + max_ids_));
    {
      std::lock_guard lock(mu_);
      ++calls_;
    }
    auto items = fetch_(chunk);
    if (!items.ok()) return items.error();
    for (auto& item : *items) {
      std::string id = id_of_(item);
      out.insert_or_assign(std::move(id), std::move(item));
    }
  }
  return out;
}

template <typename Item>
void IdReadCoalescer<Item>::Answer(const std::vector<std::shared_ptr<Request>>& batch) {
  std::set<std::string> unique;
  for (const auto& r : batch) unique.insert(r->ids.begin(), r->ids.end());
  auto all = FetchAll({unique.begin(), unique.end()});
  const bool split = !all.ok() && batch.size() > 1 && IsIdNotFound(all.error());
  for (const auto& r : batch) {
    if (split) {
      // One caller's unknown id must not fail the others: each asks again on its own.
      r->result = FetchAll(r->ids);
    } else if (!all.ok()) {
      r->result = all.error();
    } else {
      std::map<std::string, Item> mine;
      for (const auto& id : r->ids) {
        auto it = all->find(id);
        if (it != all->end()) mine.emplace(id, it->second);
      }
      r->result = std::move(mine);
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& r : batch) r->done = true;
}

template <typename Item>
uint64_t IdReadCoalescer<Item>::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

template <typename Item>
uint64_t IdReadCoalescer<Item>::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

template class IdReadCoalescer<Instance>;
template class IdReadCoalescer<Volume>;
template class IdReadCoalescer<InstanceStatus>;

namespace {

// EC2 answers up to 1000 instances per page; a request names at most this many ids so that one
// call is one page and the query string stays far below the service's request size limit.
constexpr size_t kMaxIdsPerCall = 500;

}  // namespace

Ec2ReadCoalescer::Ec2ReadCoalescer(Ec2& ec2)
    : instances_(
          [&ec2](const std::vector<std::string>& ids) {
            DescribeInstancesRequest req;
            req.instance_ids = ids;
            return CollectAll(
                req, [&ec2](const auto& r) { return ec2.DescribeInstances(r); },
                &DescribeInstancesResponse::instances);
          },
          [](const Instance& i) -> const std::string& { return i.id; }, kMaxIdsPerCall),
      volumes_(
          [&ec2](const std::vector<std::string>& ids) {
            DescribeVolumesRequest req;
            req.volume_ids = ids;
            return CollectAll(
                req, [&ec2](const auto& r) { return ec2.DescribeVolumes(r); },
                &DescribeVolumesResponse::volumes);
          },
          [](const Volume& v) -> const std::string& { return v.id; }, kMaxIdsPerCall),
      statuses_(
          [&ec2](const std::vector<std::string>& ids) {
            DescribeInstanceStatusRequest req;
            req.instance_ids = ids;
            req.include_all_instances = true;
            return CollectAll(
                req, [&ec2](const auto& r) { return ec2.DescribeInstanceStatus(r); },
                &DescribeInstanceStatusResponse::statuses);
          },
          [](const InstanceStatus& s) -> const std::string& { return s.instance_id; },
          kMaxIdsPerCall) {}

}  // namespace fleetkeeper::aws
