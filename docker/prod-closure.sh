#!/bin/sh
# Copies a workspace's production closure out of the installed monorepo in the current directory:
#   docker/prod-closure.sh <workspace name> <out dir>
# npm says what the closure is (`npm ls --omit=dev`: the workspace's dependencies, not its
# devDependencies, through every level, wherever npm put them, e.g. cli/node_modules/chalk); this
# copies each package to the same path under <out>, without its node_modules (its nested packages
# that belong to the closure are listed, and copied, on their own). A workspace package (a link in
# node_modules) comes with its link and only its package.json and dist: no sources, no dangling link.
set -eu
workspace="$1"
out="$2"
root="$(pwd)"
list="$(mktemp)"
# Not a pipe: npm ls fails on a tree that does not match the lockfile, and that must stop the build.
npm ls --all --parseable --omit=dev --workspace "$workspace" >"$list.npm"
grep -vx "$root" "$list.npm" | sort -u >"$list"
while IFS= read -r dir; do
  rel="${dir#"$root"/}"
  mkdir -p "$out/$(dirname "$rel")"
  if [ -L "$dir" ]; then
    cp -P "$dir" "$out/$rel"
    target="$(realpath --relative-to="$root" "$dir")"
    mkdir -p "$out/$target"
    cp "$target/package.json" "$out/$target/"
    cp -R "$target/dist" "$out/$target/"
  else
    mkdir -p "$out/$rel"
    tar -C "$dir" --anchored --exclude=./node_modules -cf - . | tar -C "$out/$rel" -xf -
  fi
done <"$list"
echo "$workspace: $(wc -l <"$list") packages, $(du -sh "$out" | cut -f1)"
rm "$list" "$list.npm"
