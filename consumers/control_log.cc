#include "consumers/control_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "consumers/kafka.h"

namespace fleetkeeper::consumers {
namespace {

struct Delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

// librdkafka calls this from rd_kafka_poll/flush on the writing thread; it cannot throw.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* d = static_cast<Delivery*>(msg->_private);
  if (d == nullptr) return;
  d->done = true;
  d->err = msg->err;
  d->partition = msg->partition;
  d->offset = msg->offset;
}

}  // namespace

Status ControlLog::Open() {
  auto reader = NewClient(ClientRole::kReader, properties_, {}, "control reader");
  if (!reader.ok()) return std::move(reader).take_error();
  reader_ = std::move(*reader);
  KafkaTopicPartitionsPtr tp(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(tp.get(), topic_.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  if (auto err = rd_kafka_assign(reader_.get(), tp.get())) {
    return KafkaError(err, "assigning " + topic_);
  }
  int64_t lo = 0, hi = 0;
  rd_kafka_resp_err_t err = QueryWatermarks(reader_.get(), topic_, 0, &lo, &hi);
  if (err) return KafkaError(err, "reading the end of " + topic_);
  int64_t deadline = clock_.MonotonicMs() + 30000;
  int64_t next = lo;
  while (next < hi && clock_.MonotonicMs() < deadline) {
    KafkaMessagePtr msg(rd_kafka_consumer_poll(reader_.get(), 200));
    if (!msg || msg->err) continue;
    next = msg->offset + 1;
    v1::ControlRecord rec;
    if (msg->payload && rec.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
      frozen_ = rec.frozen();
    }
  }
  if (frozen_) spdlog::warn("fleet is frozen: no mutating step starts until unfreeze");
  return Ok{};
}

void ControlLog::Poll(int timeout_ms) {
  if (!reader_) return;
  for (int i = 0; i < 16; ++i) {
    KafkaMessagePtr msg(rd_kafka_consumer_poll(reader_.get(), i == 0 ? timeout_ms : 0));
    if (!msg) return;
    if (msg->err) continue;
    v1::ControlRecord rec;
    if (msg->payload && rec.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
      if (rec.frozen() != frozen_) {
        frozen_ = rec.frozen();
        spdlog::warn("{} by {}: {}", frozen_ ? "frozen" : "unfrozen",
                     rec.by().empty() ? "unknown" : rec.by(), rec.reason());
      }
    }
  }
}

void ControlProducerConf(rd_kafka_conf_t* conf, void*) {
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
}

Result<ControlWrite> WriteControlRecord(rd_kafka_t* producer, const std::string& topic,
                                        const v1::ControlRecord& record, int timeout_ms) {
  // A missing topic would only fail after message.timeout.ms, with a vaguer error.
  auto partitions = PartitionCount(producer, topic, timeout_ms);
  // A topic created moments ago may not be in every broker's metadata yet.
  for (int i = 0; i < 10 && !partitions.ok() && partitions.error().code == ErrorCode::kNotFound;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    partitions = PartitionCount(producer, topic, timeout_ms);
  }
  if (!partitions.ok()) {
    Error e = std::move(partitions).take_error();
    if (e.code == ErrorCode::kNotFound) {
      e.message = "topic " + topic +
                  " is missing: `fleetkeeper doctor` or `run` creates it "
                  "when topics.create is true";
    }
    return e;
  }
  std::string value = record.SerializeAsString();
  Delivery delivery;
  // Partition 0: workers read the control topic's first partition in full.
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(const_cast<char*>(kControlKey), sizeof(kControlKey) - 1),
      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADER("fk-type", kControlType, -1),
      RD_KAFKA_V_HEADER("content-type", "application/x-protobuf", -1), RD_KAFKA_V_OPAQUE(&delivery),
      RD_KAFKA_V_END);
  if (err) return KafkaError(err, "producing to " + topic);
  rd_kafka_flush(producer, timeout_ms);
  if (!delivery.done) {
    return Error(ErrorCode::kTimeout, fmt::format("the broker did not acknowledge the record on "
                                                  "{} within {} ms",
                                                  topic, timeout_ms));
  }
  if (delivery.err) return KafkaError(delivery.err, "writing to " + topic);
  return ControlWrite{topic, delivery.partition, delivery.offset};
}

}  // namespace fleetkeeper::consumers
