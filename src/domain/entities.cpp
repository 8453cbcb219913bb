#include "domain/entities.hpp"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace safelynx {

std::string to_iso8601(TimePoint t) {
  const std::int64_t ms = to_unix_ms(t);
  std::int64_t seconds = ms / 1000;
  std::int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[96];  // room for any int the compiler cannot rule out
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

namespace {

[[noreturn]] void bad_time(std::string_view text) {
  throw std::invalid_argument("'" + std::string(text.substr(0, 64)) +
                              "' is not an ISO-8601 time (e.g. 2026-11-29T13:45:00Z or 2026-11-29)");
}

int digits(std::string_view text, std::size_t pos, std::size_t count, std::string_view whole) {
  if (pos + count > text.size()) bad_time(whole);
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') bad_time(whole);
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

TimePoint parse_iso8601(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') bad_time(text);
  const int year = digits(text, 0, 4, text);
  const int month = digits(text, 5, 2, text);
  const int day = digits(text, 8, 2, text);
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1]) bad_time(text);
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) bad_time(text);
  std::int64_t ms = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400'000;
  if (text.size() == 10) return from_unix_ms(ms);

  if (text.size() < 19 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
      text[16] != ':')
    bad_time(text);
  const int hour = digits(text, 11, 2, text);
  const int minute = digits(text, 14, 2, text);
  const int second = digits(text, 17, 2, text);
  if (hour > 23 || minute > 59 || second > 60) bad_time(text);
  ms += (hour * 3600LL + minute * 60LL + second) * 1000;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int fraction_ms = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start < 3) fraction_ms = fraction_ms * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) bad_time(text);
    for (std::size_t n = pos - start; n < 3; ++n) fraction_ms *= 10;
    ms += fraction_ms;
  }
  if (pos == text.size()) bad_time(text);  // a zone is required: local time is ambiguous
  if (text[pos] == 'Z' || text[pos] == 'z') {
    if (pos + 1 != text.size()) bad_time(text);
    return from_unix_ms(ms);
  }
  if ((text[pos] != '+' && text[pos] != '-') || pos + 6 != text.size() || text[pos + 3] != ':') bad_time(text);
  const int offset_hours = digits(text, pos + 1, 2, text);
  const int offset_minutes = digits(text, pos + 4, 2, text);
  if (offset_hours > 23 || offset_minutes > 59) bad_time(text);
  const std::int64_t offset_ms = (offset_hours * 60LL + offset_minutes) * 60'000;
  return from_unix_ms(text[pos] == '+' ? ms - offset_ms : ms + offset_ms);
}

std::string_view to_string(FeedbackVerdict verdict) { return verdict == FeedbackVerdict::Is ? "is" : "is_not"; }

std::optional<FeedbackVerdict> parse_feedback_verdict(std::string_view text) {
  if (text == "is") return FeedbackVerdict::Is;
  if (text == "is_not") return FeedbackVerdict::IsNot;
  return std::nullopt;
}

std::string_view to_string(CameraKind kind) {
  switch (kind) {
    case CameraKind::Usb: return "usb";
    case CameraKind::Rtsp: return "rtsp";
    case CameraKind::Http: return "http";
    case CameraKind::File: return "file";
    case CameraKind::Browser: return "browser";
  }
  return "usb";
}

CameraKind parse_camera_kind(std::string_view text) {
  for (CameraKind k : {CameraKind::Usb, CameraKind::Rtsp, CameraKind::Http, CameraKind::File, CameraKind::Browser})
    if (text == to_string(k)) return k;
  throw std::invalid_argument("camera kind '" + std::string(text.substr(0, 64)) +
                              "' is not one of usb, rtsp, http, file, browser");
}

std::string_view to_string(CameraStatus status) {
  switch (status) {
    case CameraStatus::Stopped: return "stopped";
    case CameraStatus::Connecting: return "connecting";
    case CameraStatus::Active: return "active";
    case CameraStatus::Error: return "error";
  }
  return "stopped";
}

CameraStatus parse_camera_status(std::string_view text) {
  for (CameraStatus s : {CameraStatus::Stopped, CameraStatus::Connecting, CameraStatus::Active, CameraStatus::Error})
    if (text == to_string(s)) return s;
  throw std::invalid_argument("camera status '" + std::string(text.substr(0, 64)) +
                              "' is not one of stopped, connecting, active, error");
}

}  // namespace safelynx
