// BuildKit's shell-word lexer, rebuilt from its observable behaviour.
//
// The input is read as Go's text/scanner reads it (one rune at a time, invalid
// UTF-8 bytes as U+FFFD, a leading byte order mark skipped), because BuildKit's
// results depend on it: names are runs of Unicode letters, digits and '_', and
// word splitting is on Unicode white space. Patterns in ${V#p} and ${V/p/r} are
// the regular expressions BuildKit builds from them, matched with Go regexp's
// leftmost-first semantics by a small breadth-first NFA (a Pike VM) instead of a
// general regex engine: no backtracking, no recursion, no exponential input.
#include "parser/shell_lexer.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "parser/utf8.h"

namespace bld::parser {
namespace {

// ---------------------------------------------------------------------------
// Text as Go sees it

constexpr char32_t kReplacementChar = utf8::kReplacementChar;
constexpr char32_t kByteOrderMark = 0xFEFF;  // text/scanner skips one at the start
// Stands for the end of the input; above U+10FFFF, so no decoded rune equals it.
constexpr char32_t kEnd = 0x110000;

using utf8::AppendRune;
using utf8::DecodedRune;
using utf8::DecodeRune;

std::string EncodeRunes(std::u32string_view runes) {
  std::string out;
  out.reserve(runes.size());
  for (char32_t r : runes) AppendRune(out, r);
  return out;
}

// A string as runes, with the byte offset where each rune starts (plus one
// past the end), so that matches found on runes can cut the original bytes.
struct RuneText {
  std::u32string runes;
  std::vector<size_t> offsets;
};

RuneText DecodeText(std::string_view s) {
  RuneText text;
  text.runes.reserve(s.size());
  text.offsets.reserve(s.size() + 1);
  for (size_t pos = 0; pos < s.size();) {
    const DecodedRune d = DecodeRune(s, pos);
    text.runes += d.rune;
    text.offsets.push_back(pos);
    pos += d.width;
  }
  text.offsets.push_back(s.size());
  return text;
}

// ---------------------------------------------------------------------------
// Character classes of Go's unicode package (Unicode 15.0, as in Go 1.21+)

struct RuneRange {
  char32_t first;
  char32_t last;
};

// General categories Lu, Ll, Lt, Lm and Lo (unicode.IsLetter), generated from
// the Unicode 15.0 character database.
constexpr RuneRange kLetters[] = {
    {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00AA, 0x00AA}, {0x00B5, 0x00B5},
    {0x00BA, 0x00BA}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x00F8, 0x02C1},
    {0x02C6, 0x02D1}, {0x02E0, 0x02E4}, {0x02EC, 0x02EC}, {0x02EE, 0x02EE},
    {0x0370, 0x0374}, {0x0376, 0x0377}, {0x037A, 0x037D}, {0x037F, 0x037F},
    {0x0386, 0x0386}, {0x0388, 0x038A}, {0x038C, 0x038C}, {0x038E, 0x03A1},
    {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F}, {0x0531, 0x0556},
    {0x0559, 0x0559}, {0x0560, 0x0588}, {0x05D0, 0x05EA}, {0x05EF, 0x05F2},
    {0x0620, 0x064A}, {0x066E, 0x066F}, {0x0671, 0x06D3}, {0x06D5, 0x06D5},
    {0x06E5, 0x06E6}, {0x06EE, 0x06EF}, {0x06FA, 0x06FC}, {0x06FF, 0x06FF},
    {0x0710, 0x0710}, {0x0712, 0x072F}, {0x074D, 0x07A5}, {0x07B1, 0x07B1},
    {0x07CA, 0x07EA}, {0x07F4, 0x07F5}, {0x07FA, 0x07FA}, {0x0800, 0x0815},
    {0x081A, 0x081A}, {0x0824, 0x0824}, {0x0828, 0x0828}, {0x0840, 0x0858},
    {0x0860, 0x086A}, {0x0870, 0x0887}, {0x0889, 0x088E}, {0x08A0, 0x08C9},
    {0x0904, 0x0939}, {0x093D, 0x093D}, {0x0950, 0x0950}, {0x0958, 0x0961},
    {0x0971, 0x0980}, {0x0985, 0x098C}, {0x098F, 0x0990}, {0x0993, 0x09A8},
    {0x09AA, 0x09B0}, {0x09B2, 0x09B2}, {0x09B6, 0x09B9}, {0x09BD, 0x09BD},
    {0x09CE, 0x09CE}, {0x09DC, 0x09DD}, {0x09DF, 0x09E1}, {0x09F0, 0x09F1},
    {0x09FC, 0x09FC}, {0x0A05, 0x0A0A}, {0x0A0F, 0x0A10}, {0x0A13, 0x0A28},
    {0x0A2A, 0x0A30}, {0x0A32, 0x0A33}, {0x0A35, 0x0A36}, {0x0A38, 0x0A39},
    {0x0A59, 0x0A5C}, {0x0A5E, 0x0A5E}, {0x0A72, 0x0A74}, {0x0A85, 0x0A8D},
    {0x0A8F, 0x0A91}, {0x0A93, 0x0AA8}, {0x0AAA, 0x0AB0}, {0x0AB2, 0x0AB3},
    {0x0AB5, 0x0AB9}, {0x0ABD, 0x0ABD}, {0x0AD0, 0x0AD0}, {0x0AE0, 0x0AE1},
    {0x0AF9, 0x0AF9}, {0x0B05, 0x0B0C}, {0x0B0F, 0x0B10}, {0x0B13, 0x0B28},
    {0x0B2A, 0x0B30}, {0x0B32, 0x0B33}, {0x0B35, 0x0B39}, {0x0B3D, 0x0B3D},
    {0x0B5C, 0x0B5D}, {0x0B5F, 0x0B61}, {0x0B71, 0x0B71}, {0x0B83, 0x0B83},
    {0x0B85, 0x0B8A}, {0x0B8E, 0x0B90}, {0x0B92, 0x0B95}, {0x0B99, 0x0B9A},
    {0x0B9C, 0x0B9C}, {0x0B9E, 0x0B9F}, {0x0BA3, 0x0BA4}, {0x0BA8, 0x0BAA},
    {0x0BAE, 0x0BB9}, {0x0BD0, 0x0BD0}, {0x0C05, 0x0C0C}, {0x0C0E, 0x0C10},
    {0x0C12, 0x0C28}, {0x0C2A, 0x0C39}, {0x0C3D, 0x0C3D}, {0x0C58, 0x0C5A},
    {0x0C5D, 0x0C5D}, {0x0C60, 0x0C61}, {0x0C80, 0x0C80}, {0x0C85, 0x0C8C},
    {0x0C8E, 0x0C90}, {0x0C92, 0x0CA8}, {0x0CAA, 0x0CB3}, {0x0CB5, 0x0CB9},
    {0x0CBD, 0x0CBD}, {0x0CDD, 0x0CDE}, {0x0CE0, 0x0CE1}, {0x0CF1, 0x0CF2},
    {0x0D04, 0x0D0C}, {0x0D0E, 0x0D10}, {0x0D12, 0x0D3A}, {0x0D3D, 0x0D3D},
    {0x0D4E, 0x0D4E}, {0x0D54, 0x0D56}, {0x0D5F, 0x0D61}, {0x0D7A, 0x0D7F},
    {0x0D85, 0x0D96}, {0x0D9A, 0x0DB1}, {0x0DB3, 0x0DBB}, {0x0DBD, 0x0DBD},
    {0x0DC0, 0x0DC6}, {0x0E01, 0x0E30}, {0x0E32, 0x0E33}, {0x0E40, 0x0E46},
    {0x0E81, 0x0E82}, {0x0E84, 0x0E84}, {0x0E86, 0x0E8A}, {0x0E8C, 0x0EA3},
    {0x0EA5, 0x0EA5}, {0x0EA7, 0x0EB0}, {0x0EB2, 0x0EB3}, {0x0EBD, 0x0EBD},
    {0x0EC0, 0x0EC4}, {0x0EC6, 0x0EC6}, {0x0EDC, 0x0EDF}, {0x0F00, 0x0F00},
    {0x0F40, 0x0F47}, {0x0F49, 0x0F6C}, {0x0F88, 0x0F8C}, {0x1000, 0x102A},
    {0x103F, 0x103F}, {0x1050, 0x1055}, {0x105A, 0x105D}, {0x1061, 0x1061},
    {0x1065, 0x1066}, {0x106E, 0x1070}, {0x1075, 0x1081}, {0x108E, 0x108E},
    {0x10A0, 0x10C5}, {0x10C7, 0x10C7}, {0x10CD, 0x10CD}, {0x10D0, 0x10FA},
    {0x10FC, 0x1248}, {0x124A, 0x124D}, {0x1250, 0x1256}, {0x1258, 0x1258},
    {0x125A, 0x125D}, {0x1260, 0x1288}, {0x128A, 0x128D}, {0x1290, 0x12B0},
    {0x12B2, 0x12B5}, {0x12B8, 0x12BE}, {0x12C0, 0x12C0}, {0x12C2, 0x12C5},
    {0x12C8, 0x12D6}, {0x12D8, 0x1310}, {0x1312, 0x1315}, {0x1318, 0x135A},
    {0x1380, 0x138F}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1401, 0x166C},
    {0x166F, 0x167F}, {0x1681, 0x169A}, {0x16A0, 0x16EA}, {0x16F1, 0x16F8},
    {0x1700, 0x1711}, {0x171F, 0x1731}, {0x1740, 0x1751}, {0x1760, 0x176C},
    {0x176E, 0x1770}, {0x1780, 0x17B3}, {0x17D7, 0x17D7}, {0x17DC, 0x17DC},
    {0x1820, 0x1878}, {0x1880, 0x1884}, {0x1887, 0x18A8}, {0x18AA, 0x18AA},
    {0x18B0, 0x18F5}, {0x1900, 0x191E}, {0x1950, 0x196D}, {0x1970, 0x1974},
    {0x1980, 0x19AB}, {0x19B0, 0x19C9}, {0x1A00, 0x1A16}, {0x1A20, 0x1A54},
    {0x1AA7, 0x1AA7}, {0x1B05, 0x1B33}, {0x1B45, 0x1B4C}, {0x1B83, 0x1BA0},
    {0x1BAE, 0x1BAF}, {0x1BBA, 0x1BE5}, {0x1C00, 0x1C23}, {0x1C4D, 0x1C4F},
    {0x1C5A, 0x1C7D}, {0x1C80, 0x1C88}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
    {0x1CE9, 0x1CEC}, {0x1CEE, 0x1CF3}, {0x1CF5, 0x1CF6}, {0x1CFA, 0x1CFA},
    {0x1D00, 0x1DBF}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC},
    {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D},
    {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D},
    {0x212F, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E},
    {0x2183, 0x2184}, {0x2C00, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0x2D00, 0x2D25}, {0x2D27, 0x2D27}, {0x2D2D, 0x2D2D}, {0x2D30, 0x2D67},
    {0x2D6F, 0x2D6F}, {0x2D80, 0x2D96}, {0x2DA0, 0x2DA6}, {0x2DA8, 0x2DAE},
    {0x2DB0, 0x2DB6}, {0x2DB8, 0x2DBE}, {0x2DC0, 0x2DC6}, {0x2DC8, 0x2DCE},
    {0x2DD0, 0x2DD6}, {0x2DD8, 0x2DDE}, {0x2E2F, 0x2E2F}, {0x3005, 0x3006},
    {0x3031, 0x3035}, {0x303B, 0x303C}, {0x3041, 0x3096}, {0x309D, 0x309F},
    {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, {0x3105, 0x312F}, {0x3131, 0x318E},
    {0x31A0, 0x31BF}, {0x31F0, 0x31FF}, {0x3400, 0x4DBF}, {0x4E00, 0xA48C},
    {0xA4D0, 0xA4FD}, {0xA500, 0xA60C}, {0xA610, 0xA61F}, {0xA62A, 0xA62B},
    {0xA640, 0xA66E}, {0xA67F, 0xA69D}, {0xA6A0, 0xA6E5}, {0xA717, 0xA71F},
    {0xA722, 0xA788}, {0xA78B, 0xA7CA}, {0xA7D0, 0xA7D1}, {0xA7D3, 0xA7D3},
    {0xA7D5, 0xA7D9}, {0xA7F2, 0xA801}, {0xA803, 0xA805}, {0xA807, 0xA80A},
    {0xA80C, 0xA822}, {0xA840, 0xA873}, {0xA882, 0xA8B3}, {0xA8F2, 0xA8F7},
    {0xA8FB, 0xA8FB}, {0xA8FD, 0xA8FE}, {0xA90A, 0xA925}, {0xA930, 0xA946},
    {0xA960, 0xA97C}, {0xA984, 0xA9B2}, {0xA9CF, 0xA9CF}, {0xA9E0, 0xA9E4},
    {0xA9E6, 0xA9EF}, {0xA9FA, 0xA9FE}, {0xAA00, 0xAA28}, {0xAA40, 0xAA42},
    {0xAA44, 0xAA4B}, {0xAA60, 0xAA76}, {0xAA7A, 0xAA7A}, {0xAA7E, 0xAAAF},
    {0xAAB1, 0xAAB1}, {0xAAB5, 0xAAB6}, {0xAAB9, 0xAABD}, {0xAAC0, 0xAAC0},
    {0xAAC2, 0xAAC2}, {0xAADB, 0xAADD}, {0xAAE0, 0xAAEA}, {0xAAF2, 0xAAF4},
    {0xAB01, 0xAB06}, {0xAB09, 0xAB0E}, {0xAB11, 0xAB16}, {0xAB20, 0xAB26},
    {0xAB28, 0xAB2E}, {0xAB30, 0xAB5A}, {0xAB5C, 0xAB69}, {0xAB70, 0xABE2},
    {0xAC00, 0xD7A3}, {0xD7B0, 0xD7C6}, {0xD7CB, 0xD7FB}, {0xF900, 0xFA6D},
    {0xFA70, 0xFAD9}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFB1D, 0xFB1D},
    {0xFB1F, 0xFB28}, {0xFB2A, 0xFB36}, {0xFB38, 0xFB3C}, {0xFB3E, 0xFB3E},
    {0xFB40, 0xFB41}, {0xFB43, 0xFB44}, {0xFB46, 0xFBB1}, {0xFBD3, 0xFD3D},
    {0xFD50, 0xFD8F}, {0xFD92, 0xFDC7}, {0xFDF0, 0xFDFB}, {0xFE70, 0xFE74},
    {0xFE76, 0xFEFC}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0xFF66, 0xFFBE},
    {0xFFC2, 0xFFC7}, {0xFFCA, 0xFFCF}, {0xFFD2, 0xFFD7}, {0xFFDA, 0xFFDC},
    {0x10000, 0x1000B}, {0x1000D, 0x10026}, {0x10028, 0x1003A}, {0x1003C, 0x1003D},
    {0x1003F, 0x1004D}, {0x10050, 0x1005D}, {0x10080, 0x100FA}, {0x10280, 0x1029C},
    {0x102A0, 0x102D0}, {0x10300, 0x1031F}, {0x1032D, 0x10340}, {0x10342, 0x10349},
    {0x10350, 0x10375}, {0x10380, 0x1039D}, {0x103A0, 0x103C3}, {0x103C8, 0x103CF},
    {0x10400, 0x1049D}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10500, 0x10527},
    {0x10530, 0x10563}, {0x10570, 0x1057A}, {0x1057C, 0x1058A}, {0x1058C, 0x10592},
    {0x10594, 0x10595}, {0x10597, 0x105A1}, {0x105A3, 0x105B1}, {0x105B3, 0x105B9},
    {0x105BB, 0x105BC}, {0x10600, 0x10736}, {0x10740, 0x10755}, {0x10760, 0x10767},
    {0x10780, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x10800, 0x10805},
    {0x10808, 0x10808}, {0x1080A, 0x10835}, {0x10837, 0x10838}, {0x1083C, 0x1083C},
    {0x1083F, 0x10855}, {0x10860, 0x10876}, {0x10880, 0x1089E}, {0x108E0, 0x108F2},
    {0x108F4, 0x108F5}, {0x10900, 0x10915}, {0x10920, 0x10939}, {0x10980, 0x109B7},
    {0x109BE, 0x109BF}, {0x10A00, 0x10A00}, {0x10A10, 0x10A13}, {0x10A15, 0x10A17},
    {0x10A19, 0x10A35}, {0x10A60, 0x10A7C}, {0x10A80, 0x10A9C}, {0x10AC0, 0x10AC7},
    {0x10AC9, 0x10AE4}, {0x10B00, 0x10B35}, {0x10B40, 0x10B55}, {0x10B60, 0x10B72},
    {0x10B80, 0x10B91}, {0x10C00, 0x10C48}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2},
    {0x10D00, 0x10D23}, {0x10E80, 0x10EA9}, {0x10EB0, 0x10EB1}, {0x10F00, 0x10F1C},
    {0x10F27, 0x10F27}, {0x10F30, 0x10F45}, {0x10F70, 0x10F81}, {0x10FB0, 0x10FC4},
    {0x10FE0, 0x10FF6}, {0x11003, 0x11037}, {0x11071, 0x11072}, {0x11075, 0x11075},
    {0x11083, 0x110AF}, {0x110D0, 0x110E8}, {0x11103, 0x11126}, {0x11144, 0x11144},
    {0x11147, 0x11147}, {0x11150, 0x11172}, {0x11176, 0x11176}, {0x11183, 0x111B2},
    {0x111C1, 0x111C4}, {0x111DA, 0x111DA}, {0x111DC, 0x111DC}, {0x11200, 0x11211},
    {0x11213, 0x1122B}, {0x1123F, 0x11240}, {0x11280, 0x11286}, {0x11288, 0x11288},
    {0x1128A, 0x1128D}, {0x1128F, 0x1129D}, {0x1129F, 0x112A8}, {0x112B0, 0x112DE},
    {0x11305, 0x1130C}, {0x1130F, 0x11310}, {0x11313, 0x11328}, {0x1132A, 0x11330},
    {0x11332, 0x11333}, {0x11335, 0x11339}, {0x1133D, 0x1133D}, {0x11350, 0x11350},
    {0x1135D, 0x11361}, {0x11400, 0x11434}, {0x11447, 0x1144A}, {0x1145F, 0x11461},
    {0x11480, 0x114AF}, {0x114C4, 0x114C5}, {0x114C7, 0x114C7}, {0x11580, 0x115AE},
    {0x115D8, 0x115DB}, {0x11600, 0x1162F}, {0x11644, 0x11644}, {0x11680, 0x116AA},
    {0x116B8, 0x116B8}, {0x11700, 0x1171A}, {0x11740, 0x11746}, {0x11800, 0x1182B},
    {0x118A0, 0x118DF}, {0x118FF, 0x11906}, {0x11909, 0x11909}, {0x1190C, 0x11913},
    {0x11915, 0x11916}, {0x11918, 0x1192F}, {0x1193F, 0x1193F}, {0x11941, 0x11941},
    {0x119A0, 0x119A7}, {0x119AA, 0x119D0}, {0x119E1, 0x119E1}, {0x119E3, 0x119E3},
    {0x11A00, 0x11A00}, {0x11A0B, 0x11A32}, {0x11A3A, 0x11A3A}, {0x11A50, 0x11A50},
    {0x11A5C, 0x11A89}, {0x11A9D, 0x11A9D}, {0x11AB0, 0x11AF8}, {0x11C00, 0x11C08},
    {0x11C0A, 0x11C2E}, {0x11C40, 0x11C40}, {0x11C72, 0x11C8F}, {0x11D00, 0x11D06},
    {0x11D08, 0x11D09}, {0x11D0B, 0x11D30}, {0x11D46, 0x11D46}, {0x11D60, 0x11D65},
    {0x11D67, 0x11D68}, {0x11D6A, 0x11D89}, {0x11D98, 0x11D98}, {0x11EE0, 0x11EF2},
    {0x11F02, 0x11F02}, {0x11F04, 0x11F10}, {0x11F12, 0x11F33}, {0x11FB0, 0x11FB0},
    {0x12000, 0x12399}, {0x12480, 0x12543}, {0x12F90, 0x12FF0}, {0x13000, 0x1342F},
    {0x13441, 0x13446}, {0x14400, 0x14646}, {0x16800, 0x16A38}, {0x16A40, 0x16A5E},
    {0x16A70, 0x16ABE}, {0x16AD0, 0x16AED}, {0x16B00, 0x16B2F}, {0x16B40, 0x16B43},
    {0x16B63, 0x16B77}, {0x16B7D, 0x16B8F}, {0x16E40, 0x16E7F}, {0x16F00, 0x16F4A},
    {0x16F50, 0x16F50}, {0x16F93, 0x16F9F}, {0x16FE0, 0x16FE1}, {0x16FE3, 0x16FE3},
    {0x17000, 0x187F7}, {0x18800, 0x18CD5}, {0x18D00, 0x18D08}, {0x1AFF0, 0x1AFF3},
    {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE}, {0x1B000, 0x1B122}, {0x1B132, 0x1B132},
    {0x1B150, 0x1B152}, {0x1B155, 0x1B155}, {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB},
    {0x1BC00, 0x1BC6A}, {0x1BC70, 0x1BC7C}, {0x1BC80, 0x1BC88}, {0x1BC90, 0x1BC99},
    {0x1D400, 0x1D454}, {0x1D456, 0x1D49C}, {0x1D49E, 0x1D49F}, {0x1D4A2, 0x1D4A2},
    {0x1D4A5, 0x1D4A6}, {0x1D4A9, 0x1D4AC}, {0x1D4AE, 0x1D4B9}, {0x1D4BB, 0x1D4BB},
    {0x1D4BD, 0x1D4C3}, {0x1D4C5, 0x1D505}, {0x1D507, 0x1D50A}, {0x1D50D, 0x1D514},
    {0x1D516, 0x1D51C}, {0x1D51E, 0x1D539}, {0x1D53B, 0x1D53E}, {0x1D540, 0x1D544},
    {0x1D546, 0x1D546}, {0x1D54A, 0x1D550}, {0x1D552, 0x1D6A5}, {0x1D6A8, 0x1D6C0},
    {0x1D6C2, 0x1D6DA}, {0x1D6DC, 0x1D6FA}, {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734},
    {0x1D736, 0x1D74E}, {0x1D750, 0x1D76E}, {0x1D770, 0x1D788}, {0x1D78A, 0x1D7A8},
    {0x1D7AA, 0x1D7C2}, {0x1D7C4, 0x1D7CB}, {0x1DF00, 0x1DF1E}, {0x1DF25, 0x1DF2A},
    {0x1E030, 0x1E06D}, {0x1E100, 0x1E12C}, {0x1E137, 0x1E13D}, {0x1E14E, 0x1E14E},
    {0x1E290, 0x1E2AD}, {0x1E2C0, 0x1E2EB}, {0x1E4D0, 0x1E4EB}, {0x1E7E0, 0x1E7E6},
    {0x1E7E8, 0x1E7EB}, {0x1E7ED, 0x1E7EE}, {0x1E7F0, 0x1E7FE}, {0x1E800, 0x1E8C4},
    {0x1E900, 0x1E943}, {0x1E94B, 0x1E94B}, {0x1EE00, 0x1EE03}, {0x1EE05, 0x1EE1F},
    {0x1EE21, 0x1EE22}, {0x1EE24, 0x1EE24}, {0x1EE27, 0x1EE27}, {0x1EE29, 0x1EE32},
    {0x1EE34, 0x1EE37}, {0x1EE39, 0x1EE39}, {0x1EE3B, 0x1EE3B}, {0x1EE42, 0x1EE42},
    {0x1EE47, 0x1EE47}, {0x1EE49, 0x1EE49}, {0x1EE4B, 0x1EE4B}, {0x1EE4D, 0x1EE4F},
    {0x1EE51, 0x1EE52}, {0x1EE54, 0x1EE54}, {0x1EE57, 0x1EE57}, {0x1EE59, 0x1EE59},
    {0x1EE5B, 0x1EE5B}, {0x1EE5D, 0x1EE5D}, {0x1EE5F, 0x1EE5F}, {0x1EE61, 0x1EE62},
    {0x1EE64, 0x1EE64}, {0x1EE67, 0x1EE6A}, {0x1EE6C, 0x1EE72}, {0x1EE74, 0x1EE77},
    {0x1EE79, 0x1EE7C}, {0x1EE7E, 0x1EE7E}, {0x1EE80, 0x1EE89}, {0x1EE8B, 0x1EE9B},
    {0x1EEA1, 0x1EEA3}, {0x1EEA5, 0x1EEA9}, {0x1EEAB, 0x1EEBB}, {0x20000, 0x2A6DF},
    {0x2A700, 0x2B739}, {0x2B740, 0x2B81D}, {0x2B820, 0x2CEA1}, {0x2CEB0, 0x2EBE0},
    {0x2F800, 0x2FA1D}, {0x30000, 0x3134A}, {0x31350, 0x323AF},
};

