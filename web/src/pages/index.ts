// Every page of the app and its path.
import { alertsPage } from "./alerts.js";
import { auditPage } from "./audit.js";
import { camerasPage } from "./cameras.js";
import { dashboardPage } from "./dashboard.js";
import { heatmapPage } from "./heatmap.js";
import { livePage } from "./live.js";
import { profilePage } from "./profile.js";
import { profilesPage } from "./profiles.js";
import { recordingsPage } from "./recordings.js";
import { reviewPage } from "./review.js";
import { searchPage } from "./search.js";
import { settingsPage } from "./settings.js";
import { timelinePage } from "./timeline.js";
import { usersPage } from "./users.js";
import type { Route } from "../router.js";

export const routes: Route[] = [
  { pattern: "/", title: "Dashboard", page: dashboardPage },
  { pattern: "/live", title: "Live", page: livePage },
  { pattern: "/profiles", title: "Profiles", page: profilesPage },
  { pattern: "/profiles/:id", title: "Profile", page: profilePage },
  { pattern: "/review", title: "Review strangers", page: reviewPage },
  { pattern: "/search", title: "Search by photo", page: searchPage },
  { pattern: "/timeline", title: "Timeline", page: timelinePage },
  { pattern: "/heatmap", title: "Heatmap", page: heatmapPage },
  { pattern: "/recordings", title: "Recordings", page: recordingsPage },
  { pattern: "/recordings/:id", title: "Recording", page: recordingsPage },
  { pattern: "/cameras", title: "Cameras", page: camerasPage },
  { pattern: "/alerts", title: "Alerts", page: alertsPage },
  { pattern: "/settings", title: "Settings", page: settingsPage },
  { pattern: "/users", title: "Users", page: usersPage },
  { pattern: "/audit", title: "Audit log", page: auditPage },
];
