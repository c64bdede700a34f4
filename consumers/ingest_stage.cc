#include "consumers/ingest_stage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <optional>

#include "common/log.h"
#include "common/metrics.h"
#include "consumers/kafka.h"

namespace fleetkeeper::consumers {

InputRecord InputOf(const rd_kafka_message_t* msg, bool with_headers) {
  InputRecord in;
  in.payload =
      std::string_view(static_cast<const char*>(msg->payload), msg->payload ? msg->len : 0);
  in.key = std::string_view(static_cast<const char*>(msg->key), msg->key ? msg->key_len : 0);
  if (with_headers) {
    for (auto& [k, v] : MessageHeaders(msg)) in.headers.push_back({std::move(k), std::move(v)});
  }
  in.topic = rd_kafka_topic_name(msg->rkt);
  in.partition = msg->partition;
  in.offset = msg->offset;
  return in;
}

IngestStage::IngestStage(OutputProducer& output, OutputTopics topics, NormalizeOptions options,
                         const Clock& clock, Hooks hooks)
    : output_(output),
      topics_(std::move(topics)),
      options_(std::move(options)),
      clock_(clock),
      hooks_(std::move(hooks)),
      lane_(std::make_unique<Lane<Item>>("fk:ingest", [this](Item& item) { OnItem(item); })) {}

void IngestStage::Push(KafkaMessagePtr input) {
  lane_->Push(Item{std::move(input), Item::Kind::kRecord});
}

std::shared_future<void> IngestStage::CloseBatch() {
  closed_ = std::promise<void>();
  std::shared_future<void> closed = closed_.get_future().share();
  lane_->Push(Item{nullptr, Item::Kind::kCloseBatch});
  return closed;
}

void IngestStage::OpenBatch() { lane_->Push(Item{nullptr, Item::Kind::kOpenBatch}); }

void IngestStage::Drain() { lane_->Drain(); }

void IngestStage::DropStaged() {
  staged_.clear();
  staged_failure_.clear();
  staging_ = false;
}

void IngestStage::ProduceFor(const InputRecord& input, OutRecord out) {
  if (std::optional<std::string> failed = output_.ProduceFor(input, std::move(out))) {
    hooks_.fail_batch(std::move(*failed));
  }
}

void IngestStage::OnItem(Item& item) {
  switch (item.kind) {
    case Item::Kind::kCloseBatch:
      // Every input before this mark has its output in the committing transaction.
      staging_ = true;
      closed_.set_value();
      return;
    case Item::Kind::kOpenBatch: {
      // The next transaction has begun: what was staged during the commit goes out first.
      staging_ = false;
      std::vector<std::pair<KafkaMessagePtr, OutRecord>> staged;
      staged.swap(staged_);
      if (!staged_failure_.empty()) hooks_.fail_batch(std::exchange(staged_failure_, {}));
      if (hooks_.stopped()) return;
      for (auto& [msg, out] : staged) ProduceFor(InputOf(msg.get()), std::move(out));
      return;
    }
    case Item::Kind::kRecord:
      break;
  }
  // After a fatal error nothing commits again: the records in hand are left for the next owner.
  if (hooks_.stopped()) return;
  const rd_kafka_message_t* msg = item.msg.get();  // alive in the catch, staged or not
  try {
    Process(item.msg);
  } catch (const std::exception& e) {
    // The input would be committed without an outcome: retry the batch instead (the next one,
    // if this input belongs to it).
    std::string why = fmt::format("record {}/{}@{}: {}", rd_kafka_topic_name(msg->rkt),
                                  msg->partition, msg->offset, e.what());
    if (!staging_) {
      hooks_.fail_batch(std::move(why));
    } else if (staged_failure_.empty()) {
      staged_failure_ = std::move(why);
    }
  }
}

void IngestStage::Process(KafkaMessagePtr& owned) {
  InputRecord in = InputOf(owned.get());
  // Produced now, or staged with its input while the batch before it commits.
  auto emit = [&](OutRecord out) {
    if (staging_) {
      staged_.emplace_back(std::move(owned), std::move(out));
    } else {
      ProduceFor(in, std::move(out));
    }
  };
  if (std::optional<std::string> why = output_.Poisoned(in)) {
    metrics::RecordsIn(in.topic, "DLQ").Increment();
    emit(DlqRecord(in, *why, topics_));
    return;
  }
  Normalized n = Normalize(in, options_);
  LogEventScope scope(n.event.id());
  switch (n.disposition) {
    case Disposition::kEvent:
      if (spdlog::should_log(spdlog::level::debug)) {  // not two strings per event for nothing
        spdlog::debug("ingest: {} -> cell {}", handlers::EventKindName(n.event.body_case()),
                      CellOf(n.event));
      }
      emit(WorkRecord(n.event, topics_));
      break;
    case Disposition::kSkipped: {
      spdlog::debug("ingest: skipped: {}", n.reason);
      metrics::RecordsIn(in.topic, "SKIPPED").Increment();
      v1::Result r = MakeResult(n.event, v1::Result::SKIPPED, n.reason, "", clock_.NowMs());
      emit(ResultRecord(r, topics_));
      break;
    }
    case Disposition::kUnreadable:
      spdlog::info("ingest: unreadable record {}/{}@{}: {}", in.topic, in.partition, in.offset,
                   n.reason);
      metrics::RecordsIn(in.topic, "DLQ").Increment();
      emit(DlqRecord(in, n.reason, topics_));
      break;
  }
}

}  // namespace fleetkeeper::consumers
