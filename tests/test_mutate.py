"""scripts/mutate.py（变异测试工具）：变异点、改写出的代码，以及一次真实的小规模运行。"""

from __future__ import annotations

import ast
import doctest
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_script

SCRIPT = ROOT / "scripts" / "mutate.py"


def _load():
    return load_script("scripts/mutate.py")


def test_doctests() -> None:
    assert doctest.testmod(_load()).failed == 0


@pytest.mark.parametrize("name", ["batchnorm", "conv", "train"])
def test_every_mutant_is_valid_python_that_changes_one_thing(name: str) -> None:
    mutate = _load()
    source = (ROOT / "dlbook" / f"{name}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    untouched = ast.unparse(tree)
    frozen_lines = {  # raise 语句里的报错文字不变异
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        for line in range(node.lineno + 1, node.end_lineno + 1)
    }
    found = mutate.mutants(source)
    assert len(found) > 50
    outputs = set()
    for m in found:
        out = mutate.mutate(source, m)
        ast.parse(out)
        assert out != untouched, m
        assert m.line not in frozen_lines, m
        outputs.add(out)
    assert len(outputs) > 0.9 * len(found)  # 几乎每个变异体都是不同的程序


def _run(tmp_path: Path, test_body: str, *args: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_probe.py"
    test.write_text(f"import dlbook.text\n\n\ndef test_probe():\n    {test_body}\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "text", "--tests", str(test), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_run_finds_the_untested_check_and_leaves_the_repository_alone(tmp_path: Path) -> None:
    # text.pad 第 37 行检查 align：doctest 用到了 align=">"（所以把 not in 改成 in 会被发现），
    # 却没有哪个例子传错 align（所以删掉这个检查不会被这里什么都不测的测试发现）
    source = ROOT / "dlbook" / "text.py"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    report = tmp_path / "survivors.json"
    result = _run(tmp_path, "pass", "--lines", "37", "--json", str(report))
    assert result.returncode == 0, result.stderr
    assert "2 个变异体" in result.stdout and "1/2 个被测试发现，1 个幸存" in result.stdout
    assert json.loads(report.read_text(encoding="utf-8")) == [
        {"module": "text", "line": 37, "what": "删掉这条语句", "code": 'if align not in ("<", ">"):'}
    ]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def test_tests_that_fail_before_mutating_are_refused(tmp_path: Path) -> None:
    result = _run(tmp_path, "assert False", "--lines", "37")
    assert result.returncode != 0
    assert "没改动时测试就不通过" in result.stderr


def test_a_package_is_its_init_file_and_an_unknown_module_is_refused_before_anything_runs(tmp_path: Path) -> None:
    # 第一轮把 models 当成 dlbook/models.py，跑完其余九个模块之后才崩溃，写 JSON 的机会也丢了
    mutate = _load()
    assert mutate.module_file("models") == Path("dlbook", "models", "__init__.py")
    assert mutate.module_file("dlbook.models.vgg") == Path("dlbook", "models", "vgg.py")
    result = _run(tmp_path, "pass", "--lines", "37")  # 先确认同样的调用本来能跑
    assert result.returncode == 0, result.stderr
    test = tmp_path / "test_probe.py"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "text", "nope", "--tests", str(test)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "没有模块 'nope'" in result.stderr and "个变异体" not in result.stdout
