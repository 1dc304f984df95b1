"""Bash setup scripts that create a monitoring user and API token on a Proxmox node and register it.

The scripts are idempotent: a second script run on the same server keeps the
user and role, removes the token of this Pulse and creates it again, and
registers the node again, which updates the existing entry. Before changing
anything, a script asks Pulse whether its setup code is still valid, so a used
or expired script stops without touching the server. Every value put into a script is quoted with
``shlex.quote``. ``set -Eeuo pipefail`` with an ``ERR`` trap stops at the first
failing command and names it.

PVE: the token is privilege-separated, and PVE gives such a token only the
privileges that both the user and the token hold, so every ACL is granted to
both. The guest-agent privilege changed name in PVE 9 (``VM.GuestAgent.Audit``;
``VM.Monitor`` before), so the script reads the major version from
``pveversion``. PBS tokens are likewise limited to their user's privileges.

NOTE: curl in the script verifies Pulse's certificate with the system CAs, so a
Pulse served over HTTPS with a self-signed certificate cannot be reached;
generate the script with an http:// ``pulseUrl`` or a trusted certificate.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SETUP_CODE_HEADER = "X-Pulse-Setup-Code"
PVE_USER = "pulse-monitor@pve"
PBS_USER = "pulse-monitor@pbs"
PVE_ROLE = "PulseMonitor"


@dataclass(frozen=True, slots=True)
class ScriptParams:
    kind: str  # "pve" or "pbs"
    host: str  # the node's API URL as Pulse will reach it
    pulse_url: str
    setup_code: str
    token_name: str
    generated: str  # ISO 8601 time
    expires: str  # ISO 8601 time
    backup_access: bool = False


_COMMON_HEAD = r"""set -Eeuo pipefail

fail() {
    echo "ERROR: $*" >&2
    exit 1
}
on_error() {
    local status=$?
    echo "ERROR: command failed with exit status ${status} at line ${BASH_LINENO[0]}: ${BASH_COMMAND}" >&2
    echo "ERROR: setup stopped; nothing after that command ran. Fix the cause and run the script again." >&2
    exit "$status"
}
trap on_error ERR
step() {
    echo "==> $*"
}
json_value() {
    # Print the string value of key $1 from the one-line JSON object in $2.
    printf '%s' "$2" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}
