// The phases of one instance replacement (replacement.h), shared by the files that define
// them: phase names, the helpers every phase uses, and the phases one file enters and another
// defines. Internal to handlers/ami_rollout.
//   replacement_phases.cc  helpers and the phases both strategies share
//   relaunch.cc            the relaunch strategy; relaunch_network.cc its network interfaces and
//                          private addresses
//   replace_root_volume.cc the replace-root-volume strategy
//   rollback.cc            the way back to the old instance, for both strategies
//   replacement.cc         the phase machine and the batched reads and state changes of a tick
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "awsclient/aws_error.h"
#include "awsclient/clients.h"
#include "common/error.h"
#include "handlers/ami_rollout/replacement.h"
#include "handlers/ami_rollout/targets.h"

namespace fleetkeeper::handlers::ami_rollout::replacement {

// Released phase names. Forward path:
inline constexpr char kCapture[] = "capture";
inline constexpr char kDeregisterOld[] = "deregister-old";
inline constexpr char kDrainOld[] = "drain-old";
inline constexpr char kUnprotectOld[] = "unprotect-old";
inline constexpr char kStopOld[] = "stop-old";
inline constexpr char kWaitOldStopped[] = "wait-old-stopped";
inline constexpr char kDetachVolumes[] = "detach-volumes";
inline constexpr char kWaitVolumesDetached[] = "wait-volumes-detached";
inline constexpr char kDetachInterfaces[] = "detach-interfaces";
inline constexpr char kWaitInterfacesDetached[] = "wait-interfaces-detached";
inline constexpr char kPrepareLaunch[] = "prepare-launch";
inline constexpr char kLaunch[] = "launch";
inline constexpr char kWaitNewRunning[] = "wait-new-running";
inline constexpr char kConfigureNew[] = "configure-new";
inline constexpr char kStopNew[] = "stop-new";
inline constexpr char kWaitNewStopped[] = "wait-new-stopped";
inline constexpr char kAttachVolumes[] = "attach-volumes";
inline constexpr char kWaitVolumesAttached[] = "wait-volumes-attached";
inline constexpr char kAttachInterfaces[] = "attach-interfaces";
inline constexpr char kWaitInterfacesAttached[] = "wait-interfaces-attached";
inline constexpr char kMovePrivateIps[] = "move-private-ips";
inline constexpr char kStartNew[] = "start-new";
inline constexpr char kWaitNewStarted[] = "wait-new-started";
inline constexpr char kMoveEip[] = "move-eip";
inline constexpr char kRegisterNew[] = "register-new";
inline constexpr char kWaitNewHealthy[] = "wait-new-healthy";
inline constexpr char kProtectNew[] = "protect-new";
inline constexpr char kRetireOld[] = "retire-old";
inline constexpr char kKeepOld[] = "keep-old";
inline constexpr char kPrepareTask[] = "prepare-task";
inline constexpr char kCreateTask[] = "create-task";
inline constexpr char kWaitTask[] = "wait-task";
// Rollback path:
inline constexpr char kRbTerminateNew[] = "rollback-terminate-new";
inline constexpr char kRbReleaseVolumes[] = "rollback-release-volumes";
inline constexpr char kRbReleaseInterfaces[] = "rollback-release-interfaces";
inline constexpr char kRbMoveEip[] = "rollback-move-eip";
inline constexpr char kRbMovePrivateIps[] = "rollback-move-private-ips";
inline constexpr char kRbAttachVolumes[] = "rollback-attach-volumes";
inline constexpr char kRbWaitAttached[] = "rollback-wait-attached";
inline constexpr char kRbAttachInterfaces[] = "rollback-attach-interfaces";
inline constexpr char kRbWaitInterfaces[] = "rollback-wait-interfaces";
inline constexpr char kRbPrepareTask[] = "rollback-prepare-task";
inline constexpr char kRbCreateTask[] = "rollback-create-task";
inline constexpr char kRbWaitTask[] = "rollback-wait-task";
inline constexpr char kRbStartOld[] = "rollback-start-old";
inline constexpr char kRbWaitOldRunning[] = "rollback-wait-old-running";
inline constexpr char kRbRegisterOld[] = "rollback-register-old";

// The request id of a call's answer, or its error.
template <typename Answer>
CallOutcome RequestIdOf(const Result<Answer>& answer) {
  if (!answer.ok()) return answer.error();
  return CallOutcome(answer->request_id);
}

bool InRollback(const v1::InstanceRollout& r);
// The image the replacement puts on the instance: the rollout's, or the one a reversal on a guard
// alarm goes back to.
const std::string& TargetImage(const RolloutTick& t, const v1::InstanceRollout& r);
bool Relaunch(const v1::InstanceRollout& r);
std::string Resource(const std::string& id);
std::string Old(const v1::InstanceRollout& r);
std::string New(const v1::InstanceRollout& r);
bool MovesInterfaces(const v1::InstanceRollout& r);
bool MovesPrivateIps(const v1::InstanceRollout& r);
bool StopsNew(const RolloutConfig& config, const v1::InstanceRollout& r);
Progress Enter(RolloutTick& t, v1::InstanceRollout& r, const char* phase, Progress p);
Progress Done(RolloutTick& t, v1::InstanceRollout& r, const std::string& outcome,
              const std::string& detail);
Progress Fail(RolloutTick& t, v1::InstanceRollout& r, const std::string& why);
Progress WaitFor(RolloutTick& t, v1::InstanceRollout& r, const std::string& what);
Progress OnError(RolloutTick& t, v1::InstanceRollout& r, const std::string& what, const Error& e);
Result<aws::Instance> Describe(RolloutTick& t, const std::string& id);
Result<std::map<std::string, aws::Volume>> DataVolumes(RolloutTick& t,
                                                       const v1::InstanceRollout& r);
Result<std::map<std::string, aws::NetworkInterface>> ReadInterfaces(
    aws::Ec2& ec2, const std::vector<std::string>& ids);
Result<std::map<std::string, aws::NetworkInterface>> SecondaryInterfaces(
    RolloutTick& t, const v1::InstanceRollout& r);
CallOutcome ChangeState(const std::map<std::string, CallOutcome>& batched, const std::string& id,
                        const std::function<CallOutcome()>& alone);
Status FindByClientTokens(RolloutTick& t, const std::vector<std::string>& tokens);
CallOutcome StopNow(RolloutTick& t, const std::string& id);
const aws::VolumeAttachment* AttachmentTo(const aws::Volume& v, const std::string& instance);
aws::TargetsRequest Targets(const v1::TargetGroupMembership& tg, const std::string& instance);
Progress Capture(RolloutTick& t, v1::InstanceRollout& r);
Progress DeregisterOld(RolloutTick& t, v1::InstanceRollout& r);
Progress DrainOld(RolloutTick& t, v1::InstanceRollout& r);
Progress RegisterNew(RolloutTick& t, v1::InstanceRollout& r);
std::string InterfaceList(const v1::InstanceCapture& c);
std::string SuccessDetail(const RolloutTick& t, const v1::InstanceRollout& r,
                          const std::string& retired);
Progress WaitNewHealthy(RolloutTick& t, v1::InstanceRollout& r);
Status ModifyInstance(RolloutTick& t, const std::string& id,
                      aws::ModifyInstanceAttributeRequest req, const std::string& what);
Progress UnprotectOld(RolloutTick& t, v1::InstanceRollout& r);
Progress StopOld(RolloutTick& t, v1::InstanceRollout& r);
Progress WaitStopped(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                     const char* next);
Progress DetachVolumes(RolloutTick& t, v1::InstanceRollout& r);
Progress WaitVolumesDetached(RolloutTick& t, v1::InstanceRollout& r);
bool OnInstance(const aws::NetworkInterface& n, const std::string& instance);
std::optional<Progress> DetachInterfacesFrom(
    RolloutTick& t, v1::InstanceRollout& r,
    const std::map<std::string, aws::NetworkInterface>& enis, const std::string& from);
Progress DetachInterfaces(RolloutTick& t, v1::InstanceRollout& r);
Progress WaitInterfacesDetached(RolloutTick& t, v1::InstanceRollout& r);
Progress AttachInterfaces(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                          const char* next);
std::optional<Progress> ApplySetting(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                                     const aws::ModifyInstanceAttributeRequest& req,
                                     const std::string& what);
std::optional<Progress> RestoreDeleteOnTermination(
    RolloutTick& t, v1::InstanceRollout& r,
    const std::map<std::string, aws::NetworkInterface>& enis, const std::string& instance);
Progress WaitInterfacesAttached(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                                const char* next, bool restore);
Progress ProtectNew(RolloutTick& t, v1::InstanceRollout& r);
Progress PrepareLaunch(RolloutTick& t, v1::InstanceRollout& r);
Progress Launch(RolloutTick& t, v1::InstanceRollout& r);
Progress WaitRunning(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                     const char* next);
const char* AfterNewRunning(const RolloutTick& t);
Progress ConfigureNew(RolloutTick& t, v1::InstanceRollout& r);
Progress StopNew(RolloutTick& t, v1::InstanceRollout& r);
Progress AttachVolumes(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                       const char* next);
Progress WaitAttached(RolloutTick& t, v1::InstanceRollout& r, const std::string& to,
                      const char* next);
Progress StartInstance(RolloutTick& t, v1::InstanceRollout& r, const std::string& id,
                       const char* next, const std::string& why);
Progress StartNew(RolloutTick& t, v1::InstanceRollout& r);
Progress MoveEip(RolloutTick& t, v1::InstanceRollout& r, const std::string& to, bool moved,
                 const char* next);
Progress MovePrivateIps(RolloutTick& t, v1::InstanceRollout& r, const std::string& from,
                        const std::string& to, const char* next);
Progress RetireOld(RolloutTick& t, v1::InstanceRollout& r);
Progress KeepOld(RolloutTick& t, v1::InstanceRollout& r);
Progress PrepareTask(RolloutTick& t, v1::InstanceRollout& r, const char* purpose, const char* next);
Result<aws::ReplaceRootVolumeTask> DescribeTask(RolloutTick& t, const std::string& id);
Progress CreateTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback);
Progress WaitTask(RolloutTick& t, v1::InstanceRollout& r, bool rollback);
Progress RbTerminateNew(RolloutTick& t, v1::InstanceRollout& r);
Progress RbReleaseVolumes(RolloutTick& t, v1::InstanceRollout& r);
Progress RbReleaseInterfaces(RolloutTick& t, v1::InstanceRollout& r);
Progress RbRegisterOld(RolloutTick& t, v1::InstanceRollout& r);
Progress RbPrepareTask(RolloutTick& t, v1::InstanceRollout& r);

}  // namespace fleetkeeper::handlers::ami_rollout::replacement
