"""离线副本：一个 zip 文件，解压后用浏览器直接打开 ``index.html`` 就能读，不要网络，也不要服务器。

::

    python -m dlbook.gallery.offline                 # 写出 dlbook-offline.zip
    python -m dlbook.gallery.offline -o 书.zip

它以 ``DLBOOK_OFFLINE=true`` 运行一次 ``mkdocs build --strict``。``mkdocs.yml`` 里的 Material ``offline``
插件于是关掉目录式 URL（链接指向 ``….html`` 文件），把搜索索引写成脚本；本包的插件让搜索所需的
iframe-worker 从站内加载（:func:`use_local_worker_shim`）。示例的执行缓存照常使用：
刚构建过网站时，这一步不重新执行任何示例。

写 zip 之前检查构建结果（:func:`check_site`）：每个 HTML 文件引用的本地文件都在，没有任何资源从站外加载。
有问题就报错退出，不留下 zip；zip 先写成 ``<名>.part``，写完并落盘（fsync）才改名，中途失败或断电都不会留下半个文件。
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dlbook.gallery.cache import fsync_dir

__all__ = [
    "OFFLINE_ENV",
    "WORKER_SHIM",
    "ZIP_ENV",
    "ZIP_NAME",
    "broken_references",
    "build_offline",
    "check_site",
    "download_note",
    "offline_enabled",
    "outside_resources",
    "use_local_worker_shim",
]

OFFLINE_ENV = "DLBOOK_OFFLINE"
WORKER_SHIM = "assets/javascripts/iframe-worker/shim.js"
FOLDER = "dlbook-offline"  # zip 里的顶层目录：解压后得到一个文件夹，而不是散落一地的文件
ZIP_NAME = f"{FOLDER}.zip"
# 构建托管的网站时指向一个已经构建好的离线副本：插件把它放进网站根目录，首页链接到它
ZIP_ENV = "DLBOOK_OFFLINE_ZIP"
COMMAND = "python -m dlbook.gallery.offline"

# 浏览器会自动加载的资源（脚本、样式、图片、字体……）指向站外；普通的 <a> 链接不算请求
_OUTSIDE = re.compile(
    r"""<(?:script|img|link|iframe|source|video|audio|embed|object)\b[^>]*?"""
    r"""\s(?:src|href|data)=["'](?:https?:)?//(?!127\.0\.0\.1|localhost)[^"']*"""
)
_REFERENCE = re.compile(r"""<(?:a|img|link|script|source)\b[^>]*?\s(?:src|href)="([^"]*)\"""")
_NOT_A_FILE = ("http:", "https:", "//", "mailto:", "data:", "javascript:", "#")


def offline_enabled(config) -> bool:
    """这次构建是不是离线副本（``mkdocs.yml`` 里 Material 的 ``offline`` 插件启用了）。"""
    plugin = config.plugins.get("material/offline")
    return plugin is not None and bool(plugin.config.enabled)


def use_local_worker_shim(config) -> None:
    """离线副本从站内加载 iframe-worker，而不是从 CDN（在 ``on_config`` 里调用）。

    浏览器不从 ``file://`` 页面启动 Web Worker，Material 的搜索却在 Worker 里运行。所以 ``offline`` 插件
    在每页加一个垫片（shim），用 iframe 代替 Worker，但它从一个公共 CDN 加载，离线的读者连不上，
    搜索就不能用。它只在 ``extra.polyfills`` 里还没有 iframe-worker 时才加，所以本包的插件
    （在 ``mkdocs.yml`` 里排在它前面）先放进站内的副本 ``docs/assets/javascripts/iframe-worker/``。
    没有启用 ``offline`` 插件时什么也不做。
    """
    if not offline_enabled(config):
        return
    polyfills = list(config.extra.get("polyfills") or [])
    if not any("iframe-worker" in str(p) for p in polyfills):
        polyfills.append(WORKER_SHIM)
    config.extra["polyfills"] = polyfills


def download_note(href: str | None, size: int | None = None, *, offline: bool = False) -> str:
    """页面上 ``{{ offline_copy() }}`` 换成的 Markdown：下载链接，或者自己构建的命令。

    Args:
        href: 从这一页到网站里的 zip 的链接；这次构建没有附带 zip 时为 ``None``。
        size: zip 的字节数。
        offline: 这次构建的就是离线副本。

    >>> print(download_note("dlbook-offline.zip", 17 * 2**20))
    [下载离线副本 dlbook-offline.zip](dlbook-offline.zip)（17 MB），...
    """
    opened = f"用浏览器打开其中的 `{FOLDER}/index.html`，不需要网络，也不需要服务器；搜索、公式和图都能用。"
    if offline:
        return f"你读的就是离线副本。要更新它，在仓库根目录运行 `{COMMAND}`，解压新的 `{ZIP_NAME}`，{opened}"
    if href is None:
        return f"在仓库根目录运行 `{COMMAND}`，得到 `{ZIP_NAME}`；解压后{opened}"
    mb = f"（{size / 2**20:.0f} MB）" if size else ""
    return f"[下载离线副本 {ZIP_NAME}]({href}){mb}，解压后{opened}"


def outside_resources(html: str) -> list[str]:
    """``html`` 里让浏览器向站外发请求的标签（截到属性值为止）。普通链接不算。

    >>> outside_resources(
    ...     '<script src="https://cdn.example.com/x"></script>'
    ...     '<a href="https://example.com">链接</a>'
    ... )
    ['<script src="https://cdn.example.com/x']
    """
    return [m.group(0) for m in _OUTSIDE.finditer(html)]


