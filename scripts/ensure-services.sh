#!/usr/bin/env bash
# Install what the test suite's real services need: Debian packages (PostgreSQL server,
# graphviz, nginx, a Java runtime, Maven, chromium + chromium-driver), the Apache Kafka broker jars and the Debezium
# PostgreSQL connector with Kafka Connect from Maven Central, cached outside the repository. Idempotent, and quick when all is present.
# Under CI=true any failure is fatal; otherwise it says what is missing and goes on
# (the tests that need the missing piece then skip with a one-line reason).
set -uo pipefail
cd "$(dirname "$0")/.."

strict=false
case "${CI:-}" in true | TRUE | True | 1 | yes) strict=true ;; esac

say() { echo "ensure-services: $*"; }
problem() {
  if $strict; then
    say "ERROR: $*" >&2
    exit 1
  fi
  say "missing: $* (continuing; tests that need it will skip)" >&2
}

# --- Debian packages --------------------------------------------------------------
have_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

wanted=()
have_initdb || wanted+=(postgresql)
have_cmd dot || wanted+=(graphviz)
have_cmd nginx || wanted+=(nginx)
have_cmd java || wanted+=(default-jre-headless)
have_cmd mvn || wanted+=(maven)
# headless Chromium + its WebDriver for the dashboard's browser tests (tests/router/ui)
have_cmd chromium || wanted+=(chromium)
have_cmd chromedriver || wanted+=(chromium-driver)

if [ ${#wanted[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    problem "Debian packages ${wanted[*]} (run as root, or install them with apt-get)"
  else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    # Keep package scripts from starting system-wide daemons (nginx on :80, a default
    # PostgreSQL cluster): the tests start private instances of their own.
    policy_made=false
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null &&
        $SUDO chmod +x /usr/sbin/policy-rc.d && policy_made=true
    fi
    say "apt-get update"
    if $SUDO apt-get update -qq >/tmp/ensure-services-apt.log 2>&1; then
      for pkg in "${wanted[@]}"; do
        say "installing Debian package $pkg"
        if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends "$pkg" >>/tmp/ensure-services-apt.log 2>&1; then
          tail -n 20 /tmp/ensure-services-apt.log >&2
          problem "Debian package $pkg (apt-get install failed; log above)"
        fi
      done
    else
      tail -n 20 /tmp/ensure-services-apt.log >&2
      problem "Debian packages ${wanted[*]} (apt-get update failed; log above)"
    fi
    $policy_made && $SUDO rm -f /usr/sbin/policy-rc.d
  fi
fi

# Kafka 4 brokers need Java 17 or newer.
if have_cmd java; then
  java_major=$(java -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  if [ -n "$java_major" ] && [ "$java_major" -lt 17 ]; then
    problem "Java >= 17 for the Kafka broker (found Java $java_major)"
  fi
fi

# --- Jars from Maven Central -----------------------------------------------------
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache_root=${STRANGLER_CACHE_DIR:-${XDG_CACHE_HOME:-$home/.cache}/strangler}

# resolve_jars WHAT POM DIR: copy POM's runtime dependencies into DIR/libs with Maven,
# unless DIR/libs was already resolved from this very POM (a marker holds its hash).
resolve_jars() {
  local what=$1 pom=$2 dir=$3 pom_hash staging
  pom_hash=$(sha256sum "$pom" | cut -c1-16)
  if [ -f "$dir/.resolved-$pom_hash" ] && [ -d "$dir/libs" ]; then
    return 0
  fi
  if ! have_cmd mvn; then
    problem "Maven (mvn), needed to fetch the $what jars"
    return 0
  fi
  say "resolving $what jars into $dir/libs"
  mkdir -p "$dir"
  staging=$(mktemp -d "$dir/libs.XXXXXX")
  if mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$staging" >"$dir/mvn.log" 2>&1; then
    rm -rf "$dir/libs" "$dir"/.resolved-*
    mv "$staging" "$dir/libs"
    touch "$dir/.resolved-$pom_hash"
    say "installed $(find "$dir/libs" -name '*.jar' | wc -l) jars for $what"
  else
    rm -rf "$staging"
    tail -n 20 "$dir/mvn.log" >&2
    problem "$what jars (mvn failed; log above)"
  fi
}

pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$2"; }

# The Apache Kafka broker (the `kafka` fixture), unless the user brings their own jars.
kafka_version=$(pom_property kafka.version scripts/kafka/pom.xml)
if [ -z "${STRANGLER_KAFKA_LIBS:-}" ]; then
  resolve_jars "Apache Kafka $kafka_version broker" scripts/kafka/pom.xml \
    "$cache_root/kafka-$kafka_version"
fi

# Kafka Connect + Debezium's PostgreSQL connector (tests/cdc/test_debezium.py and
# bench/cdc_debezium.py compare our capture and sink with real Debezium).
debezium_version=$(pom_property debezium.version scripts/debezium/pom.xml)
resolve_jars "Debezium $debezium_version connector + Kafka Connect" scripts/debezium/pom.xml \
  "$cache_root/debezium-$debezium_version"
exit 0
