# Telemetry you own: stats, insights, dashboard, export, sync — all local unless you sync.
step "Telemetry: every nexus command so far is one row in \$NEXUS_HOME/telemetry.db"
show nexus telemetry status

step "Add sample history for the demo: 5,000 synthetic events over 30 days"
nexus_python="$(dirname "$(command -v nexus)")/python"
[ -x "$nexus_python" ] || nexus_python=python3
show "$nexus_python" -m nexus_cli.telemetry.db.synthetic --events 5000 --days 30

step "nexus stats: invocations, success rate, sessions, median/p95 per command (interactive excluded)"
show nexus stats --week

step "nexus insights: patterns with a concrete fix each (kept in the patterns table)"
show nexus insights --errors --since 7d

step "A cron-ready Markdown report, and the crontab line that would schedule it"
show nexus insights --report --output "$NEXUS_HOME/report.md"
sed -n '1,16p' "$NEXUS_HOME/report.md"
show nexus insights schedule --cron "0 9 * * 1" --print

step "nexus dashboard: in the terminal, and as one self-contained HTML page (inline SVG)"
show nexus dashboard --days 7
show nexus dashboard --html "$NEXUS_HOME/dashboard.html"
grep -o '<svg id="[a-z-]*"' "$NEXUS_HOME/dashboard.html"

step "nexus export: JSON, NDJSON, CSV, or a SQL dump that restores into an empty database"
show nexus export --format csv --since 1d --output "$NEXUS_HOME/events.csv"
wc -l < "$NEXUS_HOME/events.csv"

step "nexus sync: send unsent events to your own collector (here a throwaway one on 127.0.0.1)"
collector_port_file="$NEXUS_HOME/collector.port"
"$nexus_python" - "$collector_port_file" <<'PY' &
# A throwaway OTLP/HTTP collector: gzip or not, protobuf (with opentelemetry-proto) or JSON.
import gzip, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
def count(body, content_type):
    if "protobuf" in content_type:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        request = ExportLogsServiceRequest.FromString(body)
        return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    data = json.loads(body)
    return sum(len(s["logRecords"]) for r in data["resourceLogs"] for s in r["scopeLogs"])
class Collector(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        n = count(body, self.headers.get("Content-Type", ""))
        print(f"collector: received {n} OTLP log records on {self.path}", flush=True)
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
server = HTTPServer(("127.0.0.1", 0), Collector)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
collector_pid=$!
for _ in $(seq 300); do [ -s "$collector_port_file" ] && break; sleep 0.1; done
show nexus sync setup "http://127.0.0.1:$(cat "$collector_port_file")" --header "Authorization=Bearer demo-secret"
show nexus sync now --batch-size 2500
show nexus sync status
kill "$collector_pid" 2>/dev/null || true
wait "$collector_pid" 2>/dev/null || true

step "nexus telemetry purge --yes: every row of every telemetry table deleted, then VACUUM"
show nexus telemetry purge --yes
show nexus telemetry status