def broken_references(site: Path, *, directory_urls: bool = True) -> list[str]:
    """网站里指向不存在的本地文件的链接和资源，每个写成 ``页面: 引用``。

    ``directory_urls=True``（托管的网站）时，指向目录的引用（如 ``../pooling/``）算作指向其中的
    ``index.html``；``False``（离线副本）时它本身就是问题：从 ``file://`` 打开，浏览器只会列出目录。
    站外链接、锚点和 ``data:`` 不查。
    """
    problems = []
    for page in sorted(site.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        for ref in sorted(set(_REFERENCE.findall(html))):
            if not ref or ref.startswith(_NOT_A_FILE):
                continue
            path = unquote(urlsplit(ref).path)
            # 以 / 开头的引用从站点根目录算起（托管的网站上 404.html 就是这样写的）
            target = (site / path.lstrip("/") if path.startswith("/") else page.parent / path).resolve()
            if path.endswith("/") or target.is_dir():
                if not directory_urls:
                    problems.append(f"{page.relative_to(site).as_posix()}: {ref}（指向目录）")
                    continue
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{page.relative_to(site).as_posix()}: {ref}")
    return problems


def check_site(site: Path) -> list[str]:
    """离线副本能不能用：缺的本地文件，站外的资源，以及 ``file://`` 下搜索要用的两个脚本。"""
    problems = broken_references(site, directory_urls=False)
    for page in sorted(site.rglob("*.html")):
        problems += [
            f"{page.relative_to(site).as_posix()}: 从站外加载 {tag}"
            for tag in outside_resources(page.read_text(encoding="utf-8"))
        ]
    for needed in ("search/search_index.js", WORKER_SHIM):
        if not (site / needed).is_file():
            problems.append(f"缺少 {needed}（离线时的搜索要用）")
    return problems


def build_offline(output: Path, *, config_file: Path = Path("mkdocs.yml")) -> Path:
    """构建离线副本，检查它，再写成 ``output``（zip）。返回 ``output``。

    Raises:
        FileNotFoundError: 找不到 ``config_file``。
        ValueError: ``output`` 是一个目录，或者它的某一级上层是文件（在构建之前就查，不白等几分钟）。
        RuntimeError: 构建失败，或构建结果有 :func:`check_site` 列出的问题；这时不写 zip。
    """
    config_file = config_file.resolve()
    if not config_file.is_file():
        raise FileNotFoundError(f"找不到 MkDocs 配置文件 {config_file}")
    output = output.resolve()
    _check_output(output)
    env = {**os.environ, OFFLINE_ENV: "true", "NO_MKDOCS_2_WARNING": "1"}
    # 离线副本没有网址，也不附带另一个离线副本
    for name in ("DLBOOK_SITE_URL", ZIP_ENV):
        env.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="dlbook-offline-") as tmp:
        site = Path(tmp) / FOLDER
        # mkdocs 的输出直接给读者看：第一次构建要执行全部示例，要几分钟（full 模式更久）
        proc = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config_file), "-d", str(site)],
            cwd=config_file.parent,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"离线副本构建失败（mkdocs build 退出码 {proc.returncode}），原因见上面 mkdocs 的输出")
        # 从文件系统打开时没有服务器来显示 404 页面；它的链接又都从站点根目录写起（/assets/…），
        # 在 file:// 下指向磁盘的根目录，留着只会是一页打不开样式的死链接
        (site / "404.html").unlink(missing_ok=True)
        problems = check_site(site)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:20])
            more = f"\n  ……共 {len(problems)} 处" if len(problems) > 20 else ""
            raise RuntimeError(f"离线副本有问题，没有写 {output.name}：\n{listed}{more}")
        partial = output.with_name(output.name + ".part")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)  # 构建成功之后才建目录：失败时不留下空目录
            with open(partial, "wb") as fh:
                with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                    for path in sorted(site.rglob("*")):
                        if path.is_file():
                            zf.write(path, path.relative_to(site.parent).as_posix())
                # 与 cache.atomic_write 一样：先让 zip 落盘再改名，改名之后让目录落盘
                # （关闭 ZipFile 时它已经写完目录并 flush 了 fh）
                os.fsync(fh.fileno())
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
        fsync_dir(output.parent)
    return output


def _check_output(output: Path) -> None:
    if output.is_dir():
        raise ValueError(f"输出路径 {output} 是一个目录；请给出 zip 文件的路径，例如 {output / ZIP_NAME}")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"无法写出 {output}：{parent} 是一个文件，不是目录")
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlbook.gallery.offline",
        description="构建可以从文件系统直接打开的离线副本（zip）。",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path(f"{FOLDER}.zip"), help="zip 文件（默认 %(default)s）")
    parser.add_argument("-f", "--config-file", type=Path, default=Path("mkdocs.yml"), help="默认 %(default)s")
    args = parser.parse_args(argv)
    try:
        out = build_offline(args.output, config_file=args.config_file)
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    with zipfile.ZipFile(out) as zf:
        pages = sum(name.endswith(".html") for name in zf.namelist())
    print(f"写出 {out}（{out.stat().st_size / 2**20:.1f} MB，{pages} 个页面）")
    print(f"解压后用浏览器打开 {FOLDER}/index.html；搜索、公式和图都不需要网络。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
