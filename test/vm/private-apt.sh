# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the test-bed scripts (bash): a private apt configuration under the cache, for `apt-get download`
# and `apt-cache` only. It never touches the machine's own apt sources, lists or dpkg database: foreign
# architectures (arm64) and extra suites (bookworm-backports) are added here and nowhere else.
#
#   private_apt_init NAME ARCH [SUITE...] sets the array private_apt_opts; refreshes the lists when older than a
#                                         day. No SUITE: the machine's own suites (bookworm, -updates, -security)
#   private_apt_download DIR PKG...       downloads PKG... into DIR (kept: a cache), prints nothing
#
# The mirrors are the machine's own (its deb822 or one-line sources), so the same reachable Debian mirror
# serves every architecture. Needs: cache (directory), say and fail (functions) from the caller.

# The machine's Debian mirrors as "URI SUITE" lines, one per suite its deb sources list.
private_apt_machine_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'function flush() { if (uris != "" && types ~ /(^| )deb( |$)/)
				{ n = split(uris, u, " "); m = split(suites, s, " ");
				  for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
				uris = suites = types = "" }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i, $(i + 1); next } }' "$f"
	done
}

private_apt_init() {
	local name=$1 arch=$2; shift 2
	local dir=$cache/apt/$name suite uri want debian_uri= security_uri= machine_suites=()
	local key=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc/parts" "$dir/etc/prefs"
	: > "$dir/status"
	while read -r uri suite; do
		machine_suites+=("$suite")
		case "$suite" in *-security) security_uri=$uri ;; *) [ -n "$debian_uri" ] || debian_uri=$uri ;; esac
	done < <(private_apt_machine_sources)
	[ -n "$debian_uri" ] || fail "cannot find a Debian mirror in /etc/apt/sources*"
	[ $# -gt 0 ] || set -- "${machine_suites[@]}"
	{
		for want in "$@"; do
			uri=$debian_uri
			case "$want" in *-security) uri=${security_uri:-${debian_uri%/debian}/debian-security} ;; esac
			echo "deb [arch=$arch signed-by=$key] $uri $want main"
		done
	} > "$dir/etc/sources.list.new"
	private_apt_opts=(-o "Dir::Etc::SourceList=$dir/etc/sources.list" -o "Dir::Etc::SourceParts=$dir/etc/parts"
		-o "Dir::Etc::PreferencesParts=$dir/etc/prefs" -o "Dir::State::Lists=$dir/lists"
		-o "Dir::State::status=$dir/status" -o "Dir::Cache::Archives=$dir/archives"
		-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Architecture=$arch"
		-o "APT::Architectures::=$arch" -o "APT::Sandbox::User=root")
	if ! cmp -s "$dir/etc/sources.list.new" "$dir/etc/sources.list" ||
		[ -z "$(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
		mv "$dir/etc/sources.list.new" "$dir/etc/sources.list"
		say "updating the private apt lists '$name' ($arch: $*) in $dir"
		apt-get -q "${private_apt_opts[@]}" update >&2 || fail "apt-get update of the private apt lists '$name' failed"
	fi
	rm -f "$dir/etc/sources.list.new"
}

private_apt_download() {
	local dest=$1; shift
	mkdir -p "$dest"
	(cd "$dest" && apt-get -q "${private_apt_opts[@]}" download "$@" >&2) || fail "apt-get download $* failed"
}
