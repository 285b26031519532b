"""The pure parts of sharding: where a rank finds itself, what rank 0 sends, the group's checks,
and the launch flags (no mlx, no ranks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlxk_core.backends.base import SequenceSpec
from mlxk_core.distributed.checks import (
    ModelCheck,
    RankInfo,
    choose_mode,
    model_problem,
    split_problem,
    version_problem,
)
from mlxk_core.distributed.env import detect_group
from mlxk_core.distributed.plan import LaunchPlan, launcher_argv, resolve_hosts
from mlxk_core.distributed.protocol import (
    FRAME,
    Add,
    Close,
    Load,
    ModelRef,
    Open,
    Ping,
    Remove,
    Step,
    Stop,
    Unload,
    decode_op,
    encode_op,
    pack_head,
    seeded,
    unpack_head,
)
from mlxk_core.distributed.snapshot import find_snapshot
from mlxk_core.errors import LaunchFailed
from mlxk_core.generation.request import GenerationParams
from mlxk_core.settings import Settings
from tests.factory.variants import llama_config

LLAMA = {"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 2,
         "intermediate_size": 128, "num_hidden_layers": 2}


# -- where a rank finds itself -------------------------------------------------------------


def test_each_launcher_environment_names_its_backend_and_rank(tmp_path: Path) -> None:
    hostfile = tmp_path / "hosts.json"
    hostfile.write_text('[["127.0.0.1:5000"], ["127.0.0.1:5001"]]')
    ring = detect_group({"MLX_HOSTFILE": str(hostfile), "MLX_RANK": "1"})
    assert ring is not None
    assert (ring.backend, ring.rank, ring.launched_by_mlxk) == ("ring", 1, False)
    nccl = detect_group({"NCCL_HOST_IP": "10.0.0.1", "MLX_WORLD_SIZE": "2", "MLX_RANK": "0"})
    assert nccl is not None and nccl.backend == "nccl"
    jaccl = detect_group({"MLX_JACCL_COORDINATOR": "10.0.0.1:5000", "MLX_RANK": "3"})
    assert jaccl is not None and (jaccl.backend, jaccl.rank) == ("jaccl", 3)
    mpi = detect_group({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4"})
    assert mpi is not None and (mpi.backend, mpi.rank) == ("mpi", 2)
    ours = detect_group({"MLX_HOSTFILE": str(hostfile), "MLX_RANK": "0", "MLXK_LAUNCHED": "1"})
    assert ours is not None and ours.launched_by_mlxk


def test_no_launcher_or_a_launch_on_one_host_is_no_group(tmp_path: Path) -> None:
    assert detect_group({"HOME": "/root"}) is None
    empty = tmp_path / "hosts.json"
    empty.write_text("\n")  # what mlx.launch writes for a single host
    assert detect_group({"MLX_HOSTFILE": str(empty), "MLX_RANK": "0"}) is None


# -- what rank 0 sends ---------------------------------------------------------------------

params = st.builds(
    GenerationParams,
    max_tokens=st.none() | st.integers(1, 10_000),
    temperature=st.floats(0, 2),
    top_p=st.floats(0, 1),
    top_k=st.integers(0, 100),
    seed=st.none() | st.integers(0, 2**63 - 1),
    stop=st.lists(st.text(min_size=1, max_size=5), max_size=3).map(tuple),
)
specs = st.builds(
    SequenceSpec,
    prompt=st.lists(st.integers(0, 200_000), min_size=1, max_size=3000).map(tuple),
    params=params,
    max_tokens=st.integers(1, 100_000),
    top_logprobs=st.none() | st.integers(0, 20),
)
ops = st.one_of(
    st.builds(Add, key=st.integers(0, 2**40), spec=specs),
    st.builds(Remove, key=st.integers(0, 2**40)),
    st.builds(Open, max_batch=st.integers(1, 64), prefill_chunk=st.integers(1, 4096)),
    st.builds(Load, model=st.builds(ModelRef, name=st.text(), path=st.text(),
                                    repo_id=st.none() | st.text(), commit=st.none() | st.text()),
              mode=st.sampled_from(["auto", "tensor", "pipeline"]),
              dtype=st.none() | st.sampled_from(["float32", "bfloat16"]),
              dequantize=st.booleans()),
    st.sampled_from([Step(), Close(), Unload(), Ping(), Stop()]),
)


@given(ops)
def test_every_operation_survives_the_wire(op: object) -> None:
    data = encode_op(op)  # type: ignore[arg-type]
    length, inline = unpack_head(pack_head(data))
    assert length == len(data)
    assert inline == (data if len(data) <= FRAME - 4 else None)
    assert len(pack_head(data)) == FRAME
    assert decode_op(data) == op


@pytest.mark.parametrize("junk", [b"", b"{}", b'{"op": "format_disk"}', b'{"op": "add"}',
                                  b"\x80\x81", b'{"op": "remove", "key": 1, "extra": 2}'])
def test_anything_else_is_refused_not_run(junk: bytes) -> None:
    with pytest.raises(ValueError, match="not an operation"):
        decode_op(junk)


def test_a_sampling_sequence_gets_its_seed_before_it_is_sent() -> None:
    sampling = SequenceSpec((1, 2), GenerationParams(temperature=0.7), 10)
    sent = seeded(sampling)
    assert sent.params.seed is not None and sent.prompt == sampling.prompt
    assert decode_op(encode_op(Add(1, sent))) == Add(1, sent)  # every rank gets that seed
    greedy = SequenceSpec((1, 2), GenerationParams(temperature=0), 10)
    assert seeded(greedy) is greedy
    fixed = SequenceSpec((1,), GenerationParams(temperature=1.0, seed=7), 5)
    assert seeded(fixed).params.seed == 7


# -- the group's checks --------------------------------------------------------------------


def test_another_mlxk_version_on_a_rank_is_named() -> None:
    infos = [RankInfo(0, "a", "0.1.0", "0.32.4", "0.32.2"), RankInfo(1, "b", "0.2.0", "0.32.4",
                                                                     "0.32.2")]
    problem = version_problem(infos)
    assert problem is not None
    assert "rank 1 (b) runs mlxk 0.2.0" in problem and "rank 0 (a) runs mlxk 0.1.0" in problem
    alike = [RankInfo(0, "a", "1", "2", "3"), RankInfo(1, "b", "1", "2", "3")]
    assert version_problem(alike) is None
    missing = version_problem([RankInfo(0, "a", "1", "2", "3"), RankInfo(1, "b", "1", None, "3")])
    assert missing is not None and "runs mlx (none)" in missing


def test_a_rank_at_another_commit_or_without_the_model_is_named() -> None:
    same = [ModelCheck(0, "a", "abc", "d1"), ModelCheck(1, "b", "abc", "d1")]
    assert model_problem("org/m", same) is None
    other = model_problem("org/m", [ModelCheck(0, "a", "abc" * 5, "d1"),
                                    ModelCheck(1, "b", "def" * 5, "d2")])
    assert other is not None
    assert "rank 1 (b) has org/m at commit defdefdefdef" in other
    assert "rank 0 (a) at abcabc" in other
    missing = model_problem("org/m", [ModelCheck(0, "a", "abc", "d1"),
                                      ModelCheck(1, "b", problem="org/m is not in its cache")])
    assert missing == "rank 1 (b): org/m is not in its cache"
    copy = model_problem("org/m", [ModelCheck(0, "a", None, "d1"), ModelCheck(1, "b", None, "d2")])
    assert copy is not None and "another copy" in copy


def test_split_problems_name_what_does_not_divide() -> None:
    assert split_problem(LLAMA, 2, "tensor") is None
    assert split_problem(LLAMA, 4, "tensor") == (
        "its 2 key/value heads cannot be split evenly over 4 ranks"
    )
    assert "4 attention heads" in (split_problem(LLAMA, 3, "tensor") or "")
    assert split_problem(LLAMA, 2, "pipeline") is None
    assert split_problem(LLAMA, 3, "pipeline") == "its 2 layers cannot be split over 3 ranks"
    nested = {"model_type": "vlm", "text_config": {"num_attention_heads": 6}}
    assert "6 attention heads" in (split_problem(nested, 4, "tensor") or "")


def test_the_mode_follows_what_the_architecture_supports() -> None:
    assert choose_mode("llama", tensor=True, pipeline=False, requested="auto", ranks=2,
                       config=LLAMA) == ("tensor", None)
    mode, problem = choose_mode("gpt2", tensor=False, pipeline=False, requested="auto", ranks=2,
                                config=LLAMA)
    assert mode is None and problem is not None and "'gpt2' architecture" in problem
    mode, problem = choose_mode("llama", tensor=True, pipeline=False, requested="pipeline",
                                ranks=2, config=LLAMA)
    assert mode is None and "no pipeline parallelism" in (problem or "")
    assert "it supports: tensor" in (problem or "")
    # tensor cannot split 2 kv heads 4 ways, but 4 layers go to 4 ranks in a pipeline
    deep = {**LLAMA, "num_hidden_layers": 4}
    assert choose_mode("x", tensor=True, pipeline=True, requested="auto", ranks=4,
                       config=deep) == ("pipeline", None)
    mode, problem = choose_mode("llama", tensor=True, pipeline=False, requested="auto", ranks=4,
                                config=LLAMA)
    assert mode is None and "cannot be split over 4 ranks" in (problem or "")


# -- finding rank 0's snapshot -------------------------------------------------------------


def _repo(cache: Path, repo_id: str, config: bytes, commit: str) -> Path:
    from mlxk_core.cache.store import store_snapshot
    from tests.factory.variants import mlx_weights, tokenizer_files

    files = {"config.json": config, "model.safetensors": mlx_weights(), **tokenizer_files()}
    return store_snapshot(cache, repo_id, files, commit_hash=commit)


def test_a_rank_finds_the_same_commit_or_says_what_it_has(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "a", tmp_path / "b"
    a, b = "a" * 40, "b" * 40
    path = _repo(mine, "org/m", llama_config(), a)
    _repo(theirs, "org/m", llama_config(hidden_size=128), b)
    ref = ModelRef("org/m", str(path), "org/m", a)
    check, found = find_snapshot(ref, rank=0, host="h", settings=Settings(cache_dir=mine))
    assert found == path and check.commit == a and check.problem is None
    other, _ = find_snapshot(ref, rank=1, host="h2", settings=Settings(cache_dir=theirs))
    assert other.commit == b and other.digest != check.digest
    problem = model_problem("org/m", [check, other])
    assert problem is not None and f"at commit {b[:12]}" in problem
    empty = tmp_path / "empty"
    empty.mkdir()
    missing, none = find_snapshot(ref, rank=1, host="h2", settings=Settings(cache_dir=empty))
    assert none is None and "not in its cache" in (missing.problem or "")
    assert f"mlxk pull org/m@{a}" in (missing.problem or "")


def test_a_local_folder_is_found_at_the_same_path(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(LLAMA))
    ref = ModelRef(str(folder), str(folder))
    check, found = find_snapshot(ref, rank=1, host="h", settings=Settings(cache_dir=tmp_path))
    assert found == folder and check.digest and check.problem is None
    gone = ModelRef("x", str(tmp_path / "nothing"))
    check, found = find_snapshot(gone, rank=1, host="h", settings=Settings(cache_dir=tmp_path))
    assert found is None and "no model folder" in (check.problem or "")


# -- launch flags --------------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "message"), [
    (LaunchPlan(ranks=1), "at least 2 ranks"),
    (LaunchPlan(ranks=2, hosts=("a", "b")), "exclude each other"),
    (LaunchPlan(hosts=("a",)), "at least 2 hosts"),
    (LaunchPlan(ranks=2, backend="carrier-pigeon"), "Unknown distributed backend"),
    (LaunchPlan(hostfile=Path("/nonexistent/hosts.json")), "No hostfile"),
])
def test_contradicting_launch_flags_are_refused(plan: LaunchPlan, message: str) -> None:
    with pytest.raises(LaunchFailed, match=message):
        plan.check()


def test_the_launcher_command_starts_the_same_command_on_every_rank(tmp_path: Path) -> None:
    command = ["python", "-m", "mlxk_cli", "run", "org/m", "hi", "--ranks", "2"]
    argv = launcher_argv(LaunchPlan(ranks=2), command, launcher=["mlx.launch"])
    assert argv == ["mlx.launch", "--hosts", "127.0.0.1", "-n", "2", "--env", "MLXK_LAUNCHED=1",
                    "--", *command]
    hosts = tmp_path / "h.json"
    argv = launcher_argv(LaunchPlan(hosts=("a", "b"), backend="ring"), command,
                         launcher=["mlx.launch"], hostfile=hosts)
    assert argv[:5] == ["mlx.launch", "--backend", "ring", "--hostfile", str(hosts)]


def test_host_names_become_addresses_and_loopback_needs_no_ssh() -> None:
    table = {"localhost": "127.0.0.1", "gpu-1": "10.0.0.7"}

    def resolve(name: str) -> str:
        if name not in table:
            raise OSError("Name or service not known")
        return table[name]

    assert resolve_hosts(["localhost", "gpu-1"], resolve) == [
        {"ssh": "127.0.0.1", "ips": ["127.0.0.1"]}, {"ssh": "gpu-1", "ips": ["10.0.0.7"]}
    ]
    with pytest.raises(LaunchFailed, match="Host 'nowhere' cannot be resolved"):
        resolve_hosts(["gpu-1", "nowhere"], resolve)
