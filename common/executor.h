// A bounded pool of worker threads for blocking work (AWS calls of workflow steps, restores), so
// the Kafka poll thread never blocks. Tasks run in submission order as threads free up.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fleetkeeper {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();  // runs the tasks already queued, then joins
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Submit(std::function<void()> task);
  // Tasks queued or running.
  size_t pending() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fleetkeeper
