# Sourced by scripts/run, scripts/test and scripts/build: `ensure_venv LOCKFILE` makes .venv
# hold exactly what LOCKFILE pins (pip --require-hashes) plus desktopchat itself (editable).
# It installs only when the lock or pyproject.toml changed since the last install, so later
# launches work without a network.
ensure_venv() {
  local lock=$1 python=${PYTHON:-python3} stamp wanted
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  stamp=".venv/.installed-$(basename "$lock" .txt)"
  wanted=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing the Python packages pinned in $lock"
    .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$lock"
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$wanted" > "$stamp"
  fi
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
