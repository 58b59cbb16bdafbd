#!/bin/sh
# nc_info.sh: nc_info.py with curl only. Prints `nc info`-style lines for each job id.
#
# Usage:  export NC_URL=<queue URL, e.g. https://host:port>
#         NC_PASSWORD=... ./nc_info.sh JOB_ID [JOB_ID ...]      (asks for the password when unset)
# HTTPS:  curl verifies certificates; for a self-signed server certificate set
#         CURL_CA_BUNDLE=<data folder>/tls/self-signed.crt
# All job requests go in one curl run, so they share one kept-alive connection.
set -eu

[ $# -ge 1 ] || { echo "usage: NC_URL=... $0 JOB_ID [JOB_ID ...]" >&2; exit 2; }
scheme=${NC_URL%%:*}
hostport=$(printf '%s' "$NC_URL" | cut -d/ -f3)
url="$scheme://$hostport"

if [ -z "${NC_PASSWORD:-}" ]; then
  printf 'Password:' >&2
  stty -echo 2>/dev/null || true
  read -r NC_PASSWORD
  stty echo 2>/dev/null || true
  echo >&2
fi

reply=$(curl -sS -w '\n%{http_code}' --data-urlencode "username=$USER" --data-urlencode "password=$NC_PASSWORD" \
  "$url/api/v3/token")
code=$(printf '%s\n' "$reply" | tail -n 1)
body=$(printf '%s\n' "$reply" | sed '$d')
if [ "$code" -gt 300 ]; then
  echo "$code" >&2
  echo "$body" >&2
  exit 1
fi
field() { printf '%s' "$body" | sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"; }
jwt="$(field token_type):$(field access_token)"

# One URL per field, each answered as one CSV value; all in one curl run (keep-alive).
fields="ID USER GROUP COMMAND STATUSNC HOST DURATIONPP"
urls=""
for id in "$@"; do
  for f in $fields; do urls="$urls $url/api/v3/jobs/$id/$f?format=csv-noheader"; done
done
# shellcheck disable=SC2086 # word splitting of $urls is intended
curl -sS --fail-with-body --fail-early -H "Authorization: $jwt" $urls | sed -e 's/^"\(.*\)"$/\1/' -e 's/""/"/g' |
  awk '{
    v[NR % 7] = $0
    if (NR % 7 == 0) {
      printf "%-16s%s\n", "Job", v[1]
      printf "%-16s%s,%s\n", "User,Group", v[2], v[3]
      printf "%-16s%s\n", "Command", v[4]
      printf "%-16s%s\n", "Status", v[5]
      printf "%-16s%s\n", "   Host", v[6]
      printf "%-16s%s\n\n", "   Duration", v[0]
    }
  }'
