# Workspaces: a git worktree on its own branch, plus its own containers, ports and volumes.
step "nexus template list: the shipped templates (project .nexus/templates and user templates win)"
show nexus template list

step "nexus template show node-postgres: the services, volumes and the ports it will allocate"
show nexus template show node-postgres

step "Three workspaces at once with the bare template (worktree only: no Docker needed)"
show nexus workspace create feature-auth
show nexus workspace create feature-payment
show nexus workspace create bugfix-login
show nexus workspace list

step "Switch with cd \"\$(nexus workspace path NAME)\": each workspace is on its own branch"
(cd "$(nexus workspace path feature-auth)" && printf '$ git branch --show-current\n' && git branch --show-current)

step "Recovery: a worktree deleted by hand shows up as broken, and repair restores it from its branch"
show rm -rf .nexus/worktrees/bugfix-login
show nexus workspace list
show nexus workspace repair bugfix-login
show nexus workspace status bugfix-login

demo_image="${NEXUS_DEMO_IMAGE:-nexus-test-busybox:latest}"
# The services part needs a Docker engine and a local image. No registry is needed: on a first run
# the image is built FROM scratch from a static busybox (Debian: busybox-static), as CI does.
docker_skip=""
if ! command -v docker >/dev/null 2>&1; then
  docker_skip="no docker command on PATH"
elif ! docker info >/dev/null 2>&1; then
  docker_skip="the Docker engine is not running (or you may not use it: try sudo, or the docker group)"
elif ! docker image inspect "$demo_image" >/dev/null 2>&1; then
  busybox_bin="$(readlink -f "$(command -v busybox 2>/dev/null || echo /bin/busybox)" 2>/dev/null || true)"
  if [ -x "$busybox_bin" ] && ! ldd "$busybox_bin" >/dev/null 2>&1; then
    step "First run with Docker: building the demo image $demo_image FROM scratch (static busybox, no registry)"
    image_ctx="$(mktemp -d)"
    cp "$here/../tests/image/Dockerfile" "$busybox_bin" "$image_ctx/"
    [ "$(basename "$busybox_bin")" = busybox ] || mv "$image_ctx/$(basename "$busybox_bin")" "$image_ctx/busybox"
    show docker build -q -t "$demo_image" "$image_ctx" || docker_skip="building $demo_image failed"
    rm -rf "$image_ctx"
  else
    docker_skip="no static busybox to build $demo_image from (sudo apt install busybox-static)"
  fi
fi
if [ -z "$docker_skip" ]; then
  step "With a Docker engine: a two-service workspace from a project template (local image $demo_image)"
  mkdir -p .nexus/templates
  cat > .nexus/templates/demo.yaml <<YAML
services:
  db:
    image: $demo_image
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 600"]
    volumes: ["data:/data"]
    healthcheck: {test: "test -f /tmp/ready", interval: 200ms, retries: 50}
  web:
    image: $demo_image
    command: ["httpd", "-f", "-p", "8080", "-h", "/workspace"]
    ports: ["8080"]
    depends_on: [db]
YAML
  show nexus workspace create svc-demo --template demo
  show nexus workspace ports svc-demo
  show nexus workspace exec svc-demo -- sh -c 'echo "db data lives in its own volume" > /data/note && cat /data/note'
  show nexus workspace down svc-demo
  show nexus workspace up svc-demo
  show nexus workspace delete svc-demo --yes
else
  step "Skipping the services part: $docker_skip"
  echo "On a machine with Docker: nexus workspace create api --template node-postgres"
  echo "(its own postgres volume and network, ports on 127.0.0.1 that never collide)."
fi

step "Delete a workspace (asks first unless --yes; refuses to lose uncommitted or unmerged work without --force)"
show nexus workspace delete feature-payment --yes
show nexus workspace list
