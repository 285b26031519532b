"""A fake Hugging Face hub on loopback, for pull tests and fault injection.

with FakeHub() as hub:
    hub.add_repo("org/tiny", samples.mlx_model())
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    hub.fault("org/tiny", "model.safetensors", Fault(drop_at=1000))   # drop once
"""

from tests.fakehub import samples
from tests.fakehub.repos import FakeRepo, Fault, files_from_dir
from tests.fakehub.server import FakeHub, RequestRecord

__all__ = ["FakeHub", "FakeRepo", "Fault", "RequestRecord", "files_from_dir", "samples"]
