// Query / EC2 / JSON 1.1 protocol rules against botocore's protocol test cases
// (aws-responses/botocore-protocols/input/{query,ec2}.json), the XML helpers and pagination.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "awsclient/json_protocol.h"
#include "awsclient/pagination.h"
#include "awsclient/query_protocol.h"
#include "tests/awsclient/unit/fake_transport.h"

namespace fleetkeeper::aws {
namespace {

using nlohmann::json;
using testing::ReadTestdata;

// The serialized body botocore expects for the case `id` in `file`.
std::string ExpectedBody(const std::string& file, const std::string& id) {
  json suites = json::parse(ReadTestdata("aws-responses/botocore-protocols/input/" + file));
  for (const json& suite : suites) {
    for (const json& c : suite["cases"]) {
      if (c.value("id", "") == id) return c["serialized"]["body"].get<std::string>();
    }
  }
  ADD_FAILURE() << "no case " << id << " in " << file;
  return "";
}

QueryParams Query(const char* action) {
  return QueryParams(QueryFlavor::kQuery, action, "2020-01-08");
}
QueryParams Ec2(const char* action) { return QueryParams(QueryFlavor::kEc2, action, "2020-01-08"); }

TEST(QueryProtocol, NestedStructuresFlattenWithDots) {
  for (auto [flavor, file, id] :
       {std::tuple{QueryFlavor::kQuery, "query.json", "NestedStructures"},
        std::tuple{QueryFlavor::kEc2, "ec2.json", "Ec2NestedStructures"}}) {
    QueryParams p(flavor, "NestedStructures", "2020-01-08");
    p.Set("Nested.StringArg", "foo");
    p.Set("Nested.OtherArg", true);
    p.Set("Nested.RecursiveArg.StringArg", "baz");
    EXPECT_EQ(p.Encode(), ExpectedBody(file, id));
  }
}

TEST(QueryProtocol, QueryListsUseMemberN) {
  QueryParams p = Query("QueryLists");
  p.SetList("ListArg", {"foo", "bar", "baz"});
  p.Set(p.ListKey("ComplexListArg", 1) + ".hi", "hello");
  p.Set(p.ListKey("ComplexListArg", 2) + ".hi", "hola");
  EXPECT_EQ(p.Encode(), ExpectedBody("query.json", "QueryLists"));
}

TEST(QueryProtocol, EmptyQueryListIsSentExplicitly) {
  QueryParams p = Query("QueryLists");
  p.SetList("ListArg", {});
  EXPECT_EQ(p.Encode(), ExpectedBody("query.json", "EmptyQueryLists"));
}

TEST(QueryProtocol, FlattenedQueryListOmitsMember) {
  QueryParams p = Query("QueryLists");
  p.SetList("FlattenedListArg", {"A", "B"}, /*flattened=*/true);
  EXPECT_EQ(p.Encode(), ExpectedBody("query.json", "FlattenedQueryLists"));
}

TEST(QueryProtocol, NestedStructWithList) {
  QueryParams p = Query("QueryLists");
  p.SetList("NestedWithList.ListArg", {"A", "B"});
  EXPECT_EQ(p.Encode(), ExpectedBody("query.json", "QueryNestedStructWithList"));
  QueryParams e = Ec2("QueryLists");
  e.SetList("NestedWithList.ListArg", {"A", "B"});
  EXPECT_EQ(e.Encode(), ExpectedBody("ec2.json", "Ec2ListNestedStructWithList"));
}

TEST(QueryProtocol, Ec2ListsUseDotN) {
  QueryParams p = Ec2("QueryLists");
  p.SetList("ListArg", {"foo", "bar", "baz"});
  p.Set(p.ListKey("ComplexListArg", 1) + ".Hi", "hello");
  p.Set(p.ListKey("ComplexListArg", 2) + ".Hi", "hola");
  EXPECT_EQ(p.Encode(), ExpectedBody("ec2.json", "Ec2Lists"));
}

TEST(QueryProtocol, Ec2EmptyListIsOmitted) {
  QueryParams p = Ec2("QueryLists");
  p.SetList("ListArg", {});
  EXPECT_EQ(p.Encode(), ExpectedBody("ec2.json", "Ec2EmptyQueryLists"));
}

TEST(QueryProtocol, Scalars) {
  QueryParams s = Query("SimpleInputParams");
  s.Set("Foo", "val1");
  s.Set("Bar", "val2");
  EXPECT_EQ(s.Encode(), ExpectedBody("query.json", "QuerySimpleInputParamsStrings"));
  QueryParams b = Query("SimpleInputParams");
  b.Set("Baz", false);
  EXPECT_EQ(b.Encode(), ExpectedBody("query.json", "QuerySimpleInputParamsStringsAndBooleanFalse"));
  QueryParams i = Query("SimpleInputParams");
  i.Set("Bam", 10);
  EXPECT_EQ(i.Encode(), ExpectedBody("query.json", "QuerySimpleInputParamsInteger"));
  QueryParams f = Query("SimpleInputParams");
  f.Set("Boo", 10.8);
  EXPECT_EQ(f.Encode(), ExpectedBody("query.json", "QuerySimpleInputParamsFloat"));
  QueryParams n = Ec2("SimpleInputParams");
  n.Set("FloatValue", std::numeric_limits<double>::quiet_NaN());
  n.Set("Boo", std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(n.Encode(), ExpectedBody("ec2.json", "Ec2QuerySupportsNaNFloatInputs"));
  QueryParams inf = Query("SimpleInputParams");
  inf.Set("FloatValue", -std::numeric_limits<double>::infinity());
  inf.Set("Boo", -std::numeric_limits<double>::infinity());
  EXPECT_EQ(inf.Encode(),
            ExpectedBody("query.json", "AwsQuerySupportsNegativeInfinityFloatInputs"));
}

TEST(QueryProtocol, PercentEncodesReservedCharacters) {
  EXPECT_EQ(FormEncode("a b+c/d=e&f~g_h.i-j"), "a+b%2Bc%2Fd%3De%26f~g_h.i-j");
  EXPECT_EQ(FormEncode("resolve:ssm:/ami/x"), "resolve%3Assm%3A%2Fami%2Fx");
  EXPECT_EQ(FormEncode("\xc3\xa9"), "%C3%A9");
}

TEST(QueryProtocol, FiltersPerFlavor) {
  std::map<std::string, std::vector<std::string>> filters{{"tag:Name", {"web", "api"}},
                                                          {"instance-state-name", {"running"}}};
  QueryParams e = Ec2("DescribeInstances");
  e.SetFilters("Filter", filters, "Name", "Value");
  EXPECT_EQ(e.Encode(),
            "Action=DescribeInstances&Version=2020-01-08&Filter.1.Name=instance-state-name&"
            "Filter.1.Value.1=running&Filter.2.Name=tag%3AName&Filter.2.Value.1=web&"
            "Filter.2.Value.2=api");
  QueryParams q = Query("DescribeAutoScalingGroups");
  q.SetFilters("Filters", {{"tag-key", {"k"}}}, "Name", "Values");
  EXPECT_EQ(q.Encode(),
            "Action=DescribeAutoScalingGroups&Version=2020-01-08&Filters.member.1.Name=tag-key&"
            "Filters.member.1.Values.member.1=k");
}

TEST(QueryProtocol, RequestCarriesFormContentType) {
  ServiceRequest r = MakeQueryRequest("ec2", Ec2("DescribeInstances"));
  EXPECT_EQ(r.protocol, Protocol::kEc2Query);
  EXPECT_EQ(r.operation, "DescribeInstances");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(testing::HeaderOf(r, "Content-Type"),
            "application/x-www-form-urlencoded; charset=utf-8");
}

TEST(XmlResponse, FindsResultElementAndRequestId) {
  Result<XmlResponse> q = ParseQueryResponse(
      QueryFlavor::kQuery, "Publish",
      "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>"
      "<MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-9</RequestId>"
      "</ResponseMetadata></PublishResponse>");
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  EXPECT_STREQ(q->result.child_value("MessageId"), "m-1");
  EXPECT_EQ(q->request_id, "r-9");
}

TEST(XmlResponse, RejectsGarbageAndWrongRoot) {
  Result<XmlResponse> garbage = ParseQueryResponse(QueryFlavor::kEc2, "DescribeInstances", "<a>");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("DescribeInstances: malformed response: not XML"),
            std::string::npos);
  Result<XmlResponse> wrong =
      ParseQueryResponse(QueryFlavor::kEc2, "DescribeInstances", "<DescribeImagesResponse/>");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("<DescribeImagesResponse>"), std::string::npos);
}

TEST(XmlReader, RecordsFirstMalformedFieldWithItsPath) {
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string("<r><g><MinSize>two</MinSize><Flag>yes</Flag></g></r>"));
  XmlReader reader("DescribeAutoScalingGroups");
  pugi::xml_node g = doc.child("r").child("g");
  EXPECT_EQ(reader.Int(g, "MinSize", -1), -1);
  EXPECT_FALSE(reader.Bool(g, "Flag"));
  EXPECT_EQ(reader.Int(g, "Absent", 7), 7);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().message,
            "DescribeAutoScalingGroups: malformed response: r/g/MinSize is not an integer: 'two'");
}

