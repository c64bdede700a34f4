// Hop 1 of the pipeline (DESIGN.md "Data flow"): an input record in; a work item, a SKIPPED result
// or a dead letter out. It runs on the ingest lane (consumers/ingest_lane.h), off the poll thread.
//
// While the batch before commits (transactional), the poll thread goes on reading: the inputs it
// hands over are normalized at once, but their outputs are staged, not produced, until the next
// transaction has begun (CloseBatch, OpenBatch). Poll thread only, except where noted.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/raii_kafka.h"
#include "consumers/ingest_lane.h"
#include "consumers/normalizer.h"
#include "consumers/output_producer.h"
#include "consumers/results.h"

namespace fleetkeeper::consumers {

// A view of a consumed message (it must outlive the view). A work item's headers are read only to
// dead-letter it (`with_headers`): parsing and copying them for every record cost more than the
// rest of its decoding.
InputRecord InputOf(const rd_kafka_message_t* msg, bool with_headers = true);

class IngestStage {
 public:
  struct Hooks {
    // The open batch cannot commit: an output it needs was not produced. Lane thread.
    std::function<void(std::string why)> fail_batch;
    // The owner failed for good: nothing commits again, so nothing more is produced. Any thread.
    std::function<bool()> stopped;
  };

  // `output` outlives this. `topics`: where work items, results and dead letters go.
  IngestStage(OutputProducer& output, OutputTopics topics, NormalizeOptions options,
              const Clock& clock, Hooks hooks);
  // Stops the lane; inputs still queued are dropped (no commit follows them).
  ~IngestStage() = default;

  // Hands an input record to the lane.
  void Push(KafkaMessagePtr input);
  // The open batch closes: the inputs pushed after it are staged. The future is ready once every
  // input pushed before has its outputs produced.
  std::shared_future<void> CloseBatch();
  // The next transaction has begun: what was staged goes out first, then staging ends.
  void OpenBatch();
  // Waits until every input pushed so far is processed.
  void Drain();
  // Drops what was staged (the batch read during a commit is aborted). Call after Drain.
  void DropStaged();

 private:
  // An input record, or a mark that the batch before it closes or that the next one has begun.
  struct Item {
    enum class Kind { kRecord, kCloseBatch, kOpenBatch };
    KafkaMessagePtr msg;
    Kind kind = Kind::kRecord;
  };
  void OnItem(Item& item);               // lane thread
  void Process(KafkaMessagePtr& owned);  // lane thread
  void ProduceFor(const InputRecord& input, OutRecord out);

  OutputProducer& output_;
  const OutputTopics topics_;
  const NormalizeOptions options_;
  const Clock& clock_;
  const Hooks hooks_;
  std::promise<void> closed_;  // set by the lane at the batch's close mark
  // Lane thread only (the poll thread touches them once the lane is drained): whether outputs
  // are staged, and the staged ones with the input each belongs to.
  bool staging_ = false;
  std::vector<std::pair<KafkaMessagePtr, OutRecord>> staged_;
  std::string staged_failure_;  // an input that could not be processed while staging
  // Declared last: its thread stops before the rest goes.
  std::unique_ptr<Lane<Item>> lane_;
};

}  // namespace fleetkeeper::consumers
