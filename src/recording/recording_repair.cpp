// repair_recordings (declared in recorder.hpp): run once at start, before any
// camera records, on the segments a crash left unfinished.
#include <cmath>
#include <cstdio>
#include <set>
#include <system_error>

#include "recording/mp4_recovery.hpp"
#include "recording/recorder.hpp"
#include "recording/recording_files.hpp"

namespace safelynx::recording {
namespace {

namespace fs = std::filesystem;
using recording_files::kFinalSuffix;
using recording_files::kPartialSuffix;
using recording_files::sync_path;

fs::path partial_of(const fs::path& final_path) {
  std::string name = final_path.filename().string();
  const std::string suffix = kFinalSuffix;
  if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  return final_path.parent_path() / (name + kPartialSuffix);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> repair_recordings(const fs::path& recordings_dir, storage::RecordingRepository& recordings) {
  std::vector<std::string> lines;
  // All rows first: removing rows while paging would shift the pages.
  std::vector<Recording> unfinished;
  std::set<std::string> named;  // partial file names of the rows
  storage::Page page{1, 500};
  for (;;) {
    const auto result = recordings.list(storage::RecordingFilter{}, page);
    for (const auto& row : result.items) {
      if (!row.end) unfinished.push_back(row);
      named.insert(partial_of(recordings_dir / row.file).lexically_normal().string());
    }
    if (result.items.empty() || page.page * page.per_page >= result.total) break;
    ++page.page;
  }

  for (auto row : unfinished) {
    const fs::path final_path = recordings_dir / row.file;
    const fs::path partial = partial_of(final_path);
    std::error_code ec;
    // Killed after the rename but before the row was finished: the file is complete.
    Mp4Probe probe = probe_mp4(final_path);
    std::string recovered;
    if (!probe.plays && !fs::exists(final_path, ec) && fs::exists(partial, ec)) {
      // Killed while recording: the fragments written so far play once a
      // fragment cut off mid-write is dropped; or killed between
      // Mp4Writer::finish() and the rename, when the file is complete.
      const std::uintmax_t cut = trim_to_complete_fragments(partial);
      probe = probe_mp4(partial);
      if (probe.plays) {
        sync_path(partial, false);
        fs::rename(partial, final_path, ec);
        if (ec) {
          lines.push_back("cannot rename " + partial.string() + " to " + final_path.string() + ": " + ec.message() +
                          "; recording " + row.id.to_string() + " is left unfinished");
          continue;  // the next start tries again; the row and its video stay
        }
        sync_path(final_path.parent_path(), true);
        recovered = ", kept from " + partial.filename().string() +
                    (cut ? " (" + std::to_string(cut) + " bytes of an unfinished fragment dropped)" : "");
      }
    }
    if (probe.plays) {
      row.end = row.start + std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(probe.seconds * 1000)));
      const auto size = fs::file_size(final_path, ec);
      row.size_bytes = ec ? 0 : static_cast<std::uint64_t>(size);
      recordings.update(row);
      fs::remove(partial, ec);
      char summary[96];
      std::snprintf(summary, sizeof summary, "%llu frames, %.1f s", static_cast<unsigned long long>(probe.frames),
                    probe.seconds);
      lines.push_back("repaired recording " + row.id.to_string() + " (" + final_path.string() + "): " + summary +
                      recovered);
      continue;
    }
    recordings.remove(row.id);
    std::string removed;
    for (const auto& path : {partial, final_path}) {
      if (fs::remove(path, ec)) removed += (removed.empty() ? "" : ", ") + path.string();
    }
    lines.push_back("removed recording " + row.id.to_string() + ": no frame of its video plays" +
                    (removed.empty() ? " (no file)" : "; deleted " + removed));
  }

  // Partial files that no row names: a segment opened by a recorder killed
  // before its row was stored (the row is stored before any frame is written).
  std::error_code ec;
  if (!fs::is_directory(recordings_dir, ec)) return lines;
  std::vector<fs::path> orphans;
  for (fs::recursive_directory_iterator it(recordings_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path path = it->path();
    if (ends_with(path.filename().string(), kPartialSuffix) && !named.contains(path.lexically_normal().string()))
      orphans.push_back(path);
  }
  for (const auto& path : orphans) {
    if (fs::remove(path, ec)) lines.push_back("removed unfinished video " + path.string() + " (no recording names it)");
  }
  return lines;
}

}  // namespace safelynx::recording