// General category Nd (unicode.IsDigit), from the same database.
constexpr RuneRange kDigits[] = {
    {0x0030, 0x0039}, {0x0660, 0x0669}, {0x06F0, 0x06F9}, {0x07C0, 0x07C9},
    {0x0966, 0x096F}, {0x09E6, 0x09EF}, {0x0A66, 0x0A6F}, {0x0AE6, 0x0AEF},
    {0x0B66, 0x0B6F}, {0x0BE6, 0x0BEF}, {0x0C66, 0x0C6F}, {0x0CE6, 0x0CEF},
    {0x0D66, 0x0D6F}, {0x0DE6, 0x0DEF}, {0x0E50, 0x0E59}, {0x0ED0, 0x0ED9},
    {0x0F20, 0x0F29}, {0x1040, 0x1049}, {0x1090, 0x1099}, {0x17E0, 0x17E9},
    {0x1810, 0x1819}, {0x1946, 0x194F}, {0x19D0, 0x19D9}, {0x1A80, 0x1A89},
    {0x1A90, 0x1A99}, {0x1B50, 0x1B59}, {0x1BB0, 0x1BB9}, {0x1C40, 0x1C49},
    {0x1C50, 0x1C59}, {0xA620, 0xA629}, {0xA8D0, 0xA8D9}, {0xA900, 0xA909},
    {0xA9D0, 0xA9D9}, {0xA9F0, 0xA9F9}, {0xAA50, 0xAA59}, {0xABF0, 0xABF9},
    {0xFF10, 0xFF19}, {0x104A0, 0x104A9}, {0x10D30, 0x10D39}, {0x11066, 0x1106F},
    {0x110F0, 0x110F9}, {0x11136, 0x1113F}, {0x111D0, 0x111D9}, {0x112F0, 0x112F9},
    {0x11450, 0x11459}, {0x114D0, 0x114D9}, {0x11650, 0x11659}, {0x116C0, 0x116C9},
    {0x11730, 0x11739}, {0x118E0, 0x118E9}, {0x11950, 0x11959}, {0x11C50, 0x11C59},
    {0x11D50, 0x11D59}, {0x11DA0, 0x11DA9}, {0x11F50, 0x11F59}, {0x16A60, 0x16A69},
    {0x16AC0, 0x16AC9}, {0x16B50, 0x16B59}, {0x1D7CE, 0x1D7FF}, {0x1E140, 0x1E149},
    {0x1E2F0, 0x1E2F9}, {0x1E4F0, 0x1E4F9}, {0x1E950, 0x1E959}, {0x1FBF0, 0x1FBF9},
};

