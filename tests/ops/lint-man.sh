#!/bin/sh
# The man pages render without a warning: groff with every warning on
# (-ww) and man(1) itself (-l, --warnings), as `man -l` users see them.
# Usage: lint-man.sh PAGE...
set -eu
status=0
for page in "$@"; do
  warnings=$( { groff -ww -z -man "$page" 2>&1 >/dev/null; \
                LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -l "$page" 2>&1 >/dev/null; } || echo "rendering failed")
  lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
  if [ -n "$warnings" ] || [ "$lines" -lt 20 ]; then
    echo "FAIL $page ($lines lines):"; echo "$warnings"; status=1
  else
    echo "ok   $page ($lines lines)"
  fi
done
exit $status
