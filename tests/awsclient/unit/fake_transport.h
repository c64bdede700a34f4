// A Transport that answers from a queue of canned responses and records every request, for
// exercising the service clients without a network.
#pragma once

#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "awsclient/transport.h"

namespace fleetkeeper::aws::testing {

class FakeTransport final : public Transport {
 public:
  // Queues a 200 answer with `body`.
  void Respond(std::string body, std::string request_id = "req-1") {
    ServiceResponse response;
    response.status = 200;
    response.body = std::move(body);
    response.request_id = std::move(request_id);
    std::lock_guard<std::mutex> lock(mu_);
    answers_.emplace_back(std::move(response));
  }
  void Fail(Error error) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.emplace_back(std::move(error));
  }

  Result<ServiceResponse> Call(const ServiceRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (answers_.empty()) {
      return Error(ErrorCode::kInternal,
                   "FakeTransport: no answer queued for " + request.operation);
    }
    Result<ServiceResponse> next = std::move(answers_.front());
    answers_.pop_front();
    return next;
  }
  const std::string& region() const override { return region_; }

  const std::vector<ServiceRequest>& requests() const { return requests_; }
  const ServiceRequest& last() const { return requests_.back(); }

 private:
  std::mutex mu_;
  std::string region_ = "us-east-1";
  std::deque<Result<ServiceResponse>> answers_;
  std::vector<ServiceRequest> requests_;
};

inline std::string ReadTestdata(const std::string& relative) {
  std::ifstream in(std::string(FK_SHARED_TESTDATA) + "/" + relative, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The value of header `name` in `request`, "" when absent.
inline std::string HeaderOf(const ServiceRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace fleetkeeper::aws::testing
