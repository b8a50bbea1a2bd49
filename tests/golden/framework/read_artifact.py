#!/usr/bin/env python3
"""Reads a FreRec-Bench cache artifact with h5py (run with Debian's /usr/bin/python3).

Used by tests/framework/test_cache.cpp to show artifacts are readable from Python:
prints the provenance attributes and the datasets the test wrote.
"""
import sys

import h5py


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


with h5py.File(sys.argv[1], "r") as f:
    print(f"kind={text(f.attrs['frerec_kind'])} complete={text(f.attrs['frerec_complete'])} "
          f"params={text(f.attrs['frerec_params'])}")
    print("scores=" + str([float(v) for v in f["scores"][()]]))
    print("indices=" + str([int(v) for v in f["indices"][()]]))
    print("ids=" + str([text(v) for v in f["ids"][()]]))
