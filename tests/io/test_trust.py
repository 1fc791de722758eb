"""The trust store: where it lives, what it records, and a damaged store named rather than ignored."""

import json

import pytest

from pipeline.io import trust


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "store" / "trusted_models.json"
    monkeypatch.setenv(trust.STORE_ENV, str(path))
    return path


def test_the_store_is_named_by_the_environment_or_lives_in_the_users_data_folder(store, monkeypatch, tmp_path):
    assert trust.store_path() == store
    monkeypatch.delenv(trust.STORE_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert trust.store_path() == tmp_path / "data" / "claims-pipeline" / "trusted_models.json"


def test_trusting_a_file_records_its_bytes_not_its_name(store, tmp_path):
    model = tmp_path / "m.joblib"
    model.write_bytes(b"model bytes")
    sha = trust.trust_file(model)
    assert trust.is_trusted(sha) and trust.trusted()[sha]["how"] == trust.TRUSTED_BY_HAND
    model.write_bytes(b"other bytes")  # the same name with new content is not trusted
    from pipeline.io.files import sha256_file

    assert not trust.is_trusted(sha256_file(model))
    with pytest.raises(FileNotFoundError, match="no such model file"):
        trust.trust_file(tmp_path / "missing.joblib")


def test_a_damaged_store_is_an_error_naming_it(store):
    store.parent.mkdir(parents=True)
    store.write_text("{not json")
    with pytest.raises(OSError, match="trust store is damaged"):
        trust.is_trusted("0" * 64)
    store.write_text(json.dumps({"models": {}}))
    assert not trust.is_trusted("0" * 64)


def test_a_trust_store_anyone_could_write_is_refused(tmp_path, monkeypatch):
    """Whoever can write the store, or plant it first, could make any model trusted."""
    import os
    import stat

    open_folder = tmp_path / "open"
    open_folder.mkdir()
    os.chmod(open_folder, 0o777)  # writable by anyone, and not sticky
    monkeypatch.setenv(trust.STORE_ENV, str(open_folder / "trusted_models.json"))
    with pytest.raises(OSError, match="writable by anyone"):
        trust.trusted()
    with pytest.raises(OSError, match="writable by anyone"):
        trust.add("0" * 64, tmp_path / "m.joblib", trust.TRUSTED_BY_HAND)
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    link = mine / "trusted_models.json"
    link.symlink_to(open_folder / "trusted_models.json")  # a link into a folder anyone can write
    monkeypatch.setenv(trust.STORE_ENV, str(link))
    with pytest.raises(OSError, match="writable by anyone"):
        trust.trusted()
    store = mine / "store.json"
    store.write_text('{"models": {}}')
    os.chmod(store, 0o666)
    monkeypatch.setenv(trust.STORE_ENV, str(store))
    with pytest.raises(OSError, match="writable by anyone"):
        trust.trusted()
    os.chmod(store, stat.S_IRUSR | stat.S_IWUSR)
    assert trust.trusted() == {}
