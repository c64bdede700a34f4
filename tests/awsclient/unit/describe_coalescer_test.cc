#include "awsclient/describe_coalescer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "tests/testing/aws_mocks.h"

namespace fleetkeeper::aws {
namespace {

using ::testing::_;
using ::testing::Invoke;
using testing::MockEc2;

Instance Running(const std::string& id) {
  Instance i;
  i.id = id;
  i.state.name = "running";
  return i;
}

Error NotFound(const std::string& id) {
  Error e(ErrorCode::kAws, "The instance ID '" + id + "' does not exist");
  e.aws_code = "InvalidInstanceID.NotFound";
  return e;
}

// An EC2 that knows instances i-1 .. i-99 (i-gone is unknown), records the ids of every
// DescribeInstances call, and can hold the first call until told to answer.
class CountingEc2 {
 public:
  CountingEc2() {
    ON_CALL(ec2, DescribeInstances(_))
        .WillByDefault(
            Invoke([this](const DescribeInstancesRequest& r) -> Result<DescribeInstancesResponse> {
              {
                std::unique_lock lock(mu);
                calls.emplace_back(r.instance_ids.begin(), r.instance_ids.end());
                if (calls.size() == 1 && hold_first) {
                  first_arrived.set_value();
                  cv.wait(lock, [this] { return released; });
                }
              }
              DescribeInstancesResponse out;
              for (const auto& id : r.instance_ids) {
                if (id == "i-gone") return NotFound(id);
                if (id == "i-forgotten") continue;  // terminated long ago: EC2 no longer lists it
                out.instances.push_back(Running(id));
              }
              return out;
            }));
  }

  void Release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }

  ::testing::NiceMock<MockEc2> ec2;
  std::mutex mu;
  std::condition_variable cv;
  bool hold_first = false;
  bool released = false;
  std::promise<void> first_arrived;
  std::vector<std::set<std::string>> calls;
};

// Waits until `n` callers have entered the coalescer (each one counts when it queues).
void WaitForRequests(Ec2ReadCoalescer& reads, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.requests() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(reads.requests(), n);
}

TEST(Ec2ReadCoalescer, AloneIsOneCallWithItsOwnIds) {
  CountingEc2 fake;
  Ec2ReadCoalescer reads(fake.ec2);
  auto r = reads.Instances({"i-1", "i-2"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at("i-2").state.name, "running");
  ASSERT_EQ(fake.calls.size(), 1u);
  EXPECT_EQ(fake.calls[0], (std::set<std::string>{"i-1", "i-2"}));
}

using Answer = Result<std::map<std::string, Instance>>;

// A first caller asking for i-1, whose call EC2 holds until fake.Release().
std::future<Answer> HeldFirstCall(CountingEc2& fake, Ec2ReadCoalescer& reads) {
  fake.hold_first = true;
  auto arrived = fake.first_arrived.get_future();
  auto first = std::async(std::launch::async, [&reads] { return reads.Instances({"i-1"}); });
  arrived.wait();
  return first;
}

TEST(Ec2ReadCoalescer, CallersWaitingOnAnInFlightCallShareTheNextCall) {
  CountingEc2 fake;
  Ec2ReadCoalescer reads(fake.ec2);
  auto first = HeldFirstCall(fake, reads);
  // Eight more callers while the first call is in flight.
  std::vector<std::future<Answer>> others;
  for (int k = 2; k < 10; ++k) {
    others.push_back(std::async(std::launch::async, [&reads, k] {
      return reads.Instances({"i-" + std::to_string(k), "i-1"});
    }));
  }
  // Let them all queue up behind the held call, then answer it.
  WaitForRequests(reads, 9);
  fake.Release();
  auto r1 = first.get();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->size(), 1u);
  for (size_t k = 0; k < others.size(); ++k) {
    auto r = others[k].get();
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    // Each caller gets exactly the ids it asked for.
    EXPECT_EQ(r->size(), 2u);
    EXPECT_TRUE(r->count("i-" + std::to_string(k + 2)));
    EXPECT_TRUE(r->count("i-1"));
  }
  // Nine callers, two calls: the eight queued ones rode along in the second, each id once.
  ASSERT_EQ(fake.calls.size(), 2u);
  EXPECT_EQ(fake.calls[1].size(), 9u);
}

TEST(Ec2ReadCoalescer, AnUnknownIdFailsOnlyTheCallerThatAskedForIt) {
  CountingEc2 fake;
  Ec2ReadCoalescer reads(fake.ec2);
  auto first = HeldFirstCall(fake, reads);
  auto good = std::async(std::launch::async, [&] { return reads.Instances({"i-2"}); });
  auto bad = std::async(std::launch::async, [&] { return reads.Instances({"i-gone", "i-3"}); });
  WaitForRequests(reads, 3);  // both queue behind the first
  fake.Release();
  ASSERT_TRUE(first.get().ok());
  auto g = good.get();
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(g->count("i-2"), 1u);
  auto b = bad.get();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().aws_code, "InvalidInstanceID.NotFound");
}