bool InRanges(std::span<const RuneRange> ranges, char32_t r) {
  const auto it = std::upper_bound(ranges.begin(), ranges.end(), r,
                                   [](char32_t value, const RuneRange& range) { return value < range.first; });
  return it != ranges.begin() && r <= std::prev(it)->last;
}

bool IsLetter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  return InRanges(kLetters, r);
}

bool IsDigit(char32_t r) {
  if (r < 0x80) return r >= '0' && r <= '9';
  return InRanges(kDigits, r);
}

// unicode.IsSpace: the White_Space property.
bool IsSpace(char32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

bool IsNameRune(char32_t r) { return IsLetter(r) || IsDigit(r) || r == '_'; }

// ---------------------------------------------------------------------------
// Go's %q, used by BuildKit to quote the word in its error messages

void AppendHex(std::string& out, uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[value >> shift & 0xF];
}

// The escapes strconv.Quote writes for \a \b \f \n \r \t \v, or nullptr.
const char* ShortEscape(char32_t r) {
  switch (r) {
    case '\a': return "\\a";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\v': return "\\v";
    default: return nullptr;
  }
}

// strconv.Quote for the characters a Dockerfile can hold: escapes for quotes,
// backslashes, control characters and invalid bytes; other runes as they are.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t pos = 0; pos < s.size();) {
    const DecodedRune d = DecodeRune(s, pos);
    const char32_t r = d.rune;
    if (r == kReplacementChar && d.width == 1) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(s[pos]), 2);
    } else if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
    } else if (const char* escape = ShortEscape(r)) {
      out += escape;
    } else if (r < 0x20 || r == 0x7F) {
      out += "\\x";
      AppendHex(out, r, 2);
    } else if (r >= 0x80 && r <= 0x9F) {
      out += "\\u";
      AppendHex(out, r, 4);
    } else {
      out.append(s.substr(pos, d.width));
    }
    pos += d.width;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------
