"""A DICOMweb node through dicomweb-client: QIDO-RS to find, WADO-RS to fetch, STOW-RS to send."""
from __future__ import annotations

from collections.abc import Iterator

import requests
from pydicom.dataset import Dataset

from workstation.core.pacs.errors import PacsError
from workstation.core.pacs.nodes import Node
from workstation.core.pacs.query import SERIES_FIELDS, STUDY_FIELDS


def _explain(node: Node, exc: Exception, what: str) -> PacsError:
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        if code in (401, 403):
            return PacsError(f"{node.name}: {what}: the server refused our credentials (HTTP {code})")
        if code == 404:
            return PacsError(f"{node.name}: {what}: not found on the server (HTTP 404)")
        return PacsError(f"{node.name}: {what}: the server answered HTTP {code}")
    if isinstance(exc, requests.exceptions.SSLError):
        return PacsError(f"{node.name}: {what}: TLS with {node.url} failed (certificate not trusted, or not "
                         f"for this host); give the node its CA with --ca-bundle PEM")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return PacsError(f"{node.name}: {what}: cannot reach {node.url} (connection refused or cut off)")
    if isinstance(exc, requests.exceptions.Timeout):
        return PacsError(f"{node.name}: {what}: {node.url} did not answer in time")
    return PacsError(f"{node.name}: {what}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """Verify against the node's CA bundle. Not `session.verify`: requests lets REQUESTS_CA_BUNDLE
    (set on many systems) override it for every request."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def send(self, request, **kwargs):
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


class DicomWebNode:
    def __init__(self, node: Node) -> None:
        from dicomweb_client.api import DICOMwebClient

        self.node = node
        session = requests.Session()
        if node.ca_bundle:
            session.mount("https://", _TrustAdapter(node.ca_bundle))
        secret = node.secret()
        if node.auth == "basic":
            session.auth = (node.username, secret)
        elif node.auth == "bearer":
            session.headers["Authorization"] = f"Bearer {secret}"
        self.client = DICOMwebClient(url=node.url, session=session, timeout=node.timeout_s)
        # one quick retry, not dicomweb-client's five with back-off: a dead node says so in a second
        self.client.set_http_retry_params(retry=True, max_attempts=2, wait_exponential_multiplier=100)

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PacsError:
            raise
        except Exception as exc:  # requests, dicomweb-client and pydicom errors all become one line
            raise _explain(self.node, exc, what) from None

    def echo(self) -> str:
        self._call("echo", self.client.search_for_studies, limit=1)
        return f"{self.node.name}: DICOMweb answers at {self.node.url}"

    def find_studies(self, keys: dict[str, str]) -> list[Dataset]:
        answer = self._call("query", self.client.search_for_studies, search_filters=keys,
                            fields=list(STUDY_FIELDS))
        return [Dataset.from_json(d) for d in answer or []]

    def find_series(self, study_uid: str, modality: str = "") -> list[Dataset]:
        keys = {"Modality": modality} if modality else {}
        answer = self._call("series query", self.client.search_for_series, study_instance_uid=study_uid,
                            search_filters=keys, fields=list(SERIES_FIELDS))
        return [Dataset.from_json(d) for d in answer or []]

    def list_instances(self, study_uid: str, series_uid: str) -> list[str]:
        answer = self._call(f"series {series_uid}", self.client.search_for_instances,
                            study_instance_uid=study_uid, series_instance_uid=series_uid,
                            fields=["SOPInstanceUID"])
        uids = [Dataset.from_json(d).get("SOPInstanceUID", "") for d in answer or []]
        if not uids:
            raise PacsError(f"{self.node.name}: no series {series_uid} in study {study_uid} on the server")
        return [str(u) for u in uids]

    def retrieve(self, study_uid: str, series_uid: str, wanted: list[str], workers: int = 4) -> Iterator[Dataset]:
        """The instances `wanted` of a series, as they arrive: one WADO-RS request per instance, a
        few in flight at once (each request's round trip, not the bytes, is what costs), so a
        resumed transfer asks only for the rest and a cut-off one loses at most `workers` instances."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        def one(sop):
            return self._call(f"retrieving {sop}", self.client.retrieve_instance, study_uid, series_uid, sop)

        pending_uids = iter(wanted)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wado") as pool:
            running = {pool.submit(one, sop) for sop in (next(pending_uids, None) for _ in range(workers)) if sop}
            try:
                while running:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        ds = future.result()  # a PacsError goes to the caller; the rest are cancelled below
                        sop = next(pending_uids, None)
                        if sop:
                            running.add(pool.submit(one, sop))
                        yield ds
            finally:
                for future in running:
                    future.cancel()

    def store(self, datasets: list[Dataset]) -> int:
        self._call("sending", self.client.store_instances, datasets=datasets)
        return len(datasets)

    def close(self) -> None:
        self.client._session.close()
