#include "consumers/record_sender.h"

namespace fleetkeeper::consumers {

void RecordSender::ConfigureDelivery(rd_kafka_conf_t* conf, void*) {
  rd_kafka_conf_set_dr_msg_cb(conf, &RecordSender::OnDelivery);
}

// Called by librdkafka from poll or flush on the sending thread; it cannot throw.
void RecordSender::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* tally = static_cast<Tally*>(msg->_private);
  if (tally == nullptr) return;
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++tally->delivered;
    return;
  }
  if (tally->failed++ == 0) tally->first_error = rd_kafka_err2str(msg->err);
}

std::string RecordSender::Send(const std::string& topic, std::string_view key,
                               std::string_view value,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  for (;;) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [name, v] : headers) {
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
      }
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(&tally_), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 100);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return rd_kafka_err2str(err);
    ++tally_.sent;
    return "";
  }
}

const RecordSender::Tally& RecordSender::Flush(int timeout_ms) {
  rd_kafka_flush(producer_.get(), timeout_ms);
  return tally_;
}

std::string RecordSender::Tally::Why() const {
  if (failed > 0) return first_error;
  if (delivered < sent) return rd_kafka_err2str(RD_KAFKA_RESP_ERR__TIMED_OUT);
  return "";
}

std::string LibrdkafkaVersion() { return rd_kafka_version_str(); }

}  // namespace fleetkeeper::consumers
