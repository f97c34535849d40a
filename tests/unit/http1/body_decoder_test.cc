// BodyDecoder: Content-Length countdown, chunked decoding (extensions,
// trailers, every malformed shape), read-until-close, splits.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "gateway/http1/parser.h"

namespace edge::http1 {
namespace {

struct Decoded {
  std::string data;
  size_t consumed = 0;
  bool done = false;
  bool error = false;
  std::string reason;
};

// Feeds `in` in pieces of `piece` bytes (0 = at once), calling decode() until
// each piece is used up, the body is done or an error occurs. Checks that
// every slice lies inside the piece and that every call makes progress.
Decoded decodeAll(BodyDecoder& d, std::string_view in, size_t piece = 0) {
  Decoded r;
  if (piece == 0) piece = in.empty() ? 1 : in.size();
  size_t off = 0;
  do {
    const size_t n = std::min(piece, in.size() - off);
    const char* p = in.data() + off;
    size_t used = 0;
    for (;;) {
      const BodyDecoder::Step s = d.decode(p + used, n - used);
      EXPECT_LE(s.consumed, n - used);
      if (s.data_len > 0) {
        EXPECT_GE(s.data, p + used);
        EXPECT_LE(s.data + s.data_len, p + used + s.consumed);
        r.data.append(s.data, s.data_len);
      }
      used += s.consumed;
      if (s.error) {
        r.error = true;
        r.reason = s.reason;
        r.consumed = off + used;
        return r;
      }
      if (s.done) {
        EXPECT_TRUE(d.done());
        r.done = true;
        r.consumed = off + used;
        return r;
      }
      if (used == n) break;
      if (s.consumed == 0) {
        ADD_FAILURE() << "no progress at offset " << off + used;
        return r;
      }
    }
    off += n;
  } while (off < in.size());
  r.consumed = off;
  return r;
}

Decoded chunked(std::string_view in, size_t piece = 0) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  return decodeAll(d, in, piece);
}

TEST(BodyDecoder, NoneIsDoneAtOnce) {
  BodyDecoder d;
  d.start(Framing::kNone, 0);
  EXPECT_TRUE(d.done());
  const auto s = d.decode("GET", 3);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_EQ(s.data_len, 0u);
}

TEST(BodyDecoder, LengthCountsDownAndLeavesTheRest) {
  BodyDecoder d;
  d.start(Framing::kLength, 10);
  EXPECT_FALSE(d.done());
  const std::string a = "hello";
  auto s = d.decode(a.data(), a.size());
  EXPECT_EQ(s.consumed, 5u);
  EXPECT_EQ(s.data, a.data());  // a slice of the input, not a copy
  EXPECT_EQ(s.data_len, 5u);
  EXPECT_FALSE(s.done);
  EXPECT_EQ(d.remaining(), 5u);
  const std::string b = "worldGET / HTTP/1.1\r\n";
  s = d.decode(b.data(), b.size());
  EXPECT_EQ(s.consumed, 5u);
  EXPECT_EQ(std::string(s.data, s.data_len), "world");
  EXPECT_TRUE(s.done);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.remaining(), 0u);
  s = d.decode(b.data() + 5, b.size() - 5);  // the next request is not body
  EXPECT_EQ(s.consumed, 0u);
  EXPECT_TRUE(s.done);
}

TEST(BodyDecoder, ZeroLengthIsDoneAtStart) {
  BodyDecoder d;
  d.start(Framing::kLength, 0);
  EXPECT_TRUE(d.done());
  EXPECT_TRUE(d.decode("x", 1).done);
}

TEST(BodyDecoder, UntilCloseTakesEverythingUntilEof) {
  BodyDecoder d;
  d.start(Framing::kUntilClose, 0);
  const std::string a = "some\r\n0\r\n\r\nbytes";
  const auto s = d.decode(a.data(), a.size());
  EXPECT_EQ(s.consumed, a.size());
  EXPECT_EQ(s.data, a.data());
  EXPECT_EQ(s.data_len, a.size());
  EXPECT_FALSE(s.done);
  EXPECT_FALSE(d.done());
  EXPECT_TRUE(d.finishAtEof());
  EXPECT_TRUE(d.done());
}

TEST(BodyDecoder, EofTruncatesOtherFramings) {
  BodyDecoder len;
  len.start(Framing::kLength, 4);
  (void)len.decode("ab", 2);
  EXPECT_FALSE(len.finishAtEof());
  BodyDecoder ch;
  ch.start(Framing::kChunked, 0);
  (void)ch.decode("4\r\nab", 5);
  EXPECT_FALSE(ch.finishAtEof());
  BodyDecoder done;
  done.start(Framing::kLength, 1);
  (void)done.decode("a", 1);
  EXPECT_TRUE(done.finishAtEof());
}

TEST(BodyDecoder, ChunkedSimple) {
  const std::string body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const auto r = chunked(body + "NEXT");
  EXPECT_FALSE(r.error) << r.reason;
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "hello world");
  EXPECT_EQ(r.consumed, body.size());  // stops at the end of the body
}

