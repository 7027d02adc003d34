#include "stream/kafka/kafka_client.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>

namespace larder::stream {
namespace {

int TimeoutMs(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::max<int64_t>(0, timeout.count()));
}

// librdkafka's log lines go here rather than to stderr; the last error is
// kept for messages ("cannot reach the brokers: <why>").
struct LogSink {
  mutable std::mutex mu;
  std::string last_error;
};

void LogCallback(const rd_kafka_t* rk, int level, const char* /*facility*/, const char* line) {
  auto* sink = static_cast<LogSink*>(rd_kafka_opaque(rk));
  if (sink == nullptr || level > 4) return;  // keep warnings and errors
  std::lock_guard lock(sink->mu);
  sink->last_error = line;
}

// A configuration with `settings` applied; the error names the setting.
Result<rd_kafka_conf_t*> MakeConf(const std::vector<std::pair<std::string, std::string>>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("Kafka setting " + key + "=" + value + ": " + errstr);
    }
  }
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  return conf;
}

// Creates a client of `type` from `conf` (which it takes), with `opaque`.
Result<rd_kafka_t*> NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf, void* opaque) {
  rd_kafka_conf_set_opaque(conf, opaque);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create a Kafka client: ") + errstr);
  }
  return rk;
}

std::string Last(const LogSink& sink) {
  std::lock_guard lock(sink.mu);
  return sink.last_error;
}

// The topic's partition count from the brokers' metadata: NotFound when it
// does not exist, IOError when no broker answers. With `led`, set whether
// every partition has a leader (a new topic's may not, for a moment).
Result<int> TopicPartitions(rd_kafka_t* rk, const LogSink& log, const std::string& servers,
                            const std::string& topic, std::chrono::milliseconds timeout,
                            bool* led = nullptr) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) return Status::InvalidArgument("Kafka topic '" + topic + "' is not valid");
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, TimeoutMs(timeout));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const std::string why = Last(log);
    return Status::IOError("no Kafka broker at " + servers + " answered within " +
                           std::to_string(timeout.count()) + " ms (" + rd_kafka_err2str(err) +
                           (why.empty() ? "" : "; " + why) + ")");
  }
  Result<int> out = Status::NotFound("Kafka topic '" + topic + "' does not exist on " + servers);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = t.partition_cnt;
      if (led != nullptr) {
        *led = t.partition_cnt > 0 &&
               std::all_of(t.partitions, t.partitions + t.partition_cnt,
                           [](const rd_kafka_metadata_partition& p) {
                             return p.err == RD_KAFKA_RESP_ERR_NO_ERROR && p.leader >= 0;
                           });
      }
    } else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      out = Status::IOError("Kafka topic '" + topic + "' on " + servers + ": " +
                            rd_kafka_err2str(t.err));
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

}  // namespace

// --- Consumer -------------------------------------------------------------

// The client's opaque is the Impl, as its LogSink.
struct KafkaConsumer::Impl : LogSink {
  KafkaConsumerOptions options;
  StartOffsets start_offsets;
  rd_kafka_t* rk = nullptr;
  std::vector<rd_kafka_message_t*> polled;  // owned until the next Poll
  Status error;                             // from the assignment callback
  KafkaConsumer* owner = nullptr;

  ~Impl() {
    ReleasePolled();
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }

  void ReleasePolled() {
    for (rd_kafka_message_t* m : polled) rd_kafka_message_destroy(m);
    polled.clear();
  }

  // The group's eager protocol: every rebalance revokes all and assigns anew.
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
    owner->partitions_.clear();
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, nullptr);
      return;
    }
    owner->joined_ = true;
    std::vector<int32_t> parts;
    for (int i = 0; i < list->cnt; ++i) {
      // A static member that rejoins may get back what it held before, even
      // of a topic it no longer subscribes to.
      if (options.topic != list->elems[i].topic) {
        error = Status::FailedPrecondition(
            "Kafka group '" + options.group_id + "' gave this consumer partitions of topic '" +
            list->elems[i].topic + "', not of '" + options.topic +
            "': the group (or this static member id) served another topic before; give the "
            "source its own group_id, or the consumer another id");
        rd_kafka_assign(rk, nullptr);
        return;
      }
      parts.push_back(list->elems[i].partition);
    }
    Result<std::map<int32_t, int64_t>> starts = start_offsets(parts);
    if (!starts.ok()) {
      error = starts.status();
      rd_kafka_assign(rk, nullptr);
      return;
    }
    for (int i = 0; i < list->cnt; ++i) {
      auto it = starts->find(list->elems[i].partition);
      list->elems[i].offset = it == starts->end() ? RD_KAFKA_OFFSET_BEGINNING : it->second;
    }
    const rd_kafka_resp_err_t assigned = rd_kafka_assign(rk, list);
    if (assigned != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = Status::IOError(std::string("cannot take the assigned Kafka partitions: ") +
                              rd_kafka_err2str(assigned));
      return;
    }
    owner->partitions_ = std::move(parts);
  }

  static void RebalanceCallback(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* list, void* opaque) {
    static_cast<Impl*>(static_cast<LogSink*>(opaque))->Rebalance(err, list);
  }
};

