#!/bin/sh
# Runs one stack server and makes it die with the process that started it, even after a kill -9 of that process.
# Usage: watchdog.sh <pid of the starter> <command> [args…]. SIGTERM and SIGINT are passed on to the server; the
# exit status is the server's.
starter=$1
shift
"$@" </dev/null &
server=$!
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
# The starter gone: SIGTERM the server, SIGKILL it if it has not stopped 15 s later.
(
  while kill -0 "$starter" 2>/dev/null; do sleep 1; done
  kill -TERM "$server" 2>/dev/null
  sleep 15
  kill -KILL "$server" 2>/dev/null
) &
watcher=$!
wait "$server"
code=$?
# A trapped signal interrupts `wait`; wait again until the server has really exited.
while kill -0 "$server" 2>/dev/null; do
  wait "$server"
  code=$?
done
kill "$watcher" 2>/dev/null
exit "$code"
