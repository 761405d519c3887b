# deb_src.sh -- sourced by the suites that fetch a peer's Debian source package.
#
# ensure_deb_src PKG: makes `apt-get source PKG` possible. If apt knows no
# source for PKG, adds /etc/apt/sources.list.d/goheap-src.sources with the
# mirror(s), suites, components and keyring of the machine's own Debian
# sources (deb822 or one-line format), source indexes only, and runs
# apt-get update. Needs root for that; returns non-zero, with a reason on
# stderr, when it cannot. Uses $APTQ (apt-get options) and $CACHE (for the message).

ensure_deb_src() {
  local pkg=$1
  apt-cache showsrc "$pkg" 2>/dev/null | grep -q "^Package: $pkg\$" && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "need root to add a deb-src entry and run apt-get update (or populate $CACHE)" >&2
    return 1
  fi
  local f=/etc/apt/sources.list.d/goheap-src.sources
  if [ ! -e "$f" ]; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$f.tmp"
    else # one-line format: turn "deb URI SUITE COMP..." into stanzas
      awk '$1 == "deb" && $2 !~ /^\[/ { printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:", $2, $3;
             for (i = 4; i <= NF; i++) printf " %s", $i; printf "\n\n" }' /etc/apt/sources.list >"$f.tmp" 2>/dev/null
    fi
    if [ -s "$f.tmp" ]; then mv "$f.tmp" "$f"; echo "added $f" >&2; else rm -f "$f.tmp"; echo "no Debian mirror found in apt sources" >&2; return 1; fi
  fi
  apt-get $APTQ update >&2 || return 1
  apt-cache showsrc "$pkg" 2>/dev/null | grep -q "^Package: $pkg\$"
}
