// The blast-radius ledger of a cell (handlers/engine/ledger.h): reserve and release, limits as
// counts and percentages, an Auto Scaling group's MinSize, an ECS service's floor, targets out of
// service for other reasons, a bound target that is itself out, the self-healing margin, and a
// unit another workflow holds.
#include "handlers/engine/ledger.h"

#include <memory>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/metrics.h"

namespace fleetkeeper::handlers {
namespace {

using ::testing::HasSubstr;
using Reservations = google::protobuf::RepeatedPtrField<v1::CapacityReservation>;

constexpr char kTg[] =
    "tg:arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0f1e";
constexpr int64_t kNow = 1'700'000'000'000;

v1::CapacityGroup Group(const std::string& name, int size, std::vector<std::string> out = {},
                        const std::string& limit = "1", int min_in_service = 0) {
  v1::CapacityGroup g;
  g.set_group(name);
  g.set_size(size);
  g.set_default_max_unavailable(limit);
  g.set_min_in_service(min_in_service);
  for (auto& id : out) g.add_out_of_service(id);
  return g;
}

v1::CapacityClaim Claim(const std::string& unit, std::vector<v1::CapacityGroup> groups) {
  v1::CapacityClaim c;
  c.set_unit(unit);
  for (auto& g : groups) *c.add_groups() = std::move(g);
  return c;
}

class LedgerTest : public ::testing::Test {
 protected:
  CapacityDecision Reserve(const std::string& wf, const v1::CapacityClaim& claim) {
    return ledger.Reserve(wf, claim, kNow, &held[wf]);
  }
  v1::SafetyConfig safety;
  BlastRadiusLedger ledger{safety};
  std::map<std::string, Reservations> held;
};

TEST_F(LedgerTest, ReservesWithinTheBudgetAndRefusesBeyondItNamingTheGroupAndCounts) {
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6)})).granted);
  ASSERT_EQ(held["rollout"].size(), 1);
  EXPECT_EQ(held["rollout"][0].unit(), "i-1");
  EXPECT_EQ(held["rollout"][0].since_ms(), kNow);
  EXPECT_EQ(held["rollout"][0].max_unavailable(), "1");

  CapacityDecision d = Reserve("patch", Claim("i-2", {Group(kTg, 6)}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr(std::string(kTg) + ": 1 of 6 out of service (i-1 by rollout)"));
  EXPECT_THAT(d.reason, HasSubstr("max_unavailable 1"));
  EXPECT_TRUE(held["patch"].empty());

  // Released, the capacity is the next claim's.
  ledger.Release("rollout", "i-1", &held["rollout"]);
  EXPECT_TRUE(held["rollout"].empty());
  EXPECT_TRUE(Reserve("patch", Claim("i-2", {Group(kTg, 6)})).granted);
  EXPECT_EQ(ledger.ReservationsOf(kTg).size(), 1u);
}

TEST_F(LedgerTest, AClaimIsAllOrNothingOverItsGroups) {
  ASSERT_TRUE(Reserve("a", Claim("i-1", {Group("tg:other", 4)})).granted);
  CapacityDecision d = Reserve("b", Claim("i-2", {Group(kTg, 6), Group("tg:other", 4)}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("tg:other: 1 of 4"));
  EXPECT_TRUE(ledger.ReservationsOf(kTg).empty()) << "nothing reserved in the group that had room";
}

TEST_F(LedgerTest, TargetsOutOfServiceForOtherReasonsTakeFromTheBudget) {
  CapacityDecision d = Reserve("patch", Claim("i-2", {Group(kTg, 6, {"i-9"})}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("i-9 out of service"));
  // A target the read saw out that a reservation covers is not counted twice.
  safety.mutable_max_unavailable()->set_default_limit("2");
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6, {}, "2")})).granted);
  EXPECT_TRUE(Reserve("patch", Claim("i-2", {Group(kTg, 6, {"i-1"}, "2")})).granted);
}

TEST_F(LedgerTest, ABoundTargetThatIsItselfOutOfServiceTakesNothingMore) {
  // The group is at its budget with i-3 failing: claiming i-3 (to replace it) is granted, any
  // other target is not.
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6)})).granted);
  EXPECT_TRUE(Reserve("healing", Claim("i-3", {Group(kTg, 6, {"i-3", "i-1"})})).granted);
  EXPECT_FALSE(Reserve("patch", Claim("i-4", {Group(kTg, 6, {"i-3", "i-1"})})).granted);
  EXPECT_EQ(ledger.ReservationsOf(kTg).size(), 2u);
}

