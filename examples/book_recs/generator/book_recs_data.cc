#include "book_recs/generator/book_recs_data.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "offline/duckdb/duckdb_connection.h"

namespace larder::book_recs {
namespace {

// ---- Randomness -------------------------------------------------------------
// Own generators and samplers: std distributions differ between standard
// library versions, and the data must not.

__extension__ typedef unsigned __int128 U128;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256**; one independent stream per purpose, so that changing how one
// table is generated leaves the others as they were.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (uint64_t& word : s_) word = SplitMix64(s);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi). REQUIRES: lo < hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo)));
  }
  bool Chance(double p) { return Uniform() < p; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

enum Stream : uint64_t {
  kBookStream = 1,
  kRatingStream = 2,
  kUserStream = 3,
  kActivityStream = 4,
  kPopularityStream = 5,
};

// Samples an index with probability proportional to its weight.
class Discrete {
 public:
  explicit Discrete(const std::vector<double>& weights) {
    cumulative_.reserve(weights.size());
    double sum = 0;
    for (double w : weights) {
      sum += w;
      cumulative_.push_back(sum);
    }
  }
  size_t Sample(Rng& rng) const {
    double u = rng.Uniform() * cumulative_.back();
    size_t i = static_cast<size_t>(
        std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
        cumulative_.begin());
    return std::min(i, cumulative_.size() - 1);
  }

 private:
  std::vector<double> cumulative_;
};

template <typename T>
void Shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[rng.Below(i)]);
  }
}

std::vector<int64_t> Permutation(int64_t n, Rng& rng) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  Shuffle(p, rng);
  return p;
}

// Heavy-tailed weights for ranks 1..n: (1 + r0) / (rank + r0), a Zipf-like
// curve whose head is flattened by r0. r0 is chosen so that rank 1 holds
// `top_share` of the total. Uniform when n is too small for the share.
std::vector<double> HeavyTailWeights(int64_t n, double top_share) {
  const double target = 1.0 / top_share;  // total / top weight
  auto ratio = [n](double r0) {
    double sum = 0;
    for (int64_t r = n; r >= 1; --r) {
      sum += (1.0 + r0) / (static_cast<double>(r) + r0);
    }
    return sum;
  };
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  if (static_cast<double>(n) <= target * 1.000001) return w;  // uniform
  double lo = 0;
  double hi = 1;
  if (ratio(lo) < target) {
    while (ratio(hi) < target) hi *= 2;
    for (int i = 0; i < 40 && hi - lo > 1e-6 * hi; ++i) {
      double mid = (lo + hi) / 2;
      (ratio(mid) < target ? lo : hi) = mid;
    }
  } else {
    hi = 0;  // steeper than this family allows: plain 1/rank
  }
  for (int64_t r = 1; r <= n; ++r) {
    w[static_cast<size_t>(r - 1)] = (1.0 + hi) / (static_cast<double>(r) + hi);
  }
  return w;
}

// Splits `total` into integer parts proportional to `weights` (systematic
// rounding: each part is the floor or ceiling of its share; parts sum to
// `total` exactly).
std::vector<int64_t> Apportion(const std::vector<double>& weights,
                               int64_t total, Rng& rng) {
  double sum = 0;
  for (double w : weights) sum += w;
  std::vector<int64_t> parts(weights.size(), 0);
  const double u = rng.Uniform();
  double cumulative = 0;
  int64_t assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i] / sum * static_cast<double>(total);
    int64_t upto = std::min(total, static_cast<int64_t>(cumulative + u));
    parts[i] = std::max<int64_t>(0, upto - assigned);
    assigned += parts[i];
  }
  // Floating-point drift can leave the sum off by one; the first (largest)
  // part absorbs it.
  parts[0] += total - assigned;
  return parts;
}

// ---- Calendar ---------------------------------------------------------------

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
// The workshop's timeline, which an end of kWorkshopEnd reproduces exactly:
// sign-ups from 2019-01-01, ratings in [2020-01-01, 2023-01-01). Another end
// moves every instant by the same amount (see Timeline).
constexpr int64_t kSignupSpan = kWorkshopEnd - 1'546'300'800;  // since 2019-01-01
constexpr int64_t kRatingSpan = kWorkshopEnd - 1'577'836'800;  // since 2020-01-01
constexpr int64_t kWorkshopRatingStartYear = 2020;
// Ends accepted by Generate: 1980-01-01 to 2200-01-01.
constexpr int64_t kMinEnd = 315'532'800;
constexpr int64_t kMaxEnd = 7'258'118'400;

