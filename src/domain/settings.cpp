#include "domain/settings.hpp"

#include <variant>

#include "domain/settings_schema.hpp"

namespace safelynx {

std::vector<SettingsProblem> validate(const Settings& settings) {
  std::vector<SettingsProblem> problems;
  for (const SettingSpec& spec : settings_schema()) {
    std::visit(
        [&](const auto& field) {
          if constexpr (requires { field.range; }) {
            if (auto problem = field.range.problem(field.of(settings))) problems.push_back({std::string(spec.key), *problem});
          }
        },
        spec.field);
  }
  return problems;
}

}  // namespace safelynx
