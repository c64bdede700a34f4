#include "consumers/output_producer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/callback.h"

namespace fleetkeeper::consumers {
namespace {

// Produce errors that will not go away by retrying the same record.
bool PermanentProduceError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::unique_ptr<OutputProducer>> OutputProducer::Create(Options options, Hooks hooks,
                                                               const Clock& clock) {
  std::unique_ptr<OutputProducer> out(
      new OutputProducer(std::move(options), std::move(hooks), clock));
  ClientCallbacks callbacks;
  callbacks.opaque = out.get();
  callbacks.delivery = &OutputProducer::OnDelivery;
  callbacks.error = &OutputProducer::OnError;
  auto client = NewClient(out->options_.role, out->options_.properties, callbacks, "producer");
  if (!client.ok()) return std::move(client).take_error();
  out->client_ = std::move(*client);
  for (const std::string& topic : out->options_.topics) {
    if (topic.empty() || out->OutTopic(topic) != nullptr) continue;
    KafkaTopicPtr rkt(rd_kafka_topic_new(out->client_.get(), topic.c_str(), nullptr));
    if (!rkt) {
      return Error(ErrorCode::kKafka, fmt::format("producer: topic {}: {}", topic,
                                                  rd_kafka_err2str(rd_kafka_last_error())));
    }
    out->handles_.emplace_back(topic, std::move(rkt));
  }
  return out;
}

rd_kafka_resp_err_t OutputProducer::Produce(const OutRecord& out) {
  if (!options_.held_topic.empty() && out.topic == options_.held_topic) {
    // At least once, a batch's records are not written atomically: the state it leaves (event
    // ids seen, checkpoints) must never be durable before the outcomes it stands for, or a
    // re-read batch would find an event "seen" whose result was lost. The commit writes it
    // once every other output of the batch is acknowledged.
    held_.push_back(out);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  return ProduceNow(out);
}

rd_kafka_topic_t* OutputProducer::OutTopic(std::string_view topic) const {
  for (const auto& [name, rkt] : handles_) {
    if (name == topic) return rkt.get();
  }
  return nullptr;
}

rd_kafka_resp_err_t OutputProducer::ProduceNow(const OutRecord& out) {
  // A record that names its topic by string makes librdkafka find the topic under the handle's
  // write lock, per record: the usual topics have handles opened once.
  rd_kafka_topic_t* rkt = OutTopic(out.topic);
  KafkaTopicPtr other;  // a topic outside those: opened for this record alone
  if (rkt == nullptr) {
    other.reset(rd_kafka_topic_new(client_.get(), out.topic.c_str(), nullptr));
    if (!other) return rd_kafka_last_error();
    rkt = other.get();
  }
  int64_t queue_full_since = -1;
  for (;;) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(out.headers.size());
    for (const auto& h : out.headers) {
      rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    void* tag = deliveries_.Add(out.source_topic, out.source_partition, out.source_offset);
    const void* value = out.value ? out.value->data() : nullptr;
    size_t value_len = out.value ? out.value->size() : 0;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(client_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(out.partition),
                          RD_KAFKA_V_KEY(out.key.data(), out.key.size()),
                          RD_KAFKA_V_VALUE(const_cast<void*>(value), value_len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                          RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    rd_kafka_headers_destroy(hdrs);
    deliveries_.Drop(tag);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Wait for deliveries to free the queue, but not so long that the consumer misses its
      // max.poll.interval.ms: past the bound the batch is retried from its committed offsets.
      if (queue_full_since < 0) queue_full_since = clock_.MonotonicMs();
      if (clock_.MonotonicMs() - queue_full_since > options_.queue_full_limit_ms) return err;
      rd_kafka_poll(client_.get(), 50);
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_fatal_error(client_.get(), buf, sizeof(buf));
      if (hooks_.on_fatal) hooks_.on_fatal(buf);
    }
    return err;
  }
}

std::optional<std::string> OutputProducer::ProduceFor(const InputRecord& input, OutRecord out) {
  if (out.source_topic != input.topic) out.source_topic = input.topic;  // usually set already
  out.source_partition = input.partition;
  out.source_offset = input.offset;
  rd_kafka_resp_err_t err = Produce(out);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  if (hooks_.stopped && hooks_.stopped()) return std::nullopt;
  std::string why = fmt::format("producing to {} failed: {}", out.topic, rd_kafka_err2str(err));
  // Not the record's fault: the batch is retried once the producer has drained.
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return why;
  spdlog::warn("record {}/{}@{}: {}; sending it to {}", input.topic, input.partition, input.offset,
               why, options_.outputs.dlq);
  if (out.topic == options_.outputs.dlq) {
    // The input would be committed without an outcome: retry the batch instead.
    return fmt::format("record {}/{}@{} cannot be dead-lettered either: {}", input.topic,
                       input.partition, input.offset, why);
  }
  err = Produce(DlqRecord(input, why, options_.outputs));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fmt::format("record {}/{}@{} cannot be dead-lettered: {}", input.topic, input.partition,
                       input.offset, rd_kafka_err2str(err));
  }
  return std::nullopt;
}

std::optional<std::string> OutputProducer::Poisoned(const InputRecord& in) const {
  if (!any_poison_.load()) return std::nullopt;
  std::lock_guard<std::mutex> lock(poison_mu_);
  auto it = poison_.find(Source{in.topic, in.partition, in.offset});
  if (it == poison_.end()) return std::nullopt;
  return it->second;
}

size_t OutputProducer::poisoned_inputs() const {
  std::lock_guard<std::mutex> lock(poison_mu_);
  return poison_.size();
}

void OutputProducer::CollectDeliveryFailures() {
  std::lock_guard<std::mutex> lock(failures_mu_);
  std::lock_guard<std::mutex> poison_lock(poison_mu_);
  for (const auto& [src, why] : failures_) {
    if (std::get<2>(src) >= 0) poison_[src] = why;
  }
  any_poison_.store(!poison_.empty());
}

bool OutputProducer::TakeFailures() {
  std::lock_guard<std::mutex> lock(failures_mu_);
  const bool any = !failures_.empty();
  failures_.clear();
  return any;
}

void OutputProducer::EndBatch() {
  deliveries_.Clear();
  std::lock_guard<std::mutex> lock(failures_mu_);
  failures_.clear();
}

void OutputProducer::ForgetCommittedPoison(const std::map<PartitionKey, int64_t>& committed) {
  if (!any_poison_.load()) return;
  std::lock_guard<std::mutex> lock(poison_mu_);
  for (const auto& [tp, off] : committed) {
    for (auto it = poison_.begin(); it != poison_.end();) {
      if (std::get<0>(it->first) == tp.first && std::get<1>(it->first) == tp.second &&
          std::get<2>(it->first) < off) {
        it = poison_.erase(it);
      } else {
        ++it;
      }
    }
  }
  any_poison_.store(!poison_.empty());
}

void OutputProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  InvokeCallback("delivery", [&] {
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR || msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      return;  // purged by an abort: produced again when the batch is retried
    }
    auto* self = static_cast<OutputProducer*>(opaque);
    const std::optional<Source> source = self->deliveries_.Find(msg->_private);
    const char* topic = rd_kafka_topic_name(msg->rkt);
    std::string why = fmt::format("producing to {} failed: {}", topic, rd_kafka_err2str(msg->err));
    if (!source) {
      spdlog::warn("delivery failed for an output of an ended batch: {}", why);
    } else {
      spdlog::warn("delivery failed for the output of {}/{}@{}: {}", std::get<0>(*source),
                   std::get<1>(*source), std::get<2>(*source), why);
    }
    std::lock_guard<std::mutex> lock(self->failures_mu_);
    if (!source || !PermanentProduceError(msg->err)) {
      // Transient, or from a batch already ended: the open batch aborts and is produced again.
      self->failures_.push_back({{"", -1, -1}, why});
      return;
    }
    self->failures_.push_back({*source, why});
  });
}

void OutputProducer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  InvokeCallback("error", [&] {
    auto* self = static_cast<OutputProducer*>(opaque);
    if (self->hooks_.on_error) self->hooks_.on_error(rk, err, reason);
  });
}

}  // namespace fleetkeeper::consumers
