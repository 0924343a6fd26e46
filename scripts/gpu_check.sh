#!/usr/bin/env bash
# 只能在 GPU 上做的检查：CUDA 测试、基准测试、full 模式的示例脚本。输出写进 $OUT（没有时写进 ./gpu-check-out）。
#
# 用法（仓库根目录，一台有 NVIDIA GPU 的机器上）：
#   bash scripts/gpu_check.sh all [--only 步骤…]        # 下面这些检查的主要部分，一次调用按优先级做完，
#                                                       # 总时长有上限（CHECK_SECONDS，默认 540），可接着做（见 scripts/gpu_all.py）
#   bash scripts/gpu_check.sh env                       # GPU、驱动、PyTorch 版本
#   bash scripts/gpu_check.sh tests                     # tests/test_cuda.py：快速路径的 CUDA 分支
#   bash scripts/gpu_check.sh bench                     # d2l 与 dlbook 的 LeNet、ResNet-18 96×96 的样本/秒
#   bash scripts/gpu_check.sh speedrun                  # 速通：SpeedNet 5 个种子，编译、CUDA 图、批量 256 三组
#   bash scripts/gpu_check.sh run gallery/modern_cnn/plot_alexnet.py ...   # full 模式运行这些示例
#   bash scripts/gpu_check.sh site                      # full 模式构建整个网站（可分几次，缓存接着用）
#
# 机器上没有网络时，先把数据、中文字体和缺的轮子放进仓库里被忽略的 device-data/（或环境变量 DLBOOK_DEVICE_DATA
# 指定的目录；见 MAINTAINING.md 的“在 GPU 上检查”）：
#   device-data/fashion-mnist/*.gz   device-data/fonts/*.ttc   device-data/wheels*/*.whl
# 每个示例脚本的完整输出在 $OUT/logs.tgz（连同它保存的图），摘要打印在标准输出里。
set -uo pipefail

out=${OUT:-gpu-check-out}
mkdir -p "$out" && out=$(cd "$out" && pwd)  # 绝对路径：示例脚本存图时用得上
root=$(pwd)
kit=${DLBOOK_DEVICE_DATA:-device-data}  # 数据、字体与轮子所在的目录
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg PIP_ROOT_USER_ACTION=ignore
[ -d "$kit/fashion-mnist" ] && export DLBOOK_DATA="$(cd "$kit/fashion-mnist" && pwd)"

