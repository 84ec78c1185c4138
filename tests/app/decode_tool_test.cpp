// `advpnd decode` run as a process, as an operator runs it: on every
// reference capture, on the shipped sample, and on files it must refuse.
// Every output line must be valid JSON.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/app/json_reader.h"
#include "tests/app/subprocess.h"
#include "tests/support/temp_file.h"
#include "tests/support/test_data.h"

namespace advpnd::test {
namespace {

const std::string kSample = std::string(ADVPND_SOURCE_DIR) + "/deploy/samples/dmvpn-phase3.pcap";

struct Decoded {
  CommandResult result;
  std::vector<JsonValue> lines;
};

Decoded decode(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ADVPND_BIN, "decode"};
  argv.insert(argv.end(), args.begin(), args.end());
  Decoded decoded{run_command(argv), {}};
  for (const auto& line : split_lines(decoded.result.out)) {
    CAPTURE(line);
    REQUIRE_NOTHROW(decoded.lines.push_back(parse_json(line)));
  }
  return decoded;
}

// Every line of a capture that holds only good packets.
void check_all_good(const Decoded& decoded, std::size_t count) {
  CHECK(decoded.result.exit_code == 0);
  REQUIRE(decoded.lines.size() == count);
  for (std::size_t i = 0; i < count; ++i) {
    const JsonValue& line = decoded.lines[i];
    CAPTURE(i);
    CHECK_FALSE(line.has("error"));
    CHECK(line["frame"].as_int() == static_cast<std::int64_t>(i + 1));
    CHECK(line["checksum_ok"].as_bool());
    CHECK(line["roundtrip"].as_bool());
    CHECK_FALSE(line["type"].as_string().empty());
    CHECK_FALSE(line["src_nbma"].as_string().empty());
  }
}

std::vector<int> extension_types(const JsonValue& line) {
  std::vector<int> types;
  for (const auto& ext : line["extensions"].items()) types.push_back(static_cast<int>(ext["type"].as_int()));
  return types;
}

TEST_CASE("nhrp-trace.pcap: a phase 3 shortcut" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const Decoded d = decode({shared_capture("nhrp-trace.pcap")});
  check_all_good(d, 4);
  const std::int64_t types[] = {8, 1, 1, 2};
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(d.lines[i]["op_type"].as_int() == types[i]);
    CHECK(d.lines[i]["gre_key"].as_int() == 1000);
  }
  const JsonValue& indication = d.lines[0];
  CHECK(indication["nbma_src"].as_string() == "192.168.200.1");
  CHECK(indication["nbma_dst"].as_string() == "192.168.200.3");
  CHECK(indication["dst_proto"].as_string() == "10.255.255.3");
  CHECK(indication["inner_src"].as_string() == "10.255.255.3");
  CHECK(indication["inner_dst"].as_string() == "10.255.255.2");
  CHECK(extension_types(indication) == std::vector<int>{4, 5, 7, 9, 0});
  CHECK(indication["extensions"][2]["password"].as_string() == "secret");

  CHECK(d.lines[1]["request_id"].as_int() == 5);
  CHECK(d.lines[1]["flags"].as_int() == 0xC802);
  CHECK(d.lines[1]["hop_count"].as_int() == 255);
  // The hub's forwarded copy: hop count - 1 and itself in Forward Transit.
  const JsonValue& forwarded = d.lines[2];
  CHECK(forwarded["hop_count"].as_int() == 254);
  const JsonValue& transit = forwarded["extensions"][1];
  CHECK(transit["type"].as_int() == 4);
  REQUIRE(transit["cies"].size() == 1);
  CHECK(transit["cies"][0]["nbma"].as_string() == "192.168.200.1");
  CHECK(transit["cies"][0]["proto"].as_string() == "10.255.255.1");
  CHECK(transit["length"].as_int() == 20);

  const JsonValue& reply = d.lines[3];
  CHECK(reply["flags"].as_int() == 0xF802);
  REQUIRE(reply["cies"].size() == 1);
  CHECK(reply["cies"][0]["prefix_len"].as_int() == 32);
  CHECK(reply["cies"][0]["mtu"].as_int() == 1514);
  CHECK(reply["cies"][0]["holding_time"].as_int() == 7200);
  CHECK(reply["cies"][0]["nbma"].as_string() == "192.168.200.2");
  CHECK(reply["cies"][0]["proto"].as_string() == "10.255.255.2");
}

TEST_CASE("NHRP-responder-address.pcap: the responder's address differs from dst_proto" *
          ADVPND_NEEDS_SHARED_CAPTURES) {
  const Decoded d = decode({shared_capture("NHRP-responder-address.pcap")});
  check_all_good(d, 2);
  CHECK(d.lines[0]["gre_key"].as_int() == 2);
  CHECK(d.lines[0]["op_type"].as_int() == 3);
  CHECK(d.lines[0]["request_id"].as_int() == 300);
  const JsonValue& reply = d.lines[1];
  CHECK(reply["op_type"].as_int() == 4);
  CHECK(reply["dst_proto"].as_string() == "155.1.0.6");
  CHECK(reply["extensions"][0]["cies"][0]["proto"].as_string() == "155.1.146.6");
  CHECK(reply["extensions"][3]["password"].as_string() == "NHRPAUTH");
  CHECK(reply["extensions"][4]["cies"][0]["nbma"].as_string() == "6.6.6.6");
}

