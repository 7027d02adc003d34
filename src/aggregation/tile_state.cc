#include "aggregation/tile_state.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "aggregation/partial.h"
#include "online/value_codec.h"

namespace larder::aggregation {
namespace {

constexpr uint8_t kStateVersion = 0x01;
constexpr size_t kHeaderFixed = 21;
// A state of at most this many events keeps no tiles: a read folds its
// events directly, which costs less than walking a window's tiles, and the
// state stays a few dozen bytes per event (most entities of a long window
// have only a handful). Whether a state has tiles depends only on its set
// of events, so merges in any order still give the same bytes.
constexpr size_t kTilelessMaxEvents = 32;

uint32_t Fixed32At(std::string_view s, size_t pos) {
  uint32_t v;
  std::memcpy(&v, s.data() + pos, 4);
  return v;
}

uint64_t Fixed64At(std::string_view s, size_t pos) {
  uint64_t v;
  std::memcpy(&v, s.data() + pos, 8);
  return v;
}

void SetFixed32At(std::string* s, size_t pos, uint32_t v) { std::memcpy(s->data() + pos, &v, 4); }

Status Corrupt(const std::string& what) {
  return Status::Corruption("aggregation state: " + what);
}

// A section of fixed-width keys (tile starts or event times) with variable
// payloads, read in place.
class Section {
 public:
  // Parses the section at `offset` of `state`.
  static Result<Section> At(std::string_view state, size_t offset) {
    Section s;
    if (offset + 4 > state.size()) return Corrupt("section offset out of range");
    s.n_ = Fixed32At(state, offset);
    s.keys_ = offset + 4;
    s.ends_ = s.keys_ + 8 * static_cast<size_t>(s.n_);
    s.payload_ = s.ends_ + 4 * (static_cast<size_t>(s.n_) + 1);
    if (s.payload_ > state.size()) return Corrupt("section truncated");
    s.state_ = state;
    if (s.payload_ + s.End(s.n_) > state.size() || s.End(0) != 0) {
      return Corrupt("section payload truncated");
    }
    return s;
  }