TEST(BodyDecoder, ChunkedHexSizes) {
  const auto r = chunked("A\r\n0123456789\r\n00000000000000a\r\nabcdefghij\r\n0000\r\n\r\n");
  EXPECT_FALSE(r.error) << r.reason;
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "0123456789abcdefghij");
}

TEST(BodyDecoder, ChunkedSixteenDigitsAccepted) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  const std::string in = "ffffffffffffffff\r\n";
  const auto s = d.decode(in.data(), in.size());
  EXPECT_FALSE(s.error) << s.reason;
  EXPECT_EQ(s.consumed, in.size());
  EXPECT_EQ(d.remaining(), UINT64_MAX);
  const auto s2 = d.decode("ab", 2);
  EXPECT_EQ(s2.data_len, 2u);
  EXPECT_EQ(d.remaining(), UINT64_MAX - 2);
}

TEST(BodyDecoder, ChunkedExtensionsSkipped) {
  const auto r =
      chunked("5;name=value\r\nhello\r\n3;a;b=\"quoted ; str\";c\r\nabc\r\n0;last=1\r\n\r\n");
  EXPECT_FALSE(r.error) << r.reason;
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "helloabc");
}

TEST(BodyDecoder, ChunkedTrailersValidatedAndDropped) {
  const std::string body = "3\r\nabc\r\n0\r\nX-Checksum: 123\r\nExpires:\r\nX-T:\tv w \r\n\r\n";
  const auto r = chunked(body + "GET");
  EXPECT_FALSE(r.error) << r.reason;
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "abc");
  EXPECT_EQ(r.consumed, body.size());
}

TEST(BodyDecoder, ChunkedSplitAtEveryPosition) {
  const std::string body =
      "5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-A: x\r\n\r\n";
  const std::string in = body + "tail";
  for (size_t at = 0; at <= in.size(); ++at) {
    BodyDecoder d;
    d.start(Framing::kChunked, 0);
    Decoded total;
    const Decoded first = decodeAll(d, std::string_view(in).substr(0, at));
    ASSERT_FALSE(first.error) << at << ": " << first.reason;
    total.data = first.data;
    if (!first.done) {
      ASSERT_EQ(first.consumed, at);
      const Decoded second = decodeAll(d, std::string_view(in).substr(at));
      ASSERT_FALSE(second.error) << at << ": " << second.reason;
      total.data += second.data;
      total.done = second.done;
      total.consumed = at + second.consumed;
    } else {
      total.done = true;
      total.consumed = first.consumed;
    }
    EXPECT_TRUE(total.done) << at;
    EXPECT_EQ(total.consumed, body.size()) << at;
    EXPECT_EQ(total.data, "helloabcdefghijklmnopqrstuvwxyz") << at;
  }
}

TEST(BodyDecoder, ChunkedByteByByteAndOtherPieces) {
  const std::string body =
      "4;a=b\r\nwiki\r\n5\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\n";
  for (size_t piece : {1, 2, 3, 7, 11}) {
    const auto r = chunked(body, piece);
    EXPECT_FALSE(r.error) << piece << ": " << r.reason;
    EXPECT_TRUE(r.done) << piece;
    EXPECT_EQ(r.data, "wikipedia in\r\n\r\nchunks.") << piece;
    EXPECT_EQ(r.consumed, body.size()) << piece;
  }
}

struct BadChunked {
  const char* name;
  std::string body;
};

