#include "domain/roles.hpp"

namespace safelynx {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::Viewer: return "viewer";
    case Role::Operator: return "operator";
    case Role::Admin: return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::Viewer;
  if (text == "operator") return Role::Operator;
  if (text == "admin") return Role::Admin;
  return std::nullopt;
}

// The table of docs/SECURITY.md ("Roles"); change both together.
Role required_role(Permission permission) {
  switch (permission) {
    case Permission::Read:
    case Permission::OwnAccount: return Role::Viewer;
    case Permission::ManageProfiles:
    case Permission::ManageCameras:
    case Permission::ManageRecordings: return Role::Operator;
    case Permission::ManageSettings:
    case Permission::ManageUsers:
    case Permission::ReadAudit: return Role::Admin;
  }
  return Role::Admin;  // an unknown permission is the most guarded
}

}  // namespace safelynx
