#!/bin/sh
# Container entry point: defaults for a container, then hand over to pulse.
set -eu

: "${PULSE_DATA_DIR:=/data}"
: "${PULSE_BIND:=0.0.0.0}"
: "${PULSE_DOCKER:=true}"
export PULSE_DATA_DIR PULSE_BIND PULSE_DOCKER

if [ ! -d "$PULSE_DATA_DIR" ] || [ ! -w "$PULSE_DATA_DIR" ]; then
    echo "pulse: data directory $PULSE_DATA_DIR is missing or not writable by uid $(id -u);" \
         "mount a volume there owned by that user (e.g. chown 1000:1000 on the host)" >&2
    exit 1
fi

if [ "$#" -eq 0 ]; then
    set -- run
fi
case "$1" in
    -*) set -- run "$@" ;;
esac

config="$PULSE_DATA_DIR/pulse.yaml"
if [ "$1" = "run" ] && [ -z "${PULSE_CONFIG:-}" ] && [ -f "$config" ]; then
    export PULSE_CONFIG="$config"
fi

exec "${PULSE_BIN:-pulse}" "$@"
