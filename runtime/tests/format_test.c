/* Number formatting (LANGUAGE.md §8): a table of f64 and f32 values with the text
 * JavaScript's Number.prototype.toString gives (for f32: at f32 precision), bit patterns
 * whose expected text was produced by JavaScript and by NumPy's shortest float32 printing,
 * a round-trip check over pseudo-random bit patterns, integers and bools, and the check
 * that print and the template builder use the same text. The values printed to stdout are
 * asserted by RuntimeTests.swift. */
#include "check.h"
#include "holo.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct f64_case {
  double value;
  const char *text;
} f64_case;

typedef struct f32_case {
  float value;
  const char *text;
} f32_case;

typedef struct f64_bits_case {
  uint64_t bits;
  const char *text;
} f64_bits_case;

typedef struct f32_bits_case {
  uint32_t bits;
  const char *text;
} f32_bits_case;

static const f64_case f64_cases[] = {
    {3.0, "3"},
    {0.1, "0.1"},
    {2.5, "2.5"},
    {-0.0, "-0"},
    {0.0, "0"},
    {1e21, "1e+21"},
    {1.5e-7, "1.5e-7"},
    {123456789012345680000.0, "123456789012345680000"},
    {100.0, "100"},
    {1e-7, "1e-7"},
    {0.000001, "0.000001"},
    {1e20, "100000000000000000000"},
    {999999999999999900000.0, "999999999999999900000"},
    {1e22, "1e+22"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
    {5e-324, "5e-324"},
    {1.5e-323, "1.5e-323"},
    {2.2250738585072014e-308, "2.2250738585072014e-308"},
    {0.30000000000000004, "0.30000000000000004"},
    {1.0 / 3.0, "0.3333333333333333"},
    {9007199254740992.0, "9007199254740992"},
    {9007199254740994.0, "9007199254740994"},
    {9007199254740991.0, "9007199254740991"},
    {9223372036854775808.0, "9223372036854776000"},
    {-1.5, "-1.5"},
    {123.456, "123.456"},
    {1e100, "1e+100"},
    {12345678.9, "12345678.9"},
    {0.000123, "0.000123"},
    {1.2345e-5, "0.000012345"},
    {4.35, "4.35"},
    {5e-7, "5e-7"},
    {-1e-7, "-1e-7"},
    {0.5, "0.5"},
    {-1.23456789e-25, "-1.23456789e-25"},
    {1000000000000000.2, "1000000000000000.2"},
    {65.0000001, "65.0000001"},
    {-4096.0, "-4096"},
};

static const f32_case f32_cases[] = {
    {0.1f, "0.1"},
    {16777217.0f, "16777216"},
    {16777218.0f, "16777218"},
    {33554435.0f, "33554436"},
    {3.4028235e38f, "3.4028235e+38"},
    {1e-45f, "1e-45"},
    {1.17549435e-38f, "1.1754944e-38"},
    {0.3f, "0.3"},
    {1.0f / 3.0f, "0.33333334"},
    {1e10f, "10000000000"},
    {1e21f, "1e+21"},
    {7e22f, "7e+22"},
    {123456.7f, "123456.7"},
    {2.5f, "2.5"},
    {3.14159274f, "3.1415927"},
    {1e-7f, "1e-7"},
    {1.5e-7f, "1.5e-7"},
    {0.000001f, "0.000001"},
    {-0.0f, "-0"},
    {-42.0f, "-42"},
};

/* Expected text from JavaScript for pseudo-random doubles. */
static const f64_bits_case f64_bits_cases[] = {
    {0xa7b82cfca1ea7000u, "-2.396742041952884e-117"},
    {0xadf130002c35f000u, "-2.160001455899252e-87"},
    {0xb50fe600bd4a9600u, "-4.1629418072721477e-53"},
    {0xcb3cc60094727680u, "-2.755948638991576e+54"},
    {0x357da480df0df000u, "4.9517295164546144e-51"},
    {0x1c80b000bb38a600u, "2.159056686584997e-171"},
    {0x47815600eb318600u, "2.8804290115153147e+36"},
    {0x6b553600d1d86600u, "1.0895749965013627e+209"},
    {0x288716806081b100u, "1.875063620845151e-113"},
    {0xf914d800c0e5d800u, "-1.8041479507937918e+275"},
    {0x6f9ed880d1a5d600u, "4.6766144112829926e+229"},
    {0x892a0600b341b600u, "-1.614130565155762e-264"},
    {0x96d8e680b0e19480u, "-1.3012154596793511e-198"},
    {0xb31cf20061dc8200u, "-1.759054279382426e-62"},
    {0x6b0e92006e372200u, "4.907349635573237e+207"},
    {0x407a3270aab7d280u, "419.1525065594251"},
    {0x494860706af4b000u, "1.0872378360158735e+45"},
    {0xcda5708089ca2e00u, "-1.1289194028173646e+66"},
    {0x9d021e0005538e00u, "-6.00071813722881e-169"},
    {0x72dcce00a9e5be00u, "1.9667982285764155e+245"},
    {0x7cf02e0033981e00u, "6.458415729178357e+293"},
    {0xe800c40003a1a400u, "-9.561521183419628e+192"},
    {0xa61fd400cdff3400u, "-4.701896174962419e-125"},
    {0x485d9400fed2f400u, "4.0259678210115403e+40"},
    {0x30b75400ac49ea00u, "5.157522131479729e-74"},
    {0x927e3a0016130a00u, "-1.3379255670163867e-219"},
    {0x1663900074068700u, "7.98651679377667e-201"},
    {0x4f4ca0003c16e000u, "1.0115200711485796e+74"},
    {0x68b25600024a8600u, "2.1416096418619324e+196"},
    {0xb5588600cb543600u, "-1.0241470423800308e-51"},
    {0x976f68004eaae800u, "-8.402895830638364e-196"},
    {0x41126870a5a1f800u, "301596.16175067425"},
    {0xac07f800a7ddf800u, "-1.4026747121221938e-96"},
    {0xaea3f80091d9f880u, "-5.139516768229456e-84"},
    {0xad25f680521d2400u, "-3.369309589785465e-91"},
    {0x5b0504003edfe400u, "2.9134698465705325e+130"},
    {0x1e65c400f835da00u, "3.0237353932089795e-162"},
    {0x84a3aa00cccdfa00u, "-2.582781385587672e-286"},
    {0x7a48ca0022c81a00u, "1.1249315846441109e+281"},
    {0x584720009bd56070u, "1.8223435185464788e+117"},
    {0x18c9b0001f29a700u, "2.8826678642591714e-189"},
    {0xc51bf600b3dd2600u, "-8.450678061234501e+24"},
    {0x37f9d600ecc53c00u, "4.745314870117323e-39"},
    {0x1866dc005b18b200u, "4.0082722990812073e-191"},
    {0x399e400094f8b600u, "3.728601466803617e-31"},
    {0x40e7e8004e176800u, "48960.009532645345"},
    {0x4992e800ba3a6800u, "2.698391753276092e+46"},
    {0xb1ede800458d6800u, "-3.4665144319076454e-68"},
    {0x3f00f47e7376badfu, "0.0000323392"},
    {0x3dbe3761f9efa165u, "2.74816e-11"},
    {0x43aa48e5845ee800u, "947008000000000000"},
    {0x4253b4efe8000000u, "338560000000"},
    {0x3b21845062316d1eu, "7.2448e-24"},
    {0x3e3733d360d0c1b6u, "5.40224e-9"},
    {0x4040ee631f8a0903u, "33.8624"},
    {0x3e953ae2cf5458a7u, "3.1635199999999995e-7"},
    {0x40abb47ae147ae14u, "3546.24"},
    {0x4129000000000000u, "819200"},
    {0x3ac91afd112a1288u, "1.6224000000000002e-25"},
    {0x412c608000000000u, "929856"},
    {0x40a9747ae147ae15u, "3258.2400000000002"},
    {0x3b600df5ff8957afu, "1.0624e-22"},
    {0x4368ba1547a30000u, "55680000000000000"},
    {0x3ce9632828c4419du, "2.81856e-15"},
    {0x41fb90e280000000u, "7399680000"},
    {0x4126550000000000u, "731776"},
    {0x418cf09800000000u, "60691200"},
    {0x3cf165c829e343fbu, "3.86304e-15"},
    {0x3d933253f221b7bcu, "4.3648e-12"},
    {0x403a1b089a027525u, "26.1056"},
    {0x41947d5000000000u, "85939200"},
    {0x4036ae7d566cf41fu, "22.6816"},
};

/* Expected text from NumPy's shortest float32 digits, laid out JavaScript-style. */
static const f32_bits_case f32_bits_cases[] = {
    {0x52e6b438u, "495433020000"},
    {0xf2a74de4u, "-6.6276046e+30"},
    {0x269e0d37u, "1.0967034e-15"},
    {0x6513270eu, "4.343177e+22"},
    {0xa6a3a450u, "-1.1354934e-15"},
    {0x0c5c7fd0u, "1.6986646e-31"},
    {0x128b2f33u, "8.783769e-28"},
    {0xd23f0824u, "-205118830000"},
    {0x892f902bu, "-2.1132646e-33"},
    {0x1818e811u, "1.9762703e-24"},
    {0x5d9dc9f8u, "1421236400000000000"},
    {0x9531985du, "-3.586506e-26"},
    {0x0ed90475u, "5.3498922e-30"},
    {0xe8e25d94u, "-8.5518483e+24"},
    {0x81e74ef5u, "-8.4969296e-38"},
    {0x36f675ccu, "0.0000073450847"},
    {0x099950d8u, "3.6909435e-33"},
    {0x1600a35au, "1.0391302e-25"},
    {0x6f03675au, "4.066748e+28"},
    {0x6b0d549bu, "1.7085808e+26"},
    {0x11e20b8fu, "3.5663636e-28"},
    {0x3d9c1724u, "0.07621601"},
    {0x1738f7d9u, "5.9766434e-25"},
    {0x8d116eceu, "-4.481495e-31"},
    {0x6cad4a26u, "1.6759546e+27"},
    {0x0f21ddb6u, "7.980613e-30"},
    {0xd3ac94afu, "-1482457700000"},
    {0x90c192cfu, "-7.635127e-29"},
    {0x1fb17c23u, "7.516778e-20"},
    {0xf28c105du, "-5.5485035e+30"},
    {0x39263059u, "0.00015849005"},
    {0xa170b338u, "-8.1552357e-19"},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static const char *f64_text(double value) {
  static char text[64];
  int length = holo_format_f64(value, text);
  CHECK(length >= 0 && length < 32 && (size_t)length == strlen(text));
  return text;
}

static const char *f32_text(float value) {
  static char text[64];
  int length = holo_format_f32(value, text);
  CHECK(length >= 0 && length < 32 && (size_t)length == strlen(text));
  return text;
}

static double f64_from_bits(uint64_t bits) {
  double value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

static float f32_from_bits(uint32_t bits) {
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

static uint64_t random_state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void) {
  random_state ^= random_state << 13;
  random_state ^= random_state >> 7;
  random_state ^= random_state << 17;
  return random_state;
}

static void check_round_trips(void) {
  for (int i = 0; i < 200000; i++) {
    double value = f64_from_bits(next_random());
    const char *text = f64_text(value);
    if (isnan(value)) {
      CHECK_TEXT(text, "NaN");
    } else if (isinf(value)) {
      CHECK_TEXT(text, value > 0 ? "inf" : "-inf");
    } else if (strtod(text, NULL) != value) {
      fprintf(stderr, "f64 %a printed as %s does not read back\n", value, text);
      check_failures++;
    }
    float single = f32_from_bits((uint32_t)next_random());
    text = f32_text(single);
    if (!isnan(single) && !isinf(single) && strtof(text, NULL) != single) {
      fprintf(stderr, "f32 %a printed as %s does not read back\n", (double)single, text);
      check_failures++;
    }
  }
}

static void check_builder_matches_format(void) {
  holo_builder *builder = holo_builder_new();
  holo_builder_append_f64(builder, 0.1);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_f32(builder, 16777217.0f);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_f64(builder, 1e21);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_f64(builder, -INFINITY);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_i64(builder, INT64_MIN);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_u64(builder, UINT64_MAX);
  holo_builder_append_bytes(builder, " ", 1);
  holo_builder_append_bool(builder, true);
  holo_builder_append_bool(builder, false);
  holo_string *text = holo_builder_finish(builder);
  CHECK_TEXT(text->bytes, "0.1 16777216 1e+21 -inf -9223372036854775808 18446744073709551615 truefalse");
  CHECK(text->length == (int64_t)strlen(text->bytes));
  holo_string_release(text);
}

static void print_line_f64(double value) {
  holo_print_f64(value);
  holo_print_newline();
}

int main(void) {
  for (size_t i = 0; i < COUNT(f64_cases); i++) {
    CHECK_TEXT(f64_text(f64_cases[i].value), f64_cases[i].text);
  }
  CHECK_TEXT(f64_text(INFINITY), "inf");
  CHECK_TEXT(f64_text(-INFINITY), "-inf");
  CHECK_TEXT(f64_text(NAN), "NaN");
  CHECK_TEXT(f64_text(-NAN), "NaN");
  for (size_t i = 0; i < COUNT(f32_cases); i++) {
    CHECK_TEXT(f32_text(f32_cases[i].value), f32_cases[i].text);
  }
  CHECK_TEXT(f32_text(INFINITY), "inf");
  CHECK_TEXT(f32_text(-INFINITY), "-inf");
  CHECK_TEXT(f32_text(NAN), "NaN");
  for (size_t i = 0; i < COUNT(f64_bits_cases); i++) {
    CHECK_TEXT(f64_text(f64_from_bits(f64_bits_cases[i].bits)), f64_bits_cases[i].text);
  }
  for (size_t i = 0; i < COUNT(f32_bits_cases); i++) {
    CHECK_TEXT(f32_text(f32_from_bits(f32_bits_cases[i].bits)), f32_bits_cases[i].text);
  }
  check_round_trips();
  check_builder_matches_format();

  print_line_f64(3.0);
  print_line_f64(0.1);
  print_line_f64(-0.0);
  print_line_f64(1.5e-7);
  print_line_f64(NAN);
  holo_print_f32(0.1f);
  holo_print_newline();
  holo_print_i64(INT64_MIN);
  holo_print_newline();
  holo_print_i64(0);
  holo_print_newline();
  holo_print_u64(UINT64_MAX);
  holo_print_newline();
  holo_print_bool(true);
  holo_print_bool(false);
  holo_print_newline();
  holo_flush();
  return check_exit_status();
}
