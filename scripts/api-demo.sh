#!/usr/bin/env bash
# A curl session against the HTTP API: create a token, capture a lead through a
# website form, convert it, move the deal. Runs for real: builds a demo deployment
# (`crmkit demo`) in a temporary directory, serves it on a free loopback port,
# makes the calls, stops the server and removes the directory.
#
#   scripts/api-demo.sh            # needs crmkit (CRMKIT=/path/to/crmkit), curl, python3
#
# JSON is read with python3 -c (no jq needed).
set -euo pipefail

CRMKIT=${CRMKIT:-crmkit}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/crmkit-api-demo.XXXXXX")
SERVER_PID=""

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# json FIELD...: print a field of the JSON on stdin (nested with dots: deal.id).
json() {
    "$PYTHON" -c '
import json, sys
data = json.load(sys.stdin)
for path in sys.argv[1:]:
    value = data
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    print(value if not isinstance(value, (dict, list)) else json.dumps(value))
' "$@"
}

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

# -- a deployment with a website form --------------------------------------------------------
step "crmkit demo (a deployment with demo data; its crmkit.toml declares the contact_us form)"
"$CRMKIT" demo "$WORK/demo" >/dev/null
grep -A3 '^\[settings.forms.contact_us\]' "$WORK/demo/crmkit.toml"
export CRMKIT_CONFIG="$WORK/demo/crmkit.toml"

step "crmkit users token (the secret is shown once)"
show "crmkit users token olivia.grant@brightwindows.example --name api-demo --json"
TOKEN=$("$CRMKIT" users token olivia.grant@brightwindows.example --name api-demo --json | json secret)
echo "token: ${TOKEN:0:12}..."

PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
API="http://127.0.0.1:$PORT/api/v1"
step "crmkit serve --port $PORT (in the background)"
"$CRMKIT" serve --host 127.0.0.1 --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
    if curl -fsS "$API/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/serve.log" >&2; echo "the server did not start" >&2; exit 1; fi
    sleep 0.1
done
curl -fsS "$API/health"; echo

AUTH="Authorization: Bearer $TOKEN"
JSON="Content-Type: application/json"

# -- the session --------------------------------------------------------------------------------
step "a visitor sends the website form (no token)"
show "curl -s -X POST $API/forms/contact_us -H '$JSON' -d '{...}'"
FORM=$(curl -fsS -X POST "$API/forms/contact_us" -H "$JSON" \
    -d '{"name": "Jane Doe", "phone": "+1 415 555 0134", "email": "jane.doe@example.com",
         "message": "Five windows for a new house", "utm_campaign": "spring"}')
echo "$FORM"
LEAD=$(echo "$FORM" | json lead_id)

step "the lead it created"
show "curl -s $API/leads/$LEAD -H 'Authorization: Bearer ...'"
curl -fsS "$API/leads/$LEAD" -H "$AUTH"; echo

step "convert the lead: contact and deal at once"
show "curl -s -X POST $API/leads/$LEAD/convert -H 'Authorization: Bearer ...' -H '$JSON' -d '{...}'"
CONVERTED=$(curl -fsS -X POST "$API/leads/$LEAD/convert" -H "$AUTH" -H "$JSON" \
    -d '{"deal": {"title": "Jane Doe: 5 windows", "amount": "4200.00"}}')
echo "$CONVERTED"
DEAL=$(echo "$CONVERTED" | json deal.id)
VERSION=$(echo "$CONVERTED" | json deal.version)

step "move the deal (If-Match: its version; Idempotency-Key: safe to retry)"
show "curl -s -X POST $API/deals/$DEAL/move -H 'Authorization: Bearer ...' -H 'If-Match: \"$VERSION\"' -H 'Idempotency-Key: move-$DEAL-1' -d '{\"stage\": \"proposal_sent\"}'"
MOVED=$(curl -fsS -X POST "$API/deals/$DEAL/move" -H "$AUTH" -H "$JSON" -H "If-Match: \"$VERSION\"" \
    -H "Idempotency-Key: move-$DEAL-1" -d '{"stage": "proposal_sent"}')
echo "$MOVED"
[ "$(echo "$MOVED" | json stage)" = "proposal_sent" ]

step "the same request again: replayed, nothing moves twice"
curl -fsS -D "$WORK/headers" -o /dev/null -X POST "$API/deals/$DEAL/move" -H "$AUTH" -H "$JSON" \
    -H "If-Match: \"$VERSION\"" -H "Idempotency-Key: move-$DEAL-1" -d '{"stage": "proposal_sent"}'
grep -i '^idempotent-replayed' "$WORK/headers"

step "a stale version is refused (409)"
STATUS=$(curl -s -o "$WORK/stale" -w '%{http_code}' -X PATCH "$API/deals/$DEAL" -H "$AUTH" -H "$JSON" \
    -H "If-Match: \"$VERSION\"" -d '{"amount": "4000.00"}')
echo "$STATUS $(cat "$WORK/stale")"
[ "$STATUS" = 409 ]

step "the deal's timeline (its lead's history first)"
show "curl -s $API/timeline/deal/$DEAL -H 'Authorization: Bearer ...'"
curl -fsS "$API/timeline/deal/$DEAL" -H "$AUTH" | "$PYTHON" -c '
import json, sys
for e in json.load(sys.stdin)["items"]:
    print(e["occurred_at"][:19], e["type"], e["entity_type"], e["entity_id"], "by user", e["actor_id"])
'
step "done"
