// Hop 1 on a thread of its own: each input record is decoded, normalized and produced (a work
// item, a SKIPPED result or a dead letter) by the lane, while the poll thread goes on polling and
// routing work items. The batch stays the poll thread's: it records the input's offset when it
// hands the record over, and drains the lane before it commits or aborts, so that every output
// of the batch is in the transaction it commits. One thread, first in first out: the work items
// of a cell leave in the order their inputs came.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace fleetkeeper::consumers {

// Items are processed on the lane's thread in the order they were pushed (the worker's are
// KafkaMessagePtr; a template so that the tests need no broker).
template <typename Item>
class Lane {
 public:
  using Process = std::function<void(Item&)>;

  // `process` runs on the lane's thread, one item at a time; the item is destroyed right after.
  // At most `max_queued` items wait, and as many in the lane's hand (it takes the queue whole);
  // Push blocks beyond that.
  Lane(const char* thread_name, Process process, size_t max_queued = 8192)
      : process_(std::move(process)), max_queued_(max_queued) {
    queue_.reserve(max_queued_);
    thread_ = std::thread([this, thread_name] {
      pthread_setname_np(pthread_self(), thread_name);  // the bench's per-thread CPU names it
      Loop();
    });
  }
  // Stops the thread; items still queued are dropped unprocessed (no commit follows them, so
  // their records are read again).
  ~Lane() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    thread_.join();
  }
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  void Push(Item item) {
    std::unique_lock<std::mutex> lock(mu_);
    progress_.wait(lock, [&] { return queue_.size() < max_queued_; });
    queue_.push_back(std::move(item));
    if (queue_.size() == 1) work_.notify_one();  // the lane sleeps only on an empty queue
  }

  // Returns once every item pushed so far has been processed.
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    progress_.wait(lock, [&] { return queue_.empty() && in_hand_ == 0; });
  }

 private:
  void Loop() {
    std::vector<Item> hand;
    hand.reserve(max_queued_);
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        in_hand_ = 0;
        progress_.notify_all();
        work_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        hand.swap(queue_);
        in_hand_ = hand.size();
      }
      progress_.notify_all();  // room for Push
      for (auto& item : hand) {
        process_(item);
        item = Item();
      }
      hand.clear();
    }
  }

  Process process_;
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable work_;      // the lane waits for items
  std::condition_variable progress_;  // Push waits for room, Drain for the end
  std::vector<Item> queue_;
  size_t in_hand_ = 0;  // taken by the lane, not yet processed
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace fleetkeeper::consumers
