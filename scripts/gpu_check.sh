#!/usr/bin/env bash
# 只能在 GPU 上做的检查：CUDA 测试、基准测试、full 模式的示例脚本。输出写进 $OUT（没有时写进 ./gpu-check-out）。
#
# 用法（仓库根目录，一台有 NVIDIA GPU 的机器上）：
#   bash scripts/gpu_check.sh env                       # GPU、驱动、PyTorch 版本
#   bash scripts/gpu_check.sh tests                     # tests/test_cuda.py：快速路径的 CUDA 分支
#   bash scripts/gpu_check.sh bench                     # d2l 与 dlbook 的 LeNet、ResNet-18 96×96 的样本/秒
#   bash scripts/gpu_check.sh run gallery/modern_cnn/plot_alexnet.py ...   # full 模式运行这些示例
#
# 机器上没有网络时，先把数据、中文字体和缺的轮子放进仓库里被忽略的 device-data/（见 README.md 的“在 GPU 上检查”）：
#   device-data/fashion-mnist/*.gz   device-data/fonts/*.ttc   device-data/wheels/*.whl
# 每个示例脚本的完整输出在 $OUT/logs.tgz（连同它保存的图），摘要打印在标准输出里。
set -uo pipefail

out=${OUT:-gpu-check-out}
mkdir -p "$out"
root=$(pwd)
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
[ -d device-data/fashion-mnist ] && export DLBOOK_DATA="$root/device-data/fashion-mnist"

if compgen -G "device-data/wheels/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/dlbook-site device-data/wheels/*.whl || exit 1
    export PYTHONPATH="$PYTHONPATH:/tmp/dlbook-site"
fi
if compgen -G "device-data/fonts/*.ttc" >/dev/null && ! fc-list 2>/dev/null | grep -q "CJK"; then
    # dlbook.plot 在 Debian 的字体目录里找 Noto Sans CJK
    mkdir -p /usr/share/fonts/opentype/noto 2>/dev/null &&
        cp -n device-data/fonts/*.ttc /usr/share/fonts/opentype/noto/ 2>/dev/null ||
        echo "（没能安装中文字体：图里的中文会缺字）"
fi

phase=${1:-env}
shift || true
case "$phase" in
env)
    nvidia-smi || true
    python3 - <<'EOF'
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(p.name, f"{p.total_memory / 2**30:.0f} GiB", "bf16", torch.cuda.is_bf16_supported())
else:
    print("没有可用的 CUDA 设备")
EOF
    ;;
tests)
    python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_cuda.py 2>&1 | tee "$out/tests.log"
    ;;
bench)
    {
        python3 benchmarks/d2l_lenet.py --epochs 10 --modes plain fast compile cudagraphs
        for mode in plain fast compile; do
            python3 -m dlbook.bench --device cuda --model resnet18 --epochs 3 --mode "$mode"
        done
    } 2>&1 | tee "$out/bench.log"
    ;;
run)
    [ $# -gt 0 ] || { echo "run 后面要跟示例脚本的路径" >&2; exit 2; }
    mkdir -p "$out/work/figures"
    export DLBOOK_MODE=${DLBOOK_MODE:-full} DLBOOK_FIGURES="$root/$out/work/figures"
    case "$out" in /*) export DLBOOK_FIGURES="$out/work/figures" ;; esac
    status=0
    for script in "$@"; do
        name=$(basename "$script" .py)
        start=$(date +%s)
        python3 "$script" >"$out/work/$name.log" 2>&1
        rc=$?
        [ $rc -eq 0 ] || status=$rc
        echo "== $script：退出码 $rc，$(($(date +%s) - start)) 秒"
        grep -E "测试准确率|样本/秒|训练了|用时|覆盖|Error|错误" "$out/work/$name.log" | tail -n 8
    done
    tar -czf "$out/logs.tgz" -C "$out/work" . && rm -rf "$out/work"
    exit $status
    ;;
*)
    echo "未知的检查：$phase（可选 env、tests、bench、run）" >&2
    exit 2
    ;;
esac
