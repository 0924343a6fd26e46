#!/usr/bin/env bash
# 在开发机上（要能访问 PyPI）把 GPU 机器需要、而它自己没有也下载不了的东西放进仓库里被忽略的 device-data/：
#
#   device-data/fashion-mnist/*.gz           数据（Debian 包 dataset-fashion-mnist，或 DLBOOK_DATA 指定的目录）
#   device-data/fonts/NotoSansCJK-Regular.ttc 图里的中文（Debian 包 fonts-noto-cjk）
#   device-data/wheels/*.whl                 d2l 1.0.3（基准比较用）和它导入的 IPython、matplotlib-inline，
#                                            按 GPU 机器的 Python 版本下载，去掉那台机器上已有的包
#
# 一共约 55 MB，连同仓库本身一次就能带过去（每次调用最多 64 MiB）：
#   bash scripts/device_kit.sh            # 默认按 Python 3.12（GPU 机器的版本）
#   bash scripts/device_kit.sh 3.11       # 别的版本
# 然后在 GPU 机器上：carry device-data，运行 bash scripts/gpu_check.sh all。
set -euo pipefail
cd "$(dirname "$0")/.."

pyver=${1:-3.12}
kit=${DLBOOK_DEVICE_DATA:-device-data}
# GPU 机器的镜像里已经有的包（见它的包列表）：不必带，带了反而可能换掉那里的版本
present="psutil pygments typing_extensions"

mkdir -p "$kit/fashion-mnist" "$kit/fonts" "$kit/wheels"
data=""
for dir in "${DLBOOK_DATA:-}" /usr/share/datasets/fashion-mnist; do
    [ -n "$dir" ] && compgen -G "$dir/train-images-idx3-ubyte*" >/dev/null && { data=$dir; break; }
done
[ -n "$data" ] || { echo "找不到 Fashion-MNIST：装上 Debian 包 dataset-fashion-mnist，或用 DLBOOK_DATA 指定目录" >&2; exit 1; }
cp "$data"/*-ubyte* "$kit/fashion-mnist/"
# 数据先在这里校验一遍（解压后内容的 SHA-256），免得带一份坏文件过去
DLBOOK_DATA="$(cd "$kit/fashion-mnist" && pwd)" python3 -c "
from dlbook.data import load_fashion_mnist
for split in ('train', 'test'):
    X, y = load_fashion_mnist(split)
    print(split, tuple(X.shape), '校验通过')
"

font=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
[ -f "$font" ] || { echo "找不到 $font：装上 Debian 包 fonts-noto-cjk" >&2; exit 1; }
cp "$font" "$kit/fonts/"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps -d "$tmp" d2l==1.0.3
python3 -m pip download -q --only-binary=:all: --python-version "$pyver" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$tmp" ipython matplotlib-inline
rm -f "$kit"/wheels/*.whl
for wheel in "$tmp"/*.whl; do
    name=$(basename "$wheel" | cut -d- -f1 | tr 'A-Z' 'a-z')
    case " $present " in *" $name "*) continue ;; esac
    cp "$wheel" "$kit/wheels/"
done
du -shc "$kit"/*