// Days since 1970-01-01 of Jan 1 of `year` (proleptic Gregorian).
int64_t DaysToJan1(int64_t year) {
  // Civil-from-days inverse for month 1, day 1, counting March-based eras.
  const int64_t y = year - 1;  // January belongs to the previous March year
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = 306;  // Jan 1 is day 306 of the March-based year
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The year that the instant `seconds` (since 1970-01-01 UTC) falls in.
int64_t YearOf(int64_t seconds) {
  const int64_t days = seconds >= 0 ? seconds / kSecondsPerDay
                                    : -((-seconds + kSecondsPerDay - 1) / kSecondsPerDay);
  int64_t year = 1970 + days / 366;  // never past the answer
  while (DaysToJan1(year + 1) <= days) ++year;
  return year;
}

// The instants of one generated data set, in seconds since 1970-01-01 UTC.
struct Timeline {
  explicit Timeline(int64_t end)
      : signup_start(end - kSignupSpan),
        rating_start(end - kRatingSpan),
        rating_end(end),
        year_shift(YearOf(rating_start) - kWorkshopRatingStartYear) {}
  int64_t signup_start;  // users sign up in [signup_start, rating_end)
  int64_t rating_start;  // ratings fall in [rating_start, rating_end)
  int64_t rating_end;
  // Publication years move with the ratings, so that the newest books
  // appear in the year the ratings start, as in the workshop's data.
  int64_t year_shift;
};

// ---- Vocabulary -------------------------------------------------------------

struct Weighted {
  const char* name;
  double weight;
};

// Subject headings of the head of the category distribution, with their
// share of books in percent. The rest (~17%) goes to generated names.
constexpr Weighted kHeadCategories[] = {
    {"Fiction", 38.0},
    {"Juvenile Fiction", 10.5},
    {"Biography & Autobiography", 4.5},
    {"Humor", 2.4},
    {"History", 2.3},
    {"Religion", 2.0},
    {"Body, Mind & Spirit", 1.2},
    {"Social Science", 1.1},
    {"Business & Economics", 1.1},
    {"Juvenile Nonfiction", 1.1},
    {"Cooking", 1.0},
    {"Poetry", 0.9},
    {"Family & Relationships", 0.9},
    {"Self-Help", 0.9},
    {"Health & Fitness", 0.9},
    {"Travel", 0.8},
    {"Psychology", 0.8},
    {"Literary Criticism", 0.7},
    {"Philosophy", 0.7},
    {"Political Science", 0.7},
    {"Science", 0.7},
    {"True Crime", 0.6},
    {"Drama", 0.6},
    {"Nature", 0.5},
    {"Computers", 0.5},
    {"Art", 0.5},
    {"Literary Collections", 0.5},
    {"Sports & Recreation", 0.5},
    {"Young Adult Fiction", 0.5},
    {"Education", 0.4},
    {"Pets", 0.4},
    {"Comics & Graphic Novels", 0.4},
    {"Performing Arts", 0.4},
    {"Medical", 0.4},
    {"Reference", 0.3},
    {"Foreign Language Study", 0.3},
    {"Language Arts & Disciplines", 0.3},
    {"Crafts & Hobbies", 0.3},
    {"House & Home", 0.3},
    {"Gardening", 0.3},
    {"Music", 0.3},
    {"Games", 0.2},
    {"Antiques & Collectibles", 0.2},
    {"Transportation", 0.2},
    {"Architecture", 0.2},
    {"Law", 0.2},
    {"Photography", 0.2},
    {"Mathematics", 0.2},
    {"Technology & Engineering", 0.2},
    {"Study Aids", 0.1},
};
constexpr double kTailCategoryShare = 16.8;  // percent of books
constexpr int64_t kTailCategories = 3000;

// Tail category names: qualifier x subject (50 x 60 = 3,000).
constexpr const char* kCategoryQualifiers[] = {
    "American", "British", "Canadian", "Irish", "Scottish", "Welsh",
    "French", "German", "Italian", "Spanish", "Russian", "Japanese",
    "Chinese", "Indian", "African", "Australian", "Latin American",
    "Nordic", "Dutch", "Greek", "Medieval", "Renaissance", "Victorian",
    "Colonial", "Modern", "Ancient", "Classical", "Contemporary", "Urban",
    "Rural", "Maritime", "Alpine", "Tropical", "Arctic", "Desert",
    "Frontier", "Regional", "Folk", "Popular", "Experimental", "Religious",
    "Military", "Domestic", "Children's", "Women's", "Amateur", "Comparative",
    "Early", "Postwar", "Imperial"};
constexpr const char* kCategorySubjects[] = {
    "Folklore", "Essays", "Letters", "Diaries", "Architecture", "Cookery",
    "Horticulture", "Navigation", "Railways", "Mythology", "Etiquette",
    "Costume", "Furniture", "Ceramics", "Textiles", "Astronomy", "Botany",
    "Zoology", "Geology", "Cartography", "Heraldry", "Genealogy",
    "Numismatics", "Philately", "Calligraphy", "Printing", "Bookbinding",
    "Ballads", "Hymns", "Opera", "Theatre", "Cinema", "Radio", "Journalism",
    "Advertising", "Banking", "Trade", "Agriculture", "Fisheries",
    "Forestry", "Mining", "Shipbuilding", "Aviation", "Medicine",
    "Nursing", "Pharmacy", "Law Reports", "Constitutions", "Elections",
    "Diplomacy", "Espionage", "Exploration", "Pilgrimages", "Monasteries",
    "Cathedrals", "Castles", "Gardens", "Cuisine", "Wine", "Mountaineering"};

// ISO 639-1 style codes as Google Books reports them; "en" dominates.
constexpr Weighted kLanguages[] = {
    {"en", 0.8800}, {"de", 0.0300}, {"es", 0.0250}, {"fr", 0.0250},
    {"it", 0.0080}, {"nl", 0.0050}, {"pt", 0.0040}, {"da", 0.0020},
    {"sv", 0.0020}, {"ca", 0.0015}, {"ja", 0.0015}, {"ru", 0.0010},
    {"zh-CN", 0.0010}, {"la", 0.0010}, {"no", 0.0008}, {"pl", 0.0008},
    {"fi", 0.0007}, {"el", 0.0006}, {"gl", 0.0005}, {"tr", 0.0005},
    {"ms", 0.0005}, {"cy", 0.0004}, {"ar", 0.0004}, {"hu", 0.0004},
    {"he", 0.0004}, {"eu", 0.0003}, {"id", 0.0003}, {"ro", 0.0003},
    {"th", 0.0002}, {"cs", 0.0002},
};

constexpr const char* kTitleAdjectives[] = {
    "Silent", "Hidden", "Last", "Lost", "Secret", "Broken", "Golden",
    "Dark", "Bright", "Forgotten", "Distant", "Wild", "Quiet", "Burning",
    "Frozen", "Crimson", "Silver", "Endless", "Empty", "Final", "First",
    "Little", "Long", "Strange", "Sweet", "Bitter", "Winter", "Summer",
    "Midnight", "Morning", "Painted", "Shattered", "Sleeping", "Wandering",
    "Whispering", "Invisible", "Perfect", "Dangerous", "Gentle", "Restless"};
constexpr const char* kTitleNouns[] = {
    "River", "Garden", "House", "Road", "Island", "Mountain", "City",
    "Storm", "Shadow", "Light", "Heart", "Promise", "Secret", "Letter",
    "Journey", "Kingdom", "Voyage", "Sea", "Forest", "Moon", "Sun", "Star",
    "Dream", "Memory", "Season", "Window", "Door", "Bridge", "Song",
    "Dance", "Fire", "Stone", "Rose", "Crown", "Mirror", "Clock", "Map",
    "Witness", "Stranger", "Daughter", "Son", "Widow", "Captain", "Thief",
    "Teacher", "Doctor", "Queen", "King", "Angel", "Wolf"};
constexpr const char* kPlaces[] = {
    "Paris", "Venice", "Provence", "Tuscany", "Vermont", "Texas", "Maine",
    "Cornwall", "Brooklyn", "Savannah", "Montana", "Alaska", "Kyoto",
    "Havana", "Cairo", "Berlin", "Dublin", "Vienna", "Prague", "Lisbon"};

constexpr const char* kFirstNames[] = {
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael",
    "Linda", "William", "Elizabeth", "David", "Barbara", "Richard", "Susan",
    "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel",
    "Nancy", "Matthew", "Lisa", "Anthony", "Margaret", "Mark", "Sandra",
    "Donald", "Ashley", "Steven", "Dorothy", "Paul", "Kimberly", "Andrew",
    "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol",
    "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah", "Ronald",
    "Stephanie", "Timothy", "Rebecca", "Jason", "Laura", "Jeffrey", "Helen",
    "Ryan", "Sharon", "Jacob", "Cynthia", "Gary", "Kathleen", "Nicholas",
    "Amy", "Eric", "Shirley", "Stephen", "Angela", "Jonathan", "Anna",
    "Larry", "Ruth", "Justin", "Brenda", "Scott", "Pamela", "Frank",
    "Nicole", "Brandon", "Katherine", "Raymond", "Virginia", "Gregory",
    "Catherine", "Samuel", "Christine", "Benjamin", "Samantha", "Patrick",
    "Debra", "Jack", "Janet", "Dennis", "Rachel", "Jerry", "Carolyn",
    "Alexander", "Emma", "Tyler", "Maria"};
constexpr const char* kLastNames[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller",
    "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez",
    "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan",
    "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos",
    "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long",
    "Ross", "Foster", "O'Brien"};

constexpr const char* kPublisherWords[] = {
    "Penguin", "Harbor", "Beacon", "Meridian", "Lantern", "Oakwood",
    "Riverside", "Northgate", "Bluebird", "Keystone", "Sparrow", "Granite",
    "Willow", "Crescent", "Summit", "Thistle", "Anchor", "Falcon",
    "Heritage", "Pinnacle", "Redwood", "Silverleaf", "Wayfarer", "Compass",
    "Horizon", "Juniper", "Kestrel", "Larkspur", "Mariner", "Nightingale",
    "Orchard", "Pembrook", "Quarry", "Rookery", "Saltmarsh", "Tidewater",
    "Upland", "Vantage", "Whitcombe", "Yarrow"};
constexpr const char* kPublisherSuffixes[] = {
    "Books", "Press", "Publishing", "House", "& Sons", "Editions", "Media",
    "Paperbacks", "Classics", "Library"};

struct CountryPlaces {
  const char* country;
  double weight;
  std::vector<const char*> places;  // "city, region"
};

const std::vector<CountryPlaces>& Countries() {
  static const auto* countries = new std::vector<CountryPlaces>{
      {"usa", 0.55,
       {"new york, new york", "seattle, washington", "chicago, illinois",
        "san francisco, california", "los angeles, california",
        "houston, texas", "austin, texas", "portland, oregon",
        "boston, massachusetts", "denver, colorado", "atlanta, georgia",
        "miami, florida", "phoenix, arizona", "nashville, tennessee"}},
      {"canada", 0.09,
       {"toronto, ontario", "vancouver, british columbia",
        "montreal, quebec", "calgary, alberta", "ottawa, ontario"}},
      {"united kingdom", 0.06,
       {"london, england", "manchester, england", "edinburgh, scotland",
        "cardiff, wales", "bristol, england"}},
      {"germany", 0.05,
       {"berlin, berlin", "munich, bayern", "hamburg, hamburg",
        "cologne, nordrhein-westfalen"}},
      {"spain", 0.04,
       {"madrid, madrid", "barcelona, barcelona", "valencia, valencia",
        "sevilla, andalucia"}},
      {"australia", 0.04,
       {"sydney, new south wales", "melbourne, victoria",
        "brisbane, queensland", "perth, western australia"}},
      {"italy", 0.02, {"rome, lazio", "milano, lombardia", "torino, piemonte"}},
      {"france", 0.015, {"paris, ile-de-france", "lyon, rhone-alpes"}},
      {"portugal", 0.015, {"lisboa, lisboa", "porto, porto"}},
      {"new zealand", 0.01, {"auckland, auckland", "wellington, wellington"}},
      {"netherlands", 0.01, {"amsterdam, noord-holland", "utrecht, utrecht"}},
      {"switzerland", 0.008, {"zurich, zurich", "geneva, geneve"}},
      {"brazil", 0.008, {"sao paulo, sao paulo", "rio de janeiro, rio de janeiro"}},
      {"malaysia", 0.006, {"kuala lumpur, kuala lumpur", "penang, penang"}},
      {"sweden", 0.006, {"stockholm, stockholm", "goteborg, vastra gotaland"}},
      {"austria", 0.005, {"vienna, vienna", "graz, steiermark"}},
      {"india", 0.005, {"mumbai, maharashtra", "bangalore, karnataka"}},
      {"finland", 0.004, {"helsinki, uusimaa"}},
      {"singapore", 0.004, {"singapore, singapore"}},
      {"ireland", 0.004, {"dublin, dublin", "cork, cork"}},
      {"belgium", 0.004, {"brussels, brussels", "antwerpen, antwerpen"}},
      {"mexico", 0.004, {"mexico city, distrito federal", "guadalajara, jalisco"}},
      {"philippines", 0.004, {"manila, metro manila", "quezon city, metro manila"}},
      {"japan", 0.003, {"tokyo, tokyo", "osaka, osaka"}},
  };
  return *countries;
}

// Explicit ratings 1..10 with their share of all rows in percent (the other
// 62% are 0).
constexpr double kExplicitRatingWeights[10] = {0.25, 0.3, 0.5, 0.75, 4.4,
                                               3.2,  6.7, 9.0, 5.9,  7.0};
constexpr double kExplicitShare = 0.38;

template <typename T, size_t N>
constexpr size_t Size(const T (&)[N]) {
  return N;
}

template <size_t N>
std::vector<double> WeightsOf(const Weighted (&items)[N]) {
  std::vector<double> w;
  for (const Weighted& item : items) w.push_back(item.weight);
  return w;
}

// ---- Books ------------------------------------------------------------------

// A valid ISBN-10 for the 9-digit body.
std::string Isbn10(uint64_t body) {
  std::string s(10, '0');
  int sum = 0;
  for (int i = 8; i >= 0; --i) {
    int digit = static_cast<int>(body % 10);
    body /= 10;
    s[static_cast<size_t>(i)] = static_cast<char>('0' + digit);
    sum += (10 - i) * digit;
  }
  int check = (11 - sum % 11) % 11;
  s[9] = check == 10 ? 'X' : static_cast<char>('0' + check);
  return s;
}

// Every draw is its own statement: the order in which the operands of `+`
// are evaluated is unspecified, and the data must not depend on it.
std::string Title(Rng& rng) {
  const uint64_t pattern = rng.Below(7);
  const std::string adjective = kTitleAdjectives[rng.Below(Size(kTitleAdjectives))];
  const std::string noun = kTitleNouns[rng.Below(Size(kTitleNouns))];
  const std::string other = kTitleNouns[rng.Below(Size(kTitleNouns))];
  const std::string place = kPlaces[rng.Below(Size(kPlaces))];
  const uint64_t volume = 1 + rng.Below(9);
  switch (pattern) {
    case 0: return "The " + adjective + " " + noun;
    case 1: return noun + " of the " + other;
    case 2: return "A " + noun + " in " + place;
    case 3: return "The " + noun + "'s " + other;
    case 4: return adjective + " " + noun + "s";
    case 5: return noun + ": A Novel";
    default:
      return "The " + adjective + " " + noun + " (" + place + ", #" +
             std::to_string(volume) + ")";
  }
}

std::string AuthorName(uint64_t k) {
  const uint64_t f = Size(kFirstNames);
  const uint64_t l = Size(kLastNames);
  std::string name = kFirstNames[k % f];
  uint64_t initial = (k / (f * l)) % 27;
  if (initial != 0) {
    name += ' ';
    name += static_cast<char>('A' + initial - 1);
    name += '.';
  }
  name += ' ';
  name += kLastNames[(k / f) % l];
  return name;
}

std::string PublisherName(uint64_t k) {
  const uint64_t w = Size(kPublisherWords);
  const uint64_t s = Size(kPublisherSuffixes);
  std::string name = std::string(kPublisherWords[k % w]) + " " +
                     kPublisherSuffixes[(k / w) % s];
  if (k >= w * s) name += " " + std::to_string(k / (w * s) + 1);
  return name;
}

std::string TailCategoryName(uint64_t k) {
  const uint64_t q = Size(kCategoryQualifiers);
  return std::string(kCategoryQualifiers[k % q]) + " " +
         kCategorySubjects[(k / q) % Size(kCategorySubjects)];
}

// Publication years of the workshop's timeline; Timeline::year_shift moves
// them.
constexpr int64_t kFirstYear = 1800;
constexpr int64_t kLastYear = 2020;

// Mostly 1950-2020, rising to a plateau from 2000; ~3% older (workshop
// years; index 0 is kFirstYear).
std::vector<double> YearWeights() {
  std::vector<double> w;
  for (int64_t y = kFirstYear; y <= kLastYear; ++y) {
    double weight;
    if (y < 1870) {
      weight = 0.5 / 70;  // 0.5% before 1870 (outside a 150-year ttl)
    } else if (y < 1950) {
      weight = 2.5 / 80;
    } else {
      double ramp = static_cast<double>(std::min<int64_t>(y, 2000) - 1949);
      weight = ramp;  // 1..51, then flat
    }
    w.push_back(weight);
  }
  // Rescale the 1950-2020 block to 97% of the total.
  double modern = 0;
  for (int64_t y = 1950; y <= kLastYear; ++y) {
    modern += w[static_cast<size_t>(y - kFirstYear)];
  }
  for (int64_t y = 1950; y <= kLastYear; ++y) {
    w[static_cast<size_t>(y - kFirstYear)] *= 97.0 / modern;
  }
  return w;
}

struct Books {
  std::vector<std::string> isbn;
  std::vector<double> quality;  // in [0, 1): the chance an explicit rating
                                // takes the higher of two draws
};

int64_t Count(int64_t at_scale_1, double scale) {
  double n = static_cast<double>(at_scale_1) * scale + 0.5;
  return std::max<int64_t>(1, static_cast<int64_t>(n));
}

void Report(const GenerateOptions& options, std::string_view stage,
            int64_t done, int64_t total) {
  if (options.progress) options.progress(stage, done, total);
}

constexpr int64_t kProgressEvery = 1 << 16;

Result<Books> GenerateBooks(const GenerateOptions& options, int64_t n,
                            const Timeline& timeline,
                            duckdb::Connection& conn) {
  Rng rng(options.seed, kBookStream);
  Books books;
  books.isbn.reserve(static_cast<size_t>(n));
  books.quality.reserve(static_cast<size_t>(n));

  // Category: the head headings with their shares, then the generated tail.
  std::vector<double> category_weights = WeightsOf(kHeadCategories);
  std::vector<double> tail = HeavyTailWeights(kTailCategories, 0.02);
  double tail_sum = 0;
  for (double w : tail) tail_sum += w;
  for (double w : tail) {
    category_weights.push_back(w / tail_sum * kTailCategoryShare);
  }
  const Discrete category(category_weights);
  const Discrete language(WeightsOf(kLanguages));
  const Discrete year(YearWeights());
  const int64_t authors = std::max<int64_t>(1, n / 3);
  const Discrete author(HeavyTailWeights(authors, 0.0025));
  const int64_t publishers = std::max<int64_t>(1, n / 40);
  const Discrete publisher(HeavyTailWeights(publishers, 0.02));
  const int64_t head = static_cast<int64_t>(Size(kHeadCategories));

  // ISBN bodies: an affine bijection of [0, 10^9), so distinct books get
  // distinct ISBNs that look random.
  constexpr uint64_t kBodies = 1'000'000'000;
  constexpr uint64_t kMultiplier = 654'435'761;  // coprime to 10
  const uint64_t offset = rng.Below(kBodies);

  LARDER_ASSIGN_OR_RETURN(auto app, conn.CreateAppender("books"));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t body =
        static_cast<uint64_t>((static_cast<U128>(kMultiplier) *
                                   static_cast<uint64_t>(i) + offset) %
                              kBodies);
    books.isbn.push_back(Isbn10(body));
    books.quality.push_back(rng.Uniform());
    int64_t y = kFirstYear + timeline.year_shift +
                static_cast<int64_t>(year.Sample(rng));
    int64_t c = static_cast<int64_t>(category.Sample(rng));
    app->AppendVarchar(books.isbn.back());
    app->AppendVarchar(Title(rng));
    app->AppendVarchar(AuthorName(author.Sample(rng)));
    app->AppendInt64(y);
    app->AppendVarchar(PublisherName(publisher.Sample(rng)));
    app->AppendVarchar(kLanguages[language.Sample(rng)].name);
    app->AppendVarchar(c < head ? std::string(kHeadCategories[c].name)
                                : TailCategoryName(
                                      static_cast<uint64_t>(c - head)));
    app->AppendTimestampTz(DaysToJan1(y) * 86'400 * kMicrosPerSecond);
    LARDER_RETURN_IF_ERROR(app->EndRow());
    if ((i + 1) % kProgressEvery == 0) Report(options, "books", i + 1, n);
  }
  LARDER_RETURN_IF_ERROR(app->Close());
  Report(options, "books", n, n);
  return books;
}

// ---- Ratings ----------------------------------------------------------------

// Writes the ratings; returns each user's first rating time in seconds
// (INT64_MAX for users without ratings).
Result<std::vector<int64_t>> GenerateRatings(const GenerateOptions& options,
                                             int64_t users, int64_t total,
                                             const Books& books,
                                             const Timeline& timeline,
                                             duckdb::Connection& conn) {
  const int64_t nbooks = static_cast<int64_t>(books.isbn.size());
  const double top_user_share = 11'000.0 / kRatingsAtScale1;
  const double top_book_share = 0.002;
  const int64_t inactive = users * 8 / 100;
  const int64_t active = std::max<int64_t>(1, users - inactive);

  // Ratings per user: heavy-tailed over activity ranks, ranks shuffled over
  // user ids; the last `inactive` users in shuffled order rate nothing.
  Rng activity_rng(options.seed, kActivityStream);
  std::vector<int64_t> user_order = Permutation(users, activity_rng);
  std::vector<int64_t> by_rank = Apportion(
      HeavyTailWeights(active, top_user_share), total, activity_rng);
  std::vector<int64_t> per_user(static_cast<size_t>(users), 0);
  for (int64_t r = 0; r < active; ++r) {
    per_user[static_cast<size_t>(user_order[static_cast<size_t>(r)])] =
        by_rank[static_cast<size_t>(r)];
  }

  // Book popularity: heavy-tailed over ranks, ranks shuffled over books.
  Rng popularity_rng(options.seed, kPopularityStream);
  std::vector<int64_t> book_order = Permutation(nbooks, popularity_rng);
  std::vector<double> rank_weights = HeavyTailWeights(nbooks, top_book_share);
  std::vector<double> book_weights(static_cast<size_t>(nbooks));
  for (int64_t r = 0; r < nbooks; ++r) {
    book_weights[static_cast<size_t>(book_order[static_cast<size_t>(r)])] =
        rank_weights[static_cast<size_t>(r)];
  }
  const Discrete book(book_weights);
  const Discrete explicit_rating(std::vector<double>(
      std::begin(kExplicitRatingWeights), std::end(kExplicitRatingWeights)));

  Rng rng(options.seed, kRatingStream);
  std::vector<int64_t> first_rating(static_cast<size_t>(users), INT64_MAX);
  // rated_by[b] == u + 1 when user u has rated book b already.
  std::vector<int64_t> rated_by(static_cast<size_t>(nbooks), 0);
  LARDER_ASSIGN_OR_RETURN(auto app, conn.CreateAppender("ratings"));
  int64_t done = 0;
  for (int64_t u = 0; u < users; ++u) {
    const int64_t count = per_user[static_cast<size_t>(u)];
    // Users differ in how often they leave an explicit rating; the mean
    // stays kExplicitShare.
    const double p_explicit = kExplicitShare * (0.5 + rng.Uniform());
    for (int64_t j = 0; j < count; ++j) {
      size_t b = book.Sample(rng);
      if (count <= nbooks) {
        for (int tries = 0; rated_by[b] == u + 1 && tries < 32; ++tries) {
          b = book.Sample(rng);
        }
        while (rated_by[b] == u + 1) b = (b + 1) % static_cast<size_t>(nbooks);
      }
      rated_by[b] = u + 1;
      int64_t ts = rng.Between(timeline.rating_start, timeline.rating_end);
      int64_t rating = 0;
      if (rng.Chance(p_explicit)) {
        // The higher or the lower of two draws, by the book's quality: books
        // differ, while the overall distribution stays the target one.
        int64_t x = 1 + static_cast<int64_t>(explicit_rating.Sample(rng));
        int64_t y = 1 + static_cast<int64_t>(explicit_rating.Sample(rng));
        rating = rng.Chance(books.quality[b]) ? std::max(x, y) : std::min(x, y);
      }
      int64_t& first = first_rating[static_cast<size_t>(u)];
      first = std::min(first, ts);
      app->AppendInt64(u + 1);
      app->AppendVarchar(books.isbn[b]);
      app->AppendInt64(rating);
      app->AppendTimestampTz(ts * kMicrosPerSecond);
      LARDER_RETURN_IF_ERROR(app->EndRow());
      if (++done % kProgressEvery == 0) Report(options, "ratings", done, total);
    }
  }
  LARDER_RETURN_IF_ERROR(app->Close());
  Report(options, "ratings", total, total);
  return first_rating;
}

// ---- Users ------------------------------------------------------------------

Status GenerateUsers(const GenerateOptions& options, int64_t n,
                     const std::vector<int64_t>& first_rating,
                     const Timeline& timeline, duckdb::Connection& conn) {
  Rng rng(options.seed, kUserStream);
  std::vector<double> country_weights;
  for (const CountryPlaces& c : Countries()) {
    country_weights.push_back(c.weight);
  }
  const Discrete country(country_weights);
  LARDER_ASSIGN_OR_RETURN(auto app, conn.CreateAppender("users"));
  for (int64_t u = 0; u < n; ++u) {
    const CountryPlaces& c = Countries()[country.Sample(rng)];
    const char* place = c.places[rng.Below(c.places.size())];
    const bool country_missing = rng.Chance(0.01);
    app->AppendInt64(u + 1);
    app->AppendVarchar(std::string(place) + ", " +
                       (country_missing ? "n/a" : c.country));
    if (country_missing) {
      app->AppendNull();
    } else {
      app->AppendVarchar(c.country);
    }
    // Age: missing for 40%; otherwise mostly roughly normal around 34 (sd
    // 13, clamped to 1-99), some older readers, and the outliers real
    // sign-up forms produce (0, over 100, negative).
    const double a = rng.Uniform();
    if (a < 0.40) {
      app->AppendNull();
    } else if (a < 0.41) {
      app->AppendInt64(0);
    } else if (a < 0.416) {
      app->AppendInt64(rng.Between(101, 245));
    } else if (a < 0.418) {
      app->AppendInt64(-rng.Between(1, 30));
    } else if (a < 0.45) {
      app->AppendInt64(rng.Between(60, 100));
    } else {
      double s = rng.Uniform();  // one draw per statement, see Title()
      s += rng.Uniform();
      s += rng.Uniform();
      s += rng.Uniform();
      const double z = (s - 2.0) * 1.7320508075688772;  // mean 0, sd 1
      const int64_t age = static_cast<int64_t>(34.0 + 13.0 * z + 100.5) - 100;
      app->AppendInt64(std::clamp<int64_t>(age, 1, 99));
    }
    // Signed up before the first rating, or any time for users who never
    // rated.
    const int64_t first = first_rating[static_cast<size_t>(u)];
    const int64_t signup = first == INT64_MAX
                               ? rng.Between(timeline.signup_start, timeline.rating_end)
                               : rng.Between(timeline.signup_start, first + 1);
    app->AppendTimestampTz(signup * kMicrosPerSecond);
    LARDER_RETURN_IF_ERROR(app->EndRow());
    if ((u + 1) % kProgressEvery == 0) Report(options, "users", u + 1, n);
  }
  LARDER_RETURN_IF_ERROR(app->Close());
  Report(options, "users", n, n);
  return Status::OK();
}

// ---- Output -----------------------------------------------------------------

struct OutputFile {
  const char* name;
  const char* select;  // what to COPY
};

constexpr OutputFile kOutputs[] = {
    {"users.parquet", "SELECT * FROM users ORDER BY user_id"},
    {"books.parquet", "SELECT * FROM books"},
    {"ratings.parquet",
     "SELECT * FROM ratings ORDER BY rating_timestamp, user_id, isbn, "
     "rating"},
};

void RemoveQuietly(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove(p, ec);
}

}  // namespace

