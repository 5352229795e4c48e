"""ArcticDB's side of the client benchmark, run in ArcticDB's own virtualenv (never in Stage1's).

    <arcticdb venv>/bin/python benchmarks/client_arcticdb_side.py FRAME.arrow ROUNDS

Writes the frame in the Arrow IPC file FRAME.arrow to an LMDB library in a temporary folder on local disk,
then times `lib.read(symbol).data` (a pandas frame) ROUNDS times and prints the seconds as a JSON list.
The folder is removed on every path.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time

import pyarrow as pa
from arcticdb import Arctic


def main() -> None:
    path, rounds = sys.argv[1], int(sys.argv[2])
    frame = pa.ipc.open_file(path).read_all().to_pandas().set_index("timestamp")
    folder = tempfile.mkdtemp(prefix="stage1-arcticdb-")
    try:
        lib = Arctic(f"lmdb://{folder}").get_library("bench", create_if_missing=True)
        lib.write("bars", frame)
        seconds = []
        for _ in range(rounds):
            began = time.perf_counter()
            read = lib.read("bars").data
            seconds.append(time.perf_counter() - began)
            assert len(read) == len(frame)
        print(json.dumps(seconds))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
