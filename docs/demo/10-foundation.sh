# Foundation: the command tree, the project folder, the health check.
step "Nexus $(nexus --version | cut -d' ' -f2): one command for everything around your code"
show nexus --help

step "nexus init: create .nexus/ in this git repository (safe to repeat)"
show nexus init
show cat .nexus/.gitignore

step "nexus doctor: git, Docker engine, NVML, state folders and database integrity"
nexus doctor || true
