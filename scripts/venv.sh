# Sourced by scripts/run, scripts/test and scripts/build.
#
# `ensure_venv LOCKFILE [VENV]` makes VENV (default .venv) hold exactly what LOCKFILE pins plus
# desktopchat itself (editable). It installs only when the lock or pyproject.toml changed since
# the last install, so later launches work without a network.
#
# Why --no-deps: the lock (scripts/lock) is complete, every package pinned with its hashes, so
# pip's resolver has nothing to decide. Left on, it can still reach past the lock: pip < 23.3
# (what a new Python 3.11 venv brings) treats an extra such as pytest-cov's `coverage[toml]`
# as a requirement of its own, picks the registry's newest coverage, and refuses the install
# under --require-hashes. With --no-deps pip installs the listed files and nothing else, and
# `pip check` then proves the set is consistent. The build backend is in the lock too
# (requirements/backend.in) and desktopchat is installed without build isolation, so nothing
# unpinned is fetched at all.
ensure_venv() {
  local lock=$1 venv=${2:-.venv} python=${PYTHON:-python3} stamp wanted
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  stamp="$venv/.installed-$(basename "$lock" .txt)"
  wanted=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing the Python packages pinned in $lock"
    install_lock "$venv/bin/python" "$lock"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
      --no-build-isolation -e .
    echo "$wanted" > "$stamp"
  fi
}

# `install_lock PYTHON LOCKFILE [PIP OPTION...]` installs exactly the files LOCKFILE pins,
# checked against its hashes, whatever the pip and whatever the registry holds today.
install_lock() {
  local python=$1 lock=$2
  shift 2
  "$python" -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$lock" "$@"
  "$python" -m pip check
}

# `ensure_debian_packages NAME...` installs the Debian packages that are missing (apt-get).
ensure_debian_packages() {
  local missing=() package sudo=""
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  echo "installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