TEST_CASE("ios_nhrp.pcap: odd length, no key" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const Decoded d = decode({shared_capture("ios_nhrp.pcap")});
  check_all_good(d, 1);
  const JsonValue& line = d.lines[0];
  CHECK_FALSE(line.has("gre_key"));
  CHECK(line["length"].as_int() == 81);
  CHECK(line["flags"].as_int() == 0x8000);
  CHECK(line["cies"][0]["prefix_len"].as_int() == 255);
  CHECK(extension_types(line) == std::vector<int>{3, 4, 5, 7, 0});
  CHECK(line["extensions"][3]["password"].as_string() == "CISCO");
}

TEST_CASE("pb_nhrp_1.pcap: refused with the field named, exit status 1" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const Decoded d = decode({shared_capture("pb_nhrp_1.pcap")});
  CHECK(d.result.exit_code == 1);
  REQUIRE(d.lines.size() == 1);
  const JsonValue& line = d.lines[0];
  CHECK(line["frame"].as_int() == 1);
  CHECK_FALSE(line["error"].as_string().empty());
  CHECK_FALSE(line["field"].as_string().empty());
  CHECK(line["offset"].as_int() >= 0);
  CHECK(line["encap"].as_string() == "ip");
  CHECK(d.result.err.find("1 not decoded") != std::string::npos);
}

TEST_CASE("the shipped sample: every packet type, byte-exact") {
  const Decoded d = decode({kSample});
  check_all_good(d, 12);
  const std::int64_t types[] = {3, 4, 3, 4, 8, 1, 1, 2, 5, 6, 1, 7};
  for (std::size_t i = 0; i < 12; ++i) {
    CAPTURE(i);
    CHECK(d.lines[i]["op_type"].as_int() == types[i]);
    CHECK(d.lines[i]["gre_key"].as_int() == 100);
  }
  CHECK(d.lines[4]["inner_src"].as_string() == "192.168.1.10");
  CHECK(d.lines[4]["inner_dst"].as_string() == "192.168.2.20");
  CHECK(d.lines[6]["hop_count"].as_int() == 254);
  CHECK(d.lines[7]["cies"][0]["prefix_len"].as_int() == 24);
  CHECK(d.lines[7]["nbma_src"].as_string() == "198.51.100.3");  // the reply goes straight to spoke1
  CHECK(d.lines[7]["nbma_dst"].as_string() == "198.51.100.2");
  CHECK(d.lines[11]["error_code"].as_int() == 6);
  CHECK(d.lines[11]["offending"]["request_id"].as_int() == 3);
}

TEST_CASE("--write-raw writes each packet's bytes" * ADVPND_NEEDS_SHARED_CAPTURES) {
  const TempFile dir("");
  const Decoded d = decode({"--write-raw", dir.path(), shared_capture("nhrp-trace.pcap")});
  CHECK(d.result.exit_code == 0);
  const auto first = read_file(dir.path() + "/nhrp-trace-frame1.bin");
  REQUIRE(first.size() == 98);
  CHECK(to_hex(std::vector<std::byte>(first.begin(), first.begin() + 4)) == "00 01 08 00");
  CHECK(std::filesystem::exists(dir.path() + "/nhrp-trace-frame4.bin"));
}

TEST_CASE("'-' reads the capture from standard input") {
  const CommandResult piped = run_command({"/bin/sh", "-c", "\"$0\" decode - < \"$1\"", ADVPND_BIN, kSample});
  CHECK(piped.exit_code == 0);
  CHECK(split_lines(piped.out).size() == 12);
}

TEST_CASE("files that cannot be read: exit status 2 and the file named on stderr") {
  const std::string missing = "/nonexistent/advpnd/capture.pcap";
  const Decoded d = decode({missing});
  CHECK(d.result.exit_code == 2);
  CHECK(d.lines.empty());
  CHECK(d.result.err.find(missing) != std::string::npos);

  const TempFile garbage(".pcap");
  write_file(garbage.path(), hex("de ad be ef 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 01 02 03 04 05"));
  const Decoded g = decode({garbage.path()});
  CHECK(g.result.exit_code == 2);
  CHECK(g.result.err.find(garbage.path()) != std::string::npos);
}

TEST_CASE("--help says what the tool is for") {
  const CommandResult top = run_command({ADVPND_BIN, "--help"});
  CHECK(top.exit_code == 0);
  CHECK(top.out.find("DMVPN") != std::string::npos);
  CHECK(top.out.find("decode") != std::string::npos);

  const CommandResult help = run_command({ADVPND_BIN, "decode", "--help"});
  CHECK(help.exit_code == 0);
  for (const char* phrase : {"interop", "Cisco", "FRR", "checksum", "byte for byte", "pcapng", "Exit status"}) {
    CAPTURE(phrase);
    CHECK(help.out.find(phrase) != std::string::npos);
  }

  CHECK(run_command({ADVPND_BIN}).exit_code != 0);            // a command is required
  CHECK(run_command({ADVPND_BIN, "decode"}).exit_code != 0);  // FILE is required
  CHECK(run_command({ADVPND_BIN, "--version"}).exit_code == 0);
}

}  // namespace
}  // namespace advpnd::test
