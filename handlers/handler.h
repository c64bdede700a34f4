// The work stage's view of a handler. Handlers are asynchronous state machines: on admission (poll
// thread, no I/O) a handler either gives the event its final result at once or starts a durable
// workflow whose steps run later on the executor. See DESIGN.md "Handlers".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/duration.pb.h>

#include "common/clock.h"
#include "common/duration.h"
#include "fleetkeeper/v1/config.pb.h"
#include "fleetkeeper/v1/event.pb.h"
#include "fleetkeeper/v1/result.pb.h"
#include "fleetkeeper/v1/workflow.pb.h"
#include "handlers/event.h"

namespace fleetkeeper::handlers {

// Durations in milliseconds (common/duration.h), as handlers have always named them.
using fleetkeeper::DurationMs;
using fleetkeeper::DurationOfMs;

// AWS progress events: signals to the workflow that waits for them, never work of their own.
inline bool IsProgressSignal(EventKind kind) {
  return kind == v1::Event::kCommandProgress || kind == v1::Event::kRefreshProgress ||
         kind == v1::Event::kInstanceState;
}

// Durable key/value state of one cell (throttles, breakers, counters), kept in fleet.state and
// restored with the cell. Writes commit with the batch that made them. Poll thread only.
class CellStore {
 public:
  virtual ~CellStore() = default;
  // The value under `key` (namespaced by the handler, e.g. "self_healing/cooldown/<rule>/<res>"),
  // or null.
  virtual const google::protobuf::Any* Get(const std::string& key) const = 0;
  virtual void Put(const std::string& key, const google::protobuf::Message& value) = 0;
  virtual void Erase(const std::string& key) = 0;
};

// What admission sees of the world: cheap, no I/O, on the poll thread.
struct AdmissionContext {
  const v1::WorkerConfig& config;
  const Clock& clock;
  bool frozen = false;
  CellStore* store = nullptr;  // the event's cell; never null inside the worker
};

struct Admission {
  enum class Kind {
    kFinal,     // `result` is the event's final result
    kWorkflow,  // `workflow` is the initial checkpoint of a new durable workflow
  };
  Kind kind = Kind::kFinal;
  v1::Result::Status status = v1::Result::SKIPPED;
  std::string reason;
  v1::WorkflowCheckpoint workflow;

  static Admission Final(v1::Result::Status s, std::string why) {
    Admission a;
    a.kind = Kind::kFinal;
    a.status = s;
    a.reason = std::move(why);
    return a;
  }
};

class Handler {
 public:
  virtual ~Handler() = default;
  // The handler's name in config (`handlers.<name>`) and in results (`handler`).
  virtual std::string_view name() const = 0;
  // Decides, without I/O, what the event needs.
  virtual Admission Admit(const v1::Event& event, const AdmissionContext& context) = 0;
};

}  // namespace fleetkeeper::handlers
