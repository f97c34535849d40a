// RequestParser strictness: each request-smuggling shape and malformed head,
// one case each, with the status the client must get.
#include <gtest/gtest.h>

#include <string>

#include "gateway/http1/parser.h"
#include "tests/unit/http1/helpers.h"

namespace edge::http1 {
namespace {

using testing::feedPieces;

struct BadCase {
  const char* name;
  std::string input;
  uint16_t status;
};

std::string req(const std::string& fields, const std::string& line = "POST /x HTTP/1.1") {
  return line + "\r\n" + fields + "\r\n";
}

const BadCase kBadCases[] = {
    // Content-Length / Transfer-Encoding ambiguity.
    {"ClAndTe", req("Host: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400},
    {"TeAndCl", req("Host: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400},
    {"ClTwiceSame", req("Host: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n"), 400},
    {"ClTwiceDifferent", req("Host: h\r\nContent-Length: 5\r\ncontent-length: 6\r\n"), 400},
    {"ClList", req("Host: h\r\nContent-Length: 5, 5\r\n"), 400},
    {"ClPlus", req("Host: h\r\nContent-Length: +1\r\n"), 400},
    {"ClMinus", req("Host: h\r\nContent-Length: -1\r\n"), 400},
    {"ClEmpty", req("Host: h\r\nContent-Length: \r\n"), 400},
    {"ClInnerSpace", req("Host: h\r\nContent-Length: 1 2\r\n"), 400},
    {"ClHex", req("Host: h\r\nContent-Length: 0x10\r\n"), 400},
    {"ClDecimalPoint", req("Host: h\r\nContent-Length: 1.0\r\n"), 400},
    {"ClOverflow", req("Host: h\r\nContent-Length: 18446744073709551616\r\n"), 400},
    {"ClHugeOverflow", req("Host: h\r\nContent-Length: 99999999999999999999999\r\n"), 400},
    {"TeChunkedIdentity", req("Host: h\r\nTransfer-Encoding: chunked, identity\r\n"), 400},
    {"TeChunkedTwice", req("Host: h\r\nTransfer-Encoding: chunked, chunked\r\n"), 400},
    {"TeTwoFields", req("Host: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
     400},
    {"TeIdentity", req("Host: h\r\nTransfer-Encoding: identity\r\n"), 400},
    {"TeGzipOnly", req("Host: h\r\nTransfer-Encoding: gzip\r\n"), 400},
    {"TeEmpty", req("Host: h\r\nTransfer-Encoding: \r\n"), 400},
    {"TeTrailingComma", req("Host: h\r\nTransfer-Encoding: chunked,\r\n"), 400},
    {"TeWithParams", req("Host: h\r\nTransfer-Encoding: chunked;q=1\r\n"), 400},
    {"TeMisspelled", req("Host: h\r\nTransfer-Encoding: chunk\r\n"), 400},
    {"TeQuoted", req("Host: h\r\nTransfer-Encoding: \"chunked\"\r\n"), 400},
    {"TeGzipChunked", req("Host: h\r\nTransfer-Encoding: gzip, chunked\r\n"), 501},
    {"TeOnHttp10", req("Host: h\r\nTransfer-Encoding: chunked\r\n", "POST /x HTTP/1.0"), 400},
    // Line structure.
    {"ObsFoldSpace", req("Host: h\r\nX-A: a\r\n b\r\n"), 400},
    {"ObsFoldTab", req("Host: h\r\nX-A: a\r\n\tb\r\n"), 400},
    {"ObsFoldFirstLine", req(" Host: h\r\n"), 400},
    {"ObsFoldTeContinuation", req("Host: h\r\nTransfer-Encoding:\r\n chunked\r\n"), 400},
    {"BareLfRequestLine", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
    {"BareLfFieldLine", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
    {"BareLfEndOfHead", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
    {"BareLfOnlyHead", "GET / HTTP/1.1\nHost: h\n\n", 400},
    {"BareCrInValue", req("Host: h\r\nX-A: a\rb\r\n"), 400},
    {"BareCrInRequestLine", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"CrCrLf", "GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", 400},
    {"NulInValue", req(std::string("Host: h\r\nX-A: a") + '\0' + "b\r\n"), 400},
    {"CtlInValue",
     req("Host: h\r\nX-A: a\x01"
         "b\r\n"),
     400},
    {"DelInValue",
     req("Host: h\r\nX-A: a\x7f"
         "b\r\n"),
     400},
    {"SpaceBeforeColon", req("Host: h\r\nContent-Length : 5\r\n"), 400},
    {"TabBeforeColon", req("Host: h\r\nTransfer-Encoding\t: chunked\r\n"), 400},
    {"EmptyName", req("Host: h\r\n: value\r\n"), 400},
    {"NoColon", req("Host: h\r\nJust a line\r\n"), 400},
    {"NameWithSlash", req("Host: h\r\nX/Y: z\r\n"), 400},
    {"NulInName", req(std::string("Host: h\r\nX") + '\0' + "Y: z\r\n"), 400},
    // Host.
    {"MissingHost", req("X: y\r\n", "GET / HTTP/1.1"), 400},
    {"TwoHosts", req("Host: a\r\nHost: a\r\n", "GET / HTTP/1.1"), 400},
    {"EmptyHost", req("Host: \r\n", "GET / HTTP/1.1"), 400},
    {"HostWithSpace", req("Host: a b\r\n", "GET / HTTP/1.1"), 400},
    {"HostWithSlash", req("Host: a/b\r\n", "GET / HTTP/1.1"), 400},
    {"HostWithAt", req("Host: user@a\r\n", "GET / HTTP/1.1"), 400},
    {"HostWithBackslash", req("Host: a\\b\r\n", "GET / HTTP/1.1"), 400},
    {"HostPortTooBig", req("Host: a:65536\r\n", "GET / HTTP/1.1"), 400},
    {"HostPortNotDigits", req("Host: a:8o\r\n", "GET / HTTP/1.1"), 400},
    {"HostEmptyPort", req("Host: a:\r\n", "GET / HTTP/1.1"), 400},
    {"HostBadPercent", req("Host: a%zz\r\n", "GET / HTTP/1.1"), 400},
    {"HostBadIpv6", req("Host: [::g]\r\n", "GET / HTTP/1.1"), 400},
    {"HostUnclosedIpv6", req("Host: [::1\r\n", "GET / HTTP/1.1"), 400},
    {"InvalidHostHttp10", req("Host: a b\r\n", "GET / HTTP/1.0"), 400},
    // Request line.
    {"DoubleSpaceAfterMethod", req("Host: h\r\n", "GET  / HTTP/1.1"), 400},
    {"DoubleSpaceBeforeVersion", req("Host: h\r\n", "GET /  HTTP/1.1"), 400},
    {"TabSeparator", req("Host: h\r\n", "GET\t/ HTTP/1.1"), 400},
    {"LeadingSpace", req("Host: h\r\n", " GET / HTTP/1.1"), 400},
    {"TrailingSpace", req("Host: h\r\n", "GET / HTTP/1.1 "), 400},
    {"MethodNotToken", req("Host: h\r\n", "GE(T / HTTP/1.1"), 400},
    {"Http09", req("Host: h\r\n", "GET /"), 400},
    {"NoTarget", req("Host: h\r\n", "GET HTTP/1.1"), 400},
    {"LowercaseVersion", req("Host: h\r\n", "GET / http/1.1"), 400},
    {"VersionGarbage", req("Host: h\r\n", "GET / HTTP/1.1x"), 400},
    {"VersionMissingMinor", req("Host: h\r\n", "GET / HTTP/1"), 400},
    {"Http10Dot1", req("Host: h\r\n", "GET / HTTP/10.1"), 505},
    {"Http2", req("Host: h\r\n", "GET / HTTP/2.0"), 505},
    {"Http12", req("Host: h\r\n", "GET / HTTP/1.2"), 505},
    {"Http09Versioned", req("Host: h\r\n", "GET / HTTP/0.9"), 505},
    {"H2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
    {"CtlInTarget", req("Host: h\r\n", "GET /a\x01 HTTP/1.1"), 400},
    {"DelInTarget", req("Host: h\r\n", "GET /a\x7f HTTP/1.1"), 400},
    {"RelativeTarget", req("Host: h\r\n", "GET a/b HTTP/1.1"), 400},
    {"AsteriskNotOptions", req("Host: h\r\n", "GET * HTTP/1.1"), 400},
    {"AuthorityFormNotConnect", req("Host: h\r\n", "GET h:80 HTTP/1.1"), 400},
    {"ConnectOriginForm", req("Host: h\r\n", "CONNECT /x HTTP/1.1"), 400},
    {"ConnectWithoutPort", req("Host: h\r\n", "CONNECT h HTTP/1.1"), 400},
    {"AbsoluteUnknownScheme", req("Host: h\r\n", "GET ftp://h/x HTTP/1.1"), 400},
    {"AbsoluteUserinfo", req("Host: h\r\n", "GET http://u:p@h/x HTTP/1.1"), 400},
    {"AbsoluteEmptyAuthority", req("Host: h\r\n", "GET http:///x HTTP/1.1"), 400},
    {"AbsoluteSingleSlash", req("Host: h\r\n", "GET http:/x HTTP/1.1"), 400},
    {"AbsoluteBadHost", req("Host: h\r\n", "GET http://a\"b/ HTTP/1.1"), 400},
    {"BadConnectionList", req("Host: h\r\nConnection: close keep-alive\r\n"), 400},
    {"BareLfBeforeRequestLine", std::string("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
    {"BareCrBeforeRequestLine", std::string("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400},
    {"TooManyEmptyLines", std::string("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
     400},
};

class RequestRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RequestRejects, OneShot) {
  const BadCase& c = GetParam();
  RequestParser p;
  const auto r = feedPieces(p, c.input);
  ASSERT_EQ(r.progress, Progress::kError) << testing::describe(p, r);
  EXPECT_EQ(p.error().http_status, c.status) << p.error().reason;
  EXPECT_STRNE(p.error().reason, "");
}

TEST_P(RequestRejects, ByteByByte) {
  const BadCase& c = GetParam();
  RequestParser p;
  const auto r = feedPieces(p, c.input, 1);
  ASSERT_EQ(r.progress, Progress::kError) << testing::describe(p, r);
  EXPECT_EQ(p.error().http_status, c.status) << p.error().reason;
}

INSTANTIATE_TEST_SUITE_P(Smuggling, RequestRejects, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The same heads with the offending part removed parse, so each rejection
// above is about that part and not about the scaffolding around it.
TEST(RequestStrict, ScaffoldingIsValid) {
  for (const std::string& in :
       {req("Host: h\r\nContent-Length: 5\r\n"), req("Host: h\r\nTransfer-Encoding: chunked\r\n"),
        req("Host: h\r\nX-A: a\r\n"), req("Host: h\r\n", "GET / HTTP/1.1"),
        req("Host: h\r\n", "GET / HTTP/1.0"), req("Host: h\r\n", "CONNECT h:1 HTTP/1.1"),
        req("Host: h\r\n", "GET http://h/x HTTP/1.1"),
        std::string("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")}) {
    RequestParser p;
    const auto r = feedPieces(p, in);
    EXPECT_EQ(r.progress, Progress::kComplete) << in << " -> " << testing::describe(p, r);
  }
}

TEST(RequestStrict, HugeUriIs414) {
  const std::string in = "GET /" + std::string(40000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t piece : {size_t{0}, size_t{1000}, size_t{7}}) {
    RequestParser p;
    const auto r = feedPieces(p, in, piece);
    ASSERT_EQ(r.progress, Progress::kError) << piece;
    EXPECT_EQ(p.error().http_status, 414) << piece;
  }
}

TEST(RequestStrict, OversizedHeadIs431) {
  std::string in = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 40; ++i)
    in += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
  in += "\r\n";
  for (size_t piece : {size_t{0}, size_t{1000}, size_t{13}}) {
    RequestParser p;
    const auto r = feedPieces(p, in, piece);
    ASSERT_EQ(r.progress, Progress::kError) << piece;
    EXPECT_EQ(p.error().http_status, 431) << piece;
    EXPECT_LE(p.head().raw.size(), 32u * 1024);  // memory stays bounded
  }
}

TEST(RequestStrict, OneHugeFieldIs431NotUriError) {
  const std::string in = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(40000, 'v') + "\r\n\r\n";
  RequestParser p;
  ASSERT_EQ(feedPieces(p, in).progress, Progress::kError);
  EXPECT_EQ(p.error().http_status, 431);
}

TEST(RequestStrict, RequestLineEndingAtLimitThenFieldsIs431) {
  const std::string line = "GET /" + std::string(50, 'a') + " HTTP/1.1\r\n";
  RequestParser p(HeadLimits{static_cast<uint32_t>(line.size())});
  const auto r = feedPieces(p, line + "Host: h\r\n\r\n");
  ASSERT_EQ(r.progress, Progress::kError);
  EXPECT_EQ(p.error().http_status, 431);
}

TEST(RequestStrict, RequestLineOneOverLimitIs414) {
  const std::string line = "GET /" + std::string(50, 'a') + " HTTP/1.1\r\n";
  RequestParser p(HeadLimits{static_cast<uint32_t>(line.size() - 1)});
  const auto r = feedPieces(p, line + "Host: h\r\n\r\n");
  ASSERT_EQ(r.progress, Progress::kError);
  EXPECT_EQ(p.error().http_status, 414);
}

TEST(RequestStrict, ErrorReportedBeforeHeadEnds) {
  // A bad field is refused as soon as its line is complete: no need to wait
  // for (or buffer) the rest of the head.
  RequestParser p;
  const std::string in = "GET / HTTP/1.1\r\nX : y\r\n";
  size_t used = 0;
  EXPECT_EQ(p.feed(in.data(), in.size(), &used), Progress::kError);
  EXPECT_EQ(p.error().http_status, 400);
}

TEST(RequestStrict, ObsTextInTargetAllowed) {
  RequestParser p;
  ASSERT_EQ(feedPieces(p, "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n").progress,
            Progress::kComplete);
  EXPECT_EQ(p.head().pathView(), "/caf\xc3\xa9");
}

}  // namespace
}  // namespace edge::http1
