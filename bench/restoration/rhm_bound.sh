#!/usr/bin/env bash
# How much of SHR's change on held-out real images can a restorer undo, per demo task?
# (docs/decisions.md "RHM on the demo": the issue's bar is PSNR(A(SHR(x)), x) ≥ PSNR(SHR(x), x)
# + 3 dB.) Everything but the regression restorers runs through the real pipeline:
#   input           `frerec calibrate --stage shr` of the held-out real images (ε drawn, Eq. 3)
#   ε = 0           the same with shr.epsilon_scale=0: SHR to the neighbours' mean statistics
#   neighbour mean  ε = 0 SHR applied to the input: the best restorer that knows only what
#                   the K neighbours know
#   regress / oracle  rhm_bound.py (statistics predicted from low-frequency content / true)
#
#   bench/restoration/rhm_bound.sh [FRERC_BINARY] [WORK_DIR] [shr overrides...]
# Default SHR: the demo's (configs/base/demo_frerec.yaml, r = 0.125). About 2 min on 2 cores.
set -euo pipefail
bin=${1:-build/release/frerec}
work=${2:-/tmp/frerec_rhm_bound}
shift $(( $# < 2 ? $# : 2 ))
overrides=(shr.ratio=0.125 "$@")
ratio=0.125
for o in "${overrides[@]}"; do [[ $o == shr.ratio=* ]] && ratio=${o#shr.ratio=}; done
here=$(cd "$(dirname "$0")" && pwd)
F=("$bin" --threads "$(nproc)" --cache-dir "$work/cache" -q)
mkdir -p "$work"

psnr_of() {  # reference test
  "${F[@]}" metrics image-quality --reference "$1" --test "$2" --json |
    /usr/bin/python3 -c "import json,sys; print('%.2f' % json.load(sys.stdin)['psnr_mean'])"
}

for task in demo_mri demo_cxr demo_fundus; do
  d=$work/$task
  # The benchmark's 800 training images and 100 test images (the same as the demo suite's).
  [ -d "$d/train" ] || "${F[@]}" datasets export "$task" --out "$d" counts.train.positive=400 \
    counts.train.negative=400 counts.test.positive=50 counts.test.negative=50 synthetic.name=none >/dev/null
  rm -rf "$d/shr" "$d/shr0" "$d/restored"
  "${F[@]}" calibrate --real "$d/train" --synthetic "$d/test" --out "$d/shr" --stage shr "${overrides[@]}" >/dev/null
  "${F[@]}" calibrate --real "$d/train" --synthetic "$d/test" --out "$d/shr0" --stage shr \
    "${overrides[@]}" shr.epsilon_scale=0 >/dev/null
  "${F[@]}" calibrate --real "$d/train" --synthetic "$d/shr" --out "$d/restored" --stage shr \
    "${overrides[@]}" shr.epsilon_scale=0 >/dev/null
  echo "## $task (${overrides[*]})"
  echo "SHR(x) vs x: $(psnr_of "$d/test" "$d/shr") dB; ε = 0 SHR(x): $(psnr_of "$d/test" "$d/shr0") dB;" \
       "neighbour-mean restore of SHR(x): $(psnr_of "$d/test" "$d/restored") dB"
  /usr/bin/python3 "$here/rhm_bound.py" "$d/train" "$d/test" "$d/shr" "$ratio"
done