TEST(JsonProtocol, TargetHeaderAndContentType) {
  ServiceRequest r = MakeJsonRequest("ecs", kEcsTargetPrefix, "ListClusters", "{}");
  EXPECT_EQ(r.protocol, Protocol::kJson11);
  EXPECT_EQ(testing::HeaderOf(r, "X-Amz-Target"),
            "AmazonEC2ContainerServiceV20141113.ListClusters");
  EXPECT_EQ(testing::HeaderOf(r, "Content-Type"), "application/x-amz-json-1.1");
}

TEST(JsonProtocol, BadBodiesAreErrors) {
  EXPECT_TRUE(ParseJsonResponse("StopTask", "").ok());
  Result<json> text = ParseJsonResponse("StopTask", "<html>");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "StopTask: malformed response: body is not JSON");
  EXPECT_FALSE(ParseJsonResponse("StopTask", "[1]").ok());
}

TEST(JsonReader, WrongTypesAreRecorded) {
  json body = json::parse(R"({"n": "3", "b": true, "t": 1.5e9, "a": [1]})");
  JsonReader r("X");
  EXPECT_EQ(r.EpochMs(body, "t"), 1'500'000'000'000);
  EXPECT_TRUE(r.Bool(body, "b"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.Int(body, "n"), 0);
  EXPECT_TRUE(r.Objects(body, "a").empty());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "X: malformed response: field 'n' is not an integer");
}