TEST_F(LedgerTest, AUnitAnotherWorkflowHoldsWaitsWhateverTheBudget) {
  safety.mutable_max_unavailable()->set_default_limit("3");
  v1::CapacityClaim replacing = Claim("i-1", {Group(kTg, 6, {}, "")});
  replacing.add_aliases("i-new");
  ASSERT_TRUE(Reserve("rollout", replacing).granted);
  CapacityDecision d = Reserve("patch", Claim("i-1", {Group(kTg, 6, {}, "")}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("i-1 in " + std::string(kTg) + " is held by workflow rollout"));
  // The replacement's new instance is the same capacity: not claimable by another workflow
  // either, and not counted again when a read sees it warming up.
  EXPECT_FALSE(Reserve("patch", Claim("i-new", {Group(kTg, 6, {}, "")})).granted);
  // The same workflow asking again is granted, keeping its first time.
  EXPECT_TRUE(Reserve("rollout", replacing).granted);
  EXPECT_EQ(held["rollout"].size(), 1);
}

TEST_F(LedgerTest, ANewInstanceAliasedToAReservationIsNotCountedTwice) {
  v1::CapacityClaim replacing = Claim("i-1", {Group(kTg, 6)});
  replacing.add_aliases("i-new");
  ASSERT_TRUE(Reserve("rollout", replacing).granted);
  ledger.Release("rollout", "i-1", &held["rollout"]);
  safety.mutable_max_unavailable()->mutable_per_target_group()->insert({"web", "2"});
  ASSERT_TRUE(Reserve("rollout", replacing).granted);
  // i-new initial in the read: one out (the reservation), so a second fits in 2.
  EXPECT_TRUE(Reserve("patch", Claim("i-2", {Group(kTg, 6, {"i-new"})})).granted);
}

TEST_F(LedgerTest, PercentagesOfTheGroupRoundDownAndAreAtLeastOne) {
  EXPECT_EQ(*MaxUnavailableOf("25%", 8), 2);
  EXPECT_EQ(*MaxUnavailableOf("25%", 7), 1);
  EXPECT_EQ(*MaxUnavailableOf("10%", 6), 1);
  EXPECT_EQ(*MaxUnavailableOf("100%", 6), 6);
  EXPECT_EQ(*MaxUnavailableOf("3", 2), 3);
  EXPECT_THAT(MaxUnavailableOf("0", 6).error().message, HasSubstr("below 1"));
  EXPECT_THAT(MaxUnavailableOf("150%", 6).error().message, HasSubstr("from 1% to 100%"));
  EXPECT_THAT(MaxUnavailableOf("a few", 6).error().message, HasSubstr("neither a count"));

  // A per-group setting by name wins over the handler's default.
  safety.mutable_max_unavailable()->mutable_per_target_group()->insert({"web", "50%"});
  for (const char* id : {"i-1", "i-2", "i-3"}) {
    EXPECT_TRUE(Reserve(id, Claim(id, {Group(kTg, 6)})).granted) << id;
  }
  CapacityDecision d = Reserve("i-4", Claim("i-4", {Group(kTg, 6)}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("3 of 6 out of service"));
  EXPECT_EQ(ledger.ReservationsOf(kTg)[0].max_unavailable(), "50%");
}

TEST_F(LedgerTest, AnAutoScalingGroupNeverGoesBelowMinSizeInService) {
  safety.mutable_max_unavailable()->mutable_per_asg()->insert({"web", "3"});
  // 4 instances, MinSize 3: one may go, not two, whatever max_unavailable says.
  ASSERT_TRUE(Reserve("a", Claim("i-1", {Group("asg:web", 4, {}, "1", 3)})).granted);
  CapacityDecision d = Reserve("b", Claim("i-2", {Group("asg:web", 4, {}, "1", 3)}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("asg:web: 3 of 4 in service, and it keeps at least 3"));
  // An instance already unhealthy counts against MinSize too.
  ledger.Release("a", "i-1", &held["a"]);
  EXPECT_FALSE(Reserve("b", Claim("i-2", {Group("asg:web", 4, {"i-4"}, "1", 3)})).granted);
}

TEST_F(LedgerTest, AnEcsServiceKeepsItsConfiguredFloor) {
  (*safety.mutable_ecs_min_running())["prod/api"] = 2;
  safety.mutable_max_unavailable()->mutable_per_ecs_service()->insert({"prod/api", "100%"});
  const std::string g = "ecs:prod/api";
  ASSERT_TRUE(Reserve("ecs", Claim("task-1", {Group(g, 3)})).granted);
  CapacityDecision d = Reserve("ecs", Claim("task-2", {Group(g, 3)}));
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("keeps at least 2"));
  EXPECT_EQ(ledger.ReservationsOf(g)[0].min_in_service(), 2);
}

TEST_F(LedgerTest, SelfHealingMayExceedTheBudgetByItsMarginAndIsToldSo) {
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6)})).granted);
  v1::CapacityClaim heal = Claim("i-2", {Group(kTg, 6, {}, "")});
  heal.set_self_healing(true);
  CapacityDecision d = Reserve("healing", heal);
  ASSERT_TRUE(d.granted);
  EXPECT_TRUE(d.over_budget);
  EXPECT_THAT(d.reason, HasSubstr("2 of 6 out of service, 1 over max_unavailable 1"));
  // The margin is one by default: a third is refused, self-healing or not.
  heal.set_unit("i-3");
  d = Reserve("healing-2", heal);
  EXPECT_FALSE(d.granted);
  EXPECT_THAT(d.reason, HasSubstr("max_unavailable 1 + margin 1"));
}

