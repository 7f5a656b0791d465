#!/usr/bin/env sh
# Print the path of a Python >= 3.12 interpreter (ansible-core 2.21 needs it on the controller).
# Tries the usual names first, then pyenv's installed versions (a pyenv shim for a version that is
# installed but not selected fails to run, so shims are verified, not trusted).
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cand in "${PYTHON:-}" python3.12 python3.13 python3.14 python3; do
  [ -n "$cand" ] || continue
  path=$(command -v "$cand" 2>/dev/null) || continue
  if ok "$path"; then
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
for root in "${PYENV_ROOT:-$HOME/.pyenv}" /usr/local /opt/python; do
  for path in "$root"/versions/3.1[2-9]*/bin/python3 "$root"/bin/python3.1[2-9]; do
    [ -x "$path" ] && ok "$path" && { echo "$path"; exit 0; }
  done
done
echo "no Python >= 3.12 found: install python3.12 or set PYTHON=/path/to/python3.12" >&2
exit 1
