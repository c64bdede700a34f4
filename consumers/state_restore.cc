#include "consumers/state_restore.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/raii_kafka.h"
#include "consumers/kafka.h"
#include "consumers/topics.h"

namespace fleetkeeper::consumers {

Result<std::set<int32_t>> ReadStateLog(rd_kafka_t* reader, const std::string& topic,
                                       const std::vector<int32_t>& partitions, int64_t timeout_ms,
                                       int watermark_attempts, const std::atomic<bool>* stop,
                                       const StateVisitor& visit) {
  // Under read_committed the high watermark is the last stable offset: what a restore reads.
  std::map<int32_t, int64_t> end;
  KafkaTopicPartitionsPtr assignment(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    int64_t lo = 0, hi = 0;
    if (auto err = QueryWatermarks(reader, topic, p, &lo, &hi, watermark_attempts)) {
      return KafkaError(err, fmt::format("end of {}/{}", topic, p));
    }
    if (hi > lo) {
      end[p] = hi;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  std::set<int32_t> pending;
  if (end.empty()) return pending;
  if (auto err = rd_kafka_assign(reader, assignment.get())) {
    return KafkaError(err, "assigning " + topic);
  }
  for (const auto& [p, hi] : end) pending.insert(p);
  const auto stopped = [stop] { return stop != nullptr && stop->load(); };
  const int64_t deadline = SystemClock::Instance().MonotonicMs() + timeout_ms;
  while (!pending.empty() && !stopped() && SystemClock::Instance().MonotonicMs() < deadline) {
    KafkaMessagePtr msg(rd_kafka_consumer_poll(reader, 200));
    if (!msg) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // Transaction markers and aborted records can end the log below the high watermark.
      if (msg->offset >= end[msg->partition]) pending.erase(msg->partition);
      continue;
    }
    if (msg->err) continue;
    if (msg->offset + 1 >= end[msg->partition]) pending.erase(msg->partition);
    visit(msg->partition,
          std::string_view(static_cast<const char*>(msg->key), msg->key ? msg->key_len : 0),
          static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0);
  }
  return pending;
}

Status ReadWholeStateLog(KafkaPtr reader, const std::string& topic, int timeout_ms,
                         const StateVisitor& visit) {
  auto partitions = PartitionCount(reader.get(), topic, timeout_ms);
  if (!partitions.ok()) return std::move(partitions).take_error();
  std::vector<int32_t> all(*partitions);
  for (int32_t p = 0; p < *partitions; ++p) all[p] = p;
  auto unread = ReadStateLog(reader.get(), topic, all, timeout_ms, 20, nullptr, visit);
  rd_kafka_consumer_close(reader.get());
  if (!unread.ok()) return std::move(unread).take_error();
  if (!unread->empty()) {
    return Error(ErrorCode::kTimeout,
                 fmt::format("{}: {} partitions not read to their end within {} ms", topic,
                             unread->size(), timeout_ms));
  }
  return Ok{};
}

PartitionRestores::PartitionRestores(KafkaProperties reader_properties, rd_kafka_t* consumer,
                                     std::string work_topic, std::string state_topic,
                                     const Clock& clock)
    : properties_(std::move(reader_properties)),
      consumer_(consumer),
      work_topic_(std::move(work_topic)),
      state_topic_(std::move(state_topic)),
      clock_(clock) {}

void PartitionRestores::Close() {
  Stop();
  executor_.reset();
}

void PartitionRestores::Start(int32_t partition) {
  if (!executor_) return;  // closed
  const uint64_t ticket = next_ticket_++;
  restoring_[partition] = ticket;
  executor_->Submit([this, partition, ticket] {
    Done done = Run(partition, ticket);
    std::lock_guard<std::mutex> lock(done_mu_);
    done_.push_back(std::move(done));
  });
}

PartitionRestores::Done PartitionRestores::Run(int32_t partition, uint64_t ticket) const {
  Done done;
  done.ticket = ticket;
  done.restored.partition = partition;
  const int64_t started = clock_.MonotonicMs();
  // The committed offset: under read_committed librdkafka waits while a previous owner's
  // transaction still holds it.
  int64_t committed = -1;
  KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(tp.get(), work_topic_.c_str(), partition);
  if (auto err = rd_kafka_committed(consumer_, tp.get(), 60000)) {
    done.error =
        KafkaError(err, fmt::format("committed offset of {}/{}", work_topic_, partition)).message;
  } else {
    committed = tp->elems[0].offset;
  }
  if (done.error.empty()) {
    int64_t wlo = 0, whi = 0;
    if (auto err = QueryWatermarks(consumer_, work_topic_, partition, &wlo, &whi)) {
      done.error =
          KafkaError(err, fmt::format("watermarks of {}/{}", work_topic_, partition)).message;
    }
    done.restored.resume_offset = committed >= 0 ? committed : wlo;
  }
  if (done.error.empty()) {
    auto reader = NewClient(ClientRole::kReader, properties_, {}, "state reader");
    if (!reader.ok()) {
      done.error = reader.error().message;
    } else {
      auto& records = done.restored.records;
      // A restore that does not reach the end in time installs what it read, as before a
      // rebalance it would have: the log is read again at the next assignment.
      auto read = ReadStateLog(
          reader->get(), state_topic_, {partition}, 120000, 40, &stopping_,
          [&records](int32_t, std::string_view key, const char* value, size_t size) {
            records.emplace_back(std::string(key), value ? std::string(value, size) : "");
          });
      if (!read.ok()) done.error = read.error().message;
      rd_kafka_consumer_close(reader->get());
    }
  }
  spdlog::info("restore of {}/{}: {} records in {} ms{}", state_topic_, partition,
               done.restored.records.size(), clock_.MonotonicMs() - started,
               done.error.empty() ? "" : ", " + done.error);
  return done;
}

std::vector<PartitionRestores::Restored> PartitionRestores::TakeDone() {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done.swap(done_);
  }
  std::vector<Restored> out;
  for (auto& d : done) {
    const int32_t p = d.restored.partition;
    auto it = restoring_.find(p);
    if (it == restoring_.end() || it->second != d.ticket) continue;  // revoked or superseded
    restoring_.erase(it);
    if (!d.error.empty()) {
      spdlog::warn("restore of partition {} failed ({}); retrying", p, d.error);
      Start(p);
      continue;
    }
    out.push_back(std::move(d.restored));
  }
  return out;
}

}  // namespace fleetkeeper::consumers
