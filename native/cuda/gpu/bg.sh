#!/usr/bin/env bash
# Runs a long step in the background across transfers: on the lent GPU machine a command's processes are
# ended when the command returns, except those in a new session, which run on while the machine stays
# warm. So one call can start the kNN proof here and return, the next calls carry the encoder's parts
# while it runs, and the last call waits for it and collects its output.
#
#   bash bg.sh start NAME LIMIT_S COMMAND [ARG...]   start COMMAND under `timeout LIMIT_S` in a new session
#   bash bg.sh status NAME                           running or finished (with its exit status), last log line
#   bash bg.sh wait NAME MAX_S                       wait until it has finished, at most MAX_S seconds
#
# State lives in ${LATENT_BG_DIR:-/tmp/latent-bg}/NAME/: log (stdout and stderr), pid, started, rc (written when
# it ends: COMMAND's exit status, 124 when LIMIT_S ran out). `wait` exits with that status, or with 125 when
# the job is still running after MAX_S (it is left running), or 126 when there is no such job.
set -uo pipefail
base="${LATENT_BG_DIR:-/tmp/latent-bg}"
usage() { sed -n '7,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 64; }
[ $# -ge 2 ] || usage
verb="$1" name="$2"
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "bg: NAME must be letters, digits, '.', '_' or '-'" >&2; exit 64; }
d="$base/$name"

case "$verb" in
  start)
    [ $# -ge 4 ] || usage
    limit="$3"
    shift 3
    [[ "$limit" =~ ^[0-9]+$ ]] || { echo "bg: LIMIT_S must be a whole number of seconds" >&2; exit 64; }
    if [ -f "$d/pid" ] && [ ! -f "$d/rc" ] && kill -0 "$(cat "$d/pid")" 2> /dev/null; then
      echo "bg: $name is already running (pid $(cat "$d/pid"))" >&2
      exit 1
    fi
    mkdir -p "$d" || exit 1
    rm -f "$d/rc" "$d/pid" "$d/log" "$d/started"
    date -u +%s > "$d/started"
    # The new session's shell records its own pid, runs the command under the limit, then writes rc.
    setsid bash -c 'echo $$ > "$0/pid"; timeout --kill-after=10 "$1" "${@:2}"; echo $? > "$0/rc.tmp"; mv "$0/rc.tmp" "$0/rc"' \
      "$d" "$limit" "$@" > "$d/log" 2>&1 < /dev/null &
    for _ in $(seq 1 50); do [ -s "$d/pid" ] && break; sleep 0.1; done
    echo "bg: $name started (pid $(cat "$d/pid" 2> /dev/null || echo '?'), limit $limit s, log $d/log)"
    ;;
  status|wait)
    [ -f "$d/started" ] || { echo "bg: no job $name in $base"; exit 126; }
    if [ "$verb" = wait ]; then
      [ $# -eq 3 ] && [[ "$3" =~ ^[0-9]+$ ]] || usage
      t0=$SECONDS
      while [ ! -f "$d/rc" ] && [ $((SECONDS - t0)) -lt "$3" ]; do sleep 0.2; done
    fi
    ran=$(( $(date -u +%s) - $(cat "$d/started") ))
    last="$(tail -n 1 "$d/log" 2> /dev/null | cut -c1-200)"
    if [ -f "$d/rc" ]; then
      rc="$(cat "$d/rc")"
      echo "bg: $name finished with exit status $rc${last:+; last line: $last}"
      [ "$verb" = wait ] && exit "$rc"
    else
      echo "bg: $name still running after $ran s${last:+; last line: $last}"
      [ "$verb" = wait ] && exit 125
    fi
    exit 0
    ;;
  *) usage ;;
esac
