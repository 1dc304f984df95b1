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


def _builds_same_static_fields(record: ResourceRecord, tags: str | None, guest: Guest) -> bool:
    """Tell whether a fresh build from ``record`` would give ``guest``'s configuration and state.

    ``tags`` is the raw tag text of the record that ``guest`` was built from.
    A guest whose name PVE left empty never matches, so it is built afresh.
    """
    return (
        (record.status or "unknown") == guest.status
        and (record.node or "") == guest.node
        and record.type == guest.type
        and record.name == guest.name
        and bool(record.template) == guest.template
        and record.maxmem == guest.memory.total
        and record.maxdisk == guest.disk.total
        and record.maxcpu == guest.cpus
        and record.tags == tags
        and (record.lock or None) == guest.lock
        and (record.hastate or None) == guest.ha_state
        and (record.pool or None) == guest.pool
    )


class GuestBuilder:
    """Builds guests from typed records, updating last poll's ``Guest`` in place where that is exact.

    A ``Guest`` whose configuration and state did not change since the last
    poll keeps its object: only CPU, uptime, rates, ``last_seen`` and, for a
    running container, memory and disk usage are written into it. That skips
    about seven new objects per guest (the guest, its usage values and lists),
    which are most of the cost of building it and of the young garbage
    collection that follows.

    Reuse is limited to guests that the source's detail step leaves alone:
    containers, and VMs that are not running or are templates. A running VM
    gets a fresh object every poll, because its memory, disk and agent fields
    are replaced from detail calls after the base poll. Updating the previous
    object would show base values in between to anyone reading the last poll's
    result. The result of :meth:`build` is always equal to
    :func:`guest_from_record` on the same input.
    """

    __slots__ = ("instance", "rates", "_previous", "_current")

    def __init__(self, instance: str, rates: RateTracker) -> None:
        self.instance = instance
        self.rates = rates
        # vmid -> (raw tag text, guest) from the last finished poll, and from the
        # poll in progress. Keeping the tag text rather than the whole record
        # saves about 0.8 KiB per guest between polls.
        self._previous: dict[int, tuple[str | None, Guest]] = {}
        self._current: dict[int, tuple[str | None, Guest]] = {}

    def build(self, record: ResourceRecord, now: float) -> Guest | None:
        """Return the guest for one record, reusing last poll's object where allowed."""
        vmid = record.vmid
        entry = self._previous.get(vmid) if vmid is not None else None
        # A vmid listed twice in one response gets a fresh object the second time.
        if entry is not None and vmid not in self._current:
            tags, guest = entry
            if not guest.stale and _builds_same_static_fields(record, tags, guest):
                self._update(guest, record, now)
                self._current[vmid] = (tags, guest)  # type: ignore[index]
                return guest
        guest = guest_from_record(self.instance, record, now, self.rates)
        if guest is not None and (guest.type == "lxc" or guest.status != "running" or guest.template):
            self._current[guest.vmid] = (record.tags, guest)
        return guest

    def finish(self) -> None:
        """End a poll: the guests built in it become the ones the next poll may reuse.

        Guests not built through :meth:`build` this poll (gone, or on an
        offline node) are dropped, so a later poll builds them afresh.
        """
        self._previous = self._current
        self._current = {}

    def _update(self, guest: Guest, record: ResourceRecord, now: float) -> None:
        # Mirrors guest_from_record for a guest whose static fields already
        # match, so only the values that depend on live fields are written.
        guest.last_seen = now
        uptime = guest.uptime = record.uptime
        if guest.status != "running":
            # Not running: CPU, memory, disk and rates depend on static fields only.
            self.rates.drop(guest.id)
            return
        guest.cpu = record.cpu
        memory = guest.memory
        mem = record.mem
        if memory.used != mem:
            guest.memory = usage(memory.total, mem)
        if guest.type == "lxc":
            disk = guest.disk
            used = record.disk
            if disk.used != used:
                guest.disk = usage(disk.total, used)
        guest.net_in, guest.net_out, guest.disk_read, guest.disk_write = self.rates.guest_rates(
            guest.id, record.netin, record.netout, record.diskread, record.diskwrite, now, uptime
        )
