# Warning flags shared by every target: the code builds warning-free with g++-12 and clang++-14.
add_library(advpnd_warnings INTERFACE)
target_compile_options(advpnd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
# -Werror only with ADVPND_WERROR: on in CMakePresets.json (the project and CI),
# off by default so that a plain or packaging build survives a new compiler.
if(ADVPND_WERROR)
  target_compile_options(advpnd_warnings INTERFACE -Werror)
endif()