KafkaConsumer::KafkaConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->owner = this;
}

KafkaConsumer::~KafkaConsumer() = default;

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Open(const KafkaConsumerOptions& options,
                                                           StartOffsets start_offsets) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->start_offsets = std::move(start_offsets);
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"client.id", "larder"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.offset_reset},
      {"partition.assignment.strategy", "roundrobin"},
      {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
      {"heartbeat.interval.ms", std::to_string(std::max(500, options.session_timeout_ms / 5))},
      {"allow.auto.create.topics", "false"},
      // A fetch that finds nothing waits at the broker this long, and other
      // requests on its connection (watermarks) wait behind it.
      {"fetch.wait.max.ms", "100"},
      // A catching-up consumer takes larger bites than the default 1 MiB a
      // partition per fetch.
      {"max.partition.fetch.bytes", "8388608"},
  };
  if (!options.group_instance_id.empty()) {
    settings.emplace_back("group.instance.id", options.group_instance_id);
  }
  LARDER_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, MakeConf(settings));
  rd_kafka_conf_set_rebalance_cb(conf, Impl::RebalanceCallback);
  LARDER_ASSIGN_OR_RETURN(impl->rk, NewClient(RD_KAFKA_CONSUMER, conf, static_cast<LogSink*>(impl.get())));
  LARDER_RETURN_IF_ERROR(TopicPartitions(impl->rk, *impl, options.bootstrap_servers,
                                         options.topic, options.connect_timeout)
                             .status());
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(impl->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("cannot subscribe to Kafka topic '" + options.topic +
                           "': " + rd_kafka_err2str(err));
  }
  return std::unique_ptr<KafkaConsumer>(new KafkaConsumer(std::move(impl)));
}

Result<std::vector<KafkaMessage>> KafkaConsumer::Poll(size_t max,
                                                      std::chrono::milliseconds timeout) {
  impl_->ReleasePolled();
  std::vector<KafkaMessage> out;
  int wait_ms = TimeoutMs(timeout);
  while (out.size() < max) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, wait_ms);
    if (!impl_->error.ok()) {
      if (m != nullptr) rd_kafka_message_destroy(m);
      return impl_->error;
    }
    if (m == nullptr) break;
    wait_ms = 0;  // take what is there, wait no more
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_resp_err_t err = m->err;
      const std::string what = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      // Transport trouble and the end of a partition pass; librdkafka
      // reconnects by itself.
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
          err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__RESOLVE) {
        continue;
      }
      return Status::IOError("Kafka topic '" + impl_->options.topic + "': " + what);
    }
    impl_->polled.push_back(m);
    KafkaMessage msg;
    msg.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    msg.partition = m->partition;
    msg.offset = m->offset;
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m, &type);
    msg.timestamp_ms = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0 ? 0 : ts;
    out.push_back(msg);
  }
  return out;
}

Result<std::pair<int64_t, int64_t>> KafkaConsumer::Watermarks(int32_t partition,
                                                              std::chrono::milliseconds timeout) {
  int64_t low = 0;
  int64_t high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      impl_->rk, impl_->options.topic.c_str(), partition, &low, &high, TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("Kafka topic '" + impl_->options.topic + "' partition " +
                           std::to_string(partition) + ": " + rd_kafka_err2str(err));
  }
  return std::make_pair(low, high);
}

Result<std::map<int32_t, int64_t>> KafkaConsumer::Committed(
    const std::vector<int32_t>& partitions, std::chrono::milliseconds timeout) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list, impl_->options.topic.c_str(), p);
  }
  const rd_kafka_resp_err_t err = rd_kafka_committed(impl_->rk, list, TimeoutMs(timeout));
  std::map<int32_t, int64_t> out;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[i].offset >= 0) {
        out[list->elems[i].partition] = list->elems[i].offset;
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("Kafka group '" + impl_->options.group_id +
                           "': cannot read its committed offsets: " + rd_kafka_err2str(err));
  }
  return out;
}

int64_t KafkaConsumer::CachedHighWatermark(int32_t partition) const {
  int64_t low = 0;
  int64_t high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_get_watermark_offsets(
      impl_->rk, impl_->options.topic.c_str(), partition, &low, &high);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : -1;
}