json_escape() {
    local text=${1//\\/\\\\}
    printf '%s' "${text//\"/\\\"}"
}
"""

_REGISTER = r"""
check_code() {
    # Ask Pulse whether the setup code is still valid, before anything on this server changes.
    local header_file body_file status body
    header_file="$(mktemp)"
    body_file="$(mktemp)"
    printf '%s: %s\n' "$SETUP_CODE_HEADER" "$SETUP_CODE" > "$header_file"
    status="$(printf '{"type":"%s","host":"%s","checkOnly":true}' "$1" "$(json_escape "$NODE_HOST")" \
        | curl --silent --show-error --max-time 30 -X POST -H 'Content-Type: application/json' \
            -H "@$header_file" --data-binary @- -o "$body_file" -w '%{http_code}' "$PULSE_URL/api/auto-register")"
    body="$(cat "$body_file")"
    rm -f "$header_file" "$body_file"
    if [ "$status" != "200" ]; then
        fail "Pulse rejected the setup code (HTTP $status): $body. Nothing was changed on this server."
    fi
    step "Pulse at $PULSE_URL accepted the setup code"
}

register() {
    # register TYPE USERNAME TOKEN_ID TOKEN_VALUE FINGERPRINT
    local node_name payload header_file body_file status body
    node_name="$(hostname)"
    payload="$(printf '{"type":"%s","host":"%s","name":"%s","username":"%s","tokenId":"%s","tokenValue":"%s","fingerprint":"%s"}' \
        "$1" "$(json_escape "$NODE_HOST")" "$(json_escape "$node_name")" "$(json_escape "$2")" \
        "$(json_escape "$3")" "$(json_escape "$4")" "$(json_escape "$5")")"
    # The setup code goes in a header file and the token in stdin, so neither shows up in the process list.
    header_file="$(mktemp)"
    body_file="$(mktemp)"
    printf '%s: %s\n' "$SETUP_CODE_HEADER" "$SETUP_CODE" > "$header_file"
    step "Registering $node_name with Pulse at $PULSE_URL"
    status="$(printf '%s' "$payload" | curl --silent --show-error --max-time 120 -X POST \
        -H 'Content-Type: application/json' -H "@$header_file" --data-binary @- \
        -o "$body_file" -w '%{http_code}' "$PULSE_URL/api/auto-register")"
    body="$(cat "$body_file")"
    rm -f "$header_file" "$body_file"
    if [ "$status" != "200" ] && [ "$status" != "201" ]; then
        fail "Pulse rejected the registration (HTTP $status): $body"
    fi
    step "Pulse registered the node: $body"
}
"""


def _header(params: ScriptParams, product: str) -> str:
    q = shlex.quote
    return (
        "#!/usr/bin/env bash\n"
        f"# Pulse setup for {product} at {params.host}, generated {params.generated}.\n"
        "# Run it as root on that server. It creates a read-only monitoring user and an API\n"
        "# token for Pulse, then registers the server with Pulse. A new script from Pulse\n"
        "# replaces the token. The setup code below works once, until "
        f"{params.expires}.\n"
        + _COMMON_HEAD
        + "\n"
        + f"PULSE_URL={q(params.pulse_url)}\n"
        + f"SETUP_CODE_HEADER={q(SETUP_CODE_HEADER)}\n"
        + f"SETUP_CODE={q(params.setup_code)}\n"
        + f"NODE_HOST={q(params.host)}\n"
        + f"TOKEN_NAME={q(params.token_name)}\n"
    )


def pve_script(params: ScriptParams) -> str:
    """Return the setup script for a Proxmox VE node."""
    backup = "1" if params.backup_access else "0"
    return _header(params, "Proxmox VE") + f"""PULSE_USER={shlex.quote(PVE_USER)}
ROLE={shlex.quote(PVE_ROLE)}
BACKUP_ACCESS={backup}
CERT_DIR="${{PULSE_PVE_CERT_DIR:-/etc/pve/local}}"
""" + _REGISTER + r"""
[ "$(id -u)" -eq 0 ] || fail "run this script as root on the Proxmox VE node"
for tool in pveum pveversion curl; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found; run this script on a Proxmox VE node"
done
check_code pve

version_line="$(pveversion)"
major="$(printf '%s\n' "$version_line" | sed -n 's#^pve-manager/\([0-9][0-9]*\)\..*#\1#p')"
[ -n "$major" ] || fail "cannot read the Proxmox VE version from pveversion output: $version_line"
if [ "$major" -ge 9 ]; then
    agent_privilege='VM.GuestAgent.Audit'
else
    agent_privilege='VM.Monitor'
fi
step "Proxmox VE $major detected; the guest agent privilege is $agent_privilege"

users="$(pveum user list --output-format json)"
if [[ "$users" == *"\"userid\":\"$PULSE_USER\""* ]]; then
    step "User $PULSE_USER already exists"
else
    pveum user add "$PULSE_USER" --comment 'Pulse monitoring'
    step "Created user $PULSE_USER"
fi

roles="$(pveum role list --output-format json)"
if [[ "$roles" == *"\"roleid\":\"$ROLE\""* ]]; then
    pveum role modify "$ROLE" --privs "$agent_privilege"
    step "Set the privileges of role $ROLE to $agent_privilege"
else
    pveum role add "$ROLE" --privs "$agent_privilege"
    step "Created role $ROLE with $agent_privilege"
fi

full_token="$PULSE_USER!$TOKEN_NAME"
tokens="$(pveum user token list "$PULSE_USER" --output-format json)"
if [[ "$tokens" == *"\"tokenid\":\"$TOKEN_NAME\""* ]]; then
    pveum user token remove "$PULSE_USER" "$TOKEN_NAME"
    step "Removed the previous token $full_token"
fi
token_json="$(pveum user token add "$PULSE_USER" "$TOKEN_NAME" --privsep 1 --comment 'Pulse monitoring' --output-format json)"
token_value="$(json_value value "$token_json")"
[ -n "$token_value" ] || fail "pveum user token add printed no token secret"
step "Created the privilege-separated API token $full_token"

pveum acl modify / --users "$PULSE_USER" --tokens "$full_token" --roles "PVEAuditor,$ROLE"
step "Granted PVEAuditor and $ROLE on / to $PULSE_USER and its token"
if [ "$BACKUP_ACCESS" -eq 1 ]; then
    # NOTE: the privilege PVE needs to list backup files (Datastore.Allocate, or AllocateSpace with
    # VM.Backup, in pve-storage's check_volume_access) is recalled, not checked on a real server.
    pveum acl modify /storage --users "$PULSE_USER" --tokens "$full_token" --roles PVEDatastoreAdmin
    step "Granted PVEDatastoreAdmin on /storage, so Pulse can list backup files"
fi

fingerprint=''
cert="$CERT_DIR/pveproxy-ssl.pem"
[ -f "$cert" ] || cert="$CERT_DIR/pve-ssl.pem"
if [ -f "$cert" ] && command -v openssl >/dev/null 2>&1; then
    fingerprint="$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | sed 's/^[^=]*=//')"
    step "The API certificate's SHA-256 fingerprint is $fingerprint"
else
    step "No certificate found in $CERT_DIR; Pulse will pin the certificate it is shown"
fi

register pve "$PULSE_USER" "$full_token" "$token_value" "$fingerprint"
step "Done"
"""


def pbs_script(params: ScriptParams) -> str:
    """Return the setup script for a Proxmox Backup Server."""
    return _header(params, "Proxmox Backup Server") + f"""PULSE_USER={shlex.quote(PBS_USER)}
""" + _REGISTER + r"""
[ "$(id -u)" -eq 0 ] || fail "run this script as root on the Proxmox Backup Server"
for tool in proxmox-backup-manager curl; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool not found; run this script on a Proxmox Backup Server"
done
check_code pbs

users="$(proxmox-backup-manager user list --output-format json)"
if [[ "$users" == *"\"userid\":\"$PULSE_USER\""* ]]; then
    step "User $PULSE_USER already exists"
else
    proxmox-backup-manager user create "$PULSE_USER" --comment 'Pulse monitoring'
    step "Created user $PULSE_USER"
fi

full_token="$PULSE_USER!$TOKEN_NAME"
tokens="$(proxmox-backup-manager user list-tokens "$PULSE_USER" --output-format json)"
if [[ "$tokens" == *"\"tokenid\":\"$full_token\""* ]]; then
    proxmox-backup-manager user delete-token "$PULSE_USER" "$TOKEN_NAME"
    step "Removed the previous token $full_token"
fi
token_json="$(proxmox-backup-manager user generate-token "$PULSE_USER" "$TOKEN_NAME" --output-format json)"
token_value="$(json_value value "$token_json")"
[ -n "$token_value" ] || fail "proxmox-backup-manager user generate-token printed no token secret"
step "Created the API token $full_token"

proxmox-backup-manager acl update / Audit --auth-id "$PULSE_USER"
proxmox-backup-manager acl update / Audit --auth-id "$full_token"
step "Granted Audit on / to $PULSE_USER and its token"

fingerprint="$(proxmox-backup-manager cert info | sed -n 's/^Fingerprint (sha256):[[:space:]]*//p')"
if [ -n "$fingerprint" ]; then
    step "The API certificate's SHA-256 fingerprint is $fingerprint"
else
    step "proxmox-backup-manager cert info showed no fingerprint; Pulse will pin the certificate it is shown"
fi

register pbs "$PULSE_USER" "$full_token" "$token_value" "$fingerprint"
step "Done"
"""


def render(params: ScriptParams) -> str:
    return pve_script(params) if params.kind == "pve" else pbs_script(params)
