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
        echo "==> apt-get install ${missing[*]}"
        $sudo apt-get update -q
        for p in "${missing[@]}"; do
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p" \
                || echo "警告：没能安装 $p（数据可改用 DLBOOK_DATA 或联网下载，字体可装任意 CJK 字体）" >&2
        done
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
