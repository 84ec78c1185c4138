// advpnd: everything happens in the app library; see app/cli.h.
#include "app/cli.h"

int main(int argc, char** argv) { return advpnd::app::run_cli(argc, argv); }
