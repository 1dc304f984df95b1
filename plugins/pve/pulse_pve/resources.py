"""Fast decoding of ``/cluster/resources`` into typed records, and guests built from them.

``/cluster/resources`` is the one call whose size grows with the cluster, and
it runs on every poll. msgspec decodes it straight into :class:`ResourceRecord`
structs, which are cheaper to build than dicts and are not tracked by the
garbage collector. The decoder runs in msgspec's lax mode (``strict=False``),
so numeric strings (``"123"``, ``"0.5"``) and ``"1"``/``"true"`` flags decode as
the numbers and booleans that the ``as_*`` helpers in :mod:`pulse_pve.normalize`
would make of them.

Whatever the typed decoder rejects (text where a number belongs that is not
numeric, a number where text belongs, a ``null`` id, a body that is not JSON)
makes :func:`decode_resources` return None. The caller then takes the tolerant
path, plain dicts and the ``normalize`` builders, which accepts everything it
did before. For input that both paths accept, the results are equal.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pulse_core import Guest, Usage, guest_id

from pulse_pve.normalize import (
    REASON_STOPPED,
    REASON_WAITING,
    RateTracker,
    as_bool,
    as_int,
    parse_tags,
    usage,
    vm_disk_unknown,
)


class ResourceRecord(msgspec.Struct, gc=False):
    """One ``/cluster/resources`` entry: the fields Pulse reads from nodes, guests and storage.

    ``None`` stands for a missing key and for JSON ``null`` alike, because the
    builders treat both the same. ``id`` is the exception: a missing id reads
    as "" there, so a ``null`` one is rejected and left to the tolerant path.
    """

    type: str | None = None
    id: str = ""
    vmid: int | None = None
    node: str | None = None
    status: str | None = None
    name: str | None = None
    template: bool | int | None = None
    cpu: float | None = None
    maxcpu: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    netin: int | None = None
    netout: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    uptime: int | None = None
    tags: str | None = None
    lock: str | None = None
    hastate: str | None = None
    pool: str | None = None
    storage: str | None = None
    plugintype: str | None = None
    shared: bool | int | None = None
    content: str | None = None


class _Envelope(msgspec.Struct, gc=False):
    data: list[ResourceRecord]


_DECODER = msgspec.json.Decoder(_Envelope, strict=False)


def decode_resources(body: bytes) -> list[ResourceRecord] | None:
    """Decode a ``/cluster/resources`` response body; None when the typed decoder rejects it."""
    try:
        return _DECODER.decode(body).data
    except msgspec.DecodeError:
        # ValidationError derives from DecodeError, so both land here.
        return None


def record_as_dict(record: ResourceRecord) -> dict[str, Any]:
    """Return a record as the dict the tolerant builders read (unset fields left out)."""
    item: dict[str, Any] = {"id": record.id}
    for name in record.__struct_fields__:
        value = getattr(record, name)
        if value is not None:
            item[name] = value
    return item


def guest_from_record(instance: str, record: ResourceRecord, now: float, rates: RateTracker) -> Guest | None:
    """Build a guest's base metrics from a typed record.

    The rules are those of ``normalize.guest_from_resource``, without its
    coercion: the decoder already made every field its declared type.
    """
    kind = record.type
    if kind != "qemu" and kind != "lxc":
        return None
    vmid = record.vmid
    if vmid is None:
        vmid = as_int(record.id.rpartition("/")[2])
        if vmid is None:
            return None
    gid = guest_id(instance, vmid)
    status = record.status or "unknown"
    running = status == "running"
    stopped = status == "stopped"
    uptime = record.uptime
    maxmem = record.maxmem
    maxdisk = record.maxdisk
    if running:
        mem = record.mem
        cpu = record.cpu
    elif stopped:
        mem = 0
        cpu = 0.0
    else:
        mem = None
        cpu = None
    memory = usage(maxmem, mem)
    if kind == "lxc":
        # Container memory and disk come from the host's cgroup and rootfs: real usage.
        disk = usage(maxdisk, record.disk) if running else Usage(total=maxdisk, unknown_reason=REASON_STOPPED)
    else:
        # VM memory is provisional until status/current shows whether the guest reports it.
        disk = vm_disk_unknown(maxdisk, REASON_WAITING if running else REASON_STOPPED)
    name = record.name
    if not name:
        name = f"VM {vmid}" if kind == "qemu" else f"CT{vmid}"
    guest = Guest(
        id=gid,
        vmid=vmid,
        name=name,
        node=record.node or "",
        instance=instance,
        type=kind,
        status=status,
        template=as_bool(record.template),
        cpu=cpu,
        cpus=record.maxcpu,
        memory=memory,
        disk=disk,
        uptime=uptime,
        tags=parse_tags(record.tags),
        lock=record.lock or None,
        ha_state=record.hastate or None,
        pool=record.pool or None,
        last_seen=now,
    )
    if running:
        guest.net_in, guest.net_out, guest.disk_read, guest.disk_write = rates.guest_rates(
            gid, record.netin, record.netout, record.diskread, record.diskwrite, now, uptime
        )
    else:
        rates.drop(gid)
        guest.net_in = guest.net_out = guest.disk_read = guest.disk_write = 0.0 if stopped else None
    return guest