  size_t size() const { return n_; }
  int64_t Key(size_t i) const { return static_cast<int64_t>(Fixed64At(state_, keys_ + 8 * i)); }
  // The first index whose key is >= t.
  size_t LowerBound(int64_t t) const {
    size_t lo = 0, hi = n_;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (Key(mid) < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  Result<std::string_view> Payload(size_t i) const {
    const uint32_t b = End(i), e = End(i + 1);
    if (b > e || payload_ + e > state_.size()) return Corrupt("payload offsets out of order");
    return state_.substr(payload_ + b, e - b);
  }

 private:
  uint32_t End(size_t i) const { return Fixed32At(state_, ends_ + 4 * i); }
  std::string_view state_;
  size_t n_ = 0, keys_ = 0, ends_ = 0, payload_ = 0;
};

// Appends a section to `out`: keys[i]'s payload is payloads[ends[i], ends[i+1]).
// REQUIRES: ends.size() == keys.size() + 1, ends[0] == 0.
void PutSection(const std::vector<int64_t>& keys, const std::vector<uint32_t>& ends,
                std::string_view payloads, std::string* out) {
  online::PutFixed32(static_cast<uint32_t>(keys.size()), out);
  for (int64_t k : keys) online::PutFixed64(static_cast<uint64_t>(k), out);
  for (uint32_t end : ends) online::PutFixed32(end, out);
  out->append(payloads);
}

struct Header {
  uint64_t columns = 0;
  uint64_t tiles = 0;
  uint32_t events = 0;
  std::vector<uint32_t> levels;
};

Result<Header> ReadHeader(std::string_view state, size_t levels) {
  if (state.size() < kHeaderFixed || static_cast<uint8_t>(state[0]) != kStateVersion) {
    return Corrupt("unknown format or truncated header");
  }
  Header h;
  h.columns = Fixed64At(state, 1);
  h.tiles = Fixed64At(state, 9);
  h.events = Fixed32At(state, 17);
  if (state.size() < kHeaderFixed + 4 * levels) return Corrupt("truncated header");
  for (size_t k = 0; k < levels; ++k) h.levels.push_back(Fixed32At(state, kHeaderFixed + 4 * k));
  return h;
}

Status DecodeEvent(const TileLayout& layout, int64_t time, std::string_view payload, Event* e) {
  online::ByteReader r(payload);
  e->time = time;
  if (!r.ReadFixed64(&e->tie)) return Corrupt("truncated event");
  e->values.resize(layout.columns().size());
  for (Value& v : e->values) LARDER_RETURN_IF_ERROR(online::DecodeValue(&r, &v));
  if (r.remaining() != 0) return Corrupt("trailing bytes after an event");
  return Status::OK();
}

// Adds the events of `events[begin, end)` to one partial per slot.
void AddEvents(const TileLayout& layout, const std::vector<Event>& events, size_t begin,
               size_t end, std::vector<Partial>* partials) {
  const std::vector<Slot>& slots = layout.slots();
  for (size_t i = begin; i < end; ++i) {
    const Event& e = events[i];
    for (size_t s = 0; s < slots.size(); ++s) {
      const Value& v = e.values[slots[s].column];
      if (!v.is_null()) AddValue(slots[s], v, e.time, e.tie, &(*partials)[s]);
    }
  }
}

// What Encode may copy from the stored state instead of recomputing: its
// level sections (same layout), and per level the starts of the tiles whose
// events may differ (those holding an incoming event or a pruned one),
// sorted.
struct Reuse {
  std::vector<Section> levels;
  std::vector<std::vector<int64_t>> dirty;
};

std::string Encode(const TileLayout& layout, const std::vector<Event>& events,
                   const Reuse* reuse) {
  const std::vector<Slot>& slots = layout.slots();
  const size_t levels = layout.level_sizes().size();
  std::string out;
  out.push_back(static_cast<char>(kStateVersion));
  online::PutFixed64(layout.columns_fingerprint(), &out);
  online::PutFixed64(layout.tiles_fingerprint(), &out);
  out.append(4 * (1 + levels), '\0');

  std::vector<int64_t> keys;
  std::vector<uint32_t> ends;
  std::string payloads;
  std::vector<Partial> partials;
  const bool tileless = events.size() <= kTilelessMaxEvents;
  for (size_t k = 0; k < levels; ++k) {
    SetFixed32At(&out, kHeaderFixed + 4 * k, static_cast<uint32_t>(out.size()));
    const int64_t size = layout.level_sizes()[k];
    keys.clear();
    ends.assign(1, 0);
    payloads.clear();
    for (size_t i = 0; !tileless && i < events.size();) {
      const int64_t start = AlignDown(events[i].time, size);
      size_t j = i;
      while (j < events.size() && events[j].time < start + size) ++j;
      bool copied = false;
      if (reuse != nullptr &&
          !std::binary_search(reuse->dirty[k].begin(), reuse->dirty[k].end(), start)) {
        // The tile's events are the stored ones: its stored bytes are what
        // recomputing would give.
        const Section& old = reuse->levels[k];
        const size_t at = old.LowerBound(start);
        if (at < old.size() && old.Key(at) == start) {
          if (auto payload = old.Payload(at); payload.ok()) {
            payloads.append(*payload);
            copied = true;
          }
        }
      }
      if (!copied) {
        partials.assign(slots.size(), Partial());
        AddEvents(layout, events, i, j, &partials);
        for (size_t s = 0; s < slots.size(); ++s) EncodePartial(slots[s], partials[s], &payloads);
      }
      keys.push_back(start);
      ends.push_back(static_cast<uint32_t>(payloads.size()));
      i = j;
    }
    PutSection(keys, ends, payloads, &out);
  }
  SetFixed32At(&out, 17, static_cast<uint32_t>(out.size()));
  keys.clear();
  ends.assign(1, 0);
  payloads.clear();
  for (const Event& e : events) {
    online::PutFixed64(e.tie, &payloads);
    for (const Value& v : e.values) online::EncodeValue(v, &payloads);
    keys.push_back(e.time);
    ends.push_back(static_cast<uint32_t>(payloads.size()));
  }
  PutSection(keys, ends, payloads, &out);
  return out;
}

}  // namespace

Result<std::vector<Event>> DecodeEvents(const TileLayout& layout, std::string_view stored) {
  std::vector<Event> events;
  if (stored.empty()) return events;
  LARDER_ASSIGN_OR_RETURN(Header h, ReadHeader(stored, layout.level_sizes().size()));
  if (h.columns != layout.columns_fingerprint()) return events;
  LARDER_ASSIGN_OR_RETURN(Section section, Section::At(stored, h.events));
  events.resize(section.size());
  for (size_t i = 0; i < section.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(std::string_view payload, section.Payload(i));
    LARDER_RETURN_IF_ERROR(DecodeEvent(layout, section.Key(i), payload, &events[i]));
  }
  return events;
}

Result<size_t> CountTiles(const TileLayout& layout, std::string_view stored) {
  if (stored.empty()) return size_t{0};
  LARDER_ASSIGN_OR_RETURN(Header h, ReadHeader(stored, layout.level_sizes().size()));
  size_t tiles = 0;
  for (uint32_t offset : h.levels) {
    LARDER_ASSIGN_OR_RETURN(Section s, Section::At(stored, offset));
    tiles += s.size();
  }
  return tiles;
}

Status MergeEvents(const TileLayout& layout, const std::string* stored,
                   std::vector<Event> incoming, TimestampMicros now, std::string* out,
                   bool* changed) {
  std::vector<Event> events;
  bool same_layout = false;
  Reuse reuse;
  if (stored != nullptr && !stored->empty()) {
    LARDER_ASSIGN_OR_RETURN(events, DecodeEvents(layout, *stored));
    LARDER_ASSIGN_OR_RETURN(Header h, ReadHeader(*stored, layout.level_sizes().size()));
    same_layout = h.columns == layout.columns_fingerprint() &&
                  h.tiles == layout.tiles_fingerprint();
    // Stored tiles that do not parse are rebuilt, as with another layout.
    for (size_t k = 0; same_layout && k < h.levels.size(); ++k) {
      Result<Section> level = Section::At(*stored, h.levels[k]);
      if (level.ok()) reuse.levels.push_back(*level);
    }
  }
  const bool reusable = same_layout && reuse.levels.size() == layout.level_sizes().size();
  const std::vector<int64_t>& sizes = layout.level_sizes();
  if (reusable) {
    // Tiles holding an incoming event are rebuilt (and, below, the one
    // holding the newest pruned event, which may hold kept events too); the
    // others keep their stored bytes.
    reuse.dirty.resize(sizes.size());
    for (size_t k = 0; k < sizes.size(); ++k) {
      reuse.dirty[k].reserve(incoming.size() + 1);
      for (const Event& e : incoming) reuse.dirty[k].push_back(AlignDown(e.time, sizes[k]));
    }
  }
  const size_t before = events.size();
  std::sort(incoming.begin(), incoming.end(), EventLess);
  std::vector<Event> merged;
  merged.reserve(events.size() + incoming.size());
  std::merge(std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()),
             std::make_move_iterator(incoming.begin()), std::make_move_iterator(incoming.end()),
             std::back_inserter(merged), EventLess);
  merged.erase(std::unique(merged.begin(), merged.end(), SameEvent), merged.end());
  size_t first = 0;
  if (layout.retention() > 0) {
    const TimestampMicros horizon = layout.WindowEnd(now) - layout.retention();
    while (first < merged.size() && merged[first].time < horizon) ++first;
  }
  if (reusable) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<int64_t>& dirty = reuse.dirty[k];
      if (first > 0) dirty.push_back(AlignDown(merged[first - 1].time, sizes[k]));
      std::sort(dirty.begin(), dirty.end());
      dirty.erase(std::unique(dirty.begin(), dirty.end()), dirty.end());
    }
  }
  merged.erase(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(first));
  if (merged.empty()) {
    out->clear();
    *changed = stored != nullptr && !stored->empty();
    return Status::OK();
  }
  if (same_layout && merged.size() == before && first == 0) {
    // Every incoming event was already there and nothing expired.
    *out = *stored;
    *changed = false;
    return Status::OK();
  }
  *out = Encode(layout, merged, reusable ? &reuse : nullptr);
  *changed = stored == nullptr || *out != *stored;
  return Status::OK();
}

