// The OpenAPI 3 description of the REST API (docs/openapi.json, compiled in).
#pragma once

#include <string_view>

namespace safelynx::app {

std::string_view openapi_document();

}  // namespace safelynx::app
