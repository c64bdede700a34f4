// Tags on a group that the safety guards read (docs/safety.md): guard alarms named by a tag
// (safety.guards[].tag, "Alarm guards") and blackout windows by tag (safety.blackout[].tags).
// A handler reads the tags when its workflow plans or first meets a group, and records them in the
// workflow's checkpoint (`tagged_guards`), once per workflow and group; the engine's alarm guards
// (handlers/engine/guards.h) then hold the workflow's mutating steps on that group while one of
// those alarms is in ALARM, and its blackout windows (handlers/engine/blackout.h) while a window
// for one of those tags is open.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "awsclient/elbv2.h"
#include "common/error.h"
#include "fleetkeeper/v1/config.pb.h"
#include "handlers/workflow.h"

namespace fleetkeeper::handlers {

// "web-5xx, web-latency-*" -> {"web-5xx", "web-latency-*"}: comma-separated alarm names or
// globs, blanks around them dropped.
std::vector<std::string> GuardAlarmsOfTag(const std::string& value);

// Whether the workflow has recorded `lock` already (with or without alarms).
bool TaggedGuardsKnown(StepContext& ctx, const std::string& lock);

// Records the tags of `lock` ("asg:<name>", "tg:<arn>") for each tag key of `tag_keys`
// (GroupTagKeys of handlers/engine/guards.h): the value, and the guard alarms it names. A group
// without the tag is recorded with no value and no alarms, so it is not read again.
void RecordTaggedGuards(StepContext& ctx, const std::vector<std::string>& tag_keys,
                        const std::string& lock, const std::map<std::string, std::string>& tags);

// The target groups of `arns` the workflow has not recorded yet: their tags read with ELBv2
// DescribeTags (20 per call) and recorded.
Status RecordTargetGroupGuards(StepContext& ctx, const std::vector<std::string>& tag_keys,
                               const std::vector<std::string>& arns);

}  // namespace fleetkeeper::handlers
