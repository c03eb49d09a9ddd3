#!/usr/bin/env bash
# libdaap.so exports only daap_* symbols, exactly those in symbols.txt, and
# each of them is declared in a public header.
#   check_exports.sh LIBDAAP_SO SYMBOLS_TXT INCLUDE_DIR
set -euo pipefail
lib=$1 list=$2 inc=$3
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | sort -u)
fail=0
bad=$(echo "$exported" | grep -v '^daap_' || true)
[ -z "$bad" ] || { echo "exported symbols without the daap_ prefix:"; echo "$bad"; fail=1; }
bad=$(echo "$exported" | grep '^daap__' || true)
[ -z "$bad" ] || { echo "internal daap__ symbols exported:"; echo "$bad"; fail=1; }
listed=$(grep -v '^#' "$list" | awk 'NF {print $1}' | sort -u)
missing=$(comm -13 <(echo "$listed") <(echo "$exported"))
[ -z "$missing" ] || { echo "exported but not in symbols.txt (add them with the version):"; echo "$missing"; fail=1; }
gone=$(comm -23 <(echo "$listed") <(echo "$exported"))
[ -z "$gone" ] || { echo "in symbols.txt but no longer exported (an ABI break):"; echo "$gone"; fail=1; }
for s in $exported; do
  grep -rqw "$s" "$inc" || { echo "exported but not declared in a public header: $s"; fail=1; }
done
[ $fail = 0 ] && echo "abi: $(echo "$exported" | wc -l) daap_* symbols, all listed and declared"
exit $fail
