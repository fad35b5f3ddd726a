"""Writes that a crash cannot tear: atomic replaces, whole appended lines."""

import json

import pytest

from alibench.core.files import (CorruptFile, append_jsonl, atomic_write, atomic_write_text, read_jsonl,
                             remove_stale_temp_files)


def test_a_writer_dying_mid_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "run.json"
    atomic_write_text(path, "old\n")

    def dies(f):
        f.write("half of the new")
        raise KeyboardInterrupt   # a signal in the middle of the write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_append_cuts_a_torn_line_before_writing(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"a": 1})
    with open(path, "a") as f:
        f.write('{"b": 2, "val')             # what a kill in mid-write leaves
    assert read_jsonl(path) == [{"a": 1}]    # a torn last line is not a record
    append_jsonl(path, {"c": 3})
    assert path.read_text() == '{"a": 1}\n{"c": 3}\n'


def test_a_torn_first_line_is_dropped_whole(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": ')
    append_jsonl(path, {"step": 1})
    assert read_jsonl(path) == [{"step": 1}]


def test_a_corrupt_complete_line_is_an_error_not_a_silent_gap(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\nnot json\n" + json.dumps({"b": 2}) + "\n")
    with pytest.raises(CorruptFile, match="line 2"):
        read_jsonl(path)


def test_stale_temp_files_are_removed(tmp_path):
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"half")
    (tmp_path / "checkpoint.pt").write_bytes(b"whole")
    assert [p.name for p in remove_stale_temp_files(tmp_path)] == [".checkpoint.pt.abc123.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]
