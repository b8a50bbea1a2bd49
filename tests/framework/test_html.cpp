// The HTML building blocks of the report page: escaping, base64, inlined SVG, tables.
#include <gtest/gtest.h>

#include "framework/report/html.h"

namespace frerec::report {
namespace {

TEST(Html, EscapeCoversMarkupAndBothQuotes) {
  EXPECT_EQ(html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
  EXPECT_EQ(html_escape("plain ± text"), "plain ± text");
  EXPECT_EQ(html_escape(""), "");
}

TEST(Html, Base64MatchesRfc4648Vectors) {
  // RFC 4648 §10.
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(Html, InlineSvgPrefixesIdsAndReferences) {
  const std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg><defs><symbol id=\"glyph0-1\"/><clipPath id=\"clip1\"/></defs>"
      "<use xlink:href=\"#glyph0-1\"/><g clip-path=\"url(#clip1)\"/></svg>";
  const std::string out = inline_svg(svg, "f3-");
  EXPECT_EQ(out.find("<?xml"), std::string::npos);
  EXPECT_NE(out.find("id=\"f3-glyph0-1\""), std::string::npos) << out;
  EXPECT_NE(out.find("xlink:href=\"#f3-glyph0-1\""), std::string::npos) << out;
  EXPECT_NE(out.find("url(#f3-clip1)"), std::string::npos) << out;
  EXPECT_EQ(out.find("\"glyph0-1\""), std::string::npos) << out;
}

TEST(Html, TableEscapesCellsAndMarksNumbers) {
  const std::string table =
      html_table("t2", {"Method", "AUC_mean"}, {{"<b>raw</b>", "0.9965"}, {"gda", ""}}, "Table <2>");
  EXPECT_NE(table.find("<td>&lt;b&gt;raw&lt;/b&gt;</td>"), std::string::npos) << table;
  EXPECT_NE(table.find("<td class=\"num\">0.9965</td>"), std::string::npos) << table;
  EXPECT_NE(table.find("<caption>Table &lt;2&gt;</caption>"), std::string::npos) << table;
  EXPECT_NE(table.find("class=\"sortable\" id=\"t2\""), std::string::npos) << table;
  EXPECT_EQ(table.find("<b>"), std::string::npos) << table;
}

TEST(Html, PageForbidsEverythingButInlineContent) {
  const std::string page = html_page("a <title>", "<p>body</p>");
  EXPECT_NE(page.find("<title>a &lt;title&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("default-src 'none'; img-src data:"), std::string::npos);
  EXPECT_NE(page.find("<p>body</p>"), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
}

}  // namespace
}  // namespace frerec::report
