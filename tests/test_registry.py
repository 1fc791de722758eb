import pytest

from pipeline.learning import registry
from pipeline.learning.registry import ModelTrustError


def make_version(folder, name):
    (folder / f"{name}.joblib").write_bytes(b"x")
    (folder / f"{name}.card.json").write_text("{}")


def test_versions_are_numbered_and_current_is_chosen(tmp_path):
    assert registry.versions(tmp_path) == [] and registry.next_version(tmp_path) == "stance-0001"
    for name in ("stance-0002", "stance-0010", "stance-0001", "other-0003"):
        make_version(tmp_path, name)
    assert registry.versions(tmp_path) == ["stance-0001", "stance-0002", "stance-0010"]
    assert registry.next_version(tmp_path) == "stance-0011"
    with pytest.raises(ModelTrustError, match="no current model"):
        registry.resolve(tmp_path)
    registry.set_current(tmp_path, "stance-0002")
    assert registry.resolve(tmp_path) == tmp_path / "stance-0002.joblib"
    assert registry.resolve(tmp_path, "stance-0010") == tmp_path / "stance-0010.joblib"
    with pytest.raises(ModelTrustError, match="known: stance-0001"):
        registry.resolve(tmp_path, "stance-0042")
    with pytest.raises(ModelTrustError):
        registry.set_current(tmp_path, "stance-0042")
