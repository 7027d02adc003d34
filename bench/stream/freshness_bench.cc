// Benchmark: event-to-online freshness through `larder serve --stream`.
//
//   bench/stream/run.sh freshness [--rate 5000] [--seconds 30] [--shards 2]
//                                 [--to online_and_offline] [--probe-every 10]
//                                 [--poll-ms 20]
//   bench/stream/run.sh kafka-freshness [the same flags]
//
// run.sh starts kinesalite (or, for kafka-freshness, a Kafka broker) on a
// free loopback port. This program writes the stream benchmark repo
// (stream_bench_repo.h) into DIR with a kinesis (or kafka) source, creates
// the stream (or a topic of --shards partitions), and starts `larder serve
// --stream --poll-ms P` on it. A producer thread then puts JSON records at
// --rate records/s (a PutRecords call, or produce calls and a flush, every
// 10 ms), after a first record has become visible (the consumer is ready),
// each for one of 100,000 users, with the time of the put as its event
// time and a counter as x. Every --probe-every-th record is a probe: a
// prober thread asks the server's /get-online-features for its user's
// latest:x every millisecond (all probes outstanding in one request), and
// the probe's freshness is the time from just before its PutRecords call
// to the response that first shows x (or a later record's). It prints the
// percentiles of freshness and the rate reached.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "online/dynamodb/http_client.h"
#include "stream/kafka/kafka_client.h"
#include "stream/kinesis/kinesis_client.h"
#include "stream_bench_repo.h"

