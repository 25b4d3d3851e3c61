"""records.jsonl appends stay idempotent when this process remembers the keys it wrote
(a batch driver appends after every spec) and another writer changes the file meanwhile."""
from __future__ import annotations

import json
from pathlib import Path

from esso_ngs.pipeline.records import FILENAME, append_records, read_records, record_key


def _rec(term: str) -> dict:
    return {"kind": "solution", "run_id": "r", "model_hash": "m", "synth_hash": "s", "hole_id": "h", "term": term}


def test_appends_see_what_another_writer_added_and_cut_its_torn_tail(tmp_path: Path) -> None:
    append_records(tmp_path, [_rec("a")])
    append_records(tmp_path, [_rec("a"), _rec("b")])  # "a" remembered: not written twice
    path = tmp_path / FILENAME
    with open(path, "a", encoding="utf-8") as fh:  # another process adds "c", then dies mid-line
        fh.write(json.dumps({**_rec("c"), "key": record_key(_rec("c"))}) + "\n" + '{"kind": "sol')
    append_records(tmp_path, [_rec("c"), _rec("d")])
    assert [r["term"] for r in read_records(path)] == ["a", "b", "c", "d"]
    path.write_text("")  # emptied by hand: everything may be written again
    append_records(tmp_path, [_rec("a")])
    assert [r["term"] for r in read_records(path)] == ["a"]
