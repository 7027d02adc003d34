// The book-recommendation example's data: a deterministic generator with the
// shapes of the Book-Crossing data used by the workshop (no public copy of
// that data can be downloaded here).
//
// Generate() writes three Parquet files into GenerateOptions::out_dir:
//
//   users.parquet    user_id BIGINT (1..users), location VARCHAR
//                    ("city, region, country"), country VARCHAR (NULL for
//                    ~1%), age BIGINT (NULL for ~40%; otherwise mostly
//                    10-80, with some 0, some over 100 and a few negative),
//                    signup_date TIMESTAMP WITH TIME ZONE
//   books.parquet    isbn VARCHAR (10 characters, a valid ISBN-10 check
//                    digit, unique), book_title, book_author, publisher,
//                    language (~30 codes, "en" ~88%), category (Fiction ~38%
//                    of books, then Juvenile Fiction, Biography &
//                    Autobiography, ..., then ~3,000 generated names)
//                    VARCHAR; year_of_publication BIGINT (mostly
//                    1950-2020, ~3% older, down to 1800); created_at
//                    TIMESTAMP WITH TIME ZONE = Jan 1 00:00 UTC of that year
//   ratings.parquet  user_id BIGINT, isbn VARCHAR, rating BIGINT (0 for ~62%
//                    of rows, else 1-10 skewed high), rating_timestamp
//                    TIMESTAMP WITH TIME ZONE, uniform over the three years
//                    before `end` (by default [2020-01-01, 2023-01-01) UTC)
//                    at whole seconds; rows sorted by rating_timestamp,
//                    user_id, isbn
//
// The timeline: with the default end (kWorkshopEnd, 2023-01-01) the dates
// are the workshop's, as listed here. Another end moves every rating and
// sign-up by (end - kWorkshopEnd) and every publication year by the whole
// years between 2020 and the year the ratings start in; the rows are
// otherwise the same.
//
// Guarantees: every rating's user_id and isbn exist; a (user_id, isbn) pair
// occurs at most once unless a user has more ratings than there are books
// (only at tiny scales); a user's signup_date is no later than their first
// rating and not before 2019-01-01; ~8% of users have no ratings and sign
// up in [2019-01-01, 2023-01-01); no book is created after the first
// rating's year begins. Activity is heavy-tailed: the most active
// user has ~11,000 * scale ratings, most users have one to a few. Book
// popularity is heavy-tailed too (the most rated book has ~0.2% of ratings).
// The share of rating 0 varies by user and the explicit ratings' level by
// book, so per-user and per-book averages differ.
//
// Determinism: the same seed, scale and end give identical rows (own PRNG, no
// std distributions, no threads in generation). Only IEEE double arithmetic
// (+, *, /) is used to derive the data, so results do not depend on libm.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder::book_recs {

// Row counts at scale 1.0; counts scale linearly (rounded, at least 1).
inline constexpr int64_t kUsersAtScale1 = 92'107;
inline constexpr int64_t kBooksAtScale1 = 138'700;
inline constexpr int64_t kRatingsAtScale1 = 1'031'175;
// The end of the workshop's timeline: 2023-01-01 00:00:00 UTC, in seconds
// since 1970-01-01 UTC.
inline constexpr int64_t kWorkshopEnd = 1'672'531'200;

struct GenerateOptions {
  // Size relative to the workshop data. REQUIRES: 0 < scale <= 100.
  // Default: 1.0 (about 1M ratings, a few seconds).
  double scale = 1.0;
  // Directory for the three files; created if missing. Existing files of
  // the same names are replaced. REQUIRES: non-empty.
  std::string out_dir;
  // Default: 42.
  uint64_t seed = 42;
  // The end of the timeline (exclusive), in seconds since 1970-01-01 UTC:
  // ratings fall in the three years before it. `larder demo-data` passes
  // the start of the current UTC day unless told otherwise, so that online
  // reads judged against today's clock find the values within their ttl.
  // REQUIRES: 1980-01-01 <= end <= 2200-01-01. Default: kWorkshopEnd.
  int64_t end = kWorkshopEnd;
  // Called on the calling thread as each stage advances: stage is "books",
  // "ratings", "users" (rows generated so far of `total`) or "write" (files
  // written so far of 3). May be empty.
  std::function<void(std::string_view stage, int64_t done, int64_t total)>
      progress;
};

struct GenerateStats {
  int64_t users = 0;
  int64_t books = 0;
  int64_t ratings = 0;
  double seconds = 0;  // wall-clock time of Generate
};

// Writes users.parquet, books.parquet and ratings.parquet into
// options.out_dir. Each file is written under a temporary name (starting
// with '.', ending in ".tmp") and renamed into place only after all three
// are complete, so an interrupted run never leaves a partial file under a
// final name. Rows are staged in an in-memory DuckDB database: peak memory
// is about 250 MB at scale 1 and 1.7 GB at scale 10 (~160 bytes a rating).
// Time: about 1.5 s at scale 1 on 2 cores.
// Errors: InvalidArgument naming the option for bad options; IOError when
// out_dir cannot be created or written.
Result<GenerateStats> Generate(const GenerateOptions& options);

}  // namespace larder::book_recs
