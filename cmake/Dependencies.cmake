# Every dependency comes from a Debian bookworm package (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBPCAP REQUIRED IMPORTED_TARGET libpcap)
# The daemon's event loop (platform/event_loop.h): timers, fd and signal events only.
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core)
# The Prometheus endpoint (platform/http_server.h): evhttp, same Debian package (libevent-dev).
pkg_check_modules(LIBEVENT_EXTRA REQUIRED IMPORTED_TARGET libevent_extra)
# Routes and route events (routing/): rtnetlink through libmnl's checked attribute walker.
pkg_check_modules(LIBMNL REQUIRED IMPORTED_TARGET libmnl)
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
if(ADVPND_TESTS)
  find_package(doctest CONFIG REQUIRED)
endif()
if(ADVPND_BENCH AND NOT ADVPND_FUZZ)
  find_package(benchmark CONFIG REQUIRED)
endif()