Result<GenerateStats> Generate(const GenerateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (!(options.scale > 0 && options.scale <= 100)) {
    return Status::InvalidArgument(
        "scale must be greater than 0 and at most 100, got " +
        std::to_string(options.scale));
  }
  if (options.out_dir.empty()) {
    return Status::InvalidArgument("out_dir must not be empty");
  }
  if (options.end < kMinEnd || options.end > kMaxEnd) {
    return Status::InvalidArgument(
        "end must be between 1980-01-01 and 2200-01-01, got " +
        std::to_string(options.end) + " seconds since 1970-01-01 UTC");
  }
  const Timeline timeline(options.end);
  const std::filesystem::path out_dir(options.out_dir);
  {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec || !std::filesystem::is_directory(out_dir)) {
      return Status::IOError("out_dir " + options.out_dir +
                             ": cannot create directory: " +
                             (ec ? ec.message() : "not a directory"));
    }
  }

  GenerateStats stats;
  stats.users = Count(kUsersAtScale1, options.scale);
  stats.books = Count(kBooksAtScale1, options.scale);
  stats.ratings = Count(kRatingsAtScale1, options.scale);

  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  LARDER_RETURN_IF_ERROR(conn->Execute(
      "CREATE TABLE books(isbn VARCHAR, book_title VARCHAR, "
      "book_author VARCHAR, year_of_publication BIGINT, publisher VARCHAR, "
      "language VARCHAR, category VARCHAR, created_at TIMESTAMPTZ);"
      "CREATE TABLE ratings(user_id BIGINT, isbn VARCHAR, rating BIGINT, "
      "rating_timestamp TIMESTAMPTZ);"
      "CREATE TABLE users(user_id BIGINT, location VARCHAR, country VARCHAR, "
      "age BIGINT, signup_date TIMESTAMPTZ);",
      "book_recs tables"));

  LARDER_ASSIGN_OR_RETURN(Books books,
                          GenerateBooks(options, stats.books, timeline, *conn));
  LARDER_ASSIGN_OR_RETURN(
      std::vector<int64_t> first_rating,
      GenerateRatings(options, stats.users, stats.ratings, books, timeline,
                      *conn));
  books = Books();  // free before writing
  LARDER_RETURN_IF_ERROR(
      GenerateUsers(options, stats.users, first_rating, timeline, *conn));

  // Write every file under a temporary name first, then rename them all.
  const std::string suffix = "." + std::to_string(getpid()) + ".tmp";
  std::vector<std::filesystem::path> temps;
  auto cleanup = [&temps] {
    for (const auto& t : temps) RemoveQuietly(t);
  };
  int64_t written = 0;
  Report(options, "write", 0, static_cast<int64_t>(Size(kOutputs)));
  for (const OutputFile& out : kOutputs) {
    std::filesystem::path temp = out_dir / ("." + std::string(out.name) + suffix);
    temps.push_back(temp);
    Status st = conn->Execute(std::string("COPY (") + out.select + ") TO " +
                                  duckdb::QuoteLiteral(temp.string()) +
                                  " (FORMAT parquet)",
                              "write " + (out_dir / out.name).string());
    if (!st.ok()) {
      cleanup();
      return st;
    }
    Report(options, "write", ++written, static_cast<int64_t>(Size(kOutputs)));
  }
  conn.reset();
  for (size_t i = 0; i < temps.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(temps[i], out_dir / kOutputs[i].name, ec);
    if (ec) {
      cleanup();
      return Status::IOError("rename " + temps[i].string() + " to " +
                             (out_dir / kOutputs[i].name).string() + ": " +
                             ec.message());
    }
  }
  stats.seconds = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return stats;
}

}  // namespace larder::book_recs
