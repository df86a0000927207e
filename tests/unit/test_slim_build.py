"""The post-build step: runtime-provided packages leave the layer, and bytecode Lambda can use is shipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tools.build.slim_build import compile_tree, prune_runtime_packages


def test_the_layer_keeps_its_own_packages_and_drops_what_the_runtime_provides(tmp_path: Path) -> None:
    for name in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jwt", "cryptography", "pps_webhooks"):
        (tmp_path / name).mkdir()
    for name in ("botocore-1.43.0.dist-info", "boto3-1.43.0.dist-info", "pyjwt-2.15.1.dist-info"):
        (tmp_path / name).mkdir()
    (tmp_path / "six.py").write_text("")
    (tmp_path / "typing_extensions.py").write_text("")

    removed = prune_runtime_packages(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "cryptography",
        "jwt",
        "pps_webhooks",
        "pyjwt-2.15.1.dist-info",
        "typing_extensions.py",
    ]
    assert "six.py" in removed
    assert "botocore-1.43.0.dist-info" in removed


def test_bytecode_is_unchecked_hash_so_a_read_only_directory_never_recompiles(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("VALUE = 1\n")

    compile_tree(tmp_path, "/opt/python")

    cached = Path(importlib.util.cache_from_source(str(source)))
    flags = int.from_bytes(cached.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based (bit 0), check_source off (bit 1): Python never looks at the source again
