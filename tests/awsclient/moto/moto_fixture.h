// Shared set-up of the typed clients' tests against moto's server with authentication on
// (scripts/moto.sh start --name aws --auth; the gaps are filled by scripts/motofill). Needs the
// variables of .cache/moto-aws.env exported (FK_MOTO_ENDPOINT and the IAM user's
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); the region is AWS_REGION, else us-east-1.
//
// Fixtures the clients have no operation for (VPCs, groups, clusters, ...) are made with Query()
// and Json() over the same signed transport, so they are signed with the same key. Every name is
// unique per run: the tests can run again against the same server.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "awsclient/clients.h"
#include "awsclient/credentials.h"
#include "awsclient/json_protocol.h"
#include "awsclient/query_protocol.h"
#include "awsclient/signed_transport.h"

namespace fleetkeeper::aws::moto_test {

inline constexpr const char* kEc2Version = "2016-11-15";
inline constexpr const char* kAutoScalingVersion = "2011-01-01";
inline constexpr const char* kElbv2Version = "2015-12-01";
inline constexpr const char* kCloudWatchVersion = "2010-08-01";
inline constexpr const char* kSnsVersion = "2010-03-31";
inline constexpr const char* kIamVersion = "2010-05-08";

inline std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string MotoRegion() { return Env("AWS_REGION", "us-east-1"); }

// A name no earlier run against the same server has used.
inline std::string Unique(const std::string& prefix) {
  static int counter = 0;
  return prefix + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 10000000000) +
         "-" + std::to_string(++counter);
}

class FixedCredentials final : public CredentialsProvider {
 public:
  explicit FixedCredentials(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Resolve() override { return c_; }
  std::string name() const override { return "fixed"; }

 private:
  Credentials c_;
};

inline TransportOptions MotoOptions() {
  TransportOptions options;
  options.region = MotoRegion();
  options.endpoints.profile_endpoint_url = Env("FK_MOTO_ENDPOINT");
  options.retry.max_attempts = 2;
  return options;
}

inline std::shared_ptr<Transport> MotoTransport(CredentialsProviderPtr credentials) {
  return std::make_shared<SignedTransport>(std::move(credentials), MotoOptions());
}

// Polls `done` every 100 ms until it holds or `timeout` passes; true when it held.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

class MotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("FK_MOTO_ENDPOINT").empty() || Env("AWS_ACCESS_KEY_ID").empty()) {
      GTEST_FAIL() << "FK_MOTO_ENDPOINT and the test user's keys are not set: run "
                      "`scripts/moto.sh start --name aws --auth` and export the variables of "
                      ".cache/moto-aws.env";
    }
    transport_ = MotoTransport(std::make_shared<EnvironmentProvider>());
    clients_ = MakeCellClients(transport_);
  }

  // A query-protocol call for fixtures; the test fails when it does.
  XmlResponse Query(const std::string& service, const QueryParams& params) {
    Result<XmlResponse> r = CallQuery(*transport_, service, params);
    EXPECT_TRUE(r.ok()) << service << " " << params.action() << ": " << r.error().ToString();
    return r.ok() ? std::move(r).value() : XmlResponse{};
  }

  // A JSON 1.1 call for fixtures; the test fails when it does.
  nlohmann::json Json(const std::string& service, const char* target_prefix,
                      const std::string& operation, const nlohmann::json& body) {
    Result<nlohmann::json> r = CallJson(*transport_, service, target_prefix, operation, body);
    EXPECT_TRUE(r.ok()) << service << " " << operation << ": " << r.error().ToString();
    return r.ok() ? std::move(r).value() : nlohmann::json::object();
  }

  static QueryParams Ec2Params(const std::string& action) {
    return QueryParams(QueryFlavor::kEc2, action, kEc2Version);
  }

  // A new VPC with one subnet; returns {vpc id, subnet id}.
  std::pair<std::string, std::string> MakeSubnet(int second_octet) {
    const std::string prefix = "10." + std::to_string(second_octet);
    QueryParams vpc_params = Ec2Params("CreateVpc");
    vpc_params.Set("CidrBlock", prefix + ".0.0/16");
    XmlResponse vpc = Query("ec2", vpc_params);
    std::string vpc_id = vpc.result.child("vpc").child_value("vpcId");
    QueryParams subnet_params = Ec2Params("CreateSubnet");
    subnet_params.Set("VpcId", vpc_id);
    subnet_params.Set("CidrBlock", prefix + ".1.0/24");
    subnet_params.Set("AvailabilityZone", MotoRegion() + "a");
    XmlResponse subnet = Query("ec2", subnet_params);
    return {vpc_id, subnet.result.child("subnet").child_value("subnetId")};
  }

  // Two distinct public images moto ships with.
  std::pair<std::string, std::string> TwoAmis() {
    Result<DescribeImagesResponse> images =
        clients_->ec2->DescribeImages({{}, {"amazon"}, {}, {}, ""});
    EXPECT_TRUE(images.ok()) << images.error().ToString();
    if (!images.ok() || images->images.size() < 2) return {};
    return {images->images[0].id, images->images[1].id};
  }

  // One running instance in `subnet_id` with `tags`; empty on failure (the test has failed then).
  std::string LaunchInstance(const std::string& ami, const std::string& subnet_id,
                             const Tags& tags = {}) {
    RunInstancesRequest run;
    run.image_id = ami;
    run.instance_type = "t3.micro";
    run.subnet_id = subnet_id;
    if (!tags.empty()) run.tag_specifications = {{"instance", tags}};
    Result<RunInstancesResponse> r = clients_->ec2->RunInstances(run);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() && !r->instances.empty() ? r->instances[0].id : std::string();
  }

  std::string InstanceState(const std::string& id) {
    Result<DescribeInstancesResponse> r = clients_->ec2->DescribeInstances({{id}, {}, {}, ""});
    return r.ok() && r->instances.size() == 1 ? r->instances[0].state.name : "<unknown>";
  }

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<CellClients> clients_;
};

}  // namespace fleetkeeper::aws::moto_test
