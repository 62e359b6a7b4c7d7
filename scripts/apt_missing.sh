# Sourced by the install_*.sh scripts: `install_missing NAME PACKAGE...` installs the given Debian packages (the
# ones its caller found missing) or says that nothing is missing. Root only (CI runs as root); others may be
# installing at the same time, hence the lock wait.
install_missing() {
  local name=$1
  shift
  if [ $# -eq 0 ]; then
    echo "$name: everything already present"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$name: missing $*; run as root to install them" >&2
    return 1
  fi
  echo "$name: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