struct Page {
  std::vector<int> items;
  std::string next_token;
};
struct PageRequest {
  std::string next_token;
};

TEST(Pagination, CollectsEveryPageInOrder) {
  std::vector<std::string> seen;
  auto fetch = [&](const PageRequest& r) -> Result<Page> {
    seen.push_back(r.next_token);
    if (r.next_token.empty()) return Page{{1, 2}, "t1"};
    if (r.next_token == "t1") return Page{{3}, "t2"};
    return Page{{4}, ""};
  };
  Result<std::vector<int>> all = CollectAll(PageRequest{}, fetch, &Page::items);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(seen, (std::vector<std::string>{"", "t1", "t2"}));
}

TEST(Pagination, CapAndRepeatedTokenAreErrors) {
  int calls = 0;
  auto endless = [&](const PageRequest&) -> Result<Page> {
    return Page{{1}, "t" + std::to_string(++calls)};
  };
  Result<std::vector<int>> capped = CollectAll(PageRequest{}, endless, &Page::items, 5);
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(calls, 5);
  EXPECT_NE(capped.error().message.find("more than 5 pages"), std::string::npos);

  auto stuck = [](const PageRequest&) -> Result<Page> { return Page{{1}, "same"}; };
  Result<std::vector<int>> looped = CollectAll(PageRequest{}, stuck, &Page::items);
  ASSERT_FALSE(looped.ok());
  EXPECT_NE(looped.error().message.find("same token"), std::string::npos);
}

TEST(Pagination, StopsAtFirstError) {
  auto failing = [](const PageRequest& r) -> Result<Page> {
    if (r.next_token.empty()) return Page{{1}, "t"};
    return Error(ErrorCode::kThrottled, "slow down", true);
  };
  Result<std::vector<int>> all = CollectAll(PageRequest{}, failing, &Page::items);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, ErrorCode::kThrottled);
}

TEST(Pagination, AnEarlyStopReadsNoFurtherPageAndIsNoError) {
  std::vector<std::string> seen;
  auto fetch = [&](const PageRequest& r) -> Result<Page> {
    seen.push_back(r.next_token);
    if (r.next_token.empty()) return Page{{1, 2}, "t1"};
    if (r.next_token == "t1") return Page{{3, 4}, "t2"};
    return Page{{5}, ""};
  };
  int found = 0;
  Status status = ForEachPageUntil(PageRequest{}, fetch, [&](const Page& page) -> Result<Paging> {
    for (int item : page.items) {
      if (item == 3) found = item;
    }
    return found != 0 ? Paging::kDone : Paging::kNext;
  });
  ASSERT_TRUE(status.ok()) << status.error().ToString();
  EXPECT_EQ(found, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"", "t1"})) << "a page was read after the stop";

  // Never done: every page is read, as ForEachPage would.
  seen.clear();
  int pages = 0;
  status = ForEachPageUntil(PageRequest{}, fetch, [&](const Page&) -> Result<Paging> {
    ++pages;
    return Paging::kNext;
  });
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(pages, 3);
}

TEST(Pagination, AnEarlyStopKeepsTheCapAndTheCallbacksErrors) {
  auto endless = [](const PageRequest& r) -> Result<Page> { return Page{{1}, r.next_token + "x"}; };
  Status capped = ForEachPageUntil(
      PageRequest{}, endless, [](const Page&) -> Result<Paging> { return Paging::kNext; }, 4);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message.find("more than 4 pages"), std::string::npos);

  int pages = 0;
  Status refused = ForEachPageUntil(PageRequest{}, endless, [&](const Page&) -> Result<Paging> {
    if (++pages == 2) return InvalidInput("page 2 is malformed");
    return Paging::kNext;
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "page 2 is malformed");
  EXPECT_EQ(pages, 2);
}

}  // namespace
}  // namespace fleetkeeper::aws
