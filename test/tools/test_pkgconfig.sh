#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A consumer of the installed library: `meson install --destdir D`, then every installed header compiles on its
# own, and examples/echo.c builds out of the tree with nothing but `pkg-config --cflags --libs upci` (shared,
# and static against libupci.a with --static), and runs its --help and --version from the installed files
# (the version is the installed upci/version.h's). Also what meson install puts in place: the .pc, the man
# pages. TAP on stdout.
# usage: test_pkgconfig.sh BUILD_ROOT SOURCE_ROOT VERSION [CC]
set -u
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) version=$3 cc=${4:-cc}
n=0 failed=0
tap() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1));
	echo "not ok $n - $2"; printf '%s\n' "$3" | sed 's/^/# /'; fi; }
dest=$(mktemp -d "$build/pkgconfig-test.XXXXXX"); trap 'rm -rf "$dest"' EXIT
log=$(meson install -C "$build" --no-rebuild --destdir "$dest" 2>&1)
tap $? "meson install --destdir" "$log"
pc=$(find "$dest" -name upci.pc | head -n 1)
[ -n "$pc" ]
tap $? "upci.pc is installed (${pc#"$dest"})" "$(find "$dest" | head -30)"
# The .pc names the install prefix; PKG_CONFIG_SYSROOT_DIR puts the destdir in front of its -I and -L.
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=/usr/lib/pkgconfig:/usr/share/pkgconfig:/usr/lib/$(gcc -dumpmachine 2>/dev/null)/pkgconfig
pkgver=$(pkg-config --modversion upci 2>&1)
[ "$pkgver" = "$version" ]
tap $? "pkg-config --modversion upci: $pkgver" "$pkgver"
cflags=$(pkg-config --cflags upci) libs=$(pkg-config --libs upci) slibs=$(pkg-config --static --libs upci)
libdir=$(pkg-config --variable=libdir upci) # pkgconf puts the sysroot in front
incdir=$(pkg-config --variable=includedir upci)
out=""
for h in "$incdir"/upci/*.h; do
	hflags=$cflags
	# upci/dpdk.h belongs to libupci_dpdk, whose .pc requires libdpdk: DPDK's own flags, outside the destdir
	[ "${h##*/}" = dpdk.h ] && hflags="$(pkg-config --cflags upci_dpdk 2>&1) $(PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags libdpdk 2>&1)"
	o=$(printf '#include <upci/%s>\nint upci_header_test;\n' "${h##*/}" |
		"$cc" -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE $hflags -x c -c -o /dev/null - 2>&1) || out+="${h##*/}: $o"$'\n'
done
[ -z "$out" ] && [ -f "$incdir/upci/port.h" ] && [ -f "$incdir/upci/version.h" ]
tap $? "every installed header compiles on its own ($(ls "$incdir/upci" | wc -l) headers, version.h among them)" "$out"

work=$dest/consumer
mkdir -p "$work"
cp "$src/examples/echo.c" "$work/"
o=$(cd "$work" && "$cc" -std=c11 -Wall -Wextra -Werror -o echo echo.c $cflags $libs 2>&1)
tap $? "cc echo.c \$(pkg-config --cflags --libs upci): builds out of the tree (shared)" "$o"
o=$(LD_LIBRARY_PATH=$libdir ldd "$work/echo" 2>&1 | grep libupci)
echo "$o" | grep -q "=> $libdir/libupci.so"
tap $? "it loads the installed libupci.so" "$o"
o=$(LD_LIBRARY_PATH=$libdir "$work/echo" --help 2>&1); rc=$?
[ "$rc" = 0 ] && echo "$o" | grep -q "^usage: echo"
tap $? "the installed echo --help: exit 0" "rc $rc: $o"
o=$(LD_LIBRARY_PATH=$libdir "$work/echo" --version 2>&1)
[ "$o" = "echo (upci) $version" ]
tap $? "the installed echo --version: $o" "$o"

if [ -f "$libdir/libupci.a" ]; then
	# -l:libupci.a: the archive even where the shared library sits beside it.
	o=$(cd "$work" && "$cc" -std=c11 -Wall -Wextra -Werror -o echo-static echo.c $cflags ${slibs//-lupci/-l:libupci.a} 2>&1)
	tap $? "cc echo.c \$(pkg-config --static ...) against the installed libupci.a" "$o"
	o=$(ldd "$work/echo-static" 2>&1)
	! echo "$o" | grep -q libupci
	tap $? "the static build needs no libupci.so" "$o"
	o=$("$work/echo-static" --version 2>&1); rc=$?
	[ "$rc" = 0 ] && [ "$o" = "echo (upci) $version" ] && "$work/echo-static" --help >/dev/null
	tap $? "the static echo --help and --version run: $o" "rc $rc: $o"
fi
for page in upci-probe upci-bind upci-bench; do
	f=$(find "$dest" -path "*/man1/$page.1" | head -n 1)
	[ -n "$f" ] && grep -q "^\.SH SYNOPSIS" "$f"
	tap $? "meson install put the man page $page.1 in place (${f#"$dest"})" "$(find "$dest" -name '*.1')"
done
echo "1..$n"
[ "$failed" = 0 ]
