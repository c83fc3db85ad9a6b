"""A DIMSE node through pynetdicom: C-ECHO, C-FIND, C-GET or C-MOVE (Study Root) and C-STORE.

C-GET brings the instances back on our own association, so no port of ours must be reachable from
the PACS; we propose the storage SOP classes of the series (asked first with an IMAGE-level C-FIND),
each with the SCP role. C-MOVE, which many PACS allow where they refuse C-GET, has the PACS open an
association to a storage SCP of ours (our calling AE title, this host, the node's `move_port`,
configured on the PACS), which listens only while a transfer runs."""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from pydicom.dataset import Dataset

from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.locks import named_lock
from workstation.core.pacs.nodes import Node
from workstation.core.pacs.query import SERIES_FIELDS, STUDY_FIELDS

_SUCCESS, _PENDING = 0x0000, (0xFF00, 0xFF01)
_DONE = object()

def _keeper(wanted: set[str], arrived: queue.Queue):
    """A C-STORE handler that queues the instances asked for and accepts (and drops) the rest."""
    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        if str(ds.SOPInstanceUID) in wanted:
            arrived.put(ds)
        return 0x0000
    return on_store


class DimseNode:
    def __init__(self, node: Node) -> None:
        self.node = node

    # ---- associations ---------------------------------------------------------------------------
    def _ae(self):
        from pynetdicom import AE

        ae = AE(ae_title=self.node.calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.node.timeout_s
        return ae

    def _associate(self, ae, what: str, **kwargs):
        assoc = ae.associate(self.node.host, self.node.port, ae_title=self.node.aet, **kwargs)
        if assoc.is_established:
            return assoc
        if assoc.is_rejected:
            raise PacsError(f"{self.node.name}: {what}: {self.node.aet} rejected our association "
                            f"(calling AE {self.node.calling_aet!r} unknown to it, or wrong called AE title)")
        raise PacsError(f"{self.node.name}: {what}: cannot reach {self.node.host}:{self.node.port} "
                        f"(no association)")

    def _find(self, identifier: Dataset, what: str) -> list[Dataset]:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        ae = self._ae()
        ae.add_requested_context(FIND)
        assoc = self._associate(ae, what)
        rows = []
        try:
            for status, answer in assoc.send_c_find(identifier, FIND):
                if not status:
                    raise PacsError(f"{self.node.name}: {what}: the association was cut off")
                if status.Status in _PENDING and answer is not None:
                    rows.append(answer)
                elif status.Status != _SUCCESS:
                    raise PacsError(f"{self.node.name}: {what}: C-FIND failed (status 0x{status.Status:04X})")
        finally:
            assoc.release()
        return rows

    # ---- the operations -------------------------------------------------------------------------
    def echo(self) -> str:
        from pynetdicom.sop_class import Verification

        ae = self._ae()
        ae.add_requested_context(Verification)
        assoc = self._associate(ae, "echo")
        try:
            status = assoc.send_c_echo()
        finally:
            assoc.release()
        if not status or status.Status != _SUCCESS:
            raise PacsError(f"{self.node.name}: C-ECHO failed")
        return f"{self.node.name}: C-ECHO to {self.node.aet}@{self.node.host}:{self.node.port} succeeded"

    def find_studies(self, keys: dict[str, str]) -> list[Dataset]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        for keyword in STUDY_FIELDS:
            setattr(ds, keyword, keys.get(keyword, ""))
        return self._find(ds, "query")

    def find_series(self, study_uid: str, modality: str = "") -> list[Dataset]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        for keyword in SERIES_FIELDS:
            setattr(ds, keyword, "")
        ds.StudyInstanceUID, ds.Modality = study_uid, modality
        return self._find(ds, "series query")

    def _instances(self, study_uid: str, series_uid: str) -> list[Dataset]:
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.SOPInstanceUID = ds.SOPClassUID = ""
        found = self._find(ds, f"series {series_uid}")
        if not found:
            raise PacsError(f"{self.node.name}: no series {series_uid} in study {study_uid} on the server")
        return found

    def list_instances(self, study_uid: str, series_uid: str) -> list[str]:
        found = self._instances(study_uid, series_uid)
        self._classes = sorted({str(d.SOPClassUID) for d in found if d.get("SOPClassUID")})
        return [str(d.SOPInstanceUID) for d in found]

    def retrieve(self, study_uid: str, series_uid: str, wanted: list[str]) -> Iterator[Dataset]:
        """The series by C-GET, or by C-MOVE when the node says so; the instances arrive on a
        pynetdicom thread and are yielded here as they come, so the caller writes each one before
        the next."""
        classes = getattr(self, "_classes", None) or sorted(
            {str(d.SOPClassUID) for d in self._instances(study_uid, series_uid)})
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "SERIES"
        identifier.StudyInstanceUID, identifier.SeriesInstanceUID = study_uid, series_uid
        if self.node.retrieve == "move":
            return self._moved(identifier, classes, set(wanted))
        return self._got(identifier, classes, set(wanted))

    def _got(self, identifier: Dataset, classes: list[str], wanted: set[str]) -> Iterator[Dataset]:
        from pynetdicom import build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET

        arrived: queue.Queue = queue.Queue()
        ae = self._ae()
        ae.add_requested_context(GET)
        for uid in classes:
            ae.add_requested_context(uid)
        roles = [build_role(uid, scp_role=True) for uid in classes]
        assoc = self._associate(ae, "retrieve", ext_neg=roles,
                                evt_handlers=[(evt.EVT_C_STORE, _keeper(wanted, arrived))])
        yield from self._stream(assoc, lambda: assoc.send_c_get(identifier, GET), arrived, "C-GET",
                                identifier.SeriesInstanceUID)

    def _moved(self, identifier: Dataset, classes: list[str], wanted: set[str]) -> Iterator[Dataset]:
        """C-MOVE to ourselves: our storage SCP listens on the node's `move_port` for the length of
        the transfer; the PACS must know our calling AE title at this host and port."""
        from pynetdicom import ALL_TRANSFER_SYNTAXES, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE

        if not self.node.move_port:
            raise PacsError(f"{self.node.name}: C-MOVE needs the port of our storage SCP (--move-port)")
        arrived: queue.Queue = queue.Queue()
        with named_lock(f"move-port:{self.node.move_port}"):
            scp = self._ae()
            for uid in classes:
                scp.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
            server = self._listen(scp, [(evt.EVT_C_STORE, _keeper(wanted, arrived))])
            try:
                ae = self._ae()
                ae.add_requested_context(MOVE)
                assoc = self._associate(ae, "retrieve")
                yield from self._stream(assoc, lambda: assoc.send_c_move(identifier, self.node.calling_aet, MOVE),
                                        arrived, "C-MOVE", identifier.SeriesInstanceUID,
                                        hint=f"; does {self.node.aet} know AE title {self.node.calling_aet} at "
                                             f"this host, port {self.node.move_port}?")
            finally:
                server.shutdown()

    def _listen(self, scp, handlers):
        """Our storage SCP on the move port. Another process's C-MOVE (a batch worker) may hold it
        for a while: wait for it up to the node's timeout, then say who is in the way."""
        import errno
        import time

        deadline = time.monotonic() + self.node.timeout_s
        while True:
            try:
                return scp.start_server(("", self.node.move_port), block=False, evt_handlers=handlers)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise PacsError(f"{self.node.name}: cannot listen on port {self.node.move_port} for "
                                    f"C-MOVE ({exc.strerror or type(exc).__name__})") from None
                time.sleep(0.2)

    def _stream(self, assoc, request, arrived: queue.Queue, what: str, series_uid: str,
                hint: str = "") -> Iterator[Dataset]:
        """Run the retrieve request on a thread and yield what the store handler queued."""
        outcome: dict = {}

        def run():
            try:
                for status, _ in request():
                    if not status:
                        outcome["error"] = "the association was cut off"
                    elif status.Status not in _PENDING and status.Status != _SUCCESS:
                        outcome["error"] = f"{what} failed (status 0x{status.Status:04X}{hint})"
            except Exception as exc:  # a dead peer shows up here as a socket or protocol error
                outcome["error"] = f"{type(exc).__name__}"
            finally:
                arrived.put(_DONE)

        worker = threading.Thread(target=run, name=what.lower(), daemon=True)
        worker.start()
        try:
            while True:
                item = arrived.get()
                if item is _DONE:
                    break
                yield item
        finally:
            if worker.is_alive():
                assoc.abort()  # the caller stopped (cancel or error): end the transfer now
                worker.join(5)
            elif assoc.is_established:
                assoc.release()
        while not arrived.empty():  # C-MOVE: stores may land on our SCP after the final answer
            item = arrived.get()
            if item is not _DONE:
                yield item
        if "error" in outcome:
            raise PacsError(f"{self.node.name}: retrieve of series {series_uid}: {outcome['error']}")

    def store(self, datasets: list[Dataset]) -> int:
        ae = self._ae()
        for uid in sorted({str(d.SOPClassUID) for d in datasets}):
            ae.add_requested_context(uid)
        assoc = self._associate(ae, "sending")
        try:
            for ds in datasets:
                status = assoc.send_c_store(ds)
                if not status or status.Status != _SUCCESS:
                    code = f"0x{status.Status:04X}" if status else "no answer"
                    raise PacsError(f"{self.node.name}: C-STORE of {ds.SOPInstanceUID} failed ({code})")
        finally:
            if assoc.is_established:
                assoc.release()
        return len(datasets)

    def close(self) -> None:
        pass
