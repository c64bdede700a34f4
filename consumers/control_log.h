// The control log (DESIGN.md "Cancel and freeze"): ControlRecords, protobuf binary with header
// `fk-type: fleetkeeper.v1.ControlRecord`, key "freeze", on partition 0 of the control topic.
// The topic is compacted, so the latest record is the fleet's state. Every worker reads it in
// full before its first step and follows it after (ControlLog); `fleetkeeper freeze` and
// `unfreeze` write to it (WriteControlRecord).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "common/raii_kafka.h"
#include "consumers/kafka_clients.h"
#include "fleetkeeper/v1/workflow.pb.h"

namespace fleetkeeper::consumers {

inline constexpr char kControlKey[] = "freeze";
inline constexpr char kControlType[] = "fleetkeeper.v1.ControlRecord";

// The fleet's freeze state as the control log says. Poll thread only.
class ControlLog {
 public:
  // `reader_properties`: a reader's (PropertiesFor(kReader, ...) with its own group id).
  ControlLog(KafkaProperties reader_properties, std::string topic, const Clock& clock)
      : properties_(std::move(reader_properties)), topic_(std::move(topic)), clock_(clock) {}

  // Reads the log from its start to its end as of now (30 s at most): nothing that a freeze holds
  // may start before.
  Status Open();
  // Applies the records that arrived since, waiting up to `timeout_ms` for the first.
  void Poll(int timeout_ms);
  bool frozen() const { return frozen_; }

 private:
  KafkaProperties properties_;
  std::string topic_;
  const Clock& clock_;
  KafkaPtr reader_;
  bool frozen_ = false;
};

// Where a record landed.
struct ControlWrite {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
};

// The conf hook (ClientCallbacks::conf_hook) of a producer that WriteControlRecord writes with:
// it reports the record's delivery to the call that waits for it.
void ControlProducerConf(rd_kafka_conf_t* conf, void*);

// Produces `record` to partition 0 of `topic` through `producer` (made with ControlProducerConf)
// and waits for the broker's acknowledgement. Fails when the topic is missing or the record is
// not acknowledged within `timeout_ms`.
Result<ControlWrite> WriteControlRecord(rd_kafka_t* producer, const std::string& topic,
                                        const v1::ControlRecord& record, int timeout_ms);

}  // namespace fleetkeeper::consumers