// Shell patterns

// A pattern of ${V#p}, ${V%p} or ${V/p/r}: '*' is any run of runes, '?' any one
// rune, and '\' makes the next '*', '?' or '\' literal. BuildKit compiles it to
// a Go regular expression ('*' to ".*" or ".*?", '?' to "."), so like "." the
// wildcards never match a newline, and among several matches the one Go's
// leftmost-first rules pick is found: the earliest start, then at each '*' the
// longest (greedy) or shortest (lazy) run that still lets the rest match.
class ShellPattern {
 public:
  struct Match {
    size_t begin;  // rune indexes into the text
    size_t end;
  };

  // Throws ExpandError (message without context) on an escape of any other rune.
  ShellPattern(std::u32string_view pattern, bool greedy) : greedy_(greedy) {
    size_t i = 0;
    if (!pattern.empty() && pattern[0] == kByteOrderMark) i = 1;  // read by text/scanner
    for (; i < pattern.size(); ++i) {
      const char32_t r = pattern[i];
      if (r == '*') {
        steps_.push_back({Kind::kAnyRunes, 0});
      } else if (r == '?') {
        steps_.push_back({Kind::kAnyRune, 0});
      } else if (r != '\\') {
        steps_.push_back({Kind::kRune, r});
      } else if (i + 1 < pattern.size() && (pattern[i + 1] == '}' || pattern[i + 1] == '/')) {
        // \} and \/ only kept '}' and '/' from ending the ${...}; the rune that follows is literal.
      } else if (i + 1 < pattern.size() &&
                 (pattern[i + 1] == '*' || pattern[i + 1] == '?' || pattern[i + 1] == '\\')) {
        steps_.push_back({Kind::kRune, pattern[++i]});
      } else if (i + 1 < pattern.size()) {
        std::string message = "invalid escape '\\";
        AppendRune(message, pattern[i + 1]);
        throw ExpandError(message + "'");
      } else {
        throw ExpandError("invalid escape: '\\' at the end of the pattern");
      }
    }
  }