TEST_F(LedgerTest, AMarginOfZeroGivesSelfHealingTheSameBudget) {
  safety.set_self_healing_margin(0);
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6)})).granted);
  v1::CapacityClaim heal = Claim("i-2", {Group(kTg, 6)});
  heal.set_self_healing(true);
  EXPECT_FALSE(Reserve("healing", heal).granted);
}

TEST_F(LedgerTest, SetRestoresAWorkflowsReservationsAndEmptyReleasesThem) {
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6), Group("asg:web", 6)})).granted);
  // A fresh ledger (a restart) restored from the checkpoint holds the same.
  BlastRadiusLedger restored(safety);
  restored.Set("rollout", held["rollout"]);
  EXPECT_EQ(restored.Holders(), (std::map<std::string, int>{{"rollout", 2}}));
  EXPECT_EQ(restored.ReservationsOf(kTg)[0].since_ms(), kNow);
  Reservations none;
  EXPECT_FALSE(restored.Reserve("patch", Claim("i-2", {Group(kTg, 6)}), kNow, &none).granted);
  restored.Set("rollout", {});
  EXPECT_TRUE(restored.Holders().empty());
  EXPECT_TRUE(restored.Reserve("patch", Claim("i-2", {Group(kTg, 6)}), kNow, &none).granted);
}

TEST_F(LedgerTest, AUnitRestoredForTwoWorkflowsStaysWithTheFirstWhateverTheSecondDoes) {
  ASSERT_TRUE(Reserve("rollout", Claim("i-1", {Group(kTg, 6)})).granted);
  ledger.Set("patch", held["rollout"]);  // a hand-edited checkpoint claiming the same unit
  EXPECT_EQ(ledger.Holders(), (std::map<std::string, int>{{"rollout", 1}}));
  ledger.Release("patch", "i-1", &held["patch"]);
  ledger.Set("patch", {});
  EXPECT_EQ(ledger.Holders(), (std::map<std::string, int>{{"rollout", 1}}));
  ASSERT_EQ(ledger.ReservationsOf(kTg).size(), 1u);
  ledger.Set("rollout", {});
  EXPECT_TRUE(ledger.Holders().empty());
  EXPECT_TRUE(ledger.ReservationsOf(kTg).empty());
}

TEST_F(LedgerTest, AClaimWithoutAUnitOrGroupIsRefusedWithAReason) {
  EXPECT_THAT(Reserve("a", Claim("", {Group(kTg, 6)})).reason, HasSubstr("names no unit"));
  EXPECT_THAT(Reserve("a", Claim("i-1", {})).reason, HasSubstr("no group"));
}

