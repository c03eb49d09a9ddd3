#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then use the prefix the way
# consumers do:
#   - every artefact is there (headers, libdaap.so + SONAME link, libdaap.a,
#     libdaap.pc, the CMake package, daap-server, daapctl, man pages, Python);
#   - libdaap.so exports only daap_* symbols;
#   - examples/list_databases.c builds out of tree with pkg-config, and with a
#     tiny CMake project using find_package(daap) (shared and static);
#   - each build runs against a fresh SQLite store and prints an empty list;
#   - the installed Python package finds the installed libdaap by itself.
#   check_install.sh BUILD_DIR SOURCE_DIR LIBDIR PYTHON_DIR
set -euo pipefail
build=${1:?usage: check_install.sh BUILD_DIR SOURCE_DIR LIBDIR PYTHON_DIR}
src=${2:?}; libdir=${3:?}; pydir=${4:?}
unset DAAP_LIBRARY LD_LIBRARY_PATH DAAP_STORE PKG_CONFIG_PATH || true

work=$(mktemp -d /tmp/daap-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail=0
bad() { echo "FAIL: $*"; fail=1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; exit 1; }

# 1. The files.
soname=$(objdump -p "$build/libdaap/libdaap.so" | awk '$1 == "SONAME" {print $2}')
[ -n "$soname" ] || bad "the built libdaap.so has no SONAME"
for f in include/daap/daap.h include/daap/version.h include/daap/sys/storage.h \
         "$libdir/libdaap.so" "$libdir/$soname" "$libdir/libdaap.a" "$libdir/pkgconfig/libdaap.pc" \
         "$libdir/cmake/daap/daapConfig.cmake" "$libdir/cmake/daap/daapConfigVersion.cmake" \
         "$libdir/cmake/daap/daapTargets.cmake" "$pydir/daap/__init__.py" "$pydir/daap/_native.py" \
         "$pydir/daap/errors.py" "$pydir/daap/_install_paths.py"; do
  [ -e "$prefix/$f" ] || bad "not installed: $f"
done
[ -L "$prefix/$libdir/$soname" ] || bad "$soname is not a symlink to the versioned file"
[ -L "$prefix/$libdir/libdaap.so" ] || bad "libdaap.so (the dev link) is not a symlink"
installed_soname=$(objdump -p "$prefix/$libdir/libdaap.so" | awk '$1 == "SONAME" {print $2}')
[ "$installed_soname" = "$soname" ] || bad "installed SONAME '$installed_soname' != '$soname'"
for prog in server/daap-server cli/daapctl; do
  if [ -x "$build/$prog" ]; then
    [ -x "$prefix/bin/${prog#*/}" ] || bad "${prog#*/} is built but not installed"
  else
    echo "note: $build/$prog is not built; not checked"
  fi
done
for man in "$src"/docs/man/*.1; do
  [ -e "$man" ] || continue
  [ -e "$prefix/share/man/man1/$(basename "$man")" ] || bad "man page not installed: $(basename "$man")"
done

# 2. Symbol hygiene: only daap_* leaves the library.
exported=$(nm -D --defined-only "$prefix/$libdir/libdaap.so" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$exported" ] || bad "nm -D found no exported symbols"
stray=$(grep -v '^daap_' <<<"$exported" || true)
[ -z "$stray" ] || bad "exported symbols without the daap_ prefix: $(tr "\n" " " <<<"$stray")"
internal=$(grep '^daap__' <<<"$exported" || true)
[ -z "$internal" ] || bad "internal daap__ symbols exported: $(tr "\n" " " <<<"$internal")"
echo "exports: $(wc -l <<<"$exported") daap_* symbols"

# 3. Build the example out of tree, twice.
example=$src/examples/list_databases.c
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
if [ "$(pkg-config --modversion libdaap)" != "$(sed -n 's/^Version: //p' "$prefix/$libdir/pkgconfig/libdaap.pc")" ]; then
  bad "pkg-config does not see the installed libdaap.pc"
fi
# shellcheck disable=SC2046
# -Wno-missing-field-initializers: the *_INIT macros name only the version field.
cc -std=c11 -Wall -Wextra -Wno-missing-field-initializers -Werror -o "$work/ld-pkgconfig" "$example" $(pkg-config --cflags --libs libdaap) \
   -Wl,-rpath,"$(pkg-config --variable=libdir libdaap)" || bad "pkg-config build failed"
unset PKG_CONFIG_PATH
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DDAAP_EXAMPLE_SOURCE="$example" >"$work/consumer.log" 2>&1 \
  && cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 \
  || { cat "$work/consumer.log"; bad "find_package(daap) build failed"; }

# 4. Run each build on a fresh SQLite store. The first store is migrated by
# the installed daapctl when there is one (else by the example's --migrate).
n=0
for exe in "$work/ld-pkgconfig" "$work/consumer/list_databases" "$work/consumer/list_databases_static"; do
  [ -x "$exe" ] || continue
  n=$((n + 1))
  store="sqlite://$work/store-$n.db"
  migrate=--migrate
  if [ $n -eq 1 ] && [ -x "$prefix/bin/daapctl" ]; then
    "$prefix/bin/daapctl" --store "$store" migrate up >"$work/migrate.log" 2>&1 \
      || { cat "$work/migrate.log"; bad "installed daapctl migrate up failed"; }
    migrate=
  fi
  if out=$("$exe" $migrate "$store" 2>&1); then
    grep -qx '(0 databases)' <<<"$out" || bad "$(basename "$exe") did not print an empty list: $out"
  else
    bad "$(basename "$exe") failed: $out"
  fi
  if [ "$exe" != "$work/consumer/list_databases_static" ]; then
    loaded=$(ldd "$exe" | awk -v so="$soname" '$1 == so {print $3}')
    [ -n "$loaded" ] && [ "$(realpath "$loaded")" = "$(realpath "$prefix/$libdir/$soname")" ] \
      || bad "$(basename "$exe") loads '$loaded', not the installed $soname"
  fi
done
[ $n -eq 3 ] || bad "only $n of 3 out-of-tree builds exist"

# 5. Installed programs find the installed library through their RUNPATH.
if [ -x "$prefix/bin/daap-server" ]; then
  "$prefix/bin/daap-server" --version >/dev/null 2>&1 || bad "installed daap-server --version fails (RUNPATH?)"
fi

# 6. The installed Python package loads the installed libdaap by itself.
py=$(cd "$work" && PYTHONPATH="$prefix/$pydir" python3 -c '
import sys, daap, daap._native as n
c = daap.Client(store=sys.argv[1], no_kube=True, auto_migrate=True)
print(n.lib._name, len(list(c.list())))
c.close()' "sqlite://$work/py.db" 2>&1) || bad "python: $py"
case "$py" in
  "$prefix/$libdir/$soname 0") ;;
  *) bad "python did not load the installed library: $py" ;;
esac

[ $fail -eq 0 ] && echo "PASS: install layout, exports, pkg-config and find_package builds, Python package"
exit $fail
