#!/bin/bash
# The memory estimate `train` prints (plus 14 MiB, the peak of `app --help`: the program itself)
# against the peak resident memory `/usr/bin/time` measures, for one epoch of each configuration.
# Prints: estimated MiB, measured MiB, their ratio, the flags. Linux only (needs GNU time).
cd "$(dirname "$0")/.."
cargo build -q -p app
APP=target/debug/app
WORK=$(mktemp -d)
tomib() { python3 -c "
import sys,re
t=sys.argv[1]; m=re.match(r'about ([\d.]+) (\w+)',t); v=float(m[1]); u=m[2]
print(v*{'bytes':1/2**20,'KiB':1/1024,'MiB':1,'GiB':1024}[u])" "$1"; }
run() {
  out=$( { /usr/bin/time -f "PEAK %M" $APP train --epochs 1 --artifact-dir "$WORK/run" "$@" ; } 2>&1 )
  est=$(echo "$out" | grep -o "Memory: about [0-9.]* [A-Za-z]*" | sed 's/Memory: //')
  peak=$(echo "$out" | grep PEAK | awk '{print $2/1024}')
  e=$(tomib "$est")
  python3 -c "e=$e+14; p=$peak; print(f'{e:8.1f} {p:8.1f} {e/p:5.2f}  ' + '$*')"
}
run
run --samples 10000 --steps 50 --hidden 64 --batch-size 64 --activation tanh
run --samples 4096 --steps 100 --hidden 256 --batch-size 128 --activation tanh
run --cell gru --samples 2000 --steps 50 --hidden 64 --batch-size 64
run --layers 2 --bidirectional --samples 2000 --steps 50 --hidden 64 --batch-size 64
run --cell gru --layers 2 --bidirectional --samples 1000 --steps 50 --hidden 64 --batch-size 64
run --layers 3 --dropout 0.2 --samples 2000 --steps 50 --hidden 128 --batch-size 64
run --hidden 1024 --samples 64 --batch-size 32
run --hidden 2048 --samples 32 --batch-size 32 --steps 4
run --samples 4096 --batch-size 4096 --steps 50 --hidden 128
run --samples 1000000 --steps 10 --hidden 8 --batch-size 4096
run --csv examples/data/airpassengers.csv --column passengers --date-column month --season 12