TEST(LedgerConfig, ErrorsNameTheKey) {
  v1::SafetyConfig s;
  s.mutable_max_unavailable()->set_default_limit("lots");
  s.mutable_max_unavailable()->mutable_per_asg()->insert({"web", "0"});
  s.mutable_max_unavailable()->mutable_per_ecs_service()->insert({"api", "1"});
  s.set_self_healing_margin(-1);
  (*s.mutable_ecs_min_running())["prod"] = 1;
  auto errors = LedgerConfigErrors(s);
  std::map<std::string, std::string> by_key(errors.begin(), errors.end());
  EXPECT_THAT(by_key["safety.max_unavailable.default"], HasSubstr("neither a count"));
  EXPECT_THAT(by_key["safety.max_unavailable.per_asg[\"web\"]"], HasSubstr("below 1"));
  EXPECT_THAT(by_key["safety.max_unavailable.per_ecs_service[\"api\"]"],
              HasSubstr("<cluster>/<service>"));
  EXPECT_THAT(by_key["safety.self_healing_margin"], HasSubstr("0 or more"));
  EXPECT_THAT(by_key["safety.ecs_min_running[\"prod\"]"], HasSubstr("<cluster>/<service>"));
  EXPECT_TRUE(LedgerConfigErrors(v1::SafetyConfig{}).empty());
}

// fleetkeeper_capacity_reserved{cell, group} follows every change; refused and granted claims are
// counted; a retired ledger (its partition dropped) leaves no series.
class LedgerMetricsTest : public ::testing::Test {
 protected:
  // The line of `series` in /metrics, or "" when the series is absent.
  static std::string Line(const std::string& series) {
    std::string text = metrics::TextExposition();
    size_t at = text.find(series + " ");
    if (at == std::string::npos) return "";
    return text.substr(at, text.find('\n', at) - at);
  }
  static std::string Reserved(const std::string& cell, const std::string& group) {
    return Line("fleetkeeper_capacity_reserved{cell=\"" + cell + "\",group=\"" + group + "\"}");
  }
  static double Claims(const std::string& cell, const std::string& decision) {
    return metrics::CapacityClaims(cell, decision == "granted").Value();
  }
  v1::SafetyConfig safety;
  std::map<std::string, Reservations> held;
};

TEST_F(LedgerMetricsTest, ReservedUnitsFollowReserveReleaseAndSet) {
  const std::string cell = "111122223333/eu-west-1";
  BlastRadiusLedger ledger(safety, cell);
  const double granted = Claims(cell, "granted"), refused = Claims(cell, "refused");
  ASSERT_TRUE(
      ledger.Reserve("a", Claim("i-1", {Group(kTg, 6, {}, "2")}), kNow, &held["a"]).granted);
  ASSERT_TRUE(ledger
                  .Reserve("b", Claim("i-2", {Group(kTg, 6, {}, "2"), Group("asg:web", 4)}), kNow,
                           &held["b"])
                  .granted);
  EXPECT_EQ(Reserved(cell, kTg),
            "fleetkeeper_capacity_reserved{cell=\"" + cell + "\",group=\"" + kTg + "\"} 2");
  EXPECT_THAT(Reserved(cell, "asg:web"), ::testing::EndsWith("} 1"));
  EXPECT_FALSE(
      ledger.Reserve("c", Claim("i-3", {Group(kTg, 6, {}, "2")}), kNow, &held["c"]).granted);
  EXPECT_EQ(Claims(cell, "granted"), granted + 2);
  EXPECT_EQ(Claims(cell, "refused"), refused + 1);

  ledger.Release("b", "i-2", &held["b"]);
  EXPECT_THAT(Reserved(cell, kTg), ::testing::EndsWith("} 1"));
  EXPECT_EQ(Reserved(cell, "asg:web"), "") << "a group nobody holds capacity in has no series";

  ledger.Set("a", {});  // the workflow finished
  EXPECT_EQ(Reserved(cell, kTg), "");
  ledger.Set("a", held["a"]);  // restored from its checkpoint
  EXPECT_THAT(Reserved(cell, kTg), ::testing::EndsWith("} 1"));
}

