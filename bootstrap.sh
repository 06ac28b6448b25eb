#!/usr/bin/env bash
# Set up pjstore on a fresh machine, then run the main job or the tests.
#   ./bootstrap.sh demo [CORPUS_DIR]   ingest CORPUS_DIR (default: sample photos) and show bytes read per scale
#   ./bootstrap.sh test [PYTEST_ARGS]  run ruff, mypy, then the test suite (stopping at the first that fails)
# Afterwards the command is .venv/bin/pjstore (or `source .venv/bin/activate`, then pjstore).
set -euo pipefail
cd "$(dirname "$0")"

# Install Debian packages with apt-get when we can (root, or passwordless sudo); returns non-zero if not.
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    command -v apt-get >/dev/null 2>&1 && $sudo true 2>/dev/null || return 1
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

need_jpegtran() {
    # `jpegtran -help` exits 1: take its text whatever the status, or pipefail makes this always false.
    if command -v jpegtran >/dev/null 2>&1 && { jpegtran -help 2>&1 || true; } | grep -q -- '-scans'; then
        return 0
    fi
    echo "jpegtran (libjpeg-turbo) with -scans support is missing; installing libjpeg-turbo-progs..." >&2
    apt_install libjpeg-turbo-progs || true
    if ! command -v jpegtran >/dev/null 2>&1; then
        echo "error: could not install jpegtran. Install libjpeg-turbo's jpegtran yourself" >&2
        echo "  (Debian/Ubuntu: apt-get install libjpeg-turbo-progs; macOS: brew install jpeg-turbo)" >&2
        echo "  or set PJSTORE_JPEGTRAN to its path, then run this again." >&2
        exit 1
    fi
}

# The server's browser test drives headless Chromium; only the test path needs it (demo stays light).
need_chromium() {
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
        return 0
    fi
    echo "chromium and chromium-driver (for the browser test) are missing; installing them..." >&2
    apt_install chromium chromium-driver || echo "warning: could not install chromium; the browser test will skip" >&2
}

# Install the package into .venv with `extra` ("" for the runtime, "dev" for the tests), unless a
# stamp says this pyproject.toml is already installed with it (or with dev, which holds the runtime):
# a rerun with nothing changed runs no pip at all. The install is editable, so code changes need none.
setup_python() {
    local extra="$1" hash stamp
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    hash="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    for stamp in ".venv/.pjstore-installed-${extra:-runtime}" .venv/.pjstore-installed-dev; do
        if [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
            return 0
        fi
    done
    echo "installing pjstore${extra:+[$extra]} into .venv..." >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
    echo "$hash" > ".venv/.pjstore-installed-${extra:-runtime}"
}

# The static checks, before the tests: each prints its findings, and the first to fail stops the run.
static_checks() {
    echo "ruff check ." >&2
    .venv/bin/ruff check . || { echo "error: ruff found the problems above ([*]: ruff check --fix fixes them)" >&2; exit 1; }
    echo "mypy" >&2
    .venv/bin/mypy || { echo "error: mypy found the type errors above" >&2; exit 1; }
}

cmd="${1:-demo}"
shift || true
need_jpegtran
case "$cmd" in
    demo) setup_python ""; exec .venv/bin/pjstore demo "$@" ;;
    test) setup_python dev; need_chromium; static_checks; exec .venv/bin/python -m pytest "$@" ;;
    *) echo "usage: $0 demo [CORPUS_DIR] | test [PYTEST_ARGS]" >&2; exit 2 ;;
esac
