// Reading a request as the HTTP server core gets it from Beast: the
// translation to HttpRequest (percent-decoding, lowercased headers, the
// client behind trusted proxies) and the checks made before it is answered.
// Internal to the server core; HttpSession (http_server.cpp) uses them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_types.hpp"

namespace safelynx::server::detail {

// Fills method, path, query, headers and client address from a Beast request
// (not the body). Throws ApiError(400) for a target it cannot decode. With
// `trusted_proxies`, a request from one of them has as its client address
// the last X-Forwarded-For entry that is not a trusted proxy.
HttpRequest to_http_request(const boost::beast::http::request<boost::beast::http::string_body>& req,
                            const std::string& client_address, const std::vector<std::string>& trusted_proxies);

// The upgrade's Origin is the server's own (its host is the Host header; the
// scheme is not compared, so a TLS-terminating proxy that keeps Host works)
// or one configured; no Origin at all is not a browser.
bool origin_allowed(const HttpRequest& request, const std::vector<std::string>& allowed);

// Transfer-Encoding other than a single "chunked" (RFC 9112 section 6): an
// unknown coding is 501, a coding together with Content-Length or in an
// HTTP/1.0 request is faulty framing (a request smuggling attempt). Beast
// would read "gzip" as "no body" and the body as the next request.
std::optional<ApiError> framing_error(const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace safelynx::server::detail
