"""变异测试：一次改坏 dlbook 的一处代码，看测试能不能发现。

    python scripts/mutate.py batchnorm conv            # 模块名是 dlbook 下的路径，例如 gallery.build
    python scripts/mutate.py train --tests tests/test_train.py tests/test_speedrun.py
    python scripts/mutate.py optim --lines 58,75       # 只变异这几行（复查补上的测试）

每个“变异体”只改一处：比较运算换成相邻的（``<`` → ``<=``）、算术运算互换（``+`` → ``-``）、
``and`` ↔ ``or``、去掉 ``not`` 或负号、数字加 1、``True`` ↔ ``False``、删掉一条语句。
``raise``、``assert``、f-字符串、``print`` 里的代码不变异（那是报错文字，由别的测试核对）。

测试照常运行（默认是 ``tests/test_<模块>.py``，``gallery.build`` 这样的子模块是 ``tests/test_gallery_build.py``，
加上模块自己的 doctest；没有这样的文件时用 ``--tests`` 指定），用 ``pytest -x`` 在子进程里跑，
PyTorch 只在父进程里导入一次再 fork。测试全部通过的变异体就是“幸存者”：要么测试漏了这处行为，
要么这处改动与原来等价（例如只改了类型注解）。幸存者逐个打印出来，由人判断是哪一种。

为了不碰工作目录，脚本把仓库的 dlbook/、tests/、docs/、gallery/、benchmarks/、scripts/ 和配置文件（包括没提交的改动）复制到一个临时目录里再变异。
这是维护用的工具，不是测试的一部分：它很慢（每个变异体要跑一遍测试文件），CI 不运行它。
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
          ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult}
_BLOCKS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try)


@dataclass(frozen=True)
class Mutant:
    index: int  # 在 ast.walk 顺序里第几个变异点：在树的副本上用同一个序号找回同一个节点
    line: int
    what: str


def _frozen(tree: ast.AST) -> set[int]:
    """不变异的节点：报错文字、断言、打印，以及 ``if __name__ == "__main__":`` 里的代码。"""
    ids: set[int] = set()
    for node in ast.walk(tree):
        main = (
            isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
        )  # fmt: skip
        printing = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        if main or printing or isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
            ids.update(id(n) for n in ast.walk(node))
    return ids


def _sites(tree: ast.AST) -> list[tuple[int, str, tuple]]:
    """(行号, 说明, 怎么改) 的列表；“怎么改”里是这棵树自己的节点。"""
    frozen = _frozen(tree)
    out: list[tuple[int, str, tuple]] = []
    for node in ast.walk(tree):
        if id(node) in frozen:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                if type(op) in _COMPARE:
                    out.append((line, f"{type(op).__name__} → {_COMPARE[type(op)].__name__}", ("compare", node, k)))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
            out.append((line, f"{type(node.op).__name__} → {_ARITH[type(node.op)].__name__}", ("arith", node)))
        elif isinstance(node, ast.BoolOp):
            out.append((line, "and ↔ or", ("bool", node)))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
            out.append((line, f"去掉 {'not' if isinstance(node.op, ast.Not) else '负号'}", ("unary", node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            out.append((line, f"{node.value} → {not node.value}", ("flip", node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            out.append((line, f"{node.value!r} → {node.value!r} + 1", ("plus1", node)))
        if isinstance(node, _BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                for k, stmt in enumerate(getattr(node, field, [])):
                    docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                    if id(stmt) in frozen or docstring or isinstance(stmt, (ast.Pass, ast.Return, ast.Raise)):
                        continue
                    out.append((stmt.lineno, "删掉这条语句", ("delete", node, field, k)))
    return out


def mutants(source: str) -> list[Mutant]:
    """源代码里所有的变异点。

    >>> [m.what for m in mutants("def f(x):\\n    y = x + 1\\n    return y > 0")]
    ['删掉这条语句', 'Add → Sub', 'Gt → GtE', '1 → 1 + 1', '0 → 0 + 1']
    """
    return [Mutant(i, line, what) for i, (line, what, _) in enumerate(_sites(ast.parse(source)))]


def mutate(source: str, mutant: Mutant) -> str:
    """返回只改了 ``mutant`` 这一处的源代码（经 ``ast.unparse``，注释不保留）。

    >>> src = "def f(x):\\n    return x < 1 and not x"
    >>> [mutate(src, m).splitlines()[1].strip() for m in mutants(src)]
    ['return x < 1 or not x', 'return x <= 1 and (not x)', 'return x < 1 and (not not x)', 'return x < 2 and (not x)']
    """
    tree = ast.parse(source)
    change = _sites(tree)[mutant.index][2]
    kind, node = change[0], change[1]
    if kind == "compare":
        node.ops[change[2]] = _COMPARE[type(node.ops[change[2]])]()
    elif kind == "arith":
        node.op = _ARITH[type(node.op)]()
    elif kind == "bool":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "unary":
        if isinstance(node.op, ast.USub):
            node.op = ast.UAdd()
        else:  # not x → not not x：条件取 x 本身的真假
            node.operand = ast.UnaryOp(op=ast.Not(), operand=node.operand)
    elif kind == "flip":
        node.value = not node.value
    elif kind == "plus1":
        node.value = node.value + 1
    elif kind == "delete":
        getattr(node, change[2])[change[3]] = ast.Pass()
    return ast.unparse(ast.fix_missing_locations(tree))


def _run_tests(targets: list[str], timeout: float) -> int:
    """在 fork 出来的子进程里运行 pytest（dlbook 与测试模块都重新导入），返回退出码；超时算测试失败。"""
    pid = os.fork()
    if pid == 0:  # 子进程
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.alarm(max(1, int(timeout)))
        for name in [m for m in sys.modules if m.split(".")[0] in ("dlbook", "tests")]:
            del sys.modules[name]
        import pytest

        os._exit(int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *targets])))
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def module_file(module: str, root: Path = ROOT) -> Path:
    """模块的源文件，相对 ``root``：``gallery.cache`` → ``dlbook/gallery/cache.py``，
    包 ``models`` → ``dlbook/models/__init__.py``。找不到时抛出 ``ValueError``。

    >>> module_file("gallery.cache").as_posix(), module_file("dlbook.models").as_posix()
    ('dlbook/gallery/cache.py', 'dlbook/models/__init__.py')
    """
    parts = module.removeprefix("dlbook.").split(".")
    for candidate in (Path("dlbook", *parts).with_suffix(".py"), Path("dlbook", *parts, "__init__.py")):
        if (root / candidate).is_file():
            return candidate
    raise ValueError(f"dlbook 里没有模块 {module!r}（既没有 .py 文件，也不是带 __init__.py 的包）")


def _module_report(work: Path, module: str, targets: list[str], lines: set[int]) -> list[dict]:
    path = work / module_file(module, work)
    original = path.read_text(encoding="utf-8")
    source_lines = original.splitlines()
    chosen = [m for m in mutants(original) if not lines or m.line in lines]
    start = time.perf_counter()
    if _run_tests(targets, 1800) != 0:
        raise SystemExit(f"{module}：没改动时测试就不通过，先修好测试")
    baseline = time.perf_counter() - start
    print(f"{module}：{len(chosen)} 个变异体，测试一遍 {baseline:.1f} 秒", flush=True)
    survivors = []
    try:
        for k, mutant in enumerate(chosen, 1):
            path.write_text(mutate(original, mutant), encoding="utf-8")
            if _run_tests(targets, 3 * baseline + 10) == 0:
                code = source_lines[mutant.line - 1].strip() if 0 < mutant.line <= len(source_lines) else ""
                survivors.append({"module": module, "line": mutant.line, "what": mutant.what, "code": code})
                print(f"  幸存 {module}:{mutant.line} {mutant.what} | {code}", flush=True)
            if k % 25 == 0:
                print(f"  …… {k}/{len(chosen)}", flush=True)
    finally:
        path.write_text(original, encoding="utf-8")
    killed = len(chosen) - len(survivors)
    print(f"{module}：{killed}/{len(chosen)} 个被测试发现，{len(survivors)} 个幸存", flush=True)
    return survivors


def default_tests(module: str, root: Path = ROOT) -> str:
    """模块默认的测试文件：``tests/test_<模块>.py``；子模块先找 ``tests/test_<包>_<模块>.py``。

    >>> default_tests("train"), default_tests("gallery.build")
    ('tests/test_train.py', 'tests/test_gallery_build.py')
    """
    name = module.removeprefix("dlbook.")
    candidates = [f"tests/test_{name.replace('.', '_')}.py", f"tests/test_{name.split('.')[-1]}.py"]
    for candidate in dict.fromkeys(candidates):
        if (root / candidate).is_file():
            return candidate
    raise ValueError(f"{module} 没有默认的测试文件（{' 或 '.join(dict.fromkeys(candidates))}）：请用 --tests 指定")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dlbook 的变异测试（见文件开头的说明）")
    parser.add_argument("modules", nargs="+", help="dlbook 下的模块，例如 batchnorm、gallery.build")
    parser.add_argument("--tests", nargs="+", help="要运行的测试，默认 tests/test_<模块>.py")
    parser.add_argument("--lines", default="", help="只变异这些行，逗号分隔")
    parser.add_argument("--json", type=Path, help="把幸存者写进这个 JSON 文件")
    args = parser.parse_args(argv)
    lines = {int(x) for x in args.lines.split(",") if x.strip()}
    targets: dict[str, list[str]] = {}
    for module in args.modules:  # 开始之前就检查：不要跑了几个模块之后才因为名字写错而停下
        try:
            module_file(module)
            targets[module] = args.tests or [default_tests(module)]
        except ValueError as exc:
            parser.error(str(exc))
    with tempfile.TemporaryDirectory(prefix="dlbook-mutate-") as tmp:
        work = Path(tmp)
        # 测试还会读仓库里的页面、示例、脚本和配置（例如加载 mkdocs.yml、benchmarks/d2l_lenet.py），一并复制；
        # 只变异 dlbook/ 里的文件
        for folder in ("dlbook", "tests", "docs", "gallery", "benchmarks", "scripts"):
            shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "mkdocs.yml"):
            shutil.copy(ROOT / name, work / name)
        os.chdir(work)
        sys.path.insert(0, str(work))
        sys.dont_write_bytecode = True  # 变异后的文件大小和时间戳可能与旧的 .pyc 相同：不写、也就不读错
        os.environ.update(PYTHONPATH=str(work), PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
        import torch  # noqa: F401  父进程里导入一次，子进程不用再等

        survivors = []
        for module in args.modules:
            name = module.removeprefix("dlbook.")
            tests = [*targets[module], str(module_file(name, work))]  # 加上 doctest
            survivors += _module_report(work, name, tests, lines)
    if args.json:
        args.json.write_text(json.dumps(survivors, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
