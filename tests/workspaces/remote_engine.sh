#!/usr/bin/env bash
# A second Docker engine that is reachable only over SSH and sees a different filesystem than this machine:
# what a "remote engine" looks like, on one box. Use it to test that nothing bind-mounts a local path on a remote
# engine (a local path is empty there) and that ports, networks and images work through DOCKER_HOST=ssh://.
#
#   remote-docker-engine.sh start DIR   # prints: export DOCKER_HOST=ssh://nexus-remote-engine (and writes ssh config)
#   remote-docker-engine.sh stop DIR
#
# Needs root, openssh-server and docker.io (apt-get install -y openssh-server docker.io). The engine has no images:
# load one with  docker -H unix:///var/run/docker.sock save IMG | DOCKER_HOST=ssh://nexus-remote-engine docker load
# Inside it, /tmp and /var/run are private tmpfs mounts; its data root is /var/lib/nexus-remote-engine-PORT.
# Port 2222 on 127.0.0.1 (REMOTE_ENGINE_PORT to change). Nexus's copy (tests/workspaces): the SSH host alias is
# nexus-remote-engine-PORT, so engines of different ports (other test runs on this machine) never share one, and
# the Include line is absolute. Run it with HOME set to the user's own home (the one in passwd). Only the mount namespace differs: the network is shared, so
# ports the engine publishes are reachable here too; a test of forwarding must check that Nexus forwards them itself
# (e.g. the published port is not the one the user is given).
set -euo pipefail
cmd=${1:?start|stop}; dir=$(realpath -m "${2:?DIR}"); port=${REMOTE_ENGINE_PORT:-2222}
alias=nexus-remote-engine-$port
case "$cmd" in
start)
  mkdir -p "$dir/keys"
  [ -f "$dir/keys/key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/keys/key"
  cat > "$dir/inner.sh" <<INNER
#!/bin/bash
# Everything this needs is read before /tmp and /var/run are replaced by private, empty tmpfs mounts.
set -e
key=\$(cat "$dir/keys/key.pub")
mount --make-rprivate /
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/run
mkdir -p /var/run/sshd /var/lib/nexus-remote-engine-$port
echo "\$key" > /var/run/authorized_keys
dockerd --data-root /var/lib/nexus-remote-engine-$port --exec-root /var/run/dx --pidfile /var/run/d.pid \\
  --host unix:///var/run/docker.sock --iptables=false &
for i in \$(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
/usr/sbin/sshd -D -p $port -o ListenAddress=127.0.0.1 -o AuthorizedKeysFile=/var/run/authorized_keys \\
  -o PermitRootLogin=prohibit-password -o StrictModes=no -o PidFile=/var/run/sshd.pid &
wait
INNER
  chmod +x "$dir/inner.sh"
  setsid unshare -m --propagation private bash "$dir/inner.sh" > "$dir/inner.log" 2>&1 &
  echo $! > "$dir/pid"
  mkdir -p ~/.ssh && chmod 700 ~/.ssh; touch ~/.ssh/config
  cat > ~/.ssh/$alias.conf <<CFG
Host $alias
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $dir/keys/key
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CFG
  # an absolute Include: ssh reads the config of the user's passwd home, but expands ~ in Include from $HOME
  # (which tests point elsewhere)
  grep -qF "Include $HOME/.ssh/$alias.conf" ~/.ssh/config || sed -i "1i Include $HOME/.ssh/$alias.conf" ~/.ssh/config
  [ -s ~/.ssh/config ] || echo "Include $HOME/.ssh/$alias.conf" > ~/.ssh/config
  for i in $(seq 1 60); do DOCKER_HOST=ssh://$alias docker info >/dev/null 2>&1 && break; sleep 1; done
  DOCKER_HOST=ssh://$alias docker info >/dev/null 2>&1 || { echo "remote engine did not start; see $dir/*.log" >&2; exit 1; }
  echo "export DOCKER_HOST=ssh://$alias";;
stop)  # the namespace's processes are the session led by the recorded PID: end that session only
  if [ -f "$dir/pid" ]; then
    sid=$(cat "$dir/pid")
    for p in $(ps -eo pid=,sid= | awk -v s="$sid" '$2==s{print $1}'); do kill -TERM "$p" 2>/dev/null || true; done
    sleep 3
    for p in $(ps -eo pid=,sid= | awk -v s="$sid" '$2==s{print $1}'); do kill -KILL "$p" 2>/dev/null || true; done
    rm -f "$dir/pid"
  fi;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2;;
esac