namespace {

using larder::bench::Fail;

using Clock = std::chrono::steady_clock;
using larder::online::HttpClient;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Iso(int64_t us) {
  const time_t secs = static_cast<time_t>(us / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(us % 1'000'000));
  return buf;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Probe {
  int64_t user;
  int64_t x;
  Clock::time_point put_at;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, bootstrap, dir = "/tmp/larder_freshness_bench", to = "online_and_offline";
  std::string larder = LARDER_BINARY;
  int rate = 5000, seconds = 30, shards = 2, probe_every = 10;
  std::string poll_ms = "20";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--endpoint") endpoint = v;
    else if (a == "--bootstrap") bootstrap = v;
    else if (a == "--dir") dir = v;
    else if (a == "--to") to = v;
    else if (a == "--larder") larder = v;
    else if (a == "--rate") rate = std::stoi(v);
    else if (a == "--seconds") seconds = std::stoi(v);
    else if (a == "--shards") shards = std::stoi(v);
    else if (a == "--probe-every") probe_every = std::stoi(v);
    else if (a == "--poll-ms") poll_ms = std::to_string(std::stoi(v));
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (endpoint.empty() == bootstrap.empty() || rate < 100 || seconds < 1 || shards < 1 ||
      probe_every < 1) {
    std::fprintf(stderr,
                 "usage: %s --endpoint URL | --bootstrap HOST:PORT [--rate N>=100] [--seconds N] "
                 "[--shards N]\n",
                 argv[0]);
    return 2;
  }
  // Sends one tick's records; false when the stream refused them.
  std::function<bool(const std::vector<larder::stream::PutRecordsEntry>&)> put_batch;
  std::unique_ptr<larder::stream::KinesisClient> kinesis;
  std::unique_ptr<larder::stream::KafkaProducer> kafka;
  const std::string stream = "freshness_ratings";
  if (!endpoint.empty()) {
    auto client = larder::bench::SetUpStreamBench(dir, endpoint, stream, to, shards);
    if (!client.ok()) return Fail(client.status());
    kinesis = std::move(*client);
    put_batch = [&](const std::vector<larder::stream::PutRecordsEntry>& batch) {
      auto put = kinesis->PutRecords(stream, batch);
      return put.ok() && put->failed == 0;
    };
  } else {
    // A fresh topic and group per run, so that a broker can serve several runs.
    const std::string topic =
        stream + "_" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    larder::Status written = larder::bench::WriteStreamBenchRepo(
        dir,
        "type: kafka, bootstrap_servers: '" + bootstrap + "', topic: " + topic +
            ", group_id: " + topic,
        to);
    if (!written.ok()) return Fail(written);
    auto producer =
        larder::stream::KafkaProducer::Open({.bootstrap_servers = bootstrap, .linger_ms = 1});
    if (!producer.ok()) return Fail(producer.status());
    kafka = std::move(*producer);
    if (auto s = kafka->CreateTopic(topic, shards, std::chrono::seconds(30)); !s.ok()) return Fail(s);
    put_batch = [&, topic](const std::vector<larder::stream::PutRecordsEntry>& batch) {
      for (const auto& e : batch) {
        if (!kafka->Produce(topic, -1, e.partition_key, e.data).ok()) return false;
      }
      return kafka->Flush(std::chrono::seconds(10)).ok();
    };
  }

  const int port = FreePort();
  const std::string log = dir + "/serve.log";
  const pid_t server = fork();
  if (server == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(larder.c_str(), larder.c_str(), "serve", "-c", dir.c_str(), "--port",
          std::to_string(port).c_str(), "--workers", "1", "--stream", "--poll-ms", poll_ms.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto url = larder::online::ParseHttpUrl("http://127.0.0.1:" + std::to_string(port));
  if (!url.ok()) return Fail(url.status());
  HttpClient http(*url, {});
  const larder::online::HttpHeaders json_headers = {{"Content-Type", "application/json"}};
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    up = http.Post("/health", {}, "").ok();
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!up) {
    ::kill(server, SIGKILL);
    std::fprintf(stderr, "larder serve did not start; see %s\n", log.c_str());
    return 1;
  }

  // A first record, waited for until visible: the consumer has found its
  // shards (or joined its group) before the timed records start.
  {
    const int64_t warm_user = 100001;
    const std::vector<larder::stream::PutRecordsEntry> warm = {
        {std::to_string(warm_user), "{\"user_id\": " + std::to_string(warm_user) +
                                        ", \"ts\": \"" + Iso(NowMicros()) + "\", \"x\": 0}"}};
    const auto warm_start = Clock::now();
    bool seen = put_batch(warm);
    const std::string request = "{\"features\": [\"latest:x\"], \"entities\": {\"user_id\": [" +
                                std::to_string(warm_user) + "]}}";
    while (seen) {
      auto got = http.Post("/get-online-features", json_headers, request);
      if (got.ok() && got->status == 200 &&
          nlohmann::json::parse(got->body, nullptr, false)["results"][1]["values"][0].is_number()) {
        break;
      }
      if (Clock::now() - warm_start > std::chrono::seconds(60)) seen = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!seen) {
      ::kill(server, SIGKILL);
      return Fail(larder::Status::IOError("the warm-up record never became visible; see " + log));
    }
    std::printf("warm-up record visible after %.2f s\n",
                std::chrono::duration<double>(Clock::now() - warm_start).count());
  }

  std::mutex mu;
  std::deque<Probe> pending;
  std::vector<double> freshness_ms;
  std::atomic<bool> producing{true};
  std::atomic<int64_t> put_records{0};
  std::atomic<bool> put_failed{false};

  std::thread producer([&] {
    std::mt19937_64 rng(11);
    int64_t x = 0;
    const int per_tick = rate / 100;
    auto next = Clock::now();
    const auto end = next + std::chrono::seconds(seconds);
    while (next < end) {
      std::this_thread::sleep_until(next);
      next += std::chrono::milliseconds(10);
      std::vector<larder::stream::PutRecordsEntry> batch;
      std::vector<Probe> probes;
      // Distinct event times: of two records of a user, the later wins.
      const int64_t tick_us = NowMicros();
      for (int i = 0; i < per_tick; ++i) {
        const std::string ts = Iso(tick_us + i);
        const int64_t user = 1 + static_cast<int64_t>(rng() % 100000);
        ++x;
        batch.push_back({std::to_string(user), "{\"user_id\": " + std::to_string(user) +
                                                   ", \"ts\": \"" + ts + "\", \"x\": " +
                                                   std::to_string(x) + "}"});
        if (x % probe_every == 0) probes.push_back({user, x, {}});
      }
      const auto put_at = Clock::now();
      if (!put_batch(batch)) {
        put_failed = true;
        break;
      }
      put_records += per_tick;
      std::lock_guard lock(mu);
      for (Probe& p : probes) {
        p.put_at = put_at;
        pending.push_back(p);
      }
    }
    producing = false;
  });

  std::thread prober([&] {
    auto drained_since = Clock::time_point::max();
    while (true) {
      std::vector<Probe> batch;
      {
        std::lock_guard lock(mu);
        batch.assign(pending.begin(), pending.end());
      }
      if (batch.empty()) {
        if (!producing) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (!producing && drained_since == Clock::time_point::max()) drained_since = Clock::now();
      if (Clock::now() - drained_since > std::chrono::seconds(30)) break;  // never visible
      nlohmann::json request = {{"features", {"latest:x"}},
                                {"entities", {{"user_id", nlohmann::json::array()}}}};
      for (const Probe& p : batch) request["entities"]["user_id"].push_back(p.user);
      auto got = http.Post("/get-online-features", json_headers, request.dump());
      const auto seen_at = Clock::now();
      if (got.ok() && got->status == 200) {
        const auto body = nlohmann::json::parse(got->body, nullptr, false);
        const auto& values = body["results"][1]["values"];
        std::vector<bool> seen(batch.size(), false);
        for (size_t i = 0; i < batch.size(); ++i) {
          seen[i] = values[i].is_number() && values[i].get<int64_t>() >= batch[i].x;
        }
        std::lock_guard lock(mu);
        for (size_t i = 0; i < batch.size(); ++i) {
          if (!seen[i]) continue;
          freshness_ms.push_back(
              std::chrono::duration<double, std::milli>(seen_at - batch[i].put_at).count());
        }
        std::erase_if(pending, [&](const Probe& p) {
          for (size_t i = 0; i < batch.size(); ++i) {
            if (seen[i] && batch[i].x == p.x) return true;
          }
          return false;
        });
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const auto start = Clock::now();
  producer.join();
  const double produce_s = std::chrono::duration<double>(Clock::now() - start).count();
  prober.join();

  ::kill(server, SIGTERM);
  int status = 0;
  waitpid(server, &status, 0);
  if (put_failed) return Fail(larder::Status::IOError("a put failed"));
  std::printf("put %lld records in %.1f s (%.0f records/s) into %d %s; %zu probes, %zu never "
              "visible\n",
              static_cast<long long>(put_records.load()), produce_s,
              static_cast<double>(put_records.load()) / produce_s, shards,
              kafka ? "partitions" : "shards",
              freshness_ms.size() + pending.size(), pending.size());
  std::printf("freshness, put to visible in /get-online-features (ms): p50 %.1f  p90 %.1f  "
              "p99 %.1f  max %.1f\n",
              Percentile(freshness_ms, 50), Percentile(freshness_ms, 90),
              Percentile(freshness_ms, 99), Percentile(freshness_ms, 100));
  return pending.empty() ? 0 : 1;
}
