#include "consumers/http/kafka_sink.h"

#include <fmt/format.h>

#include <chrono>
#include <future>

namespace fleetkeeper::consumers::http {
namespace {

// librdkafka calls this on the poll thread; it cannot throw.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* delivered = static_cast<std::promise<rd_kafka_resp_err_t>*>(msg->_private);
  if (delivered != nullptr) delivered->set_value(msg->err);
}

}  // namespace

void KafkaSink::ConfigureDelivery(rd_kafka_conf_t* conf, void*) {
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
}

KafkaSink::KafkaSink(KafkaPtr producer, std::string topic, int wait_ms)
    : producer_(std::move(producer)), topic_(std::move(topic)), wait_ms_(wait_ms) {
  poller_ = std::thread([this] {
    while (!stop_.load()) rd_kafka_poll(producer_.get(), 100);
  });
}

KafkaSink::~KafkaSink() {
  rd_kafka_flush(producer_.get(), 5000);
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
}

Status KafkaSink::Produce(const IngestRecord& record) {
  std::promise<rd_kafka_resp_err_t> delivered;
  auto done = delivered.get_future();
  rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
  for (const auto& [k, v] : record.headers) {
    rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
      RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
  if (err) {
    rd_kafka_headers_destroy(headers);  // not taken over on failure
    return Error(ErrorCode::kUnavailable,
                 fmt::format("producing to {}: {}", topic_, rd_kafka_err2str(err)), true);
  }
  // The delivery report always comes (message.timeout.ms bounds it), so `delivered` outlives
  // its use; the wait below is only a guard.
  if (done.wait_for(std::chrono::milliseconds(wait_ms_)) != std::future_status::ready) {
    rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE);
    done.wait();
    return Error(ErrorCode::kTimeout, "no acknowledgement from the broker for " + topic_, true);
  }
  err = done.get();
  if (err) {
    return Error(ErrorCode::kUnavailable,
                 fmt::format("{} did not take the record: {}", topic_, rd_kafka_err2str(err)),
                 true);
  }
  return Ok{};
}

}  // namespace fleetkeeper::consumers::http
