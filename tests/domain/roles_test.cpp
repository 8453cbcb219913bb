// The role table and the password policy (domain/roles.hpp,
// domain/password_policy.hpp): pure rules, checked without a server.
#include <gtest/gtest.h>

#include "domain/password_policy.hpp"
#include "domain/roles.hpp"

namespace safelynx {
namespace {

TEST(Roles, EachRoleMayDoWhatTheTableSays) {
  EXPECT_TRUE(can(Role::Viewer, Permission::Read));
  EXPECT_TRUE(can(Role::Viewer, Permission::OwnAccount));
  EXPECT_FALSE(can(Role::Viewer, Permission::ManageProfiles));
  EXPECT_FALSE(can(Role::Viewer, Permission::ManageCameras));
  EXPECT_TRUE(can(Role::Operator, Permission::ManageProfiles));
  EXPECT_TRUE(can(Role::Operator, Permission::ManageCameras));
  EXPECT_TRUE(can(Role::Operator, Permission::ManageRecordings));
  EXPECT_FALSE(can(Role::Operator, Permission::ManageSettings));
  EXPECT_FALSE(can(Role::Operator, Permission::ManageUsers));
  EXPECT_TRUE(can(Role::Admin, Permission::ManageSettings));
  EXPECT_TRUE(can(Role::Admin, Permission::ManageUsers));
  EXPECT_EQ(min_role(Role::Admin, Role::Viewer), Role::Viewer);
  EXPECT_EQ(min_role(Role::Operator, Role::Admin), Role::Operator);
}

TEST(Roles, NamesRoundTripAndUnknownNamesAreRefused) {
  for (Role role : {Role::Viewer, Role::Operator, Role::Admin}) EXPECT_EQ(parse_role(to_string(role)), role);
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(parse_role(""));
}

TEST(PasswordPolicy, RefusesShortCommonAndUsernamePasswords) {
  EXPECT_EQ(password_problem("123456789"), "must have at least 10 characters (has 9)");
  // Characters, not bytes: 9 two-byte characters are still too short.
  EXPECT_TRUE(password_problem("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
  EXPECT_FALSE(password_problem("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x"));
  EXPECT_EQ(password_problem("QwertyUIOP"), "is one of the most common passwords; choose another");
  EXPECT_TRUE(password_problem("1234567890"));
  EXPECT_TRUE(password_problem("password123"));
  EXPECT_EQ(password_problem("Margaret.Hamilton", "margaret.hamilton"), "must not be the username");
  EXPECT_TRUE(password_problem("zzzzzzzzzzzz"));
  EXPECT_TRUE(password_problem(std::string(1025, 'a') + "b"));
  EXPECT_FALSE(password_problem("correct-horse-battery"));
  EXPECT_FALSE(password_problem("Margaret.Hamilton", "admin"));
}

}  // namespace
}  // namespace safelynx