  // The match Go's re.FindStringIndex(text[from:]) finds; anchored: only a
  // match that starts at `from`.
  std::optional<Match> Find(std::u32string_view text, size_t from, bool anchored) const {
    // States: consume(i) = i for step i, match = n, split(i) = n + 1 + i for a '*'.
    const uint32_t n = static_cast<uint32_t>(steps_.size());
    std::vector<Thread> current;
    std::vector<Thread> next;
    // listed[state] == p: the state is already in the list of threads at position p,
    // where a thread of higher priority got there first.
    std::vector<size_t> listed(2 * n + 1, SIZE_MAX);
    std::vector<uint32_t> stack;
    std::optional<Match> found;

    for (size_t p = from;; ++p) {
      if (!found && (!anchored || p == from)) AddThread(current, listed, stack, p, Entry(0), p);
      if (current.empty()) break;
      next.clear();
      for (const Thread& t : current) {
        if (t.state == n) {
          // Every thread after this one has lower priority than this match.
          found = Match{t.start, p};
          break;
        }
        if (p < text.size() && Accepts(steps_[t.state], text[p])) {
          const uint32_t after = steps_[t.state].kind == Kind::kAnyRunes ? n + 1 + t.state : Entry(t.state + 1);
          AddThread(next, listed, stack, p + 1, after, t.start);
        }
      }
      std::swap(current, next);
      if (p == text.size()) break;
    }
    return found;
  }