TEST(Ec2ReadCoalescer, AnyOtherErrorReachesEveryCallerOfTheCall) {
  ::testing::NiceMock<MockEc2> ec2;
  EXPECT_CALL(ec2, DescribeInstances(_))
      .WillOnce(Invoke([](const DescribeInstancesRequest&) -> Result<DescribeInstancesResponse> {
        Error e(ErrorCode::kThrottled, "Rate exceeded", true);
        e.aws_code = "RequestLimitExceeded";
        return e;
      }));
  Ec2ReadCoalescer reads(ec2);
  auto r = reads.Instances({"i-1", "i-2"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().aws_code, "RequestLimitExceeded");
  EXPECT_TRUE(r.error().retriable);
}

TEST(Ec2ReadCoalescer, IdsMissingFromTheAnswerAreAbsentNotErrors) {
  CountingEc2 fake;
  Ec2ReadCoalescer reads(fake.ec2);
  auto r = reads.Instances({"i-1", "i-forgotten"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->count("i-1"), 1u);
  EXPECT_EQ(r->count("i-forgotten"), 0u);
}

TEST(Ec2ReadCoalescer, LargeRequestsAreSplitIntoCallsOfAtMost500Ids) {
  CountingEc2 fake;
  Ec2ReadCoalescer reads(fake.ec2);
  std::vector<std::string> ids;
  for (int k = 0; k < 1200; ++k) ids.push_back("i-" + std::to_string(k));
  auto r = reads.Instances(ids);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->size(), 1200u);
  ASSERT_EQ(fake.calls.size(), 3u);
  for (const auto& c : fake.calls) EXPECT_LE(c.size(), 500u);
}

TEST(Ec2ReadCoalescer, VolumesAndStatusesAreReadByIdToo) {
  ::testing::NiceMock<MockEc2> ec2;
  EXPECT_CALL(ec2, DescribeVolumes(_))
      .WillOnce(Invoke([](const DescribeVolumesRequest& r) -> Result<DescribeVolumesResponse> {
        EXPECT_EQ(r.volume_ids, (std::vector<std::string>{"vol-1", "vol-2"}));
        DescribeVolumesResponse out;
        Volume v;
        v.id = "vol-2";
        v.state = "available";
        out.volumes.push_back(v);
        return out;
      }));
  EXPECT_CALL(ec2, DescribeInstanceStatus(_))
      .WillOnce(Invoke(
          [](const DescribeInstanceStatusRequest& r) -> Result<DescribeInstanceStatusResponse> {
            // Stopped and pending instances must be listed too.
            EXPECT_EQ(r.include_all_instances, std::optional<bool>(true));
            DescribeInstanceStatusResponse out;
            InstanceStatus s;
            s.instance_id = "i-1";
            s.instance_status = "ok";
            out.statuses.push_back(s);
            return out;
          }));
  Ec2ReadCoalescer reads(ec2);
  auto v = reads.Volumes({"vol-2", "vol-1"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 1u);
  EXPECT_EQ(v->at("vol-2").state, "available");
  auto s = reads.Statuses({"i-1"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->at("i-1").instance_status, "ok");
}

}  // namespace
}  // namespace fleetkeeper::aws