# 轮子可以分几次带来（每次调用最多带 64 MiB）：装进 /tmp/dlbook-site，机器还开着时下一次调用接着用。
for wheels in "$kit"/wheels*/; do
    compgen -G "${wheels}*.whl" >/dev/null || continue
    # 这些轮子只为与 d2l 比较：装不上就说一声，其余的检查照做
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/dlbook-site "${wheels}"*.whl || echo "（没能安装 ${wheels} 里的轮子：与 d2l 的比较会失败）"
done
[ -d /tmp/dlbook-site ] && export PYTHONPATH="$PYTHONPATH:/tmp/dlbook-site"
if compgen -G "$kit/fonts/*.ttc" >/dev/null && ! fc-list 2>/dev/null | grep -q "CJK"; then
    # dlbook.plot 在 Debian 的字体目录里找 Noto Sans CJK
    mkdir -p /usr/share/fonts/opentype/noto 2>/dev/null &&
        cp -n "$kit"/fonts/*.ttc /usr/share/fonts/opentype/noto/ 2>/dev/null ||
        echo "（没能安装中文字体：图里的中文会缺字）"
fi

phase=${1:-env}
shift || true
case "$phase" in
all)
    nvidia-smi -L 2>/dev/null || echo "（没有 nvidia-smi）"
    # 时限从这个脚本开始时算起（SECONDS：装轮子、复制字体已经用掉的秒数）；exec 让外面发来的 SIGTERM
    # 直接送到 gpu_all.py，它终止正在跑的步骤、写出结果再退出
    budget=$(( ${CHECK_SECONDS:-540} - SECONDS ))
    exec python3 scripts/gpu_all.py --out "$out" --state "${CHECK_STATE:-/tmp/dlbook-check}" \
        --seconds "$budget" --jobs "${CHECK_JOBS:-4}" "$@"
    ;;
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
    python3 -m pytest -q -p no:cacheprovider -o addopts="-ra" -W default tests/test_cuda.py 2>&1 | tee "$out/tests.log"
    ;;
bench)
    {
        python3 benchmarks/d2l_lenet.py --epochs 10 --modes plain fast compile cudagraphs
        for mode in plain fast compile; do
            python3 -m dlbook.bench --device cuda --model resnet18 --epochs 3 --mode "$mode"
        done
    } 2>&1 | tee "$out/bench.log"
    ;;
speedrun)
    {
        for mode in compile cudagraphs; do
            python3 -m dlbook.speedrun --device cuda --runs 5 --mode "$mode"
        done
        python3 -m dlbook.speedrun --device cuda --runs 5 --batch-size 256 --lr 0.1  # 步数加倍的配方
    } 2>&1 | tee "$out/speedrun.log"
    ;;
run)
    [ $# -gt 0 ] || { echo "run 后面要跟示例脚本的路径" >&2; exit 2; }
    mkdir -p "$out/work/figures"
    export DLBOOK_MODE=${DLBOOK_MODE:-full} DLBOOK_FIGURES="$out/work/figures"
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
site)
    # 构建网站要 mkdocs 插件 dlbook-gallery 的入口点：把 dlbook 本身也装进 /tmp/dlbook-site（导入的仍是仓库里的源码）。
    python3 -c "import mkdocs, material, mkdocs_jupyter, mkdocstrings, jieba, nbclient, ipykernel, sphinx_gallery" ||
        { echo "缺少构建网站用的包：把轮子放进 device-data/wheels*/（见 MAINTAINING.md）" >&2; exit 2; }
    python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --upgrade \
        --target /tmp/dlbook-site . || exit 1
    export DLBOOK_MODE=${DLBOOK_MODE:-full} NO_MKDOCS_2_WARNING=1
    start=$(date +%s)
    timeout "${SITE_SECONDS:-540}" python3 -m mkdocs build --strict -d /tmp/dlbook-html >"$out/site.log" 2>&1
    rc=$?
    echo "== mkdocs build：退出码 $rc，$(($(date +%s) - start)) 秒"
    grep -E "ERROR|WARNING|Documentation built|Traceback" "$out/site.log" | tail -n 20
    [ $rc -eq 124 ] && echo "（到了时限：已执行完的示例在缓存里，机器还开着时再运行一次会接着构建）"
    python3 - "${DLBOOK_CACHE_DIR:-.cache/dlbook/executed}" "$out/site-results.json" <<'EOF'
import json, sys
from pathlib import Path

import nbformat

from dlbook.results import results_in

newest = {}  # 缓存里可能还有旧版本脚本的结果：每个脚本只取最近执行的一次
for entry in Path(sys.argv[1]).glob("*.json"):
    meta = json.loads(entry.read_text(encoding="utf-8"))
    if meta["script"] not in newest or meta["executed_at"] > newest[meta["script"]][0]["executed_at"]:
        newest[meta["script"]] = (meta, entry.with_suffix(".ipynb"))
rows = []
for script in sorted(newest):
    meta, notebook = newest[script]
    results = [r.to_dict() for r in results_in(nbformat.read(notebook, as_version=4))]
    rows.append({**meta, "results": results})
for row in rows:
    print(f"{row['script']:<46}{row['mode']:<6}{row['device']:<8}{row['seconds']:>8.1f} 秒")
    for r in row["results"]:
        print(f"    {r['name']}：测试准确率 {r['test_acc']:.4f}，训练准确率 {r['train_acc']:.4f}，"
              f"{r['examples_per_sec']:.0f} 样本/秒，{r['epochs']} 轮 {r['seconds']:.1f} 秒，{r['note']}")
Path(sys.argv[2]).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
EOF
    exit $rc
    ;;
*)
    echo "未知的检查：$phase（可选 all、env、tests、bench、speedrun、run、site）" >&2
    exit 2
    ;;
esac
