// BodyDecoder: Content-Length countdown, chunked decoding, read-until-close.
//
// Chunked framing (RFC 9112 7.1) is checked byte by byte, payload is handed
// out as slices of the input. Strict choices: the chunk size is 1-16 hex
// digits (leading zeros count, so no overflow is possible), followed directly
// by ';' (an extension) or CRLF: no whitespace, since parsers that disagree on
// "5 ;x" or "1 2" are how chunked smuggling works. Extensions may hold any
// field-value byte except CR (so no CTL but HTAB) and are bounded per chunk.
// Trailer lines must look like fields (token name, colon, field-value bytes,
// no obs-fold), are bounded in total and dropped. CR must be followed by LF
// everywhere; a bare LF is an error.
#include <algorithm>

#include "gateway/http1/chars.h"
#include "gateway/http1/parser.h"

namespace edge::http1 {

using chars::is;

void BodyDecoder::start(Framing framing, uint64_t content_length) {
  framing_ = framing;
  remaining_ = 0;
  size_digits_ = 0;
  trailer_bytes_ = 0;
  ext_bytes_ = 0;
  trailer_in_value_ = false;
  switch (framing) {
    case Framing::kNone:
      state_ = State::kDone;
      break;
    case Framing::kLength:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kLength;
      break;
    case Framing::kChunked:
      state_ = State::kChunkSize;
      break;
    case Framing::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

bool BodyDecoder::finishAtEof() {
  if (state_ == State::kUntilClose) state_ = State::kDone;
  return state_ == State::kDone;
}

BodyDecoder::Step BodyDecoder::decode(const char* data, size_t len) {
  Step s;
  auto error = [&](size_t at, const char* reason) {
    state_ = State::kError;
    s.consumed = at;
    s.error = true;
    s.reason = reason;
    return s;
  };
  size_t i = 0;
  while (i < len) {
    const auto c = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case State::kDone:
        s.done = true;
        s.consumed = i;
        return s;
      case State::kError:
        return error(i, "body decoder already failed");
      case State::kUntilClose:
        s.data = data + i;
        s.data_len = len - i;
        s.consumed = len;
        return s;
      case State::kLength:
      case State::kChunkData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, len - i));
        s.data = data + i;
        s.data_len = n;
        s.consumed = i + n;
        remaining_ -= n;
        if (remaining_ == 0) {
          if (state_ == State::kLength) {
            state_ = State::kDone;
            s.done = true;
          } else {
            state_ = State::kChunkDataCr;
          }
        }
        return s;
      }
      case State::kChunkSize: {
        const int h = chars::hexValue(c);
        if (h >= 0) {
          if (++size_digits_ > kMaxChunkSizeDigits) return error(i, "chunk size too long");
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(h);
        } else if (size_digits_ == 0) {
          return error(i, "invalid chunk size");
        } else if (c == ';') {
          ext_bytes_ = 0;
          state_ = State::kChunkExt;
        } else if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else {
          return error(i, "invalid character after chunk size");
        }
        ++i;
        break;
      }
      case State::kChunkExt: {
        // Skip the extension in one run up to its CR.
        size_t k = i;
        while (k < len && data[k] != '\r' && is(static_cast<unsigned char>(data[k]), chars::kValue))
          ++k;
        ext_bytes_ += static_cast<uint32_t>(std::min<size_t>(k - i, kMaxChunkExtBytes + 1));
        if (ext_bytes_ > kMaxChunkExtBytes) return error(k, "chunk extension too long");
        i = k;
        if (i == len) break;
        if (data[i] != '\r') return error(i, "invalid character in chunk extension");
        state_ = State::kChunkSizeLf;
        ++i;
        break;
      }
      case State::kChunkSizeLf:
        if (c != '\n') return error(i, "chunk size line without LF");
        size_digits_ = 0;
        if (remaining_ == 0) {
          trailer_bytes_ = 0;
          state_ = State::kTrailerLineStart;
        } else {
          state_ = State::kChunkData;
        }
        ++i;
        break;
      case State::kChunkDataCr:
        if (c != '\r') return error(i, "chunk data not followed by CRLF");
        state_ = State::kChunkDataLf;
        ++i;
        break;
      case State::kChunkDataLf:
        if (c != '\n') return error(i, "chunk data not followed by CRLF");
        state_ = State::kChunkSize;
        ++i;
        break;
      case State::kTrailerLineStart:
        if (++trailer_bytes_ > kMaxTrailerBytes) return error(i, "trailer section too large");
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (is(c, chars::kToken)) {
          trailer_in_value_ = false;
          state_ = State::kTrailerLine;
        } else {
          return error(i, "invalid trailer field");
        }
        ++i;
        break;
      case State::kTrailerLine: {
        size_t k = i;
        const uint8_t cls = trailer_in_value_ ? chars::kValue : chars::kToken;
        while (k < len && is(static_cast<unsigned char>(data[k]), cls)) ++k;
        trailer_bytes_ += static_cast<uint32_t>(std::min<size_t>(k - i, kMaxTrailerBytes + 1));
        if (trailer_bytes_ > kMaxTrailerBytes) return error(k, "trailer section too large");
        i = k;
        if (i == len) break;
        ++trailer_bytes_;
        if (!trailer_in_value_ && data[i] == ':') {
          trailer_in_value_ = true;
        } else if (trailer_in_value_ && data[i] == '\r') {
          state_ = State::kTrailerLf;
        } else {
          return error(i, "invalid trailer field");
        }
        ++i;
        break;
      }
      case State::kTrailerLf:
        if (c != '\n') return error(i, "trailer line without LF");
        ++trailer_bytes_;
        state_ = State::kTrailerLineStart;
        ++i;
        break;
      case State::kFinalLf:
        if (c != '\n') return error(i, "chunked body not ended by CRLF");
        if (++trailer_bytes_ > kMaxTrailerBytes) return error(i, "trailer section too large");
        state_ = State::kDone;
        s.done = true;
        s.consumed = i + 1;
        return s;
    }
  }
  s.consumed = i;
  s.done = state_ == State::kDone;
  s.error = state_ == State::kError;
  return s;
}

}  // namespace edge::http1
