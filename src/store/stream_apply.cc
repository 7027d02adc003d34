#include <map>

#include "store/stream_reader.h"
#include "stream/json_record.h"

namespace larder::stream_consumer {

Result<AppliedRecords> ApplyStreamRecords(
    const DataSource& src, const DataSource& batch, const std::vector<StreamRecord>& records,
    size_t max_record_bytes, const std::function<Result<PushReport>(const ColumnTable&)>& push) {
  AppliedRecords out;
  // Records with the same fields go in one push; their indexes follow.
  std::map<std::vector<std::string>, std::pair<ColumnTable, std::vector<size_t>>> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    const StreamRecord& rec = records[i];
    auto row = stream::DecodeJsonRecord(rec.data, src.field_mapping, max_record_bytes);
    std::string reason;
    if (!row.ok()) {
      reason = row.status().message();
    } else if (!row->contains(src.timestamp_field)) {
      reason = "missing field `" + src.timestamp_field + "` (the event time)";
    } else if (src.timestamp_field != batch.timestamp_field) {
      auto node = row->extract(src.timestamp_field);
      node.key() = batch.timestamp_field;
      row->insert(std::move(node));
    }
    if (!reason.empty()) {
      out.dead.push_back({i, rec.position, rec.arrival_ms, reason, std::string(rec.data)});
      continue;
    }
    std::vector<std::string> fields;
    for (const auto& [name, value] : *row) fields.push_back(name);
    auto& [table, indexes] = groups[fields];
    for (auto& [name, value] : *row) table[name].push_back(std::move(value));
    indexes.push_back(i);
  }
  for (auto& [fields, group] : groups) {
    auto& [table, indexes] = group;
    Result<PushReport> pushed = push(table);
    if (pushed.ok()) {
      out.rows_pushed += static_cast<int64_t>(indexes.size());
      continue;
    }
    if (pushed.status().code() != StatusCode::kInvalidArgument) return pushed.status();
    // A row the push refuses: push one by one, and dead-letter each refused row.
    for (size_t r = 0; r < indexes.size(); ++r) {
      ColumnTable one;
      for (const auto& [name, values] : table) one[name] = {values[r]};
      Result<PushReport> single = push(one);
      const StreamRecord& rec = records[indexes[r]];
      if (single.ok()) {
        ++out.rows_pushed;
      } else if (single.status().code() == StatusCode::kInvalidArgument) {
        out.dead.push_back({indexes[r], rec.position, rec.arrival_ms, single.status().message(),
                            std::string(rec.data)});
      } else {
        return single.status();
      }
    }
  }
  return out;
}

}  // namespace larder::stream_consumer
