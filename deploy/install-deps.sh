#!/usr/bin/env bash
# Installs exactly what the build, the tests and the benchmarks need, from
# Debian 12's archive. Idempotent: packages already present are left alone.
# Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler libprotobuf-dev
  libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libspdlog-dev libsqlite3-dev libssl-dev libsimdjson-dev
  libboost1.81-dev libcurl4-openssl-dev curl openssl libgoogle-perftools-dev
  libgtest-dev libgmock-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  python3 python3-protobuf python3-yaml python3-grpcio
  chromium chromium-driver python3-selenium
  procps
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
