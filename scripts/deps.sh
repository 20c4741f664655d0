#!/usr/bin/env bash
# Installs smmu-sim's build dependencies from Debian's packages (Debian 12),
# only when something is missing: apt-get update + install on a fresh machine.
# With arguments, installs those packages instead (scripts/deps-fuzz.sh).
set -euo pipefail
default=(g++ make cmake pkg-config libsystemc-dev catch2 libboost-dev libboost-program-options-dev libboost-iostreams-dev
          libyaml-cpp-dev nlohmann-json3-dev
          parallel python3-matplotlib   # sweep --emit's test runs GNU parallel; scripts/plot.py draws with matplotlib
          pybind11-dev python3-dev)     # the smmusim._core Python module (python/CMakeLists.txt)
if [ $# -gt 0 ]; then packages=("$@"); else packages=("${default[@]}"); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