TEST_F(LedgerMetricsTest, ACallRewritesTheSeriesOfTheGroupsItTouchesAndNoOther) {
  const std::string cell = "111122223333/ca-central-1";
  BlastRadiusLedger ledger(safety, cell);
  ASSERT_TRUE(
      ledger.Reserve("a", Claim("i-1", {Group(kTg, 6, {}, "2")}), kNow, &held["a"]).granted);
  ASSERT_TRUE(ledger.Reserve("b", Claim("i-2", {Group("asg:web", 4)}), kNow, &held["b"]).granted);
  // asg:web's series set by hand: a call that rewrote it would put back 1.
  metrics::SetCapacityReserved(cell, "asg:web", 9);
  ASSERT_TRUE(
      ledger.Reserve("c", Claim("i-3", {Group(kTg, 6, {}, "2")}), kNow, &held["c"]).granted);
  EXPECT_THAT(Reserved(cell, kTg), ::testing::EndsWith("} 2"));
  ledger.Release("a", "i-1", &held["a"]);
  ledger.Set("a", held["a"]);  // a step of a workflow that holds nothing now
  ledger.Set("idle", {});      // a step of one that never held anything
  ledger.Set("c", held["c"]);  // a step that changed nothing of what it holds
  EXPECT_THAT(Reserved(cell, kTg), ::testing::EndsWith("} 1"));
  EXPECT_THAT(Reserved(cell, "asg:web"), ::testing::EndsWith("} 9"))
      << "a call that did not touch asg:web rewrote its series";
  ledger.Release("b", "i-2", &held["b"]);
  EXPECT_EQ(Reserved(cell, "asg:web"), "");
}

TEST_F(LedgerMetricsTest, TheSeriesStayRightThroughManyMixedCalls) {
  const std::string cell = "111122223333/sa-east-1";
  BlastRadiusLedger ledger(safety, cell);
  const std::vector<std::string> groups = {kTg, "asg:web", "asg:api", "ecs:dev/api"};
  const std::vector<std::string> workflows = {"a", "b", "c"};
  std::mt19937 random(19);  // a fixed seed: the same calls on every run
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  for (int call = 0; call < 600; ++call) {
    const std::string& wf = workflows[pick(workflows.size())];
    const std::string unit = "i-" + std::to_string(pick(8));
    switch (pick(4)) {
      case 0:
      case 1: {  // a claim in one group or two (refused when another workflow holds the unit)
        std::vector<v1::CapacityGroup> in = {Group(groups[pick(groups.size())], 20, {}, "100%")};
        const std::string& second = groups[pick(groups.size())];
        if (pick(2) == 0 && second != in[0].group()) in.push_back(Group(second, 20, {}, "100%"));
        ledger.Reserve(wf, Claim(unit, std::move(in)), kNow + call, &held[wf]);
        break;
      }
      case 2:
        ledger.Release(wf, unit, &held[wf]);
        break;
      default:  // a step's new checkpoint: the same reservations, or none (it finished)
        if (pick(3) == 0) held[wf].Clear();
        ledger.Set(wf, held[wf]);
    }
    // What the checkpoints hold, counted apart from the ledger.
    std::map<std::string, int> holders;
    std::map<std::string, int> units;
    for (const auto& [id, reservations] : held) {
      if (!reservations.empty()) holders[id] = reservations.size();
      for (const auto& r : reservations) ++units[r.group()];
    }
    ASSERT_EQ(ledger.Holders(), holders) << "after call " << call;
    for (const auto& g : groups) {
      const std::string want = units[g] == 0
                                   ? ""
                                   : "fleetkeeper_capacity_reserved{cell=\"" + cell +
                                         "\",group=\"" + g + "\"} " + std::to_string(units[g]);
      ASSERT_EQ(Reserved(cell, g), want) << "after call " << call;
    }
  }
}

TEST_F(LedgerMetricsTest, ARetiredLedgerLeavesNoSeriesAndReportsNoMore) {
  const std::string cell = "111122223333/ap-south-1";
  auto ledger = std::make_shared<BlastRadiusLedger>(safety, cell);
  ASSERT_TRUE(ledger->Reserve("a", Claim("i-1", {Group(kTg, 6)}), kNow, &held["a"]).granted);
  ASSERT_THAT(Reserved(cell, kTg), ::testing::EndsWith("} 1"));
  ledger->Retire();
  EXPECT_EQ(Reserved(cell, kTg), "");
  // A step still running on the dropped partition's ledger changes nothing in /metrics.
  ASSERT_TRUE(
      ledger->Reserve("b", Claim("i-2", {Group(kTg, 6, {}, "3")}), kNow, &held["b"]).granted);
  EXPECT_EQ(Reserved(cell, kTg), "");
}

TEST_F(LedgerMetricsTest, ALedgerWithoutACellReportsNothing) {
  BlastRadiusLedger ledger(safety);
  ASSERT_TRUE(
      ledger.Reserve("a", Claim("i-1", {Group("tg:no-cell", 6)}), kNow, &held["a"]).granted);
  EXPECT_EQ(metrics::TextExposition().find("tg:no-cell"), std::string::npos);
}

}  // namespace
}  // namespace fleetkeeper::handlers
