"""Stand-in for pveum, pveversion and proxmox-backup-manager, installed on PATH by the setup tests.

It appends every call (program name and arguments) as one JSON line to
``$STUB_LOG``, keeps users, roles and tokens in ``$STUB_STATE`` (a JSON file),
and prints what the real tools print for the calls the setup scripts make.
Creating something that exists, or removing something missing, fails as the
real tools do. ``$STUB_FAIL`` names a call ("role add") that must fail.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def load_state() -> dict:
    path = Path(os.environ["STUB_STATE"])
    if path.exists():
        return json.loads(path.read_text())
    return {"users": [], "roles": {}, "tokens": {}, "acl": []}


def save_state(state: dict) -> None:
    Path(os.environ["STUB_STATE"]).write_text(json.dumps(state))


def die(message: str, status: int = 255) -> None:
    print(message, file=sys.stderr)
    sys.exit(status)


def token_output(user: str, name: str, full_key: str) -> str:
    secret = os.environ["STUB_TOKEN_SECRET"]
    return json.dumps({full_key: f"{user}!{name}", "info": {"privsep": "1"}, "value": secret}, separators=(",", ":"))


def pveum(args: list[str], state: dict) -> None:
    if args[:2] == ["user", "list"]:
        print(json.dumps([{"userid": user, "enable": 1} for user in ["root@pam", *state["users"]]], separators=(",", ":")))
    elif args[:2] == ["user", "add"]:
        if args[2] in state["users"]:
            die(f"create user failed: user '{args[2]}' already exists")
        state["users"].append(args[2])
    elif args[:2] == ["role", "list"]:
        roles = [{"roleid": "PVEAuditor", "special": 1}] + [{"roleid": name, "privs": privs} for name, privs in state["roles"].items()]
        print(json.dumps(roles, separators=(",", ":")))
    elif args[:2] == ["role", "add"]:
        if args[2] in state["roles"]:
            die(f"role '{args[2]}' already exists")
        state["roles"][args[2]] = args[args.index("--privs") + 1]
    elif args[:2] == ["role", "modify"]:
        state["roles"][args[2]] = args[args.index("--privs") + 1]
    elif args[:3] == ["user", "token", "list"]:
        tokens = state["tokens"].get(args[3], [])
        print(json.dumps([{"tokenid": name, "privsep": 1} for name in tokens], separators=(",", ":")))
    elif args[:3] == ["user", "token", "remove"]:
        if args[4] not in state["tokens"].get(args[3], []):
            die(f"no such token '{args[4]}' for user '{args[3]}'")
        state["tokens"][args[3]].remove(args[4])
    elif args[:3] == ["user", "token", "add"]:
        if args[4] in state["tokens"].get(args[3], []):
            die("Token already exists.")
        state["tokens"].setdefault(args[3], []).append(args[4])
        print(token_output(args[3], args[4], "full-tokenid"))
    elif args[:2] == ["acl", "modify"]:
        state["acl"].append(args[2:])
    else:
        die(f"stub pveum: unexpected arguments {args}", 2)


def proxmox_backup_manager(args: list[str], state: dict) -> None:
    if args[:2] == ["user", "list"]:
        print(json.dumps([{"userid": user, "enable": True} for user in ["root@pam", *state["users"]]], separators=(",", ":")))
    elif args[:2] == ["user", "create"]:
        if args[2] in state["users"]:
            die(f"user '{args[2]}' already exists.")
        state["users"].append(args[2])
    elif args[:2] == ["user", "list-tokens"]:
        tokens = state["tokens"].get(args[2], [])
        print(json.dumps([{"tokenid": f"{args[2]}!{name}", "enable": True} for name in tokens], separators=(",", ":")))
    elif args[:2] == ["user", "delete-token"]:
        if args[3] not in state["tokens"].get(args[2], []):
            die(f"no such token '{args[2]}!{args[3]}'")
        state["tokens"][args[2]].remove(args[3])
    elif args[:2] == ["user", "generate-token"]:
        if args[3] in state["tokens"].get(args[2], []):
            die(f"token '{args[2]}!{args[3]}' already exists.")
        state["tokens"].setdefault(args[2], []).append(args[3])
        print(token_output(args[2], args[3], "tokenid"))
    elif args[:2] == ["acl", "update"]:
        state["acl"].append(args[2:])
    elif args[:2] == ["cert", "info"]:
        print("Subject: CN=pbs.example")
        print(f"Fingerprint (sha256): {os.environ.get('STUB_PBS_FINGERPRINT', '').lower()}")
    else:
        die(f"stub proxmox-backup-manager: unexpected arguments {args}", 2)


def main() -> None:
    program = os.environ.get("STUB_PROGRAM") or Path(sys.argv[0]).name
    args = sys.argv[1:]
    with open(os.environ["STUB_LOG"], "a") as log:
        log.write(json.dumps([program, *args]) + "\n")
    if os.environ.get("STUB_FAIL") and " ".join(args).startswith(os.environ["STUB_FAIL"]):
        die(f"{program}: simulated failure", 5)
    if program == "pveversion":
        major = os.environ.get("STUB_PVE_MAJOR", "9")
        print(f"pve-manager/{major}.1.2/0fcd2ba8b1e6f6c0 (running kernel: 6.14.8-2-pve)")
        return
    if program == "id":
        print(0 if args == ["-u"] else "uid=0(root) gid=0(root) groups=0(root)")
        return
    state = load_state()
    if program == "pveum":
        pveum(args, state)
    else:
        proxmox_backup_manager(args, state)
    save_state(state)


if __name__ == "__main__":
    main()
