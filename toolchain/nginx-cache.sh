#!/usr/bin/env bash
# Runs nginx as a WebDAV share in the layout of Bazel's HTTP remote cache, on loopback, for
# holoc's remote-cache tests (and for trying --cache-url by hand). Everything nginx needs,
# from its configuration to its pid file, logs and temporary files, lives in DIR, so no
# root-owned folder is used and any number of instances can run side by side.
#
#   bash toolchain/nginx-cache.sh start DIR   starts nginx on a free port; prints its URL
#   bash toolchain/nginx-cache.sh stop DIR    stops the nginx started with DIR
#
# Under the URL, PUT stores a file under DIR/data and GET reads it back (404 when absent);
# everything under URL/error-500/ answers 500, for tests of a failing server. Requests are
# logged to DIR/access.log.
# nginx comes from Debian's package of that name (toolchain/setup.sh installs it).
set -euo pipefail

usage() { echo "usage: bash toolchain/nginx-cache.sh start|stop DIR" >&2; exit 64; }
fail() { echo "nginx-cache: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || usage
readonly command=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
readonly dir pid_file="$dir/nginx.pid"

find_nginx() {
  command -v nginx 2>/dev/null && return
  [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx && return
  fail "nginx is not installed (run toolchain/setup.sh, which installs Debian's nginx)"
}

write_config() {
  local port=$1 user_line=""
  # As root, nginx's workers would switch to `nobody`, who cannot write DIR.
  [[ $(id -u) -eq 0 ]] && user_line="user root root;"
  mkdir -p "$dir/data" "$dir/temp"
  cat >"$dir/nginx.conf" <<EOF
$user_line
daemon on;
worker_processes 1;
pid $pid_file;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/temp/body;
  proxy_temp_path $dir/temp/proxy;
  fastcgi_temp_path $dir/temp/fastcgi;
  uwsgi_temp_path $dir/temp/uwsgi;
  scgi_temp_path $dir/temp/scgi;
  client_max_body_size 0;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $dir/data;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw;
    }
    location /error-500/ { return 500; }
  }
}
EOF
}

close_inherited_descriptors() {
  local fd
  for fd in $(ls /proc/$BASHPID/fd); do
    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

start() {
  local nginx port attempt
  nginx=$(find_nginx)
  [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null &&
    fail "an nginx started with $dir is running already (pid $(cat "$pid_file"))"
  # nginx cannot be asked for a free port, so it tries random ones: it exits with an error,
  # before becoming a daemon, when the port is taken.
  for attempt in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    write_config "$port"
    # The daemon gets none of the caller's descriptors: one holding them would keep a caller
    # that waits for them to close (Foundation's Process does) waiting as long as nginx runs.
    if (
      close_inherited_descriptors
      exec "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    ) </dev/null &>>"$dir/start.log"; then
      echo "http://127.0.0.1:$port"
      return
    fi
    grep -q "Address already in use" "$dir/start.log" ||
      fail "nginx did not start: $(tail -n 3 "$dir/start.log")"
    : >"$dir/start.log"
  done
  fail "no free port found for nginx after $attempt attempts"
}

stop() {
  [[ -f $pid_file ]] || return 0
  local pid
  pid=$(cat "$pid_file")
  kill "$pid" 2>/dev/null || return 0
  # nginx removes its pid file as its master process ends (which, as a daemon, may stay a
  # zombie for a while where no init reaps it).
  for _ in $(seq 100); do
    [[ -f $pid_file ]] && kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
}

case $command in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