 private:
  enum class Kind : uint8_t { kRune, kAnyRune, kAnyRunes };
  struct Step {
    Kind kind;
    char32_t rune;  // for kRune
  };
  struct Thread {
    uint32_t state;
    size_t start;
  };

  static bool Accepts(const Step& step, char32_t r) {
    return step.kind == Kind::kRune ? r == step.rune : r != '\n';
  }

  uint32_t Entry(uint32_t i) const {
    const uint32_t n = static_cast<uint32_t>(steps_.size());
    if (i < n && steps_[i].kind == Kind::kAnyRunes) return n + 1 + i;
    return i;  // consume(i), or match when i == n
  }

  // Adds the threads reachable from `state` without consuming a rune, in
  // priority order. Iterative, so a long run of '*' cannot exhaust the stack.
  void AddThread(std::vector<Thread>& list, std::vector<size_t>& listed, std::vector<uint32_t>& stack, size_t p,
                 uint32_t state, size_t start) const {
    const uint32_t n = static_cast<uint32_t>(steps_.size());
    stack.assign(1, state);
    while (!stack.empty()) {
      const uint32_t s = stack.back();
      stack.pop_back();
      if (listed[s] == p) continue;
      listed[s] = p;
      if (s <= n) {
        list.push_back({s, start});
        continue;
      }
      // A '*': go round once more, or go on to the next step. The stack pops
      // the preferred branch first.
      const uint32_t i = s - n - 1;
      const uint32_t more = i;
      const uint32_t done = Entry(i + 1);
      stack.push_back(greedy_ ? done : more);
      stack.push_back(greedy_ ? more : done);
    }
  }

  std::vector<Step> steps_;
  bool greedy_;
};

// ${V#p} and ${V##p}: value without its shortest (longest) prefix matching p.
std::string TrimPrefix(std::string_view value, std::u32string_view pattern, bool greedy) {
  const ShellPattern compiled(pattern, greedy);
  const RuneText text = DecodeText(value);
  const auto match = compiled.Find(text.runes, 0, /*anchored=*/true);
  if (!match) return std::string(value);
  return std::string(value.substr(text.offsets[match->end]));
}

// Reverses a pattern rune by rune but keeps each '\x' pair in order, so that it
// matches the reversed strings its original matches.
std::u32string ReversePattern(std::u32string_view pattern) {
  std::u32string out(pattern.size(), U'\0');
  size_t i = 0;
  while (i < pattern.size()) {
    const size_t to = pattern.size() - 1 - i;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out[to - 1] = '\\';
      out[to] = pattern[i + 1];
      i += 2;
    } else {
      out[to] = pattern[i];
      ++i;
    }
  }
  return out;
}

// ${V%p} and ${V%%p}. A leftmost-first matcher cannot find the shortest
// rightmost match directly, so, as BuildKit does, this trims a prefix of the
// reversed value with the reversed pattern. BuildKit reverses the value as
// runes, so invalid bytes come back as U+FFFD here.
std::string TrimSuffix(std::string_view value, std::u32string_view pattern, bool greedy) {
  const ShellPattern compiled(ReversePattern(pattern), greedy);
  std::u32string reversed = DecodeText(value).runes;
  std::reverse(reversed.begin(), reversed.end());
  const auto match = compiled.Find(reversed, 0, /*anchored=*/true);
  std::u32string kept = reversed.substr(match ? match->end : 0);
  std::reverse(kept.begin(), kept.end());
  return EncodeRunes(kept);
}