void KafkaConsumer::CommitAsync(const std::map<int32_t, int64_t>& next_offsets) {
  if (next_offsets.empty()) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  for (const auto& [partition, offset] : next_offsets) {
    rd_kafka_topic_partition_list_add(list, impl_->options.topic.c_str(), partition)->offset =
        offset;
  }
  rd_kafka_commit(impl_->rk, list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
}

std::string KafkaConsumer::LastLogged() const { return Last(*impl_); }

// --- Producer -------------------------------------------------------------

struct KafkaProducer::Impl : LogSink {
  KafkaProducerOptions options;
  rd_kafka_t* rk = nullptr;
  std::mutex delivery_mu;
  std::string delivery_error;

  ~Impl() {
    if (rk != nullptr) rd_kafka_destroy(rk);
  }

  static void DeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* m, void* /*opaque*/) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    auto* impl = static_cast<Impl*>(static_cast<LogSink*>(rd_kafka_opaque(rk)));
    std::lock_guard lock(impl->delivery_mu);
    if (impl->delivery_error.empty()) impl->delivery_error = rd_kafka_err2str(m->err);
  }
};

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaProducer::~KafkaProducer() = default;

Result<std::unique_ptr<KafkaProducer>> KafkaProducer::Open(const KafkaProducerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  LARDER_ASSIGN_OR_RETURN(rd_kafka_conf_t * conf,
                          MakeConf({{"bootstrap.servers", options.bootstrap_servers},
                                    {"client.id", "larder"},
                                    {"linger.ms", std::to_string(options.linger_ms)},
                                    // Acknowledged by every replica, and
                                    // retries keep a partition's order (a new
                                    // topic's partition may refuse the first
                                    // records for a moment).
                                    {"acks", "all"},
                                    {"enable.idempotence", "true"}}));
  rd_kafka_conf_set_dr_msg_cb(conf, Impl::DeliveryCallback);
  LARDER_ASSIGN_OR_RETURN(impl->rk, NewClient(RD_KAFKA_PRODUCER, conf, static_cast<LogSink*>(impl.get())));
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

Status KafkaProducer::CreateTopic(const std::string& topic, int partitions,
                                  std::chrono::milliseconds timeout) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr, sizeof errstr);
  if (nt == nullptr) {
    return Status::InvalidArgument("Kafka topic '" + topic + "': " + errstr);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(impl_->rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(impl_->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, TimeoutMs(timeout), errstr, sizeof errstr);
  rd_kafka_CreateTopics(impl_->rk, &nt, 1, opts, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, TimeoutMs(timeout) + 1000);
  Status out = Status::OK();
  if (ev == nullptr) {
    out = Status::IOError("creating Kafka topic '" + topic + "' did not finish in " +
                          std::to_string(timeout.count()) + " ms; " + Last(*impl_));
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out = Status::IOError("cannot create Kafka topic '" + topic +
                          "': " + rd_kafka_event_error_string(ev));
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &count);
    for (size_t i = 0; i < count; ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        out = Status::AlreadyExists("Kafka topic '" + topic + "' exists");
      } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* why = rd_kafka_topic_result_error_string(results[i]);
        out = Status::IOError("cannot create Kafka topic '" + topic +
                              "': " + (why != nullptr ? why : rd_kafka_err2str(err)));
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(nt);
  LARDER_RETURN_IF_ERROR(out);
  // Usable once the metadata shows every partition with a leader.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool led = false;
    const Result<int> count = TopicPartitions(impl_->rk, *impl_, impl_->options.bootstrap_servers,
                                              topic, std::chrono::milliseconds(1000), &led);
    if (count.ok() && led) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::IOError("Kafka topic '" + topic +
                             "' was created, but its partitions have no leaders after " +
                             std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<int> KafkaProducer::Brokers(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl_->rk, /*all_topics=*/0, nullptr, &md, TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("no Kafka broker at " + impl_->options.bootstrap_servers +
                           " answered: " + rd_kafka_err2str(err));
  }
  const int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  return brokers;
}

Result<int> KafkaProducer::PartitionCount(const std::string& topic,
                                          std::chrono::milliseconds timeout) {
  return TopicPartitions(impl_->rk, *impl_, impl_->options.bootstrap_servers, topic, timeout);
}

Status KafkaProducer::Produce(const std::string& topic, int32_t partition, std::string_view key,
                              std::string_view value) {
  while (true) {
// librdkafka's RD_KAFKA_V_* macros cast in C style.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
#pragma GCC diagnostic pop
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_poll(impl_->rk, 0);  // serve delivery reports
      return Status::OK();
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Status::IOError("cannot produce to Kafka topic '" + topic +
                             "': " + rd_kafka_err2str(err));
    }
    rd_kafka_poll(impl_->rk, 50);
  }
}

Status KafkaProducer::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk, TimeoutMs(timeout));
  std::lock_guard lock(impl_->delivery_mu);
  if (!impl_->delivery_error.empty()) {
    std::string why = std::move(impl_->delivery_error);
    impl_->delivery_error.clear();
    return Status::IOError("a Kafka message was not delivered: " + why);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("Kafka messages still undelivered after " +
                           std::to_string(timeout.count()) + " ms; " + Last(*impl_));
  }
  return Status::OK();
}

}  // namespace larder::stream
