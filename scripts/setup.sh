#!/usr/bin/env bash
# 在一台新机器上装好 dlbook 需要的一切。可以重复运行：已经装好的部分会跳过。
#
#   bash scripts/setup.sh          # 构建和浏览网站所需：PyTorch、dlbook 及 docs 依赖、数据镜像、中文字体
#   bash scripts/setup.sh --test   # 另加测试所需：pytest、Playwright、Debian 的 Chromium
#
# 环境变量：PYTHON（默认 python3）、TORCH_SPEC（默认 "torch==2.14.1 torchvision==0.29.1"）。
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

# 0. 系统自带、不许 pip 装包的 Python（PEP 668：Debian 12、Ubuntu 23.04 起）：在动手之前停下，说清楚怎么办。
if "$PY" - <<'PYEOF'
import pathlib, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
managed = pathlib.Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").exists()
sys.exit(0 if managed and not in_venv else 1)
PYEOF
then
    cat >&2 <<MSG
错误：$PY 是系统自带的 Python（有 EXTERNALLY-MANAGED 标记，PEP 668），pip 不能往里装包。
请先建一个虚拟环境并激活它，再运行这个脚本：

    sudo apt-get install python3-venv     # Debian/Ubuntu 上 venv 是单独的包
    python3 -m venv .venv && . .venv/bin/activate
    bash scripts/setup.sh $*
MSG
    exit 1
fi

# 1. Debian/Ubuntu 的系统包：Fashion-MNIST 离线镜像、CJK 字体，测试时还有 Chromium。
apt_packages=(dataset-fashion-mnist fonts-noto-cjk)
[ "$WITH_TEST" = 1 ] && apt_packages+=(chromium)
if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    missing=()
    for p in "${apt_packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
            echo "警告：不是 root，也没有 sudo，装不了系统包 ${missing[*]}（见 README 的“没有 apt-get、没有网络”）" >&2
        else
            echo "==> apt-get install ${missing[*]}"
            # 没有网络、没有权限时 update 会失败：只警告，接着试安装（本地源里可能已有），再接着装 Python 包
            $sudo apt-get update -q || echo "警告：apt-get update 失败，用本地已有的软件包索引" >&2
            for p in "${missing[@]}"; do
                $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p" \
                    || echo "警告：没能安装 $p（数据可改用 DLBOOK_DATA 或联网下载；字体见 README 的“没有 apt-get、没有网络”）" >&2
            done
        fi
    fi
else
    echo "提示：没有 apt-get。请自行安装一款中文字体（如 Noto Sans CJK），Fashion-MNIST 会在首次使用时下载。" >&2
fi

# 2. PyTorch：已经能导入就不动它（GPU 机器上请先装好与驱动匹配的版本）。
if ! "$PY" -c "import torch, torchvision" >/dev/null 2>&1; then
    echo "==> pip install ${TORCH_SPEC:=torch==2.14.1 torchvision==0.29.1}"
    # shellcheck disable=SC2086
    "$PY" -m pip install $TORCH_SPEC
fi

# 3. dlbook 本身（可编辑安装）及其 extras。
extras="docs"
[ "$WITH_TEST" = 1 ] && extras="docs,test"
echo "==> pip install -e .[$extras]"
"$PY" -m pip install -q -e ".[$extras]"
echo "==> 安装完成"
