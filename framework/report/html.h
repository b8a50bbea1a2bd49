// Building blocks of a self-contained HTML page (experiments/html_report.cpp): escaping,
// base64 images, SVG inlined into the page, and a table whose columns sort on click. The
// page loads nothing from the network or the file system: images are inlined, the only
// script and style are inline, and a Content-Security-Policy forbids anything else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace frerec::report {

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string html_escape(std::string_view text);

// RFC 4648 base64 of `bytes`.
std::string base64(std::string_view bytes);

// An <img> holding a PNG file's bytes as a data: URI.
std::string inline_png(std::string_view png_bytes, const std::string& alt);

// SVG text as an element of the page: the XML declaration dropped and every id (and each
// reference to one) prefixed with `id_prefix`, so several inlined figures (Cairo names its
// glyphs and clips alike in every file) do not resolve each other's ids.
std::string inline_svg(std::string_view svg, const std::string& id_prefix);

// A table sorted by clicking a column header (the page's script, html_page). Cells are
// text (escaped here); a column sorts numerically when every non-empty cell reads as a
// number. `id` becomes the element id.
std::string html_table(const std::string& id, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, const std::string& caption = "");

// The whole page: <head> with the title, the policy, the style and the sort script; `body`
// is already HTML.
std::string html_page(const std::string& title, const std::string& body);

}  // namespace frerec::report
