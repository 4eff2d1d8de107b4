"""The cross-language end-to-end check of step 1, independent of Manifold's
Rust on both ends (tests/e2e/cross_language.rs drives it):

  produce PROTO_ROOT OUT   compile the emitted .proto files with grpcio-tools'
                           protoc, write a replication stream with Python's
                           protobuf (Any.Pack, length-delimited framing) into
                           OUT/stream, and the expected final rows into
                           OUT/oracle.json;
  check LAKE OUT           read the staging tables back with the `deltalake`
                           package, deduplicate by last-writer-wins, and
                           compare with the oracle. Exit 1 on any difference.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def compile_protos(proto_root: Path) -> Path:
    out = Path(tempfile.mkdtemp(prefix="manifold-pb2-"))
    files = ["manifold/v1/envelope.proto", "manifold/jira/v1/jira.proto"]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_root}", f"--python_out={out}", *files],
        check=True,
    )
    sys.path.insert(0, str(out))
    return out


def produce(proto_root: Path, out: Path) -> None:
    compile_protos(proto_root)
    from manifold.v1 import envelope_pb2  # noqa: E402  (generated just now)
    from manifold.jira.v1 import jira_pb2  # noqa: E402

    # entity_type numbers from the emitted proto comments ("entity_type 14 in ...").
    text = (proto_root / "manifold/jira/v1/jira.proto").read_text()
    types = {}
    current = None
    for line in text.splitlines():
        if "entity_type" in line and "schemas/manifold.lock" in line:
            current = int(line.split("entity_type")[1].split()[0])
        if line.startswith("message ") and current is not None:
            types[line.split()[1]] = current
            current = None

    stream = out / "stream"
    (stream / "offload").mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    records = []
    oracle = {}

    def record(entity, key, ws, version, generation, tombstone, message, offload=False):
        r = envelope_pb2.FacsimileRecord()
        r.resource_ari.value = key
        r.entity_type = types[entity]
        r.workspace_id.value = ws
        r.version = version
        r.generation_watermark = generation
        r.is_tombstone = tombstone
        if message is not None:
            if offload:
                from google.protobuf import any_pb2

                packed = any_pb2.Any()
                packed.Pack(message)
                data = packed.SerializeToString()
                digest = hashlib.sha256(data).hexdigest()
                (stream / "offload" / f"{digest}.any").write_bytes(data)
                r.offload_pointer.uri = f"offload/{digest}.any"
                r.offload_pointer.size_bytes = len(data)
                r.offload_pointer.sha256 = digest
            else:
                r.entity.Pack(message)
        return r.SerializeToString()

    for i in range(40):
        key = f"ari:cloud:jira:ws-{i % 4}:issue/{i}"
        ws = f"ws-{i % 4}"
        last = None
        for v in range(1, 2 + i % 3):
            issue = jira_pb2.JiraIssue(issue_id=str(i), issue_key=f"PY-{i}", summary=f"issue {i} v{v}", project=i % 5)
            records.append(record("JiraIssue", key, ws, v, 1, False, issue, offload=(i % 10 == 3)))
            last = {"version": v, "generation": 1, "is_tombstone": False, "summary": f"issue {i} v{v}"}
        if i % 7 == 0:
            records.append(record("JiraIssue", key, ws, last["version"] + 1, 1, True, None))
            last = {"version": last["version"] + 1, "generation": 1, "is_tombstone": True, "summary": None}
        oracle[f"manifold_entities.JiraIssue|{key}"] = dict(last, workspace_id=ws)
    for i in range(15):
        key = f"ari:cloud:jira:ws-0:board/{i}"
        board = jira_pb2.JiraBoard(board_id=i, name=f"board {i}")
        records.append(record("JiraBoard", key, "ws-0", 1, 1, False, board))
        oracle[f"manifold_entities.JiraBoard|{key}"] = {
            "version": 1, "generation": 1, "is_tombstone": False, "workspace_id": "ws-0", "name": f"board {i}"}
    records += [records[rng.randrange(len(records))] for _ in range(20)]  # duplicates
    rng.shuffle(records)
    half = len(records) // 2
    for name, part in (("a.pb", records[:half]), ("b.pb", records[half:])):
        with open(stream / name, "wb") as f:
            for r in part:
                f.write(varint(len(r)))
                f.write(r)
    (out / "oracle.json").write_text(json.dumps(oracle, indent=1, sort_keys=True))
    print(f"produced {len(records)} records")


def check(lake: Path, out: Path) -> None:
    from deltalake import DeltaTable

    oracle = json.loads((out / "oracle.json").read_text())
    got = {}
    for entity, extra in (("JiraIssue", "summary"), ("JiraBoard", "name")):
        rows = DeltaTable(str(lake / "manifold_entities" / entity)).to_pyarrow_table().to_pylist()
        for row in rows:
            key = f"manifold_entities.{entity}|{row['envelope_fields_resource_ari_value']}"
            rank = (row["envelope_fields_generation_counter"], row["envelope_fields_version"],
                    row["envelope_fields_is_tombstone"])
            if key not in got or rank > got[key][0]:
                assert row["workspace_id"] == row["envelope_fields_workspace_id_value"], row
                got[key] = (rank, {
                    "version": row["envelope_fields_version"],
                    "generation": row["envelope_fields_generation_counter"],
                    "is_tombstone": row["envelope_fields_is_tombstone"],
                    "workspace_id": row["workspace_id"],
                    extra: row[extra],
                })
    got = {k: v for k, (_, v) in got.items()}
    if got != oracle:
        missing = sorted(set(oracle) - set(got))
        extra = sorted(set(got) - set(oracle))
        wrong = sorted(k for k in set(got) & set(oracle) if got[k] != oracle[k])
        print(f"MISMATCH: missing {missing[:5]}, unexpected {extra[:5]}, different {wrong[:5]}")
        for k in wrong[:3]:
            print(f"  {k}: got {got[k]}, want {oracle[k]}")
        sys.exit(1)
    print(f"OK: {len(got)} rows match the oracle")


if __name__ == "__main__":
    command, a, b = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"produce": produce, "check": check}[command](a, b)
    # The deltalake package's native runtime can abort while the interpreter
    # shuts down ("terminate called without an active exception"); the work is
    # done and reported, so leave without running the interpreter's teardown.
    sys.stdout.flush()
    os._exit(0)
