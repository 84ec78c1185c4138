# Warning flags shared by every target: the code builds warning-free with g++-12 and clang++-14.
add_library(advpnd_warnings INTERFACE)
target_compile_options(advpnd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
if(ADVPND_WERROR)
  target_compile_options(advpnd_warnings INTERFACE -Werror)
endif()
