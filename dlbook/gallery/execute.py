"""在 Jupyter 内核里执行笔记本，捕获文本与图像输出。"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets.config import Config

__all__ = ["ExampleError", "Execution", "code_cell_number", "execute_notebook"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # IPython 给回溯上色用的转义序列


class _AskedToExit(Exception):
    """内核报告某个单元格调用了 ``exit()`` 或 ``quit()``（执行回复里的 ``ask_exit``）。"""

    def __init__(self, cell_index: int) -> None:
        super().__init__(cell_index)
        self.cell_index = cell_index


_EXIT_DETAIL = (
    "这个单元格调用了 exit() 或 quit()。单独运行脚本时程序会在这里结束，后面的代码都不执行；"
    "Jupyter 内核却忽略它，接着执行后面的单元格，页面上就会出现读者自己运行时看不到的输出。"
    "请删掉这个调用（要提前结束，就把后面的代码放进条件里）。"
)


class ExampleError(RuntimeError):
    """示例脚本执行失败；消息里写明脚本、单元格和回溯。"""

    def __init__(self, script: Path, cell_index: int | None, source: str, detail: str) -> None:
        where = f"第 {cell_index} 个代码单元格" if cell_index is not None else "内核"
        lines = [f"示例 {script} 在{where}出错。"]
        if source:
            lines += ["出错的代码：", _indent(source)]
        lines += ["回溯：", _indent(detail.rstrip())]
        super().__init__("\n".join(lines))
        self.script = script
        self.cell_index = cell_index


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


@dataclass(frozen=True)
class Execution:
    """一次执行的结果：执行过的笔记本与代码单元格的总用时（秒）。"""

    notebook: NotebookNode
    seconds: float


def code_cell_number(nb: NotebookNode, cell_number: int) -> int:
    """把笔记本里的单元格序号换成“第几个代码单元格”（从 1 开始）。"""
    return sum(1 for c in nb.cells[: cell_number + 1] if c.cell_type == "code")


def execute_notebook(
    nb: NotebookNode,
    *,
    script: Path,
    env: dict[str, str] | None = None,
    timeout: int = 1800,
) -> Execution:
    """执行 ``nb``（就地修改），出错时抛出 :class:`ExampleError`。

    内核的工作目录是脚本所在目录，环境变量在当前进程的基础上叠加 ``env``。
    用时只计代码单元格本身（不含内核启动），由每个单元格的 nbclient 时间戳求和。
    """
    script = Path(script)
    kernel_env = {**os.environ, **(env or {})}
    # 图在内核里由 matplotlib-inline 捕获；不要继承终端里可能设置的后端。
    kernel_env.pop("MPLBACKEND", None)
    with tempfile.TemporaryDirectory(prefix="dlbook-kernel-") as sockets:
        return _execute(nb, script=script, env=kernel_env, timeout=timeout, sockets=sockets)


def _kernel_config(sockets: str) -> Config:
    """本机内核：POSIX 上走 IPC（套接字文件放在 ``sockets`` 临时目录里），其余平台走本机 TCP。

    ipykernel 7 对没有加密的 TCP 连接会打印一条警告；IPC 既不经过网络，也没有这条噪声。
    内核管理器仍由 nbclient 创建（它才会在结束时关掉内核），这里只通过配置改它的传输方式。
    """
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(sockets, "kernel")
    return config


def _execute(nb: NotebookNode, *, script: Path, env: dict[str, str], timeout: int, sockets: str) -> Execution:
    client = NotebookClient(
        nb,
        config=_kernel_config(sockets),
        timeout=timeout,
        kernel_name="python3",
        allow_errors=False,
        record_timing=True,
        # 单元格执行完以后，它的输出（打印、图）还在路上：默认只等 4 秒，超时只记一条日志就接着执行，
        # 迟到的输出被丢掉，残缺的笔记本却照样进了缓存。忙碌的 CI 机器上多等一会儿，真等不到就报错
        iopub_timeout=60,
        raise_on_iopub_timeout=True,
        resources={"metadata": {"path": str(script.parent)}},
    )
    current = {"cell": None}

    def _on_cell_start(cell: NotebookNode, cell_index: int) -> None:
        current["cell"] = cell_index

    def _on_cell_executed(cell: NotebookNode, cell_index: int, execute_reply: dict) -> None:
        # IPython 的 exit()/quit() 在内核里不抛异常，只在回复里放一个 ask_exit：在这里停下
        payload = execute_reply.get("content", {}).get("payload", [])
        if any(item.get("source") == "ask_exit" for item in payload):
            raise _AskedToExit(cell_index)

    client.on_cell_start = _on_cell_start
    client.on_cell_executed = _on_cell_executed
    start = time.perf_counter()
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        index = current["cell"]
        source = nb.cells[index].source if index is not None else ""
        number = code_cell_number(nb, index) if index is not None else None
        # CellExecutionError 的消息里已经有回溯；超时和内核崩溃只有一句话，补上类型名
        if isinstance(exc, CellExecutionError):
            detail = _traceback(exc, source)
        else:  # 超时的消息后面还附一份单元格代码的预览：ExampleError 已经列出了代码
            detail = f"{type(exc).__name__}: {str(exc).split('Here is a preview of the cell contents')[0].strip()}"
        raise ExampleError(script, number, source, detail) from None
    except _AskedToExit as exc:
        source = nb.cells[exc.cell_index].source
        raise ExampleError(script, code_cell_number(nb, exc.cell_index), source, _EXIT_DETAIL) from None
    wall = time.perf_counter() - start
    seconds = _cells_seconds(nb)
    if seconds is None:
        seconds = wall
    return Execution(notebook=nb, seconds=seconds)


def _traceback(exc: CellExecutionError, source: str) -> str:
    """nbclient 的错误消息去掉颜色转义，也去掉开头那份单元格代码（:class:`ExampleError` 已经列出）。"""
    text = _ANSI.sub("", str(exc))
    header = f"An error occurred while executing the following cell:\n------------------\n{source}\n------------------\n"
    return text.replace(header, "", 1).strip()


def _cells_seconds(nb: NotebookNode) -> float | None:
    from datetime import datetime

    total = 0.0
    found = False
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        begin = timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started")
        end = timing.get("shell.execute_reply")
        if begin and end:
            found = True
            t0 = datetime.fromisoformat(begin.replace("Z", "+00:00"))
            t1 = datetime.fromisoformat(end.replace("Z", "+00:00"))
            total += max((t1 - t0).total_seconds(), 0.0)
    return total if found else None
