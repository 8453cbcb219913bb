// Least privilege: the three roles and what each may do, in one place. Every
// API route names the Permission it needs; `can` is the only rule.
#pragma once

#include <optional>
#include <string_view>

namespace safelynx {

// Ordered: each role may do everything the ones before it may.
enum class Role { Viewer, Operator, Admin };

std::string_view to_string(Role role);
// "viewer", "operator", "admin"; nullopt for anything else.
std::optional<Role> parse_role(std::string_view text);
inline Role min_role(Role a, Role b) { return a < b ? a : b; }

enum class Permission {
  Read,              // every read of the data: GETs, media, /ws, /metrics
  OwnAccount,        // log out, change one's own password, one's own API tokens
  ManageProfiles,    // enrol, edit, photos, merge, delete, import, export, identify
  ManageCameras,     // create, edit, delete, start, stop; feed a browser camera
  ManageRecordings,  // delete recordings
  ManageSettings,    // PUT /settings
  ManageUsers,       // users, their passwords and everyone's tokens
  ReadAudit,         // the audit log: who did what, from where
};

// The least role that holds `permission`.
Role required_role(Permission permission);
inline bool can(Role role, Permission permission) { return role >= required_role(permission); }

}  // namespace safelynx
