#include "consumers/group_consumer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/callback.h"
#include "common/metrics.h"
#include "consumers/kafka.h"

namespace fleetkeeper::consumers {
namespace {

KafkaTopicPartitionsPtr ListOf(const std::vector<GroupConsumer::PartitionKey>& partitions) {
  KafkaTopicPartitionsPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second);
  }
  return list;
}

}  // namespace

Result<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(const KafkaProperties& properties,
                                                             const std::vector<std::string>& topics,
                                                             Hooks hooks) {
  std::unique_ptr<GroupConsumer> out(new GroupConsumer(std::move(hooks)));
  ClientCallbacks callbacks;
  callbacks.opaque = out.get();
  callbacks.rebalance = &GroupConsumer::OnRebalance;
  callbacks.error = &GroupConsumer::OnError;
  auto client = NewClient(ClientRole::kGroupConsumer, properties, callbacks, "consumer");
  if (!client.ok()) return std::move(client).take_error();
  out->client_ = std::move(*client);
  rd_kafka_poll_set_consumer(out->client_.get());
  KafkaTopicPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(out->client_.get(), list.get())) {
    return KafkaError(err, "subscribing");
  }
  out->queue_.reset(rd_kafka_queue_get_consumer(out->client_.get()));
  return out;
}

std::optional<std::string> GroupConsumer::Fatal(const rd_kafka_message_t* msg) {
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return std::nullopt;
  if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(client_.get(), buf, sizeof(buf));
    return std::string(buf);
  }
  spdlog::warn("consumer: {}", rd_kafka_message_errstr(msg));
  return std::nullopt;
}

void GroupConsumer::Pause(const std::string& topic, int32_t partition, bool pause) {
  KafkaTopicPartitionsPtr tp = ListOf({{topic, partition}});
  rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(client_.get(), tp.get())
                                  : rd_kafka_resume_partitions(client_.get(), tp.get());
  if (err) {
    spdlog::warn("{} {}/{}: {}", pause ? "pause" : "resume", topic, partition,
                 rd_kafka_err2str(err));
  }
}

void GroupConsumer::SeekBack(const rd_kafka_message_t* msg) {
  const char* topic = rd_kafka_topic_name(msg->rkt);
  KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(tp.get(), topic, msg->partition)->offset = msg->offset;
  KafkaErrorPtr e(rd_kafka_seek_partitions(client_.get(), tp.get(), 5000));
  if (e) spdlog::warn("seek back {}/{}: {}", topic, msg->partition, rd_kafka_error_string(e.get()));
}

Status GroupConsumer::Rewind(const std::vector<PartitionKey>& partitions) {
  if (partitions.empty()) return Ok{};
  KafkaTopicPartitionsPtr list = ListOf(partitions);
  rd_kafka_resp_err_t err = rd_kafka_committed(client_.get(), list.get(), 30000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error(ErrorCode::kKafka,
                 fmt::format("cannot read committed offsets to rewind: {}", rd_kafka_err2str(err)));
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  KafkaErrorPtr serr(rd_kafka_seek_partitions(client_.get(), list.get(), 30000));
  if (serr) {
    spdlog::warn("seek after abort: {}", rd_kafka_error_string(serr.get()));
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      spdlog::warn("seek {}/{}: {}", list->elems[i].topic, list->elems[i].partition,
                   rd_kafka_err2str(list->elems[i].err));
    }
  }
  return Ok{};
}

rd_kafka_resp_err_t GroupConsumer::Commit(const std::map<PartitionKey, int64_t>& offsets) {
  KafkaTopicPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, off] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
  }
  return rd_kafka_commit(client_.get(), list.get(), 0);
}

void GroupConsumer::Close(bool graceful) {
  if (!client_) return;
  queue_.reset();
  if (graceful) rd_kafka_consumer_close(client_.get());
  // Destroying a consumer that was not closed runs the rebalance callback (a revoke), whose hook
  // must still find the client (unique_ptr::reset would clear it first: librdkafka then crashed on
  // a null handle in every fenced worker's exit).
  rd_kafka_destroy(client_.get());
  (void)client_.release();
}

void GroupConsumer::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  InvokeCallback("rebalance",
                 [&] { static_cast<GroupConsumer*>(opaque)->Rebalance(rk, err, partitions); });
}

void GroupConsumer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  InvokeCallback("error", [&] {
    auto* self = static_cast<GroupConsumer*>(opaque);
    if (self->hooks_.on_error) self->hooks_.on_error(rk, err, reason);
  });
}

void GroupConsumer::Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* partitions) {
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  Change change;
  change.assigned = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  for (int i = 0; i < partitions->cnt; ++i) {
    change.partitions.emplace_back(partitions->elems[i].topic, partitions->elems[i].partition);
  }
  if (change.assigned) {
    spdlog::info("assigned {} partitions", partitions->cnt);
    if (cooperative) {
      KafkaErrorPtr e(rd_kafka_incremental_assign(rk, partitions));
      if (e) spdlog::error("incremental_assign: {}", rd_kafka_error_string(e.get()));
    } else {
      rd_kafka_assign(rk, partitions);
    }
    if (hooks_.on_rebalance) hooks_.on_rebalance(change);
    return;
  }
  change.lost = rd_kafka_assignment_lost(rk) != 0;
  spdlog::info("{} {} partitions", change.lost ? "lost" : "revoked", partitions->cnt);
  if (hooks_.on_rebalance) hooks_.on_rebalance(change);
  if (cooperative) {
    KafkaErrorPtr e(rd_kafka_incremental_unassign(rk, partitions));
    if (e) spdlog::error("incremental_unassign: {}", rd_kafka_error_string(e.get()));
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void GroupConsumer::ReportLag() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(client_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  KafkaTopicPartitionsPtr assigned(raw);
  rd_kafka_position(client_.get(), assigned.get());
  std::set<PartitionKey> now;
  for (int i = 0; i < assigned->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assigned->elems[i];
    int64_t low = 0;
    int64_t high = 0;
    // Before the first record is read the position is unknown; so is the lag.
    if (tp.offset < 0 ||
        rd_kafka_get_watermark_offsets(client_.get(), tp.topic, tp.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    metrics::ConsumerLag(tp.topic, tp.partition)
        .Set(static_cast<double>(std::max<int64_t>(0, high - tp.offset)));
    now.emplace(tp.topic, tp.partition);
  }
  for (const auto& key : lag_reported_) {
    if (!now.count(key)) metrics::RemoveConsumerLag(key.first, key.second);
  }
  lag_reported_ = std::move(now);
}

}  // namespace fleetkeeper::consumers
