#!/usr/bin/env bash
# Install what the test suite's real services need: Debian packages (PostgreSQL server,
# graphviz, nginx, a Java runtime, Maven) and the Apache Kafka broker jars from Maven
# Central, cached outside the repository. Idempotent, and quick when all is present.
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

# --- Apache Kafka broker jars -----------------------------------------------------
pom=scripts/kafka/pom.xml
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
cache_root=${STRANGLER_CACHE_DIR:-${XDG_CACHE_HOME:-$home/.cache}/strangler}
kafka_home=$cache_root/kafka-$kafka_version
pom_hash=$(sha256sum "$pom" | cut -c1-16)

if [ -n "${STRANGLER_KAFKA_LIBS:-}" ]; then
  : # the user brings their own broker jars
elif [ -f "$kafka_home/.resolved-$pom_hash" ] && [ -d "$kafka_home/libs" ]; then
  : # already resolved from this very pom
elif ! have_cmd mvn; then
  problem "Maven (mvn), needed to fetch the Kafka $kafka_version broker jars"
else
  say "resolving Apache Kafka $kafka_version broker jars into $kafka_home/libs"
  mkdir -p "$kafka_home"
  staging=$(mktemp -d "$kafka_home/libs.XXXXXX")
  if mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$staging" >"$kafka_home/mvn.log" 2>&1; then
    rm -rf "$kafka_home/libs" "$kafka_home"/.resolved-*
    mv "$staging" "$kafka_home/libs"
    touch "$kafka_home/.resolved-$pom_hash"
    say "installed $(find "$kafka_home/libs" -name '*.jar' | wc -l) jars for Kafka $kafka_version"
  else
    rm -rf "$staging"
    tail -n 20 "$kafka_home/mvn.log" >&2
    problem "Kafka $kafka_version broker jars (mvn failed; log above)"
  fi
fi
exit 0