// Appends Go's Regexp.Expand of `tmpl` for a pattern without groups: "$$" is a
// '$', "$0" and "${0}" are the whole match, any other "$name" or "${name}" is
// empty, and a '$' not followed by a name stays as it is.
void AppendExpandedTemplate(std::string& out, std::string_view tmpl, std::string_view whole_match) {
  size_t i = 0;
  while (true) {
    const size_t dollar = tmpl.find('$', i);
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(i, dollar - i));
    i = dollar + 1;
    if (i < tmpl.size() && tmpl[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    const bool brace = i < tmpl.size() && tmpl[i] == '{';
    const size_t name_begin = i + (brace ? 1 : 0);
    size_t name_end = name_begin;
    while (name_end < tmpl.size()) {
      const DecodedRune d = DecodeRune(tmpl, name_end);
      if (!IsNameRune(d.rune)) break;
      name_end += d.width;
    }
    if (name_end == name_begin || (brace && (name_end == tmpl.size() || tmpl[name_end] != '}'))) {
      out += '$';
      continue;
    }
    if (tmpl.substr(name_begin, name_end - name_begin) == "0") out.append(whole_match);
    i = name_end + (brace ? 1 : 0);
  }
  out.append(tmpl.substr(i));
}

// ${V/p/r} (first match, r taken literally) and ${V//p/r} (Go's
// re.ReplaceAllString: r is a template, the search resumes after each match and
// at least one rune further, and an empty match right after a match is kept).
std::string Replace(std::string_view value, std::u32string_view pattern, std::string_view replacement, bool all) {
  const ShellPattern compiled(pattern, /*greedy=*/true);
  const RuneText text = DecodeText(value);
  const auto bytes = [&](size_t begin, size_t end) {
    return value.substr(text.offsets[begin], text.offsets[end] - text.offsets[begin]);
  };
  const size_t n = text.runes.size();
  if (!all) {
    const auto match = compiled.Find(text.runes, 0, /*anchored=*/false);
    if (!match) return std::string(value);
    std::string out(bytes(0, match->begin));
    out.append(replacement);
    out.append(bytes(match->end, n));
    return out;
  }
  std::string out;
  size_t last_end = 0;
  for (size_t from = 0; from <= n;) {
    const auto match = compiled.Find(text.runes, from, /*anchored=*/false);
    if (!match) break;
    out.append(bytes(last_end, match->begin));
    if (match->end > last_end || match->begin == 0) {
      AppendExpandedTemplate(out, replacement, bytes(match->begin, match->end));
    }
    last_end = match->end;
    from = std::max(match->end, from + 1);
  }
  out.append(bytes(last_end, n));
  return out;
}

// ---------------------------------------------------------------------------
// Word splitting (ProcessWords)

class WordSplitter {
 public:
  // A rune of unquoted text or of an expansion: white space ends the word.
  void AddRune(char32_t r) {
    if (IsSpace(r)) {
      EndWord();
    } else {
      AppendRune(current_, r);
    }
  }
  // An escaped rune: part of the word even if it is white space.
  void AddLiteralRune(char32_t r) { AppendRune(current_, r); }
  // The value of an expansion, split like unquoted text (invalid bytes become
  // U+FFFD, as when ranging over a Go string).
  void AddExpansion(std::string_view s) {
    for (size_t pos = 0; pos < s.size();) {
      const DecodedRune d = DecodeRune(s, pos);
      AddRune(d.rune);
      pos += d.width;
    }
  }
  // The content of a quoted string: never split.
  void AddQuoted(std::string_view s) { current_.append(s); }

  std::vector<std::string> Finish() {
    EndWord();
    return std::move(words_);
  }

 private:
  void EndWord() {
    if (current_.empty()) return;
    words_.push_back(std::move(current_));
    current_.clear();
  }

  std::vector<std::string> words_;
  std::string current_;
};

// ---------------------------------------------------------------------------
// The expander: one call's state

class Expander {
  struct DepthGuard {
    ~DepthGuard() { --depth; }
    int& depth;
  };

 public:
  Expander(const LexOptions& options, const VarMap& env, std::string_view source, ExpandResult* names)
      : options_(options),
        escape_(static_cast<unsigned char>(options.escape)),
        env_(env),
        source_(source),
        names_(names),
        input_(DecodeText(source).runes) {
    if (!input_.empty() && input_[0] == kByteOrderMark) pos_ = 1;
  }

  // Expands the whole word; words, if not null, receives the split words.
  std::string Run(WordSplitter* words) {
    try {
      return ExpandUntil(kEnd, options_.raw_escapes, words);
    } catch (const ExpandError& e) {
      throw ExpandError("failed to process " + GoQuote(source_) + ": " + e.what());
    }
  }

 private:
  char32_t Peek() const { return pos_ < input_.size() ? input_[pos_] : kEnd; }
  char32_t Next() { return pos_ < input_.size() ? input_[pos_++] : kEnd; }

  // Expands up to `stop` (consumed) or the end of the input if stop is kEnd.
  // raw_escapes holds for this text and the double-quoted strings in it.
  std::string ExpandUntil(char32_t stop, bool raw_escapes, WordSplitter* words) {
    std::string out;
    while (Peek() != kEnd) {
      char32_t r = Peek();
      if (r == stop) {
        Next();
        return out;
      }
      if (r == '$' || r == '\'' || r == '"') {
        const std::string part = r == '$'   ? ExpandDollar()
                                 : r == '"' ? ExpandDoubleQuoted(raw_escapes)
                                            : ExpandSingleQuoted();
        out += part;
        if (words != nullptr) {
          if (r == '$') {
            words->AddExpansion(part);
          } else {
            words->AddQuoted(part);
          }
        }
        continue;
      }
      r = Next();
      if (r == escape_) {
        if (raw_escapes) {
          AppendRune(out, r);
          if (words != nullptr) words->AddLiteralRune(r);
        }
        r = Next();
        if (r == kEnd) break;  // an escape token ending the word is dropped
        if (words != nullptr) words->AddLiteralRune(r);
      } else if (words != nullptr) {
        words->AddRune(r);
      }
      AppendRune(out, r);
    }
    if (stop != kEnd) {
      // Callers turn this into "missing '}'" or "missing '/'": they see the end of input.
      std::string message = "unexpected end of statement while looking for matching ";
      AppendRune(message, stop);
      throw ExpandError(message);
    }
    return out;
  }

  // Everything up to the next ' is literal; there is no way to escape a '.
  std::string ExpandSingleQuoted() {
    std::string out;
    const char32_t quote = Next();
    if (options_.raw_quotes) AppendRune(out, quote);
    while (true) {
      const char32_t r = Next();
      if (r == kEnd) throw ExpandError("unexpected end of statement while looking for matching single-quote");
      if (r == '\'') {
        if (options_.raw_quotes) AppendRune(out, r);
        return out;
      }
      AppendRune(out, r);
    }
  }

  // Expands $ forms; the escape token escapes only '"', '$' and itself and
  // stays literal before anything else.
  std::string ExpandDoubleQuoted(bool raw_escapes) {
    std::string out;
    const char32_t quote = Next();
    if (options_.raw_quotes) AppendRune(out, quote);
    while (true) {
      const char32_t peeked = Peek();
      if (peeked == kEnd) throw ExpandError("unexpected end of statement while looking for matching double-quote");
      if (peeked == '"') {
        Next();
        if (options_.raw_quotes) AppendRune(out, peeked);
        return out;
      }
      if (peeked == '$') {
        out += ExpandDollar();
        continue;
      }
      char32_t r = Next();
      if (r == escape_) {
        if (raw_escapes) AppendRune(out, r);
        const char32_t escaped = Peek();
        if (escaped == kEnd) continue;  // reported as the missing closing quote
        if (escaped == '"' || escaped == '$' || escaped == escape_) r = Next();
      }
      AppendRune(out, r);
    }
  }

  // A name is a run of digits, one special parameter (@ * # ? - $ !), or a
  // run of letters, digits and '_' starting with a letter or '_'.
  std::string ReadName() {
    std::string name;
    const char32_t first = Peek();
    if (IsDigit(first)) {
      while (IsDigit(Peek())) AppendRune(name, Next());
      return name;
    }
    if (first == '@' || first == '*' || first == '#' || first == '?' || first == '-' || first == '$' ||
        first == '!') {
      AppendRune(name, Next());
      return name;
    }
    while (IsNameRune(Peek())) AppendRune(name, Next());
    return name;
  }

  const std::string* Lookup(const std::string& name) {
    const auto it = env_.find(name);
    const bool set = it != env_.end();
    if (names_ != nullptr) (set ? names_->matched : names_->unmatched).insert(name);
    return set ? &it->second : nullptr;
  }

  // Expands the word of a ${...} modifier up to `stop`. An error met at the end
  // of the input (an unterminated nested quote or ${...} included) means the
  // closing `stop` is missing, and says so.
  std::string ExpandNested(char32_t stop, bool raw_escapes, const char* missing_message) {
    try {
      return ExpandUntil(stop, raw_escapes, nullptr);
    } catch (const ExpandError&) {
      if (Peek() == kEnd) throw ExpandError(missing_message);
      throw;
    }
  }

  std::string ExpandDollar() {
    if (depth_ >= ShellLexer::kMaxNesting) {
      throw ExpandError("${...} nested more than " + std::to_string(ShellLexer::kMaxNesting) + " levels deep");
    }
    ++depth_;
    const DepthGuard guard{depth_};
    return ExpandDollarUnguarded();
  }

  std::string ExpandDollarUnguarded() {
    Next();  // '$'
    if (Peek() != '{') {
      const std::string name = ReadName();
      if (name.empty()) return "$";
      const std::string* value = Lookup(name);
      if (value == nullptr) return options_.skip_unset_env ? "$" + name : "";
      return *value;
    }
    Next();  // '{'
    const char32_t first = Peek();
    if (first == kEnd) throw ExpandError("syntax error: missing '}'");
    if (first == '{' || first == '}' || first == ':') throw ExpandError("syntax error: bad substitution");
    const std::string name = ReadName();
    char32_t op = Next();
    if (op == kEnd) throw ExpandError("syntax error: missing '}'");
    std::string modifier;
    AppendRune(modifier, op);

    if (op == '}') {
      const std::string* value = Lookup(name);
      if (value == nullptr) return options_.skip_unset_env ? "${" + name + "}" : "";
      return *value;
    }
    if (op == '/') return ExpandReplace(name);

    const bool null_is_unset = op == ':';
    if (null_is_unset) {
      op = Next();
      // At the end of input, Go appends string(EOF), which is U+FFFD.
      AppendRune(modifier, op == kEnd ? kReplacementChar : op);
    } else if (op != '+' && op != '-' && op != '?' && op != '#' && op != '%') {
      throw ExpandError("unsupported modifier (" + modifier + ") in substitution");
    }
    const bool is_pattern = op == '#' || op == '%';
    if (null_is_unset && is_pattern) throw ExpandError("unsupported modifier (" + modifier + ") in substitution");
    std::string word = ExpandNested('}', /*raw_escapes=*/is_pattern, "syntax error: missing '}'");

    const std::string* value = Lookup(name);
    if (value == nullptr && options_.skip_unset_env) return "${" + name + modifier + word + "}";
    const bool empty = value == nullptr || (null_is_unset && value->empty());
    switch (op) {
      case '-':
        return empty ? word : *value;
      case '+':
        return empty ? "" : word;
      case '?':
        if (empty) {
          const char* reason = value == nullptr ? "is not allowed to be unset" : "is not allowed to be empty";
          throw ExpandError(name + ": " + (word.empty() ? std::string(reason) : word));
        }
        return *value;
      case '#':
      case '%': {
        // One # (%) removes the shortest match, two the longest.
        const bool greedy = !word.empty() && static_cast<char32_t>(word[0]) == op;
        if (greedy) word.erase(0, 1);
        const std::u32string pattern = DecodeText(word).runes;
        const std::string subject = value == nullptr ? std::string() : *value;
        try {
          return op == '#' ? TrimPrefix(subject, pattern, greedy) : TrimSuffix(subject, pattern, greedy);
        } catch (const ExpandError& e) {
          throw ExpandError("invalid pattern (" + word + ") in substitution: " + e.what());
        }
      }
      default:
        throw ExpandError("unsupported modifier (" + modifier + ") in substitution");
    }
  }

  // ${name/pattern/replacement} and ${name//pattern/replacement}, after "${name/".
  std::string ExpandReplace(const std::string& name) {
    const bool all = Peek() == '/';
    if (all) Next();
    const std::string pattern = ExpandNested('/', /*raw_escapes=*/true, "syntax error: missing '/' in ${}");
    const std::string replacement = ExpandNested('}', /*raw_escapes=*/true, "syntax error: missing '}'");
    const std::string* value = Lookup(name);
    if (value == nullptr && options_.skip_unset_env) {
      return "${" + name + (all ? "//" : "/") + pattern + "/" + replacement + "}";
    }
    try {
      return Replace(value == nullptr ? std::string_view() : std::string_view(*value), DecodeText(pattern).runes,
                     replacement, all);
    } catch (const ExpandError& e) {
      throw ExpandError("invalid pattern (" + pattern + ") in substitution: " + e.what());
    }
  }

  const LexOptions& options_;
  const char32_t escape_;
  const VarMap& env_;
  const std::string_view source_;
  ExpandResult* const names_;  // null unless the caller wants the names
  const std::u32string input_;
  size_t pos_ = 0;
  int depth_ = 0;  // $ expansions under way, outermost included
};

}  // namespace

ShellLexer::ShellLexer(LexOptions options) : options_(options) {
  if (options_.escape != '\\' && options_.escape != '`') {
    throw std::invalid_argument(std::string("shell lexer: the escape token must be '\\' or '`', not '") +
                                options_.escape + "'");
  }
}

std::string ShellLexer::ProcessWord(std::string_view word, const VarMap& env) const {
  return Expander(options_, env, word, nullptr).Run(nullptr);
}

std::vector<std::string> ShellLexer::ProcessWords(std::string_view word, const VarMap& env) const {
  WordSplitter words;
  Expander(options_, env, word, nullptr).Run(&words);
  return words.Finish();
}

ExpandResult ShellLexer::ProcessWordWithMatches(std::string_view word, const VarMap& env) const {
  ExpandResult result;
  result.word = Expander(options_, env, word, &result).Run(nullptr);
  return result;
}

}  // namespace bld::parser
