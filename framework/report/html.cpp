#include "framework/report/html.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace frerec::report {
namespace {

bool reads_as_number(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// The page's only style and script. The script sorts a table.sortable by the clicked
// column: numerically when every cell reads as a number (the leading number of
// "+0.001 [-0.011, +0.013]" or "0.062 / 0.063" counts) or is a placeholder ("", "–",
// "n/a"), else as text; placeholders go last; a second click reverses. Rows keep their
// order among equals (Array.prototype.sort is stable).
constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #d0d0d0;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f3f7}table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \25B2"}th[aria-sort=descending]::after{content:" \25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
pre{background:#f6f8fa;padding:.6em;overflow:auto;font-size:.85em;max-height:28em}
svg,img{max-width:100%;height:auto}
details{border:1px solid #ddd;border-radius:4px;margin:.4em 0;padding:.3em .6em}
summary{cursor:pointer}.status-ok{color:#1a7f37}.status-failed{color:#cf222e}.status-other{color:#9a6700}
.note{font-size:.85em;color:#444}.error{color:#cf222e;font-family:monospace}
)";

constexpr const char* kScript = R"(
(function () {
  function key(cell) {
    var text = (cell.getAttribute('data-sort') || cell.textContent).trim();
    var number = parseFloat(text);
    return {text: text, number: number, numeric: text !== '' && !isNaN(number)};
  }
  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (row) { return key(row.cells[column]); });
    var placeholder = /^(\s|–|-|\/|n\/a|nan)*$/i;  // "", "–", "n/a / n/a"
    var numeric = keys.some(function (k) { return k.numeric; }) &&
                  keys.every(function (k) { return k.numeric || placeholder.test(k.text); });
    var blank = function (k) { return numeric ? !k.numeric : k.text === ''; };
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    var order = rows.map(function (row, i) { return i; });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (blank(x) || blank(y)) return blank(x) - blank(y);  // empty cells last either way
      var c = numeric ? x.number - y.number : x.text.localeCompare(y.text);
      return ascending ? c : -c;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.title = 'sort by this column';
      th.addEventListener('click', function () { sortBy(table, column, th); });
    });
  });
})();
)";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kDigits[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string inline_png(std::string_view png_bytes, const std::string& alt) {
  return fmt::format(R"(<img alt="{}" src="data:image/png;base64,{}">)", html_escape(alt), base64(png_bytes));
}

std::string inline_svg(std::string_view svg, const std::string& id_prefix) {
  std::string text(svg);
  if (text.rfind("<?xml", 0) == 0) text.erase(0, text.find("?>") + 2);
  const std::string prefix = html_escape(id_prefix);
  replace_all(text, " id=\"", " id=\"" + prefix);
  replace_all(text, "href=\"#", "href=\"#" + prefix);
  replace_all(text, "url(#", "url(#" + prefix);
  return text;
}

std::string html_table(const std::string& id, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, const std::string& caption) {
  std::string out = fmt::format("<table class=\"sortable\" id=\"{}\">", html_escape(id));
  if (!caption.empty()) out += "<caption>" + html_escape(caption) + "</caption>";
  out += "<thead><tr>";
  for (const auto& name : header) out += "<th scope=\"col\">" + html_escape(name) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < header.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += (reads_as_number(cell) ? "<td class=\"num\">" : "<td>") + html_escape(cell) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string html_page(const std::string& title, const std::string& body) {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>{}</style>
</head>
<body>
{}
<script>{}</script>
</body>
</html>
)",
                     html_escape(title), kStyle, body, kScript);
}

}  // namespace frerec::report