const BadChunked kBadChunked[] = {
    {"NonHexSize", "g\r\nx\r\n0\r\n\r\n"},
    {"EmptySize", "\r\nx\r\n0\r\n\r\n"},
    {"NegativeSize", "-5\r\nhello\r\n0\r\n\r\n"},
    {"HexPrefix", "0x5\r\nhello\r\n0\r\n\r\n"},
    {"PlusSign", "+5\r\nhello\r\n0\r\n\r\n"},
    {"SizeOverflow17Digits", "10000000000000000\r\nx\r\n0\r\n\r\n"},
    {"SizeOverflowManyDigits", "fffffffffffffffffffffff\r\nx\r\n0\r\n\r\n"},
    {"SpaceAfterSize", "5 \r\nhello\r\n0\r\n\r\n"},
    {"TabAfterSize", "5\t\r\nhello\r\n0\r\n\r\n"},
    {"SpaceInsideSize", "1 2\r\nhello\r\n0\r\n\r\n"},
    {"LeadingSpace", " 5\r\nhello\r\n0\r\n\r\n"},
    {"BareLfAfterSize", "5\nhello\r\n0\r\n\r\n"},
    {"BareCrAfterSize", "5\rhello\r\n0\r\n\r\n"},
    {"CrJunkAfterSize", "5\rXhello\r\n0\r\n\r\n"},
    {"CrJunkAfterExtension", "5;e\rXhello\r\n0\r\n\r\n"},
    {"MissingCrlfAfterData", "5\r\nhelloX\r\n0\r\n\r\n"},
    {"BareLfAfterData", "5\r\nhello\n0\r\n\r\n"},
    {"CrWithoutLfAfterData", "5\r\nhello\rX0\r\n\r\n"},
    {"JunkThenLfAfterData", "5\r\nhelloX\n0\r\n\r\n"},
    {"LfLfAfterData", "5\r\nhello\n\n0\r\n\r\n"},
    {"DataLongerThanSize", "3\r\nhello\r\n0\r\n\r\n"},
    {"BareLfInExtension", "5;a\nhello\r\n0\r\n\r\n"},
    {"NulInExtension", std::string("5;a") + '\0' + "\r\nhello\r\n0\r\n\r\n"},
    {"ExtensionTooLong", "5;" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n"},
    {"BareLfAfterLastChunk", "0\n\r\n"},
    {"FinalBareLf", "0\r\n\n"},
    {"FinalCrWithoutLf", "0\r\n\rX"},
    {"TrailerObsFold", "0\r\nA: b\r\n c\r\n\r\n"},
    {"TrailerWithoutColon", "0\r\nJunk\r\n\r\n"},
    {"TrailerSpaceBeforeColon", "0\r\nA : b\r\n\r\n"},
    {"TrailerEmptyName", "0\r\n: b\r\n\r\n"},
    {"TrailerBareLf", "0\r\nA: b\n\r\n"},
    {"TrailerCrJunk", "0\r\nA: b\rX\r\n"},
    {"TrailerCrInName", "0\r\nA\r\n\r\n"},
    {"TrailerNulInValue", std::string("0\r\nA: b") + '\0' + "\r\n\r\n"},
    {"TrailerTooLarge", "0\r\nA: " + std::string(40000, 'v') + "\r\n\r\n"},
    {"ManyTrailersTooLarge",
     [] {
       std::string s = "0\r\n";
       for (int i = 0; i < 2000; ++i) s += "T-" + std::to_string(i) + ": xxxxxxxxxx\r\n";
       return s + "\r\n";
     }()},
};

class ChunkedRejects : public ::testing::TestWithParam<BadChunked> {};

TEST_P(ChunkedRejects, AtOnceAndByteByByte) {
  for (size_t piece : {size_t{0}, size_t{1}}) {
    const auto r = chunked(GetParam().body, piece);
    EXPECT_TRUE(r.error) << "piece " << piece << " data='" << r.data << "' done=" << r.done;
    EXPECT_FALSE(r.done);
    EXPECT_FALSE(r.reason.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(All, ChunkedRejects, ::testing::ValuesIn(kBadChunked),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BodyDecoder, TrailerLimitIsExact) {
  // The trailer section (after "0\r\n", final CRLF included) may be exactly
  // kMaxTrailerBytes long.
  auto section = [](size_t total) {
    const size_t fixed = std::string("A: \r\n\r\n").size();
    return "A: " + std::string(total - fixed, 'v') + "\r\n\r\n";
  };
  for (size_t piece : {size_t{0}, size_t{1}, size_t{100}}) {
    const auto ok = chunked("0\r\n" + section(BodyDecoder::kMaxTrailerBytes), piece);
    EXPECT_TRUE(ok.done) << piece << ": " << ok.reason;
    const auto bad = chunked("0\r\n" + section(BodyDecoder::kMaxTrailerBytes + 1), piece);
    EXPECT_TRUE(bad.error) << piece;
  }
}

TEST(BodyDecoder, ExtensionLimitIsExact) {
  const std::string ext(BodyDecoder::kMaxChunkExtBytes, 'e');  // ';' not counted
  for (size_t piece : {size_t{0}, size_t{1}, size_t{100}}) {
    const auto ok = chunked("1;" + ext + "\r\nx\r\n0\r\n\r\n", piece);
    EXPECT_TRUE(ok.done) << piece << ": " << ok.reason;
    EXPECT_EQ(ok.data, "x");
    EXPECT_TRUE(chunked("1;" + ext + "e\r\nx\r\n0\r\n\r\n", piece).error) << piece;
  }
}

TEST(BodyDecoder, ErrorIsSticky) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  EXPECT_TRUE(d.decode("z", 1).error);
  const auto s = d.decode("5\r\nhello\r\n", 10);
  EXPECT_TRUE(s.error);
  EXPECT_EQ(s.data_len, 0u);
  d.start(Framing::kChunked, 0);  // start() revives it
  EXPECT_FALSE(d.decode("5\r\n", 3).error);
}

TEST(BodyDecoder, RestartReusesDecoder) {
  BodyDecoder d;
  d.start(Framing::kChunked, 0);
  EXPECT_TRUE(decodeAll(d, "0\r\nA: b\r\n\r\n").done);
  d.start(Framing::kLength, 3);
  EXPECT_EQ(d.framing(), Framing::kLength);
  const auto r = decodeAll(d, "abcdef");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.data, "abc");
  d.start(Framing::kChunked, 0);
  EXPECT_EQ(decodeAll(d, "2\r\nxy\r\n0\r\n\r\n").data, "xy");
}

}  // namespace
}  // namespace edge::http1
