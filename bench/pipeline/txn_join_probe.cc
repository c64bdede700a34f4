// How much CPU librdkafka's main thread spends while partitions join a transaction, against a
// real broker (bench/README.md, "Pipeline vs kcat"). A transactional producer writes T
// transactions of N records of 1 KB over P partitions of a fresh topic, pacing itself the way the
// worker's poll thread does (a short pause every 100 records), in one of two orders:
//   together  every partition is written from a transaction's first records on
//   one-by-one  partition k is first written k/P of the way through the transaction
// and prints the CPU time of each of its threads. librdkafka 2.0.2 spins in its main thread
// while a timer is less than 1 ms away, and a partition joining a transaction arms such a timer.
//
//   fk_txn_join_probe BOOTSTRAP together|one-by-one [transactions] [records] [partitions]
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

struct Destroy {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Client = std::unique_ptr<rd_kafka_t, Destroy>;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "txn_join_probe: %s\n", what.c_str());
  std::exit(1);
}

Client MakeClient(rd_kafka_type_t type, const std::string& bootstrap, const std::string& txn_id) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) Die(err);
  };
  set("bootstrap.servers", bootstrap);
  if (!txn_id.empty()) {
    set("transactional.id", txn_id);
    set("linger.ms", "5");  // as the worker's producer
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) Die(err);
  return Client(rk);
}

void CreateTopic(rd_kafka_t* rk, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof(err));
  if (nt == nullptr) Die(err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (ev == nullptr) Die("CreateTopics: no answer in 30 s");
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  if (n != 1 || rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Die(std::string("CreateTopics: ") + (n ? rd_kafka_topic_result_error_string(res[0]) : "?"));
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
}

void Check(rd_kafka_error_t* error, const char* what) {
  if (error == nullptr) return;
  Die(std::string(what) + ": " + rd_kafka_error_string(error));
}

void PrintThreadCpu() {
  const long ticks = sysconf(_SC_CLK_TCK);
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const size_t open = stat.find('('), close = stat.rfind(')');
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 1; rest >> field; ++i) {  // field 1 is the state; utime and stime are 12 and 13
      if (i == 12) utime = std::stoul(field);
      if (i == 13) stime = std::stoul(field);
    }
    std::printf("  %-14s %6lu ms CPU\n", stat.substr(open + 1, close - open - 1).c_str(),
                (utime + stime) * 1000 / ticks);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (std::strcmp(argv[2], "together") != 0 && std::strcmp(argv[2], "one-by-one"))) {
    Die("usage: fk_txn_join_probe BOOTSTRAP together|one-by-one [transactions] [records] "
        "[partitions]");
  }
  const std::string bootstrap = argv[1];
  const bool one_by_one = std::strcmp(argv[2], "one-by-one") == 0;
  const int transactions = argc > 3 ? std::atoi(argv[3]) : 30;
  const int records = argc > 4 ? std::atoi(argv[4]) : 10000;
  const int partitions = argc > 5 ? std::atoi(argv[5]) : 18;
  if (transactions < 1 || records < partitions || partitions < 1) Die("bad counts");

  const std::string topic = "txn-join-probe-" + std::to_string(getpid());
  {
    Client admin = MakeClient(RD_KAFKA_PRODUCER, bootstrap, "");
    CreateTopic(admin.get(), topic, partitions);
  }
  Client producer = MakeClient(RD_KAFKA_PRODUCER, bootstrap, topic);
  Check(rd_kafka_init_transactions(producer.get(), 30000), "init_transactions");

  const std::string value(1000, 'x');
  const auto partition_of = [&](int i) {
    const int joined =
        one_by_one ? std::min(partitions, 1 + i / (records / partitions)) : partitions;
    return static_cast<int32_t>(i % joined);
  };
  const auto started = std::chrono::steady_clock::now();
  for (int t = 0; t < transactions; ++t) {
    Check(rd_kafka_begin_transaction(producer.get()), "begin_transaction");
    for (int i = 0; i < records; ++i) {
      rd_kafka_resp_err_t err;
      while (
          (err = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                   RD_KAFKA_V_PARTITION(partition_of(i)),
                                   RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
          RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 1);
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) Die(rd_kafka_err2str(err));
      if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (i % 1000 == 999) rd_kafka_poll(producer.get(), 0);
    }
    Check(rd_kafka_commit_transaction(producer.get(), -1), "commit_transaction");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "librdkafka %s: %d transactions of %d records over %d partitions, joining %s: "
      "%.2f s\n",
      rd_kafka_version_str(), transactions, records, partitions,
      one_by_one ? "one by one" : "together", seconds);
  PrintThreadCpu();
  return 0;
}