Status Evaluate(const TileLayout& layout, std::string_view stored, TimestampMicros t,
                std::vector<Value>* values) {
  const std::vector<Aggregation>& aggs = layout.aggregations();
  const std::vector<Slot>& slots = layout.slots();
  values->assign(aggs.size(), Value());
  std::vector<Section> levels;
  std::optional<Section> events;
  if (!stored.empty()) {
    LARDER_ASSIGN_OR_RETURN(Header h, ReadHeader(stored, layout.level_sizes().size()));
    if (h.columns == layout.columns_fingerprint() && h.tiles != layout.tiles_fingerprint()) {
      // Stored before the view's aggregations changed: its events still
      // hold, so the tiles are rebuilt for this read (the next write stores them).
      LARDER_ASSIGN_OR_RETURN(std::vector<Event> events, DecodeEvents(layout, stored));
      if (events.empty()) return Evaluate(layout, {}, t, values);
      return Evaluate(layout, Encode(layout, events, nullptr), t, values);
    }
    if (h.columns == layout.columns_fingerprint()) {
      for (uint32_t offset : h.levels) {
        LARDER_ASSIGN_OR_RETURN(Section s, Section::At(stored, offset));
        levels.push_back(s);
      }
      LARDER_ASSIGN_OR_RETURN(Section s, Section::At(stored, h.events));
      events = s;
    }
  }
  const TimestampMicros end = layout.WindowEnd(t);
  const TimestampMicros oldest = events && events->size() > 0 ? events->Key(0) : end;
  // Level 1 holds a tile for every event of a tiled state; an empty level 1
  // beside events marks a small state read from its events alone.
  const bool tileless = events && events->size() > 0 && !levels.empty() && levels[0].size() == 0;
  // Aggregations of one window share its walk over the tiles: each tile is
  // decoded once, into every slot, and each slot's partial takes the same
  // merges in the same order as a walk of its own would.
  std::vector<TimestampMicros> begins(aggs.size());
  for (size_t i = 0; i < aggs.size(); ++i) begins[i] = layout.WindowBegin(i, end, oldest);
  std::vector<bool> done(aggs.size(), false);
  std::vector<Partial> partials;
  std::vector<Partial> tile(slots.size());
  Event event;
  for (size_t i = 0; i < aggs.size(); ++i) {
    if (done[i]) continue;
    partials.assign(slots.size(), Partial());
    // Folds the events with time in [from, to) into `partials`.
    auto add_events = [&](TimestampMicros from, TimestampMicros to) -> Status {
      for (size_t e = events->LowerBound(from); e < events->size() && events->Key(e) < to; ++e) {
        LARDER_ASSIGN_OR_RETURN(std::string_view payload, events->Payload(e));
        LARDER_RETURN_IF_ERROR(DecodeEvent(layout, events->Key(e), payload, &event));
        for (size_t slot = 0; slot < slots.size(); ++slot) {
          const Value& v = event.values[slots[slot].column];
          if (!v.is_null()) AddValue(slots[slot], v, event.time, event.tie, &partials[slot]);
        }
      }
      return Status::OK();
    };
    if (tileless) {
      LARDER_RETURN_IF_ERROR(add_events(begins[i], end));
    } else if (events && events->size() > 0) {
      for (const TileRange& range : layout.Cover(begins[i], end)) {
        if (range.level == 0) {
          LARDER_RETURN_IF_ERROR(add_events(range.begin, range.end));
          continue;
        }
        const Section& level = levels[static_cast<size_t>(range.level - 1)];
        for (size_t k = level.LowerBound(range.begin);
             k < level.size() && level.Key(k) < range.end; ++k) {
          LARDER_ASSIGN_OR_RETURN(std::string_view payload, level.Payload(k));
          online::ByteReader r(payload);
          for (size_t slot = 0; slot < slots.size(); ++slot) {
            LARDER_RETURN_IF_ERROR(DecodePartial(slots[slot], &r, &tile[slot]));
            MergePartial(slots[slot], tile[slot], &partials[slot]);
          }
        }
      }
    }
    for (size_t j = i; j < aggs.size(); ++j) {
      if (done[j] || begins[j] != begins[i]) continue;
      const size_t slot = layout.slot_of()[j];
      LARDER_ASSIGN_OR_RETURN((*values)[j], FinalValue(aggs[j], slots[slot], partials[slot]));
      done[j] = true;
    }
  }
  return Status::OK();
}

}  // namespace larder::aggregation
